"""`threatkit validate`, `catalog`, `schema` and `init`: the model file itself."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from threatkit.cli.common import (
    FILE_HELP, UserError, _emit, _load, _warn, command, model_file)
from threatkit.model.load import ModelError, atlas_ids, builtin_model, load_model
from threatkit.model.values import KINDS, ModelFile, ThreatModel


def add_parsers(sub) -> None:
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

    sub.add_parser("schema", help="print the JSON Schema of the model file, for editors",
                   description="Print the JSON Schema of a threatkit model file.")
    p = sub.add_parser("init", help="write a starter model file to edit (refuses to overwrite)",
                       description="Write a starter model file: the built-in catalog included, one asset, one "
                                   "scenario, and comments saying what each key means and where "
                                   "`threatkit catalog` lists the choices. Never overwrites a file.")
    p.add_argument("path", nargs="?", default="model.yaml", metavar="PATH",
                   help="file to write (default: model.yaml)")


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
    "substitutes": ("id", "name", "share", "available_to", "assets", "confidence"),
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
            if args.kind == "substitutes" and args.format == "table":   # json keeps the points as dumped
                row["share"] = _points_text(entry.share)
                row.setdefault("available_to", "all")     # absent: every actor / every asset
                row.setdefault("assets", "all")
            rows.append(row)
    return _emit(rows, CATALOG_COLUMNS[args.kind], args.format)


def _points_text(points) -> str:
    """[[x, quantity], ...] in one short cell: '0:0, 3:0.3-0.5-1, 10:1' (a range as low-mode-high)."""
    def q(v) -> str:
        return f"{v.mode:g}" if v.is_scalar else f"{v.low:g}-{v.mode:g}-{v.high:g}"
    return ", ".join(f"{x:g}:{q(v)}" for x, v in points)


@command
def cmd_schema(args: argparse.Namespace) -> int:
    schema = ModelFile.model_json_schema()
    schema = {"$schema": "https://json-schema.org/draft/2020-12/schema", **schema, "title": "threatkit model file"}
    print(json.dumps(schema, indent=2))
    return 0


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
