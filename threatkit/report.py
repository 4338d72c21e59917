"""What a scenario report shows, section by section, for notebook cells to call.

The report template (templates/scenario_report.ipynb) holds narrative and one
call per section; everything computed is computed here, from the analysis and
render layers, so the tests check it. Results are recorded in the notebook as
a JSON display output of MIME type RESULTS_MIME, which `read_results` reads
back from an executed notebook (batch collects them without re-computing).
"""
from __future__ import annotations

import math
import re
from html import escape
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from threatkit.analysis.assess import Assessment, Setting, assess, finite_or_none
from threatkit.analysis.controls import control_values
from threatkit.analysis.diffusion import DAYS_PER_MONTH, Diffusion, LeadTime, diffusion, lead_between
from threatkit.model.load import load_model
from threatkit.model.values import ThreatModel
from threatkit.render.display import Table
from threatkit.render.safe import md_text
from threatkit.resources import data_path

RESULTS_MIME = "application/vnd.threatkit.results+json"
EXAMPLE = "examples/mythos.yaml"


def example_path() -> Path:
    """The built-in example model (the Mythos case)."""
    return data_path(EXAMPLE)


def _display(*objs, **kwargs) -> None:
    from IPython.display import display

    display(*objs, **kwargs)


def _markdown(text: str) -> None:
    from IPython.display import Markdown

    _display(Markdown(text))


def _html(text: str) -> None:
    from IPython.display import HTML

    _display(HTML(text))


def svg_for_html(svg: str, alt: str) -> str:
    """SVG ready to inline in HTML: no XML prolog, doctype or comments; alt text on the root."""
    svg = re.sub(r"<\?xml[^>]*\?>\s*|<!DOCTYPE[^>]*>\s*|<!--.*?-->\s*", "", svg, flags=re.S)
    head_end = svg.index(">", svg.index("<svg")) + 1      # the root tag: replace, never repeat, its alt text
    head = re.sub(r'\s(?:role|aria-label)="[^"]*"', "", svg[:head_end])
    return head.replace("<svg", f'<svg role="img" aria-label="{escape(alt, quote=True)}"', 1) + svg[head_end:]


def show_svg(svg: str, alt: str) -> None:
    """Display an SVG with alt text (kept when exported to HTML)."""
    _display({"image/svg+xml": svg_for_html(svg, alt), "text/plain": alt}, raw=True)


