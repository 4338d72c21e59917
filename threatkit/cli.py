"""The `threatkit` command line.

Each subcommand is one small function; a user mistake (a bad model file, an
unknown id) is printed as `FILE:LINE: message` or `threatkit: error: ...` with
exit status 1, never as a traceback.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from collections.abc import Callable, Sequence

from threatkit import __version__
from threatkit.model.load import ModelError, atlas_ids, builtin_model, load_model
from threatkit.model.values import KINDS, ModelFile, ThreatModel
from threatkit.tabular import ASSESS_COLUMNS, is_stat_column, to_csv


FILE_HELP = "model file (YAML), or example:NAME for a shipped example (threatkit catalog examples)"
HARVEST_HELP = ("how much a transfer step harvests, for every scenario: adaptive (the least whole number of "
                "samples that clears the threshold) or planned (all its queries that access allows); default: "
                "each scenario's harvest, else adaptive")


def model_file(text: str) -> str:
    """A FILE argument: `example:NAME` becomes the shipped example's path (one place for all commands)."""
    from threatkit.examples import UnknownExample, resolve

    try:
        return str(resolve(text))
    except UnknownExample as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


class UserError(Exception):
    """A mistake in what the user asked for: reported in one line, exit status 1 (or `status`)."""

    def __init__(self, message: str, status: int = 1):
        super().__init__(message)
        self.status = status


COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {}


