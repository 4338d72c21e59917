"""nbconvert's HTML export with threatkit's copy of the widget manager, for pages that show
their widgets offline: `jupyter nbconvert --to html_offline NOTEBOOK` (an entry point of
threatkit's), and threatkit's own report exporter.

The stock export loads @jupyter-widgets/html-manager (and require.js) from a CDN, so
offline it shows no widgets at all.
"""
from __future__ import annotations

from nbconvert import HTMLExporter
from traitlets import default

from threatkit.run.snapshot import renderer_url

NO_SCRIPT = "data:text/javascript,"   # the stock template's require.js tag, kept off the network


class OfflineHTMLExporter(HTMLExporter):
    """HTML with the widget manager embedded (only in pages that have widget state)."""

    export_from_notebook = "HTML, widgets offline"

    @default("widget_renderer_url")
    def _offline_renderer(self) -> str:
        return renderer_url()

    @default("require_js_url")
    def _no_require(self) -> str:
        return NO_SCRIPT
