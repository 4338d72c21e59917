"""The `threatkit` command line.

Each subcommand is one small function; a user mistake (a bad model file, an
unknown id) is printed as `FILE:LINE: message` or `threatkit: error: ...` with
exit status 1, never as a traceback.
"""
from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence

from threatkit import __version__
from threatkit.model.load import ModelError, atlas_ids, builtin_model, load_model
from threatkit.model.values import KINDS, ModelFile, ThreatModel


class UserError(Exception):
    """A mistake in what the user asked for: reported in one line, exit status 1."""


COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {}


def command(func: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    COMMANDS[func.__name__.removeprefix("cmd_")] = func
    return func


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except ModelError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        return 1
    except UserError as exc:
        print(f"threatkit: error: {exc}", file=sys.stderr)
        return 1
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
    p.add_argument("files", nargs="+", metavar="FILE", help="model file (YAML)")

    p = sub.add_parser("catalog", help="list the built-in tiers, actors, pathways, controls, ...",
                       description="List the entries of the built-in catalog (or of a model file with --model).")
    p.add_argument("kind", nargs="?", choices=[*KINDS, "atlas"], metavar="KIND",
                   help=f"one of: {', '.join([*KINDS, 'atlas'])} (default: a count of each)")
    p.add_argument("--model", metavar="FILE", help="list the entries of this model file instead of the built-in catalog")
    p.add_argument("--format", choices=["table", "json"], default="table", help="output format (default: table)")

    sub.add_parser("schema", help="print the JSON Schema of the model file, for editors",
                   description="Print the JSON Schema of a threatkit model file.")
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
    return 1 if failed else 0


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
}


@command
def cmd_catalog(args: argparse.Namespace) -> int:
    model = load_model(args.model) if args.model else builtin_model()
    if args.kind is None:
        rows = [{"kind": k, "count": len(getattr(model, k))} for k in KINDS]
        rows.append({"kind": "atlas", "count": len(atlas_ids())})
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


def format_table(rows: list[dict], columns: Sequence[str]) -> str:
    """A plain, aligned text table (stable across terminals, easy to grep)."""
    def cell(value) -> str:
        if value is None:
            return "-"
        if isinstance(value, list):
            return ",".join(map(cell, value))
        if isinstance(value, dict):
            return "{}..{} ({})".format(*(value[k] for k in ("low", "high", "mode")))
        if isinstance(value, float):
            return f"{value:g}"
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


if __name__ == "__main__":
    sys.exit(main())
