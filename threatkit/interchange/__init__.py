"""A model in and out of other tools' formats: ATLAS Navigator layers, STIX 2.1
bundles, Excel risk registers and ADTool attack trees.

One module per format. This package sits beside render and report: it reads
the model and the analysis, and nothing below it imports it. Nothing here is
imported by `import threatkit`; openpyxl and defusedxml load only when their
format is used.
"""
from __future__ import annotations

from importlib import import_module

from threatkit.interchange.selection import Exported, ExportError, Selection, select
from threatkit.model.values import ThreatModel

# format -> module whose `export(selection)` writes it
EXPORTERS = {
    "navigator": "threatkit.interchange.navigator",
    "stix": "threatkit.interchange.stix",
    "xlsx": "threatkit.interchange.xlsx",
    "adtool": "threatkit.interchange.adtool",
}


def export(model: ThreatModel, fmt: str, scenarios: tuple[str, ...] = (), pathway: str | None = None) -> Exported:
    """The model (its scenarios, or the named ones; one pathway if named) in format `fmt`.

    Raises KeyError for an unknown scenario or pathway id and ExportError for
    a request the format cannot satisfy."""
    if fmt not in EXPORTERS:
        raise ExportError(f"unknown export format {fmt!r}; expected one of: {', '.join(EXPORTERS)}")
    return import_module(EXPORTERS[fmt]).export(select(model, scenarios, pathway))


__all__ = ["EXPORTERS", "Exported", "ExportError", "Selection", "export", "select"]
