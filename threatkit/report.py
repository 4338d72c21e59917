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

from threatkit.analysis.assess import Assessment, Setting, assess
from threatkit.analysis.controls import control_values
from threatkit.analysis.timeline import (
    DAYS_PER_MONTH, Answer, Curves, Timeline, answers, curves_of, timeline_of)
from threatkit.model.load import load_model
from threatkit.model.values import ThreatModel
from threatkit.render.display import Table
from threatkit.render.safe import md_text
from threatkit.resources import data_path

RESULTS_MIME = "application/vnd.threatkit.results+json"
AT_MODES = "at the inputs' most likely values"   # names the deterministic figure beside the draws' medians
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


_SHARED_CLOCKS: list = [None]        # a ClockMemo that every report of this process shares (share_clocks)


def share_clocks(memo) -> None:
    """Let every report made in this process from now on keep its routes' clocks in `memo` (a
    ClockMemo, or None) and take those an earlier one computed for the same leaves: for a batch's
    worker, which runs reports of one model one after another, where a pathway the scenarios'
    differences leave alone has the same clock in each. The same numbers, to the bit."""
    _SHARED_CLOCKS[0] = memo


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
              seed: int = 0, harvest: str = "") -> ScenarioReport:
        """Load the model (the built-in example if `model_path` is empty) and check the scenario;
        `harvest` (adaptive or planned) overrides the scenarios' own."""
        path = Path(model_path) if str(model_path) else example_path()
        model = load_model(path).with_harvest(harvest or None)
        model.scenario(scenario)       # KeyError naming the closest id
        if samples is not None and (not isinstance(samples, int) or samples < 0):
            raise ValueError(f"samples must be a whole number >= 0 (0: deterministic only), found {samples!r}")
        return cls(model, scenario, samples or None, seed, str(path))

    @cached_property
    def setting(self) -> Setting:
        return Setting.of(self.model, self.scenario)

    @cached_property
    def assessment(self) -> Assessment:
        # the draws' statistics from the curves' Monte Carlo inputs: the same draws, evaluated once
        drawn = self.answers[1].with_ if self.samples else None
        return assess(self.model, self.scenario, self.samples, self.seed, drawn=drawn)

    @cached_property
    def answers(self) -> tuple[Answer, Answer]:
        """The curves' and the timeline's inputs, gathered once for both."""
        return answers(self.model, self.scenario, samples=self.samples, seed=self.seed, clocks=_SHARED_CLOCKS[0])

    @cached_property
    def curves(self) -> tuple[Curves, Curves]:
        """Capability over time (without the scenario's controls, with them)."""
        return curves_of(*self.answers)

    @cached_property
    def timeline(self) -> Timeline:
        det, mc = self.answers
        return timeline_of(self.scenario, det, mc if self.samples else None, samples=self.samples, seed=self.seed)

    @cached_property
    def sweep(self):
        """One-at-a-time swings of every output (shared by the key judgments and the tornado)."""
        from threatkit.analysis.judgments import JUDGED_OUTPUTS
        from threatkit.analysis.sensitivity import sweep

        return sweep(self.model, self.scenario, outputs=JUDGED_OUTPUTS)

    @cached_property
    def brief(self):
        from threatkit.analysis.judgments import key_judgments

        return key_judgments(self.model, self.scenario, samples=self.samples, seed=self.seed, swept=self.sweep,
                             drawn=self.answers[1])

    # ---- sections --------------------------------------------------------------------------

    def key_judgments(self) -> None:
        """The report's opening: key judgments in ICD 203 language (threatkit.analysis.judgments)."""
        from threatkit.render.brief import brief_markdown

        _markdown(brief_markdown(self.brief))

    def sensitivity(self, top: int = 10) -> None:
        """A tornado of the days to durable capability: the `top` inputs by swing."""
        from threatkit.render.tornado import output_title, tornado_svg

        t = self.sweep.tornado("days_to_durable")
        low, high = t.percentiles
        lines = []
        if not any(r.swing > 0 for r in t.rows):
            # days come in whole attempts: when no single input changes how many it takes, show a
            # quantity that does move, rather than an empty chart
            lines.append(f"No single input, moved to its {low}th or {high}th percentile, changes the days to durable "
                         f"capability ({t.base:,.0f}): they come in whole attempts, and none of these changes how many "
                         "it takes. The chance of durable capability within 6 months does move; the chart shows it.")
            t = self.sweep.tornado("durable:183")
        moving = [r for r in t.rows if r.swing > 0]
        show_svg(tornado_svg(t, top), f"Tornado chart of the {output_title(t.output).lower()} in scenario "
                                      f"{self.scenario}: each input at its {low}th and {high}th percentile")
        if moving:
            lead = moving[0]
            lines.append(f"Inputs at the {low}th and {high}th percentiles of their own distributions (PERT for a "
                         f"range, uniform over an estimative word's band), one at a time, every other input at its "
                         f"mode. {len(moving)} of {len(t.rows)} uncertain inputs move it; the largest is "
                         f"**{md_text(lead.input.label)}** ({md_text(lead.input.ref)}). "
                         "threatkit sensitivity lists them all, and its method sobol adds interactions.")
        else:
            lines.append(f"No single input, moved from its {low}th to its {high}th percentile, changes it.")
        if t.screened is not None and t.screened.screened:
            lines.append(md_text(t.screened.sentence()))
        _markdown("\n\n".join(lines))

    def summary(self) -> None:
        s = self.setting      # model text goes into the Markdown as literal text (md_text), never markup
        controls = ", ".join(md_text(c.title) for c in s.controls) or "none"
        _markdown(f"**Model:** {md_text(self.model.name or Path(self.model_path).name)}  \n"
                  f"**Scenario:** {md_text(self.scenario)} ({md_text(self.model.scenario(self.scenario).title)})  \n"
                  f"**Actor:** {md_text(s.actor.title)}"
                  + (f" (RAND {md_text(s.actor.capacity)})" if s.actor.capacity else "") + "  \n"
                  f"**Access tier:** {md_text(s.tier.title)}  \n"
                  f"**Controls:** {controls}  \n"
                  f"**Overall risk:** {md_text(self.assessment.overall_risk)}")
        from threatkit.render.display import assessment_table

        _display(assessment_table(self.assessment))

    def trees(self) -> None:
        from threatkit.render.trees import drawn_or_why, legend_svg, undrawn_html

        show_svg(legend_svg(), "Legend of the attack trees: gates, infeasible, countered and cheapest steps, "
                               "and the figures on each step")
        for p in self.assessment.pathways:
            # HTML, not a Markdown heading: nbconvert would make the title an anchor id and link;
            # model text escaped
            steps = self.model.pathway(p.pathway).nodes
            cheapest = escape("; ".join(steps[leaf].title for leaf in p.cheapest_attack) or "none feasible")
            odds = (f"Probability {p.probability:.3f}, risk <strong>{escape(p.risk)}</strong>" if p.probability > 0
                    else "Infeasible for this actor and tier (the greyed steps say why)")
            _html(f'<h4 class="tk-pathway">{escape(self.model.pathway(p.pathway).title)}</h4>\n'
                  f"<p>{odds}; cheapest attack: {cheapest}.</p>")
            svg, why = drawn_or_why(p.tree, legend=False)        # the legend once, above
            if svg is None:
                _html(undrawn_html(p.pathway, why))
            else:
                show_svg(svg, f"Attack tree of pathway {p.pathway} in scenario {self.scenario}")

    def matrix(self) -> None:
        from threatkit.render.matrix import RiskMatrix

        m = RiskMatrix.of(self.assessment, uuid=f"threatkit-matrix-{self.scenario}")
        show_svg(m.to_svg(), f"Risk matrix with the pathways of scenario {self.scenario} placed")

    def capability(self) -> None:
        """The "Capability over time" section: the curves, then the lead and the acceleration in words."""
        from threatkit.render.curves import CapabilityPlot

        without, with_ = self.curves
        plot = CapabilityPlot((with_, without))
        show_svg(plot.to_svg(), f"Capability over time in scenario {self.scenario}: expected durable share "
                                f"and the chance of holding at least {with_.threshold:g} of it, with and "
                                f"without the scenario's controls")
        _markdown("\n\n".join(filter(None, (self.lead_text(), self.acceleration_text(), self.ecosystem_text()))))

    def lead_text(self) -> str:
        t = self.timeline
        theta = f"{t.threshold:.0%} of the capability"
        if not self.setting.controls and not any(e.controls for e in self.setting.exposures):
            return "The scenario has no controls, so they buy no lead."
        d, d0 = t.days_to_durable, t.days_to_durable_without_controls
        if math.isinf(d) and math.isinf(d0):
            return (f"Neither with nor without its controls does the actor reach an even chance of holding "
                    f"{theta} durably within {_months(t.horizon_days)}.")
        if math.isinf(d):
            return (f"With its controls the actor does not reach an even chance of holding {theta} durably "
                    f"within {_months(t.horizon_days)}; without them it would by {_months(d0)}.")
        band = self._band("lead_days", f"over {self.samples:,} paired draws") if self.samples else ""
        if t.lead_days == 0:
            return (f"**Lead:** none. With or without the scenario's controls, the actor first has an even chance "
                    f"of holding {theta} durably after {_months(d)}: the controls do not act on the route that "
                    f"gets it there first{band}.")
        where = " (on every model the actor reaches)" if self.setting.exposures else ""
        return (f"**Lead:** the scenario's controls{where} move the first day the actor has an even chance of "
                f"holding {theta} durably from {_months(d0)} without any of them to {_months(d)}: they buy "
                f"**{_months(t.lead_days)}**{band}.")

    def _band(self, key: str, over: str) -> str:
        """' (5th to 95th percentile OVER: a to b)' for a timeline quantity drawn with samples, else ''."""
        stats = self.timeline.stats
        if not self.samples or f"{key}_p5" not in stats:
            return ""
        return f" (5th to 95th percentile {over}: {_months(stats[f'{key}_p5'])} to {_months(stats[f'{key}_p95'])})"

    def acceleration_text(self) -> str:
        t = self.timeline
        if math.isinf(t.days_without_access):
            return ("**Acceleration:** the model gives this actor no independent-development estimate and no "
                    "substitute reaches the threshold within the horizon, so how much sooner access gets it "
                    "there is not computed.")
        baseline = self._baseline_words()
        if math.isnan(t.acceleration_days):
            return (f"**Acceleration:** without access the actor would get there in "
                    f"{_months(t.days_without_access)} ({baseline}, {AT_MODES}); "
                    f"durable capability through access is not reached within {_months(t.horizon_days)}.")
        if t.acceleration_days <= 0:
            return (f"**Acceleration:** none. Without access the actor gets there in {_months(t.days_without_access)} "
                    f"({baseline}, {AT_MODES}), no later than access does.")
        band = self._band("acceleration_days", "over the draws")
        return (f"**Acceleration:** access gets the actor there **{_months(t.acceleration_days)} sooner** than "
                f"it would get there without access: {baseline}, {AT_MODES}{band}.")

    def _baseline_words(self) -> str:
        """Which way without access comes first, in words."""
        t = self.timeline
        own = (f"its own development reaches parity in {_months(t.days_independent)}"
               if math.isfinite(t.days_independent) else "it has no own-development estimate")
        if not self.setting.substitutes:
            return own
        sub = (f"substitutes ({', '.join(md_text(x.title) for x in self.setting.substitutes)}) give "
               f"{t.threshold:.0%} of the capability in {_months(t.days_substitute)}"
               if math.isfinite(t.days_substitute) else "the substitutes never give enough within the horizon")
        return f"{sub}; {own}" if t.days_substitute <= t.days_independent else f"{own}; {sub}"

    def ecosystem_text(self) -> str:
        """Substitutes and the other models the actor reaches, and what a coordinated restriction changes."""
        s, t = self.setting, self.timeline
        theta = f"{t.threshold:.0%} of the capability"
        parts = []
        if s.substitutes and math.isfinite(t.days_substitute):
            parts.append(f"**Without access:** substitutes give the actor {theta} after "
                         f"{_months(t.days_substitute)} ({AT_MODES}), whatever any lab restricts: open weights cannot "
                         "be recalled, so they count as held for good. Access, and controls on it, matter only "
                         "before that day.")
        if not s.exposures:
            return "\n\n".join(parts)
        from threatkit.analysis.timeline import ecosystem

        e = ecosystem(self.model, self.scenario)
        asset = md_text(s.asset.title)
        for x in s.exposures:
            controls = ", ".join(md_text(c.title) for c in x.controls) or "no controls"
            parts.append(f"**Other models:** the actor also reaches {md_text(x.route.asset.title)} "
                         f"({x.route.relative_capability.mode:.0%} of {asset}'s capability) through "
                         f"{md_text(x.tier.title)}, under {controls}; every pathway is assessed on it too.")
        words = (f"**Unilateral or coordinated:** the first day the actor has an even chance of holding {theta} "
                 f"durably is {_months(e.asset_alone)} with {asset} the only model in view, "
                 f"{_months(e.as_is)} with the other models as this scenario has them, and "
                 f"{_months(e.coordinated)} if they carried this scenario's controls too (a coordinated "
                 f"restriction), {AT_MODES}.")
        if e.as_is < e.asset_alone:
            words += (f" Reaching the other models gets the actor there {_months(e.asset_alone - e.as_is)} sooner "
                      f"than {asset} alone would.")
        if e.coordination_gain > 0:
            words += f" Coordinating buys {_months(e.coordination_gain)} over this scenario."
        elif e.coordinated == e.as_is and e.as_is < e.asset_alone:
            words += " Coordinating buys no more than this scenario already has."
        if math.isfinite(t.days_substitute) and t.days_substitute <= max(e.asset_alone, e.coordinated):
            words += (f" No restriction buys more than the substitutes allow: they give as much after "
                      f"{_months(t.days_substitute)}.")
        elif math.isfinite(t.days_substitute):
            words += (f" All of these come before the substitutes give as much ({_months(t.days_substitute)}, "
                      f"day {t.days_substitute:,.0f}): "
                      "until then, access and what restricts it decide.")
        parts.append(words)
        return "\n\n".join(parts)

    def recommendations(self):
        """Controls by risk reduction per dollar, as a DataFrame."""
        import pandas as pd

        from dataclasses import fields

        from threatkit.analysis.controls import ControlValue

        rows = [v.to_dict() for v in control_values(self.model, self.scenario)]
        # a first sketch may define no controls at all: an empty table, with its columns
        frame = pd.DataFrame(rows, columns=[f.name for f in fields(ControlValue)]).set_index("control")
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
        """What the report records: the assessment rows (as `threatkit assess --format json`) and
        the timeline (as `threatkit timeline --format json`)."""
        return {
            "scenario": self.scenario,
            "model": self.model.name,
            "samples": self.samples,
            "seed": self.seed,
            "overall_risk": self.assessment.overall_risk,
            "rows": self.assessment.rows(),
            "timeline": self.timeline.to_dict(),
            "judgments": self.brief.to_list(),
            "headline": self.brief.headline(),
        }

    def record(self) -> None:
        """Display the results as JSON with threatkit's MIME type, for batch to read back."""
        _display({RESULTS_MIME: self.results(), "text/plain": f"threatkit results for scenario {self.scenario}"},
                 raw=True)


