"""`threatkit assess`, `timeline` and `tree`: a model's numbers, in a terminal or a file."""
from __future__ import annotations

import argparse
import json

from threatkit.cli.common import (
    add_harvest,
    FILE_HELP, UserError, _load, _lookup, _nonnegative_int, _positive_int, _rounded,
    _scenarios, _share, _write, command, format_table, model_file)
from threatkit.tabular import ASSESS_COLUMNS, is_stat_column, to_csv


def add_parsers(sub) -> None:
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
    add_harvest(p)
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
    add_harvest(p)
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


CLOCKS_KEPT = 512 << 20          # bytes of clocks `timeline` keeps for the scenarios after


@command
def cmd_timeline(args: argparse.Namespace) -> int:
    from threatkit.analysis.timeline import ClockMemo, timeline
    from threatkit.tabular import TIMELINE_COLUMNS, timeline_row

    model = _load(args.file).with_harvest(args.harvest)
    clocks = ClockMemo(limit=CLOCKS_KEPT)      # scenarios share the clocks of pathways their differences leave alone
    results = [timeline(model, s.id, threshold=args.threshold, samples=args.samples, seed=args.seed,
                        horizon=args.horizon, clocks=clocks) for s in _scenarios(model, args)]
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
