"""What every command shares: the FILE argument, argument types, the error a user mistake
raises, loading a model with its warnings, writing output atomically, and tables."""
from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence

from threatkit.model.load import load_model
from threatkit.model.values import ThreatModel


FILE_HELP = "model file (YAML), or example:NAME for a shipped example (threatkit catalog examples)"
HARVEST_HELP = ("how much a transfer step harvests, for every scenario: adaptive (the least whole number of "
                "samples that clears the threshold) or planned (all its queries that access allows); default: "
                "each scenario's harvest, else adaptive")


def add_harvest(parser: argparse.ArgumentParser) -> None:
    """--harvest, as every command over time takes it."""
    parser.add_argument("--harvest", choices=["adaptive", "planned"], metavar="adaptive|planned", help=HARVEST_HELP)


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


# command name -> function; each command module registers its functions with @command
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
    from threatkit.model.yamlsafe import freeze

    model = load_model(path)
    # The model lives as long as this short process: keep the collector from scanning its
    # hundred thousand objects again and again while the analysis allocates (a large model
    # assesses in 60% of the time).
    freeze()
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


def _scenarios(model: ThreatModel, args: argparse.Namespace) -> list:
    """The scenario named by --scenario, or every scenario of the model."""
    if args.scenario:
        return [_lookup(model, "scenarios", args.scenario)]
    if not model.scenarios:
        raise UserError(f"{args.file} has no scenarios; add one under 'scenarios:'")
    return list(model.scenarios)


def _rounded(row: dict) -> dict:
    return {k: (float(f"{v:.4g}") if isinstance(v, float) else v) for k, v in row.items()}


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
