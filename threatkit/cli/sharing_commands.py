"""`threatkit lab`, `app` and `snapshot`: the explorer in JupyterLab, as an app, as one offline page."""
from __future__ import annotations

import argparse

from pathlib import Path

from threatkit.cli.common import (
    FILE_HELP, UserError, _lookup, _nonnegative_int, _positive_int, _write, command, model_file)
from threatkit.model.load import load_model


def add_parsers(sub) -> None:
    serve = argparse.ArgumentParser(add_help=False)
    serve.add_argument("file", nargs="?", metavar="FILE", type=model_file,
                       help=FILE_HELP + " (default: the Mythos example); checked before anything starts")
    serve.add_argument("--port", type=_positive_int, default=8866, metavar="N", help="port (default: %(default)s)")
    serve.add_argument("--ip", default="127.0.0.1", metavar="ADDRESS",
                       help="address to bind (default: 127.0.0.1, this machine only)")
    serve.add_argument("--no-browser", action="store_true", help="do not open a web browser")

    p = sub.add_parser("lab", parents=[serve], help="open the explorer notebook in JupyterLab",
                       description="Start JupyterLab on the notebooks folder with the explorer open "
                                   "(pip install 'threatkit[lab]'). With FILE, the explorer shows that model.")
    p.add_argument("--dir", metavar="DIR", help="notebooks folder (default: the checkout's notebooks/, or "
                                                "./threatkit-notebooks from an installed package)")
    p.set_defaults(port=8888)

    sub.add_parser("app", parents=[serve], help="serve the explorer as a web app (widgets and figures, no code)",
                   description="Serve the explorer with Voila (pip install 'threatkit[app]'): widgets and "
                               "figures only. Binds 127.0.0.1 unless --ip says otherwise and prints the URL.")

    p = sub.add_parser("snapshot", help="write the explorer for a scenario as one offline HTML file",
                       description="Write the explorer, set to a scenario, as a self-contained HTML file: the "
                                   "widget state and the widget manager's JavaScript embedded, no network needed.")
    p.add_argument("file", metavar="FILE", type=model_file, help=FILE_HELP)
    p.add_argument("--scenario", metavar="ID", help="scenario id (default: the model's first)")
    p.add_argument("--pathway", metavar="ID", help="pathway shown first (default: the model's first)")
    p.add_argument("-o", "--output", required=True, metavar="OUT.html", help="HTML file to write")
    p.add_argument("--samples", type=_positive_int, default=500, metavar="N", help="Monte Carlo draws (default: 500)")
    p.add_argument("--seed", type=_nonnegative_int, default=1, metavar="S", help="random seed (default: 1)")


@command
def cmd_lab(args: argparse.Namespace) -> int:
    from threatkit.run.launch import LaunchError, run_lab

    try:
        return run_lab(args.file, port=args.port, ip=args.ip, open_browser=not args.no_browser, folder=args.dir)
    except LaunchError as exc:
        raise UserError(str(exc)) from None


@command
def cmd_app(args: argparse.Namespace) -> int:
    from threatkit.run.launch import LaunchError, run_app

    try:
        return run_app(args.file, port=args.port, ip=args.ip, open_browser=not args.no_browser)
    except LaunchError as exc:
        raise UserError(str(exc)) from None


@command
def cmd_snapshot(args: argparse.Namespace) -> int:
    from threatkit.run.snapshot import snapshot_html

    model = load_model(args.file)
    if args.scenario:
        _lookup(model, "scenarios", args.scenario)
    elif not model.scenarios:
        raise UserError(f"{args.file} has no scenarios; the explorer starts from one (add one under 'scenarios:')")
    if args.pathway:
        _lookup(model, "pathways", args.pathway)
    page = snapshot_html(model, args.scenario, args.pathway, samples=args.samples, seed=args.seed,
                         title=model.name or Path(args.file).name)
    _write(page, args.output)
    return 0