def _months(days: float) -> str:
    """Days in words an analyst reads: months to one decimal (days under three months)."""
    if math.isnan(days):
        return "undefined"
    if math.isinf(days):
        return "never within the horizon" if days > 0 else "never"
    if abs(days) < 3 * DAYS_PER_MONTH:     # a few weeks read better in days (48 and 49 days, not 1.6 and 1.6 months)
        return f"{days:,.0f} day{'' if abs(days) == 1 else 's'}"
    return f"{days / DAYS_PER_MONTH:.1f} months"


def policy_comparison(model: ThreatModel, base: str, policy: str, samples: int | None = 1000, seed: int = 1,
                      actors: tuple[str, ...] | None = None):
    """Per actor: months to durable capability under each policy, the lead the policy buys (with
    its band from paired draws), own development, the days without access (the earlier of own
    development and the substitutes) and the acceleration over them under each."""
    import pandas as pd

    from threatkit.analysis.timeline import policy_leads

    rows = []
    for actor_id, lead in policy_leads(model, base, policy, actors, samples, seed).items():
        rows.append({"actor": model.actor(actor_id).title,
                     f"durable ({base})": lead.base_days, f"durable ({policy})": lead.policy_days,
                     "own development": lead.days_independent, "without access": lead.days_without_access,
                     "lead": lead.lead_days, "lead p5": lead.lead_p5, "lead p95": lead.lead_p95,
                     f"acceleration ({base})": lead.acceleration_base_days,
                     f"acceleration ({policy})": lead.acceleration_policy_days})
    frame = pd.DataFrame(rows).set_index("actor") / DAYS_PER_MONTH
    frame.columns = [f"{c} (months)" for c in frame.columns]

    return Table(frame.style.set_uuid(f"threatkit-policy-{base}-{policy}").format(_cell(".1f"), escape="html")
                 .format_index(escape="html"))


