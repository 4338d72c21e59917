"""`threatkit brief` and `threatkit sensitivity`: key judgments and the inputs that drive them."""
from __future__ import annotations

import argparse
import json
import math
import sys

from threatkit.cli.common import (
    add_harvest,
    FILE_HELP,
    UserError,
    _lookup,
    _nonnegative_int,
    _positive_int,
    _share,
    command,
    format_table,
    model_file,
)
from threatkit.model.load import load_model
from threatkit.render.safe import terminal_safe


def add_parsers(sub) -> None:
    p = sub.add_parser("brief", help="key judgments for a scenario, in ICD 203 estimative language",
                       description="Key judgments for one scenario: the chance of durable capability within 3, 6 and "
                                   "12 months with and without its controls, the lead the controls buy, the "
                                   "acceleration over what the actor would have without access (own development or "
                                   "substitutes), the chance access gets there before the substitutes, the most "
                                   "likely pathway and the cheapest "
                                   "feasible attack; each with its ICD 203 word and band, a confidence derived from "
                                   "the sources of the inputs it rests on, and those inputs (KIND:ID:FIELD).")
    p.add_argument("file", metavar="FILE", type=model_file, help=FILE_HELP)
    p.add_argument("--scenario", required=True, metavar="ID", help="scenario id")
    p.add_argument("--samples", type=_nonnegative_int, default=2000, metavar="N",
                   help="Monte Carlo draws (default: 2000, as reports; 0 for values at the modes only)")
    p.add_argument("--seed", type=_nonnegative_int, default=1, metavar="S", help="random seed (default: 1, as reports)")
    p.add_argument("--threshold", type=_share, metavar="X", help="share of the capability that counts as holding it")
    add_harvest(p)
    p.add_argument("--format", choices=["text", "json"], default="text", help="output format (default: text)")

    p = sub.add_parser("sensitivity", help="which inputs an output hangs on: a tornado (or Sobol' indices)",
                       description="One at a time, every uncertain input of the scenario (a range or an estimative "
                                   "word) goes to the 5th and the 95th percentile of its own distribution (PERT for "
                                   "a range, uniform over a word's band), all others at their modes, and the output "
                                   "is recomputed; rows sorted by swing, largest first. Setting an input to its "
                                   "low_value in the model file and recomputing gives output_low. Null is never "
                                   "(beyond the horizon) or undefined; a null swing is unbounded. A scenario with "
                                   "over 400 inputs (a tree of hundreds of steps) has its steps' inputs "
                                   "screened first, subtree by subtree (said on stderr); --all sweeps every one. "
                                   "--method sobol gives Sobol' total-order indices instead (needs "
                                   "threatkit[sensitivity]).")
    p.add_argument("file", metavar="FILE", type=model_file, help=FILE_HELP)
    p.add_argument("--scenario", required=True, metavar="ID", help="scenario id")
    p.add_argument("--output", default="days_to_durable", metavar="NAME",
                   help="days_to_durable (default), lead_days, acceleration_days or probability:PATHWAY")
    p.add_argument("--format", choices=["table", "json"], default="table", help="output format (default: table)")
    p.add_argument("--method", choices=["oat", "sobol"], default="oat",
                   help="oat: one-at-a-time swings (default); sobol: Sobol' total-order indices (SALib)")
    p.add_argument("--samples", type=_positive_int, default=256, metavar="N",
                   help="Sobol' base sample size, a power of 2 (N x (inputs + 2) evaluations; default 256)")
    p.add_argument("--seed", type=_nonnegative_int, default=0, metavar="S", help="random seed for --method sobol")
    p.add_argument("--threshold", type=_share, metavar="X", help="share of the capability that counts as holding it")
    add_harvest(p)
    p.add_argument("--top", type=_positive_int, metavar="N", help="only the N largest rows")
    p.add_argument("--all", action="store_true", help="sweep every input, however many (no screening)")


@command
def cmd_brief(args: argparse.Namespace) -> int:
    from threatkit.analysis.judgments import key_judgments

    model = load_model(args.file).with_harvest(args.harvest)
    _lookup(model, "scenarios", args.scenario)
    brief = key_judgments(model, args.scenario, samples=args.samples or None, seed=args.seed, threshold=args.threshold)
    if args.format == "json":
        print(json.dumps(brief.to_list(), indent=2, ensure_ascii=False))
    else:
        print(terminal_safe(brief.text()), end="")
    return 0


@command
def cmd_sensitivity(args: argparse.Namespace) -> int:
    from threatkit.analysis.sensitivity import OutputError, check_output, tornado

    model = load_model(args.file).with_harvest(args.harvest)
    _lookup(model, "scenarios", args.scenario)
    try:
        check_output(model, args.output)
    except OutputError as exc:
        raise UserError(str(exc)) from None
    if args.method == "sobol":
        return _sobol(model, args)
    t = tornado(model, args.scenario, args.output, threshold=args.threshold, screen=not args.all)
    if t.screened is not None and t.screened.screened:
        print(terminal_safe(f"threatkit: {t.screened.sentence()} (--all sweeps every input)"), file=sys.stderr)
    rows = t.to_list()[: args.top]
    if args.format == "json":
        print(json.dumps(rows, indent=2, ensure_ascii=False))
        return 0
    print(terminal_safe(f"{args.output} with every input at its mode: {_number(t.base)}; each input below at its "
                        f"{t.percentiles[0]}th and {t.percentiles[1]}th percentile, the others at their modes"))
    shown = [{**r, **{k: _number(r[k]) for k in ("low_value", "high_value", "output_low", "output_high")},
              "swing": "unbounded" if r["swing"] is None else _number(r["swing"])} for r in rows]
    print(terminal_safe(format_table(shown, ("input", "low_value", "high_value", "output_low", "output_high", "swing"))))
    return 0


def _number(x) -> str:
    if x is None:
        return "never"
    if isinstance(x, float) and (math.isnan(x) or math.isinf(x)):
        return "never" if x > 0 else "undefined"
    return f"{x:.4g}"


def _sobol(model, args) -> int:
    from threatkit.analysis.sobol import sobol_indices

    try:
        rows = sobol_indices(model, args.scenario, args.output, samples=args.samples, seed=args.seed,
                             threshold=args.threshold)
    except ImportError as exc:
        raise UserError(str(exc)) from None
    except ValueError as exc:
        raise UserError(str(exc)) from None
    out = [r.to_dict() for r in rows][: args.top]
    if args.format == "json":
        print(json.dumps(out, indent=2, ensure_ascii=False))
    else:
        print(f"Sobol' indices of {args.output}: ST total-order (with interactions), S1 first-order; "
              f"{args.samples} x ({len(rows)} + 2) evaluations, seed {args.seed}")
        shown = [{k: (f"{v:.3f}" if isinstance(v, float) else v) for k, v in r.items()} for r in out]
        print(terminal_safe(format_table(shown, ("input", "ST", "ST_conf", "S1", "S1_conf"))))
    return 0