def command(func: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    COMMANDS[func.__name__.removeprefix("cmd_")] = func
    return func


# Modules jsonschema tries at import, each for an optional string format ("iri", "duration", "color",
# ...) that notebooks never use; rfc3987_syntax alone compiles a grammar for a second.
OPTIONAL_FORMAT_MODULES = ("rfc3987_syntax", "rfc3987", "rfc3986_validator", "rfc3339_validator", "isoduration",
                           "uri_template", "webcolors", "jsonpointer", "fqdn", "idna")


def import_jsonschema_lean() -> None:
    """Import jsonschema (nbformat imports it) without its optional format checkers: a second of
    start-up saved in every command that reads or writes a notebook. The modules are hidden only
    while jsonschema probes for them, so anything else (a report template too) imports them as usual.
    Only in threatkit's own processes: a library call must not change what jsonschema checks."""
    if "jsonschema" in sys.modules:
        return
    hidden = [m for m in OPTIONAL_FORMAT_MODULES if m not in sys.modules]
    for m in hidden:
        sys.modules[m] = None                      # `import m` raises ImportError meanwhile
    try:
        import jsonschema  # noqa: F401
    finally:
        for m in hidden:
            if sys.modules.get(m, False) is None:
                del sys.modules[m]


def main(argv: Sequence[str] | None = None) -> int:
    import_jsonschema_lean()
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except ModelError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        return getattr(exc, "status", 1)
    except UserError as exc:
        print(f"threatkit: error: {exc}", file=sys.stderr)
        return exc.status
    except BrokenPipeError:  # e.g. `threatkit schema | head`
        sys.stderr.close()
        return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="threatkit",
        description="Threat-model how an actor's access to an AI model can turn into replicated capability.")
    parser.add_argument("--version", action="version", version=f"threatkit {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("validate", help="check model files; print a summary per file or FILE:LINE problems",
                       description="Check model files. Exit 0 with a one-line summary per file, or 1 with "
                                   "FILE:LINE: message lines for every problem found.")
    p.add_argument("files", nargs="+", metavar="FILE", type=model_file, help=FILE_HELP)

    p = sub.add_parser("catalog", help="list the built-in tiers, actors, pathways, controls, ...",
                       description="List the entries of the built-in catalog (or of a model file with --model).")
    p.add_argument("kind", nargs="?", choices=[*KINDS, "atlas", "examples"], metavar="KIND",
                   help=f"one of: {', '.join([*KINDS, 'atlas', 'examples'])} (default: a count of each)")
    p.add_argument("--model", metavar="FILE", type=model_file, help="list the entries of this model file instead of the built-in catalog")
    p.add_argument("--format", choices=["table", "json"], default="table", help="output format (default: table)")

    p = sub.add_parser("assess", help="assess scenarios: probability, cost, time, likelihood, impact, risk per pathway",
                       description="Assess every scenario of a model (or one) over every pathway. With --samples, "
                                   "Monte Carlo statistics are added as further columns (probability_p5 ... time_days_p95).")
    p.add_argument("file", metavar="FILE", type=model_file, help=FILE_HELP)
    p.add_argument("--scenario", metavar="ID", help="assess only this scenario (default: all)")
    p.add_argument("--format", choices=["table", "json", "csv"], default="table", help="output format (default: table)")
    p.add_argument("--samples", type=_positive_int, metavar="N", help="Monte Carlo samples (default: none, deterministic only)")
    p.add_argument("--seed", type=_nonnegative_int, default=0, metavar="S", help="random seed for --samples (default: 0)")
    p.add_argument("--threshold", type=_share, metavar="X",
                   help="share of the capability that counts as holding it, which sets the adaptive harvest "
                        "(default: each scenario's capability_threshold, else 0.5)")
    p.add_argument("--harvest", choices=["adaptive", "planned"], metavar="adaptive|planned",
                   help=HARVEST_HELP)
    p.add_argument("-o", "--output", metavar="OUT", help="write here (atomically) instead of standard output")

    p = sub.add_parser("timeline", help="capability over time: days to durable and usable capability, lead, acceleration",
                       description="How much of the asset's capability each scenario's actor holds as time passes: "
                                   "days to durable and to usable capability (the first day the chance reaches 1/2), "
                                   "the lead the scenario's controls buy, the acceleration over the actor's own "
                                   "development, and the expected durable share on days 30, 90, 180 and 365. With "
                                   "--samples, per-draw days add their 5th, 50th and 95th percentiles "
                                   "(days_to_durable_p5 ...; paired draws for the lead).")
    p.add_argument("file", metavar="FILE", type=model_file, help=FILE_HELP)
    p.add_argument("--scenario", metavar="ID", help="only this scenario (default: all)")
    p.add_argument("--threshold", type=_share, metavar="X",
                   help="share of the capability that counts as holding it, 0..1 (default: each scenario's "
                        "capability_threshold, else 0.5)")
    p.add_argument("--horizon", type=_positive_int, default=3650, metavar="DAYS",
                   help="last day looked at (default: 3650)")
    p.add_argument("--harvest", choices=["adaptive", "planned"], metavar="adaptive|planned",
                   help=HARVEST_HELP)
    p.add_argument("--format", choices=["table", "json", "csv"], default="table", help="output format (default: table)")
    p.add_argument("--samples", type=_positive_int, metavar="N", help="Monte Carlo draws (default: none, deterministic only)")
    p.add_argument("--seed", type=_nonnegative_int, default=0, metavar="S", help="random seed for --samples (default: 0)")
    p.add_argument("-o", "--output", metavar="OUT", help="write here (atomically) instead of standard output")

    p = sub.add_parser("tree", help="show a pathway's attack tree evaluated in a scenario",
                       description="Evaluate a pathway's attack tree, in a scenario if given, and print or write it.")
    p.add_argument("file", metavar="FILE", type=model_file, help=FILE_HELP)
    p.add_argument("--pathway", required=True, metavar="ID", help="pathway id")
    p.add_argument("--scenario", metavar="ID", help="scenario id (default: the model's first scenario)")
    p.add_argument("--format", choices=["svg", "png", "dot", "json"], default="svg", help="output format (default: svg)")
    p.add_argument("-o", "--output", metavar="OUT", help="write here (atomically) instead of standard output")

    p = sub.add_parser("report", help="run the report notebook for a scenario and write it as HTML",
                       description="Run the report template (papermill) for one scenario and write HTML "
                                   "(code hidden, figures inline), atomically.")
    p.add_argument("file", metavar="FILE", type=model_file, help=FILE_HELP)
    p.add_argument("--scenario", required=True, metavar="ID", help="scenario id")
    p.add_argument("-o", "--output", required=True, metavar="OUT.html", help="HTML file to write")
    p.add_argument("--template", metavar="NAME|PATH", help="report template: a name shipped with threatkit "
                                                            "(default: scenario_report) or a notebook path")
    p.add_argument("--notebook", metavar="OUT.ipynb", help="also write the executed notebook here")
    p.add_argument("--samples", type=_nonnegative_int, default=2000, metavar="N",
                   help="Monte Carlo draws (default: 2000; 0 for deterministic values only)")
    p.add_argument("--seed", type=_nonnegative_int, default=1, metavar="S", help="random seed (default: 1)")
    p.add_argument("--harvest", choices=["adaptive", "planned"], metavar="adaptive|planned",
                   help=HARVEST_HELP)
    p.add_argument("--timeout", type=float, metavar="S", help="seconds a cell may run before the report fails")
    p.add_argument("--engine", choices=["threatkit", "kernel"], default="threatkit",
                   help="threatkit: run in a forked child of this warm process (fast, default); "
                        "kernel: a fresh Jupyter kernel (for templates that need one, e.g. widgets)")

    p = sub.add_parser("batch", help="run the report for every scenario (or the named ones) into a folder",
                       description="Run the report template once per scenario, in parallel, into DIR: "
                                   "<scenario>.ipynb and .html, summary.csv and index.html. Scenarios whose "
                                   "outputs are complete for the same inputs are skipped, so a rerun resumes. "
                                   "Exit status 0 when all succeeded, 1 when any failed, 2 for a usage or "
                                   "model error (found before any notebook runs).")
    p.add_argument("file", metavar="FILE", type=model_file, help=FILE_HELP)
    p.add_argument("-o", "--output", required=True, metavar="DIR", help="folder for the reports (created if missing)")
    p.add_argument("--scenario", action="append", default=[], metavar="ID",
                   help="a scenario to report on; repeat for several (default: all)")
    p.add_argument("--jobs", type=_positive_int, metavar="N", help="reports run at once (default: the machine's cores)")
    p.add_argument("--template", metavar="NAME|PATH", help="report template (default: scenario_report)")
    p.add_argument("--timeout", type=float, metavar="S", help="seconds a report may run before it is stopped and failed")
    p.add_argument("--scheduler", metavar="ADDRESS", help="run on this Dask distributed scheduler (tcp://HOST:PORT) "
                                                          "instead of local processes")
    p.add_argument("--samples", type=_nonnegative_int, default=2000, metavar="N",
                   help="Monte Carlo draws per report (default: 2000)")
    p.add_argument("--seed", type=_nonnegative_int, default=1, metavar="S", help="random seed (default: 1)")
    p.add_argument("--harvest", choices=["adaptive", "planned"], metavar="adaptive|planned",
                   help=HARVEST_HELP)
    p.add_argument("--engine", choices=["threatkit", "kernel"], default="threatkit",
                   help="threatkit: each report in a forked child of a warm process (fast, default); "
                        "kernel: a fresh Jupyter kernel per report (for templates that need one)")

    _add_interchange_parsers(sub)
    from threatkit import cli_judgments   # brief and sensitivity: their parsers and commands

    cli_judgments.add_parsers(sub)
    sub.add_parser("schema", help="print the JSON Schema of the model file, for editors",
                   description="Print the JSON Schema of a threatkit model file.")
    add_sharing_commands(sub)
    return parser