def _cell(digits: str):
    """A table cell's text for a number of days or months: n/a when undefined, beyond the horizon."""
    def text(x: float) -> str:
        if x != x:
            return "n/a"
        if math.isinf(x):
            return "beyond horizon" if x > 0 else "-"
        return format(x, digits)
    return text


def restriction_comparison(model: ThreatModel, base: str, policies: tuple[str, ...], samples: int | None = 1000,
                           seed: int = 1, harvests: tuple[str, ...] = ("adaptive", "planned")):
    """Each policy scenario against `base` for its own actor (e.g. a unilateral and a coordinated
    restriction against today's world), per harvest: the day the actor first has an even chance of
    holding the threshold share durably, the days that buys over the base (with the 5th to 95th
    percentile of paired draws), the days without access and the acceleration, all in days."""
    import pandas as pd

    from threatkit.analysis.timeline import ClockMemo, policy_leads

    rows = []
    clocks = ClockMemo()             # the base, computed once per actor and harvest
    for harvest in harvests:
        for policy in (base, *policies):
            actor = model.scenario(policy).actor
            lead = policy_leads(model, base, policy, (actor,), samples, seed, harvest=harvest, clocks=clocks)[actor]
            rows.append({"harvest": harvest, "scenario": policy, "days to durable": lead.policy_days,
                         f"days bought over {base}": lead.lead_days, "p5": lead.lead_p5, "p95": lead.lead_p95,
                         "days without access": lead.days_without_access,
                         "acceleration (days)": lead.acceleration_policy_days})
    frame = pd.DataFrame(rows).set_index(["harvest", "scenario"])

    return Table(frame.style.set_uuid(f"threatkit-restrictions-{base}").format(_cell(",.0f"), escape="html")
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