@dataclass(eq=False)
class ScenarioReport:
    """One scenario of a model, assessed, with the sections of its report."""

    model: ThreatModel
    scenario: str
    samples: int | None = 2000
    seed: int = 0
    model_path: str = ""

    @classmethod
    def build(cls, model_path: str | Path = "", scenario: str = "status-quo", samples: int | None = 2000,
              seed: int = 0) -> ScenarioReport:
        """Load the model (the built-in example if `model_path` is empty) and check the scenario."""
        path = Path(model_path) if str(model_path) else example_path()
        model = load_model(path)
        model.scenario(scenario)       # KeyError naming the closest id
        if samples is not None and (not isinstance(samples, int) or samples < 0):
            raise ValueError(f"samples must be a whole number >= 0 (0: deterministic only), found {samples!r}")
        return cls(model, scenario, samples or None, seed, str(path))

    @cached_property
    def setting(self) -> Setting:
        return Setting.of(self.model, self.scenario)

    @cached_property
    def assessment(self) -> Assessment:
        return assess(self.model, self.scenario, self.samples, self.seed)

    @cached_property
    def curves(self) -> tuple[Diffusion, Diffusion]:
        """(without the scenario's controls, with them)."""
        without = diffusion(self.setting.with_controls(()), self.model.pathways, self.samples, self.seed)
        with_ = diffusion(self.setting, self.model.pathways, self.samples, self.seed)
        return without, with_

    @cached_property
    def lead(self) -> LeadTime:
        return lead_between(*self.curves)

    # ---- sections --------------------------------------------------------------------------

    def summary(self) -> None:
        s = self.setting      # model text goes into the Markdown as literal text (md_text), never markup
        controls = ", ".join(md_text(c.title) for c in s.controls) or "none"
        _markdown(f"**Model:** {md_text(self.model.name or Path(self.model_path).name)}  \n"
                  f"**Scenario:** {md_text(self.scenario)} ({md_text(self.model.scenario(self.scenario).title)})  \n"
                  f"**Actor:** {md_text(s.actor.title)} ({md_text(s.actor.capacity)})  \n"
                  f"**Access tier:** {md_text(s.tier.title)}  \n"
                  f"**Controls:** {controls}  \n"
                  f"**Overall risk:** {md_text(self.assessment.overall_risk)}")
        from threatkit.render.display import assessment_table

        _display(assessment_table(self.assessment))

    def trees(self) -> None:
        from threatkit.render.trees import tree_svg

        for p in self.assessment.pathways:
            # HTML, not a Markdown heading: nbconvert would make the title an anchor id and link
            cheapest = escape(", ".join(p.cheapest_attack) or "none feasible")
            _html(f'<h4 class="tk-pathway">{escape(self.model.pathway(p.pathway).title)}</h4>\n'
                  f"<p>Probability {p.probability:.3f}, risk <strong>{escape(p.risk)}</strong>; "
                  f"cheapest attack: {cheapest}.</p>")
            show_svg(tree_svg(p.tree), f"Attack tree of pathway {p.pathway} in scenario {self.scenario}")

    def matrix(self) -> None:
        from threatkit.render.matrix import RiskMatrix

        m = RiskMatrix.of(self.assessment, uuid=f"threatkit-matrix-{self.scenario}")
        show_svg(m.to_svg(), f"Risk matrix with the pathways of scenario {self.scenario} placed")

    def diffusion(self) -> None:
        from threatkit.render.curves import DiffusionPlot

        without, with_ = self.curves
        plot = DiffusionPlot((("without controls", without), (f"{self.scenario} controls", with_)))
        show_svg(plot.to_svg(), f"Diffusion curve of scenario {self.scenario}, with and without its controls")
        _markdown(self.lead_text())

    def lead_text(self) -> str:
        lead = self.lead
        if not self.setting.controls:
            return "The scenario has no controls, so they preserve no lead time."
        if math.isinf(lead.lead_days):
            return (f"With its controls the actor does not reach an even chance of holding the capability "
                    f"within {lead.horizon_days / DAYS_PER_MONTH:.0f} months.")
        band = (f" (5th to 95th percentile over {self.samples} draws: {lead.p5 / DAYS_PER_MONTH:.1f} to "
                f"{lead.p95 / DAYS_PER_MONTH:.1f} months)" if self.samples else "")
        return (f"The scenario's controls move the median time to capability from {lead.without_days:.0f} to "
                f"{lead.with_days:.0f} days: a lead of **{lead.lead_months:.1f} months**{band}.")

    def recommendations(self):
        """Controls by risk reduction per dollar, as a DataFrame."""
        import pandas as pd

        rows = [v.to_dict() for v in control_values(self.model, self.scenario)]
        frame = pd.DataFrame(rows).set_index("control")
        return Table(frame.style.set_uuid(f"threatkit-controls-{self.scenario}").format(
            {"risk_reduction": "{:.4f}", "cost_usd": "${:,.0f}",
             "reduction_per_million_usd": lambda x: "free" if x is None or x != x else f"{x:.4f}"},
            escape="html").format_index(escape="html"))

    def sources(self):
        """Every entry and step this scenario's numbers come from, with source and confidence,
        then the model's warnings."""
        import pandas as pd

        s = self.setting
        rows = []
        for kind, entry in (("asset", s.asset), ("actor", s.actor), ("tier", s.tier),
                            *(("control", c) for c in s.controls), *(("pathway", p) for p in self.model.pathways)):
            rows.append((kind, entry.id, entry.source or "(no source given)", entry.confidence or ""))
            if kind == "pathway":
                rows += [("step", f"{entry.id}/{n.id}", n.source or "(no source given)", n.confidence or "")
                         for n in entry.tree.walk() if n.is_leaf and (n.source or n.confidence)]
        rows += [("warning", "", str(w), "") for w in self.model.warnings]   # e.g. a counter an override dropped
        frame = pd.DataFrame(rows, columns=["kind", "id", "source", "confidence"])
        return Table(frame.style.set_uuid(f"threatkit-sources-{self.scenario}").hide(axis="index")
                     .format(escape="html"))

    def results(self) -> dict:
        """What the report records: the assessment rows (as `threatkit assess --format json`) and the lead."""
        lead = self.lead
        return {
            "scenario": self.scenario,
            "model": self.model.name,
            "samples": self.samples,
            "seed": self.seed,
            "overall_risk": self.assessment.overall_risk,
            "rows": self.assessment.rows(),
            "lead_time": {k: finite_or_none(getattr(lead, k)) for k in
                          ("with_days", "without_days", "lead_days", "p5", "p50", "p95", "horizon_days")},
        }

    def record(self) -> None:
        """Display the results as JSON with threatkit's MIME type, for batch to read back."""
        _display({RESULTS_MIME: self.results(), "text/plain": f"threatkit results for scenario {self.scenario}"},
                 raw=True)


def policy_comparison(model: ThreatModel, base: str, policy: str, samples: int | None = 1000, seed: int = 1,
                      actors: tuple[str, ...] | None = None):
    """Months of lead a policy preserves over a base scenario, per actor, with its band, as a Styler."""
    import pandas as pd

    from threatkit.analysis.diffusion import policy_leads

    rows = []
    for actor_id, lead in policy_leads(model, base, policy, actors, samples, seed).items():
        rows.append({"actor": model.actor(actor_id).title,
                     f"median days ({base})": lead.without_days, f"median days ({policy})": lead.with_days,
                     "lead (months)": lead.lead_months, "p5 (months)": lead.p5 / DAYS_PER_MONTH,
                     "p95 (months)": lead.p95 / DAYS_PER_MONTH})
    frame = pd.DataFrame(rows).set_index("actor")

    def days(x: float) -> str:
        return "beyond horizon" if math.isinf(x) else f"{x:,.0f}"

    def months(x: float) -> str:
        return "unbounded" if math.isinf(x) else f"{x:.1f}"

    return Table(frame.style.set_uuid(f"threatkit-policy-{base}-{policy}").format(
        {c: days for c in frame.columns if c.startswith("median")} | {c: months for c in frame.columns
                                                                      if "months" in c}, escape="html")
                 .format_index(escape="html"))


def read_results(notebook) -> dict:
    """The results a report recorded, from an executed notebook (a path or a NotebookNode)."""
    import nbformat

    nb = nbformat.read(str(notebook), as_version=4) if isinstance(notebook, (str, Path)) else notebook
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            if RESULTS_MIME in data:
                return data[RESULTS_MIME]
    raise LookupError("the notebook recorded no threatkit results (no output of type " + RESULTS_MIME + ")")
