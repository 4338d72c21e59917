"""`threatkit export` and `import`: other tools' formats (ATLAS Navigator, STIX 2.1, Excel, ADTool)."""
from __future__ import annotations

import argparse
import sys

from threatkit.cli.common import FILE_HELP, UserError, _write, command, model_file
from threatkit.model.load import load_model


def add_parsers(sub) -> None:
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
