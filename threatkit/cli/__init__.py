"""The `threatkit` command line: one module per group of commands, registered here.

Each subcommand is one small function; a user mistake (a bad model file, an unknown id) is
printed as `FILE:LINE: message` or `threatkit: error: ...` with exit status 1, never as a
traceback. The modules import `threatkit.cli.common` and nothing of each other, and this
module imports them: no cycle.
"""
from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from threatkit import __version__
from threatkit.cli import (
    analysis_commands,
    interchange_commands,
    judgment_commands,
    model_commands,
    report_commands,
    sharing_commands,
)
from threatkit.cli.common import (  # the names scripts and tests import from threatkit.cli
    COMMANDS,
    FILE_HELP,
    HARVEST_HELP,
    OPTIONAL_FORMAT_MODULES,
    UserError,
    command,
    format_table,
    import_jsonschema_lean,
    model_file,
)
from threatkit.model.load import ModelError

__all__ = ["COMMANDS", "FILE_HELP", "HARVEST_HELP", "OPTIONAL_FORMAT_MODULES", "UserError", "build_parser", "command",
           "format_table", "import_jsonschema_lean", "main", "model_file", "run"]

# the order `threatkit --help` lists them in
GROUPS = (model_commands, analysis_commands, report_commands, interchange_commands, judgment_commands,
          sharing_commands)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="threatkit",
        description="Threat-model how an actor's access to an AI model can turn into replicated capability.")
    parser.add_argument("--version", action="version", version=f"threatkit {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for group in GROUPS:
        group.add_parsers(sub)
    return parser


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


def run() -> None:
    """The `threatkit` program: main, then exit without tearing the interpreter down. Freeing
    every module and object one by one takes 30-40 ms that the operating system does at once.
    What an exit must do still happens: the atexit handlers run (temporary folders, kernels)
    and the standard streams are flushed. With threads still running, the usual exit waits
    for them instead."""
    import atexit
    import threading

    from threatkit.run.processes import keep_freed_memory

    keep_freed_memory()
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

