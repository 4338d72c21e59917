"""Rich display of threatkit values in Jupyter.

The model and analysis layers stay free of display code; instead, when
threatkit is imported inside IPython, `register` teaches IPython's formatters
(by type name, so nothing heavy is imported until something is shown) to draw
them with the functions below. A table maps each type to its MIME type and
function, so adding a displayable type is one row.
"""
from __future__ import annotations

import html
import importlib

# (module, class name) -> (MIME type, function name in this module)
FORMATTERS: dict[tuple[str, str], tuple[str, str]] = {
    ("threatkit.analysis.assess", "EvaluatedTree"): ("image/svg+xml", "tree_svg"),
    ("threatkit.analysis.assess", "Assessment"): ("text/html", "assessment_html"),
    ("threatkit.analysis.timeline", "Curves"): ("image/svg+xml", "curves_svg"),
    ("threatkit.analysis.judgments", "Brief"): ("text/markdown", "brief_markdown"),
    ("threatkit.analysis.sensitivity", "Tornado"): ("image/svg+xml", "tornado_svg_of"),
    ("threatkit.model.values", "ThreatModel"): ("text/html", "model_html"),
}


class Table:
    """A styled pandas table that shows the same HTML and text on every run
    (a bare Styler's text form carries its memory address)."""

    def __init__(self, styler):
        self.styler = styler

    @property
    def data(self):
        return self.styler.data

    def _repr_html_(self) -> str:
        return self.styler.to_html()

    def __repr__(self) -> str:
        return self.styler.data.to_string()


def register(shell) -> None:
    """Register the formatters with an IPython shell (idempotent)."""
    formatters = shell.display_formatter.formatters
    for (module, name), (mime, func) in FORMATTERS.items():
        formatters[mime].for_type_by_name(module, name, _deferred(func))


def _deferred(func: str):
    def format(obj):
        return getattr(importlib.import_module(__name__), func)(obj)
    format.__name__ = f"threatkit_{func}"
    return format


def tree_svg(tree) -> str:
    from threatkit.render.trees import tree_svg as render

    return render(tree)


def brief_markdown(brief) -> str:
    from threatkit.render.brief import brief_markdown as render

    return render(brief)


def tornado_svg_of(tornado) -> str:
    from threatkit.render.tornado import tornado_svg

    return tornado_svg(tornado)


def curves_svg(c) -> str:
    from threatkit.render.curves import CapabilityPlot

    return CapabilityPlot((c,)).to_svg()


ASSESSMENT_COLUMNS = ("pathway", "probability", "cost_usd", "time_days", "skill", "fidelity",
                      "likelihood", "impact", "risk", "cheapest_attack")


def assessment_frame(assessment):
    """The assessment as a DataFrame, one row per pathway (per asset and pathway with exposures)."""
    import pandas as pd

    rows = assessment.rows()
    frame = pd.DataFrame(rows, columns=["asset", *ASSESSMENT_COLUMNS])
    frame["cheapest_attack"] = frame["cheapest_attack"].map(", ".join)
    if assessment.exposures:        # a row per model the actor reaches and pathway
        return frame.set_index(["asset", "pathway"])
    return frame.drop(columns="asset").set_index("pathway")


def assessment_html(assessment) -> str:
    """Header (actor, tier, controls, overall risk) and a fixed-uuid table of pathways."""
    s = assessment.setting
    controls = ", ".join(c.title for c in s.controls) or "none"
    head = (f"<p><b>Scenario {html.escape(s.id)}</b>: actor {html.escape(s.actor.title)}, "
            f"tier {html.escape(s.tier.title)}, controls {html.escape(controls)}; "
            f"overall risk <b>{html.escape(assessment.overall_risk)}</b></p>")
    return head + assessment_table(assessment)._repr_html_()


def assessment_table(assessment) -> Table:
    """The pathways of an assessment as a table with a fixed uuid (stable HTML)."""
    styler = (assessment_frame(assessment).style.set_uuid(f"threatkit-assessment-{assessment.scenario}")
              .format({"probability": "{:.3f}", "cost_usd": _money, "time_days": _days, "skill": _plain,
                       "fidelity": "{:.2f}"}, escape="html").format_index(escape="html"))
    return Table(styler)


def _money(x) -> str:
    return "infeasible" if x is None or x != x else f"${x:,.0f}"


def _days(x) -> str:
    return "infeasible" if x is None or x != x else f"{x:,.1f}"


def _plain(x) -> str:
    return "-" if x is None or x != x else f"{x:g}"


def model_html(model) -> str:
    """A short overview: counts per kind and the scenarios."""
    from threatkit.model.values import KINDS

    counts = "".join(f"<tr><td>{k}</td><td>{len(getattr(model, k))}</td></tr>" for k in KINDS)
    scen = "".join(f"<tr><td>{html.escape(s.id)}</td><td>{html.escape(s.actor)}</td><td>{html.escape(s.tier)}</td>"
                   f"<td>{html.escape(', '.join(s.controls) or '-')}</td></tr>" for s in model.scenarios)
    return (f"<p><b>{html.escape(model.name or 'Threat model')}</b></p>"
            f"<table><tr><th>kind</th><th>entries</th></tr>{counts}</table>"
            + (f"<table><tr><th>scenario</th><th>actor</th><th>tier</th><th>controls</th></tr>{scen}</table>"
               if model.scenarios else ""))
