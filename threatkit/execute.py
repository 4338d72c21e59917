"""Run a report template with papermill and export it to HTML with nbconvert.

One step per function, as papermill itself is laid out: find the template,
execute it with parameters, turn the executed notebook into HTML with
threatkit's nbconvert template, write the files atomically.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from threatkit.files import atomic_write
from threatkit.resources import resource_dir

DEFAULT_TEMPLATE = "scenario_report"
KERNEL = "python3"


class ReportError(Exception):
    """A report could not be made: a bad template, or a notebook that failed."""


def resolve_template(name_or_path: str | Path | None = None) -> Path:
    """A template name (shipped in templates/) or a path to a notebook."""
    choice = str(name_or_path or DEFAULT_TEMPLATE)
    path = Path(choice)
    if path.suffix == ".ipynb" or path.exists():
        if not path.is_file():
            raise ReportError(f"template {choice!r} does not exist")
        return path.resolve()
    shipped = resource_dir("templates") / f"{choice}.ipynb"
    if shipped.is_file():
        return shipped
    names = sorted(p.stem for p in resource_dir("templates").glob("*.ipynb"))
    raise ReportError(f"unknown template {choice!r}; expected a path to a notebook or one of: {', '.join(names)}")


def execute(template: Path, parameters: dict, *, timeout: float | None = None, cwd: str | Path | None = None,
            engine: str = "threatkit"):
    """Execute the template with papermill; the executed notebook (NotebookNode).

    `engine`: "threatkit" (a forked child of this process, warmed up) or "kernel" (a fresh
    Jupyter kernel). Raises ReportError naming the failing cell and its error."""
    import papermill
    from papermill.exceptions import PapermillExecutionError

    from threatkit.engine import KERNEL_ARGUMENTS, engine_name

    try:
        name = engine_name(engine)
    except ValueError as exc:
        raise ReportError(str(exc)) from None
    if name:
        from threatkit.engine import warm_up

        warm_up()
    logging.getLogger("papermill").setLevel(logging.WARNING)
    try:
        return papermill.execute_notebook(
            str(template), None, parameters=parameters, kernel_name=KERNEL, engine_name=name, progress_bar=False,
            log_output=False, execution_timeout=timeout, cwd=str(cwd) if cwd else None,
            **({} if name else KERNEL_ARGUMENTS))
    except PapermillExecutionError as exc:
        raise ReportError(f"the report notebook failed in cell {exc.exec_count}: {exc.ename}: {exc.evalue}") from None
    except (TimeoutError, RuntimeError) as exc:
        raise ReportError(f"the report notebook did not finish: {exc}") from None


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
    from threatkit.nbexport import OfflineHTMLExporter as HTMLExporter   # widgets render offline
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


@dataclass(frozen=True)
class Report:
    html: Path
    notebook: Path | None
    results: dict


def make_report(model_path: str | Path, scenario: str, output_html: str | Path, *, template: str | None = None,
                notebook: str | Path | None = None, samples: int = 2000, seed: int = 1,
                timeout: float | None = None, engine: str = "threatkit") -> Report:
    """Check the model and scenario, run the template, write the HTML (and notebook)."""
    import nbformat

    from threatkit.model.load import load_model
    from threatkit.report import read_results

    model_path = Path(model_path).resolve()
    model = load_model(model_path)        # a bad model fails here, before any kernel starts
    model.scenario(scenario)              # so does an unknown scenario (KeyError with a suggestion)
    template_path = resolve_template(template)
    params = {"model_path": str(model_path), "scenario": scenario, "samples": samples, "seed": seed}
    nb = execute(template_path, params, timeout=timeout, cwd=model_path.parent, engine=engine)
    stable_ids(nb)
    results = read_results(nb)
    title = f"threatkit report: {model.scenario(scenario).title}"
    html = to_html(nb, title, subtitle=f"{model.name or model_path.name} · scenario {scenario}")
    written_nb = None
    if notebook is not None:
        written_nb = atomic_write(notebook, nbformat.writes(nb))
    return Report(atomic_write(output_html, html), written_nb, results)
