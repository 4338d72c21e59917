"""An executed notebook as HTML, with threatkit's nbconvert template.

Its own module so that both the report runner (execute) and the warm engine's
warm-up (engine) can use it without importing each other.
"""
from __future__ import annotations

from functools import lru_cache

from threatkit.resources import resource_dir


def stable_ids(nb) -> None:
    """papermill gives its injected-parameters cell a random id; give it a fixed one, so
    the same inputs make the same notebook and HTML (locally, on Dask, run after run)."""
    for cell in nb.cells:
        if "injected-parameters" in cell.get("metadata", {}).get("tags", []):
            cell["id"] = "injected-parameters"


def to_html(nb, title: str, subtitle: str = "") -> str:
    """The executed notebook as HTML: code hidden, SVG inline, threatkit's header."""
    nb.metadata["title"] = title
    nb.metadata.setdefault("threatkit", {})["subtitle"] = subtitle
    body, _ = _exporter().from_notebook_node(nb)
    return body


@lru_cache(maxsize=1)
def _exporter():
    """One exporter per process: its Jinja templates are compiled once, not per report."""
    from threatkit.run.nbexport import OfflineHTMLExporter as HTMLExporter   # widgets render offline
    from nbconvert.exporters.templateexporter import TemplateExporter

    class ReportExporter(HTMLExporter):
        """nbconvert's HTML exporter without its final pass through BeautifulSoup, which
        only adds alt text to <img> tags and tabindex to inputs: a report has neither
        (its figures are inline SVG with alt text, its code is hidden), and the pass costs
        more than the rest of the export."""

        def from_notebook_node(self, nb, resources=None, **kw):
            from nbconvert.filters.highlight import Highlight2HTML
            from nbconvert.filters.widgetsdatatypefilter import WidgetsDataTypeFilter

            lexer = nb.metadata.get("language_info", {}).get("pygments_lexer", "ipython3")
            self.register_filter("highlight_code", self.filters.get(
                "highlight_code", Highlight2HTML(pygments_lexer=lexer, parent=self)))
            resources = self._init_resources(resources)
            self.register_filter("filter_data_type", WidgetsDataTypeFilter(
                notebook_metadata=self._nb_metadata, parent=self, resources=resources))
            return TemplateExporter.from_notebook_node(self, nb, resources, **kw)

        def _create_environment(self):
            """Compiled templates kept in the per-user cache: compiling them is most of the
            first export in a process (0.2 s), before every `threatkit report` and batch."""
            from jinja2 import FileSystemBytecodeCache

            from threatkit.cachedir import cache_dir

            environment = super()._create_environment()
            folder = cache_dir("jinja")
            if folder is not None:
                environment.bytecode_cache = FileSystemBytecodeCache(str(folder), "nbconvert-%s.cache")
            return environment

    return ReportExporter(template_name="threatkit",
                          extra_template_basedirs=[str(resource_dir("templates") / "nbconvert")],
                          exclude_input=True, exclude_input_prompt=True, exclude_output_prompt=True,
                          # the notebook validated once, after the preprocessors, not after each (7 passes)
                          optimistic_validation=True)
