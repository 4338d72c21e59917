"""Run a report template with papermill and write it as HTML (threatkit.run.html).

One step per function, as papermill itself is laid out: find the template,
execute it with parameters, turn the executed notebook into HTML with
threatkit's nbconvert template, write the files atomically.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from threatkit.files import atomic_write
from threatkit.resources import resource_dir
from threatkit.run.html import stable_ids, to_html

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

    from threatkit.run.engine import KERNEL_ARGUMENTS, engine_name

    try:
        name = engine_name(engine)
    except ValueError as exc:
        raise ReportError(str(exc)) from None
    if name:
        from threatkit.run.engine import warm_up

        warm_up(exercise=False)                  # one child: the imports are all it shares
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


@dataclass(frozen=True)
class Report:
    html: Path
    notebook: Path | None
    results: dict


def make_report(model_path: str | Path, scenario: str, output_html: str | Path, *, template: str | None = None,
                notebook: str | Path | None = None, samples: int = 2000, seed: int = 1,
                timeout: float | None = None, engine: str = "threatkit", harvest: str | None = None) -> Report:
    """Check the model and scenario, run the template, write the HTML (and notebook)."""
    import nbformat

    from threatkit.model.load import load_model
    from threatkit.report import read_results

    model_path = Path(model_path).resolve()
    model = load_model(model_path)        # a bad model fails here, before any kernel starts
    model.scenario(scenario)              # so does an unknown scenario (KeyError with a suggestion)
    template_path = resolve_template(template)
    params = {"model_path": str(model_path), "scenario": scenario, "samples": samples, "seed": seed}
    if harvest:                           # only when asked: a template of one's own need not know it
        params["harvest"] = harvest
    nb = execute(template_path, params, timeout=timeout, cwd=model_path.parent, engine=engine)
    stable_ids(nb)
    results = read_results(nb)
    title = f"threatkit report: {model.scenario(scenario).title}"
    html = to_html(nb, title, subtitle=f"{model.name or model_path.name} · scenario {scenario}")
    written_nb = None
    if notebook is not None:
        written_nb = atomic_write(notebook, nbformat.writes(nb))
    return Report(atomic_write(output_html, html), written_nb, results)