@command
def cmd_validate(args: argparse.Namespace) -> int:
    failed = False
    for path in args.files:
        try:
            model = load_model(path)
        except ModelError as exc:
            failed = True
            for problem in exc.problems:
                print(problem, file=sys.stderr)
            continue
        print(f"{path}: ok: {summary(model)}")
        _warn(model)
    return 1 if failed else 0


def _whole_number(text: str, least: int) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, found {text!r}") from None
    if value < least:
        raise argparse.ArgumentTypeError(f"expected at least {least}, found {value}")
    return value


def _share(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number between 0 and 1, found {text!r}") from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"expected a number between 0 and 1, found {text}")
    return value


def _positive_int(text: str) -> int:
    return _whole_number(text, 1)


def _nonnegative_int(text: str) -> int:
    return _whole_number(text, 0)


def _load(path: str) -> ThreatModel:
    """load_model, with the model's warnings on stderr (they do not stop the command)."""
    import gc

    model = load_model(path)
    # The model lives as long as this short process: keep the collector from scanning its
    # hundred thousand objects again and again while the analysis allocates (a large model
    # assesses in 60% of the time).
    gc.freeze()
    return _warn(model)


def _warn(model: ThreatModel) -> ThreatModel:
    for warning in model.warnings:
        print(warning, file=sys.stderr)
    return model


def _lookup(model: ThreatModel, kind: str, ident: str):
    try:
        return model.get(kind, ident)
    except KeyError as exc:
        raise UserError(exc.args[0]) from None


@command
def cmd_assess(args: argparse.Namespace) -> int:
    from threatkit.analysis.assess import assess

    model = _load(args.file).with_harvest(args.harvest)
    rows = [row for s in _scenarios(model, args)
            for row in assess(model, s, args.samples, args.seed, threshold=args.threshold).rows()]
    columns = list(ASSESS_COLUMNS) + [k for k in (rows[0] if rows else {}) if is_stat_column(k)]
    if args.format == "json":
        output = json.dumps(rows, indent=2) + "\n"
    elif args.format == "csv":
        output = to_csv(rows, columns)
    else:
        output = format_table([_rounded(r) for r in rows], columns) + "\n"
    _write(output, args.output)
    return 0


def _scenarios(model: ThreatModel, args: argparse.Namespace) -> list:
    """The scenario named by --scenario, or every scenario of the model."""
    if args.scenario:
        return [_lookup(model, "scenarios", args.scenario)]
    if not model.scenarios:
        raise UserError(f"{args.file} has no scenarios; add one under 'scenarios:'")
    return list(model.scenarios)


@command
def cmd_timeline(args: argparse.Namespace) -> int:
    from threatkit.analysis.timeline import timeline
    from threatkit.tabular import TIMELINE_COLUMNS, timeline_row

    model = _load(args.file).with_harvest(args.harvest)
    results = [timeline(model, s.id, threshold=args.threshold, samples=args.samples, seed=args.seed,
                        horizon=args.horizon) for s in _scenarios(model, args)]
    rows = [t.to_dict() for t in results]
    if args.format == "json":
        output = json.dumps(rows, indent=2) + "\n"
    else:
        flat = [timeline_row(r) for r in rows]
        columns = list(TIMELINE_COLUMNS) + [k for k in flat[0] if k not in TIMELINE_COLUMNS]
        output = to_csv(flat, columns) if args.format == "csv" else format_table(
            [_rounded(r) for r in flat], columns) + "\n"
    _write(output, args.output)
    return 0


def _rounded(row: dict) -> dict:
    return {k: (float(f"{v:.4g}") if isinstance(v, float) else v) for k, v in row.items()}


@command
def cmd_tree(args: argparse.Namespace) -> int:
    from threatkit.analysis.assess import Setting, evaluate

    model = _load(args.file)
    pathway = _lookup(model, "pathways", args.pathway)
    if args.scenario:
        scenario = _lookup(model, "scenarios", args.scenario)
    elif model.scenarios:
        scenario = model.scenarios[0]
    else:
        raise UserError(f"{args.file} has no scenarios; a tree is evaluated in a scenario (add one, or pass --scenario)")
    tree = evaluate(pathway, Setting.of(model, scenario))
    if args.format == "json":
        output: str | bytes = json.dumps(tree.to_dict(), indent=2) + "\n"
    else:
        from threatkit.render.trees import RenderError, render_tree

        try:
            output = render_tree(tree, args.format)
        except RenderError as exc:
            raise UserError(str(exc)) from None
    _write(output, args.output)
    return 0


def _write(output: str | bytes, path: str | None) -> None:
    if path is None:
        if isinstance(output, bytes):
            sys.stdout.buffer.write(output)
        else:
            sys.stdout.write(output)
        return
    from threatkit.files import atomic_write

    try:
        atomic_write(path, output)
    except OSError as exc:
        raise UserError(f"cannot write {path}: {exc.strerror or exc}") from None
    print(f"wrote {path}", file=sys.stderr)


@command
def cmd_report(args: argparse.Namespace) -> int:
    from threatkit.run.execute import ReportError, make_report

    try:
        report = make_report(args.file, args.scenario, args.output, template=args.template,
                             notebook=args.notebook, samples=args.samples, seed=args.seed, timeout=args.timeout,
                             engine=args.engine, harvest=args.harvest)
    except KeyError as exc:
        raise UserError(exc.args[0]) from None
    except (ReportError, OSError) as exc:
        raise UserError(str(exc)) from None
    print(f"wrote {report.html}" + (f" and {report.notebook}" if report.notebook else ""), file=sys.stderr)
    return 0


@command
def cmd_batch(args: argparse.Namespace) -> int:
    from threatkit.analysis.assess import risk_order
    from threatkit.batch import make_runner, plan, run_batch
    from threatkit.model.load import keep_model
    from threatkit.run.execute import ReportError

    try:                                   # every usage or model error before any notebook runs: exit 2
        model = keep_model(args.file)      # loaded once: planning and the runner get this same model
        jobs = plan(args.file, args.output, args.scenario, args.template, args.samples, args.seed, args.timeout,
                    engine=args.engine, harvest=args.harvest)
        Path(args.output).mkdir(parents=True, exist_ok=True)
    except ModelError as exc:
        exc.status = 2
        raise
    except KeyError as exc:
        raise UserError(exc.args[0], status=2) from None
    except (ReportError, OSError) as exc:
        raise UserError(str(exc), status=2) from None
    _listen_for_ctrl_c()
    runner = make_runner(args.jobs, args.scheduler)
    try:
        result = run_batch(jobs, args.output, runner, title=f"threatkit batch: {model.name or Path(args.file).name}",
                           risk_order=risk_order(model.scales))
    except KeyboardInterrupt:
        print("threatkit: interrupted; finished reports are kept, and the next run completes the rest",
              file=sys.stderr)
        return 130
    except RuntimeError as exc:            # e.g. Dask missing or its scheduler unreachable
        raise UserError(str(exc), status=2) from None
    failed = result.failed
    print(f"{len(result.outcomes) - len(failed)} of {len(result.outcomes)} reports ok"
          + (f", {len(failed)} failed ({', '.join(o.scenario for o in failed)})" if failed else ""), file=sys.stderr)
    print(result.index)
    return 1 if failed else 0


def _listen_for_ctrl_c() -> None:
    """A batch started from a script's background (`make test &`, `cmd &` without job control)
    inherits SIGINT ignored, and then ran every report to the end after a Ctrl-C or `kill -INT`.
    A batch must stop when asked: SIGINT raises KeyboardInterrupt here, whatever it inherited."""
    import signal

    if threading_is_main() and signal.getsignal(signal.SIGINT) in (signal.SIG_IGN, signal.SIG_DFL, None):
        signal.signal(signal.SIGINT, signal.default_int_handler)


def threading_is_main() -> bool:
    import threading

    return threading.current_thread() is threading.main_thread()


def summary(model: ThreatModel) -> str:
    steps = sum(1 for p in model.pathways for n in p.tree.walk() if n.is_leaf)
    counts = ", ".join(f"{len(getattr(model, k))} {k}" for k in KINDS)
    name = f"{model.name!r}: " if model.name else ""
    return f"{name}{counts} ({steps} steps)"


CATALOG_COLUMNS: dict[str, tuple[str, ...]] = {
    "assets": ("id", "name", "capability_value"),
    "tiers": ("id", "name", "rank", "queries_per_day", "duration_days", "exposes"),
    "actors": ("id", "name", "kind", "capacity", "budget_usd", "skill", "accounts"),
    "pathways": ("id", "name", "fidelity", "persistent", "steps"),
    "controls": ("id", "name", "counters", "effectiveness", "cost_usd"),
    "scenarios": ("id", "name", "asset", "actor", "tier", "controls"),
    "atlas": ("id", "kind", "name"),
    "examples": ("id", "name", "scenarios"),
}


@command
def cmd_catalog(args: argparse.Namespace) -> int:
    if args.kind == "examples":
        from threatkit.examples import describe, examples

        return _emit([describe(p) for p in examples().values()], CATALOG_COLUMNS["examples"], args.format)
    model = _load(args.model) if args.model else builtin_model()
    if args.kind is None:
        rows = [{"kind": k, "count": len(getattr(model, k))} for k in KINDS]
        rows.append({"kind": "atlas", "count": len(atlas_ids())})
        from threatkit.examples import examples

        rows.append({"kind": "examples", "count": len(examples())})
        return _emit(rows, ("kind", "count"), args.format)
    if args.kind == "atlas":
        rows = sorted(atlas_ids().values(), key=lambda e: e["id"])
    else:
        rows = []
        for entry in getattr(model, args.kind):
            row = entry.model_dump(mode="json", exclude_none=True)
            if args.kind == "pathways":
                row["steps"] = sum(1 for n in entry.tree.walk() if n.is_leaf)
            rows.append(row)
    return _emit(rows, CATALOG_COLUMNS[args.kind], args.format)


def _emit(rows: list[dict], columns: tuple[str, ...], fmt: str) -> int:
    if fmt == "json":
        print(json.dumps(rows, indent=2, ensure_ascii=False))
    else:
        print(format_table(rows, columns))
    return 0


TEXT_LIMIT = 80    # characters of one text cell of a table (a name, a label)


def format_table(rows: list[dict], columns: Sequence[str]) -> str:
    """A plain, aligned text table (stable across terminals, easy to grep). Text from the
    model is shown on one line, without control characters, cut to TEXT_LIMIT."""
    from threatkit.render.safe import one_line

    def cell(value) -> str:
        if value is None:
            return "-"
        if isinstance(value, list):
            return ",".join(map(cell, value))
        if isinstance(value, dict):
            return "{}..{} ({})".format(*(value[k] for k in ("low", "high", "mode")))
        if isinstance(value, float):
            return f"{value:g}"
        if isinstance(value, str):
            return one_line(value, TEXT_LIMIT)
        return str(value)
    table = [list(columns)] + [[cell(r.get(c)) for c in columns] for r in rows]
    widths = [max(len(row[i]) for row in table) for i in range(len(columns))]
    return "\n".join("  ".join(v.ljust(w) for v, w in zip(row, widths)).rstrip() for row in table)


@command
def cmd_schema(args: argparse.Namespace) -> int:
    schema = ModelFile.model_json_schema()
    schema = {"$schema": "https://json-schema.org/draft/2020-12/schema", **schema, "title": "threatkit model file"}
    print(json.dumps(schema, indent=2))
    return 0


# ---- interchange: export to and import from other tools' formats ------------------------------

def _add_interchange_parsers(sub) -> None:
    from threatkit.interchange import EXPORTERS  # light: the formats' modules load only when used

    p = sub.add_parser("export", help="write scenarios as an ATLAS Navigator layer, STIX 2.1, an Excel register or ADTool XML",
                       description="Export to another tool's format: navigator (ATLAS Navigator layer, JSON), stix "
                                   "(STIX 2.1 bundle), xlsx (risk register workbook), adtool (one pathway as ADTool2 XML).")
    p.add_argument("file", metavar="FILE", type=model_file, help=FILE_HELP)
    p.add_argument("--format", required=True, choices=list(EXPORTERS), help="the format to write")
    p.add_argument("--scenario", action="append", default=[], metavar="ID",
                   help="a scenario to export; repeat for several (default: all; adtool: the one whose controls "
                        "become defence nodes)")
    p.add_argument("--pathway", metavar="ID", help="only this pathway (required for adtool)")
    p.add_argument("-o", "--output", required=True, metavar="OUT", help="file to write (atomically)")

    p = sub.add_parser("import", help="read an ADTool XML attack tree into a model file",
                       description="Import an ADTool or ADTool2 XML file (adtree or sandtree) as a model file with one "
                                   "pathway. Values the file does not give become placeholders (confidence: low), "
                                   "listed on standard error.")
    p.add_argument("file", metavar="FILE.xml", help="ADTool XML file")
    p.add_argument("-o", "--output", required=True, metavar="OUT.yaml", help="model file to write (atomically)")


@command
def cmd_export(args: argparse.Namespace) -> int:
    from threatkit.interchange import ExportError, export

    model = load_model(args.file)
    try:
        result = export(model, args.format, tuple(args.scenario), args.pathway)
    except KeyError as exc:
        raise UserError(exc.args[0]) from None
    except ExportError as exc:
        raise UserError(str(exc)) from None
    for warning in result.warnings:
        print(f"threatkit: warning: {warning}", file=sys.stderr)
    _write(result.data, args.output)
    return 0


@command
def cmd_import(args: argparse.Namespace) -> int:
    from threatkit.interchange.adtool_import import AdtoolError, read_adtool

    try:
        imported = read_adtool(args.file)
    except AdtoolError as exc:
        print(exc, file=sys.stderr)
        return 1
    for warning in imported.warnings:
        print(f"threatkit: warning: {warning}", file=sys.stderr)
    if imported.placeholders:
        print(f"{len(imported.placeholders)} placeholders to replace (confidence: low):", file=sys.stderr)
        for item in imported.placeholders:
            print(f"  {item}", file=sys.stderr)
    _write(imported.to_yaml(args.file), args.output)
    return 0


# ---- reaching users: a first model, JupyterLab, the app, offline snapshots ---------------------

def add_sharing_commands(sub) -> None:
    p = sub.add_parser("init", help="write a starter model file to edit (refuses to overwrite)",
                       description="Write a starter model file: the built-in catalog included, one asset, one "
                                   "scenario, and comments saying what each key means and where "
                                   "`threatkit catalog` lists the choices. Never overwrites a file.")
    p.add_argument("path", nargs="?", default="model.yaml", metavar="PATH",
                   help="file to write (default: model.yaml)")

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
def cmd_init(args: argparse.Namespace) -> int:
    from threatkit.starter import write_starter

    path = Path(args.path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)      # as batch -o makes its folder
        write_starter(path)
    except FileExistsError:
        raise UserError(f"{path} already exists; threatkit init never overwrites a file (choose another PATH)") from None
    except OSError as exc:
        raise UserError(f"cannot write {path}: {exc.strerror or exc}") from None
    print(f"wrote {path}; next: threatkit validate {path}, then threatkit batch {path} -o out/", file=sys.stderr)
    return 0


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


def run() -> None:
    """The `threatkit` program: main, then exit without tearing the interpreter down. Freeing
    every module and object one by one takes 30-40 ms that the operating system does at once.
    What an exit must do still happens: the atexit handlers run (temporary folders, kernels)
    and the standard streams are flushed. With threads still running, the usual exit waits
    for them instead."""
    import atexit
    import threading

    code = main()
    if threading.active_count() > 1:
        sys.exit(code)
    atexit._run_exitfuncs()
    for stream in {sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__} - {None}:
        try:
            stream.flush()
        except (OSError, ValueError):      # a closed pipe (`threatkit schema | head`) or stream
            pass
    os._exit(code or 0)


if __name__ == "__main__":
    # run as `python -m threatkit.cli`: this file is __main__, while the commands of other modules
    # (cli_judgments) register with the module threatkit.cli; use that one
    from threatkit.cli import run as registered_run

    registered_run()
