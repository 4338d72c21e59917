"""`threatkit report` and `batch`: report notebooks run with papermill into HTML."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from threatkit.cli.common import (
    add_harvest,
    FILE_HELP, UserError, _nonnegative_int, _positive_int, command, model_file)
from threatkit.model.load import ModelError


def add_parsers(sub) -> None:
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
    add_harvest(p)
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
    add_harvest(p)
    p.add_argument("--engine", choices=["threatkit", "kernel"], default="threatkit",
                   help="threatkit: each report in a forked child of a warm process (fast, default); "
                        "kernel: a fresh Jupyter kernel per report (for templates that need one)")


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
    import threading

    inherited = signal.getsignal(signal.SIGINT) in (signal.SIG_IGN, signal.SIG_DFL, None)
    if inherited and threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, signal.default_int_handler)
