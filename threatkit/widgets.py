"""An ipywidgets explorer: pick an actor, a tier, controls and a query-rate cap,
switch the substitutes off or restrict the other models the actor reaches, and watch the attack tree, the risk-matrix cell and the capability the actor
holds over time update.

All numbers come from the analysis layer (`Explorer.state` exposes them, so
tests and the browser test check the same values the views show). Callbacks
fire on release (`continuous_update=False`), and the views live in fixed-height
boxes so the page does not jump while they redraw: HTML widgets for the drawings
(their values are saved with the notebook, so a static export shows them) and an
Output widget for the table of numbers.
"""
from __future__ import annotations

import html
import math
from dataclasses import replace

from threatkit.analysis.assess import Setting, assess_setting, leaf_table
from threatkit.analysis.explore import SettingAnswers
from threatkit.analysis.timeline import DAYS_PER_MONTH
from threatkit.model.values import Control, Quantity, ThreatModel
from threatkit.render.safe import one_line

CAP_CONTROL_ID = "explorer-query-cap"
# what an exposure (another model the actor reaches) carries in the explorer
EXPOSURE_CHOICES = (("its controls, as in the scenario", "scenario"), ("the controls ticked above", "coordinated"),
                    ("no controls", "none"), ("not reachable", "off"))
TABS = ("Attack tree", "Risk matrix", "Capability over time", "Numbers", "Why")
WHY_PENDING = "<p><i>The key judgments for this setting are computed when this tab is shown.</i></p>"
CURVE_PENDING = "<p><i>The capability curves for this setting are computed when this tab is shown.</i></p>"
CAP_MAX_EXPONENT = 7      # the slider's top position (10 million a day) means "no cap"
LABEL_LIMIT = 60          # characters of a name shown in a dropdown or beside a checkbox
EAGER_LEAF_DRAWS = 2_000_000   # steps x draws: up to this, draws (and the curves and "Why" at the start)
AT_MODES = ("at the inputs' modes: Monte Carlo draws on a tree this size take minutes here "
            "(a report gives them, with --samples)")


class Explorer:
    """Interactive view of one model. Display it (or `.widget`) in a notebook."""

    def __init__(self, model: ThreatModel, scenario: str | None = None, pathway: str | None = None,
                 samples: int = 500, seed: int = 1):
        import ipywidgets as w

        self.model = model
        # Monte Carlo draws on a tree of thousands of steps take minutes (each draw runs the whole
        # tree's clock): on such a model the explorer works at the inputs' modes, and says so
        self.drawn = sum(len(leaf_table(p).leaf_ids) for p in model.pathways) * max(1, samples) <= EAGER_LEAF_DRAWS
        self.samples, self.seed = (samples if self.drawn else 0), seed
        samples = self.samples
        base = model.scenario(scenario) if scenario else (model.scenarios[0] if model.scenarios else None)
        if base is None:
            raise ValueError("the explorer needs a model with at least one scenario (for its asset)")
        self.base = Setting.of(model, base)
        # Curves and timeline per setting, computed once: a change recomputes only what it changes.
        self._answers = SettingAnswers(model, self.base.id, samples=samples, seed=seed)
        first_pathway = pathway or model.pathways[0].id
        model.pathway(first_pathway)

        style = {"description_width": "110px"}
        wide = w.Layout(width="420px")
        # Model text in labels: one plain line (widgets show labels as text, never HTML), cut to fit.
        self.actor = w.Dropdown(options=[(_label(a.title), a.id) for a in model.actors], value=self.base.actor.id,
                                description="Actor", style=style, layout=wide)
        self.tier = w.Dropdown(options=[(_label(t.title), t.id) for t in model.tiers], value=self.base.tier.id,
                               description="Access tier", style=style, layout=wide)
        self.pathway = w.Dropdown(options=[(_label(p.title), p.id) for p in model.pathways], value=first_pathway,
                                  description="Pathway", style=style, layout=wide)
        chosen = {c.id for c in self.base.controls}
        self.controls = {c.id: w.Checkbox(value=c.id in chosen, description=_label(c.title), indent=False,
                                          description_allow_html=False, layout=w.Layout(width="300px"))
                         for c in model.controls}
        self.cap = w.FloatLogSlider(value=10 ** CAP_MAX_EXPONENT, base=10, min=1, max=CAP_MAX_EXPONENT, step=0.25,
                                    continuous_update=False, description="Query cap/day", style=style,
                                    layout=wide, readout_format=",.0f",
                                    tooltip="queries per account per day; the top position means no cap")
        # What the world offers without access, and the other models the actor reaches: switched off,
        # or each exposure restricted as the scenario, with the controls ticked here (coordinated), or not
        self.substitutes = w.Checkbox(value=True, description="Substitutes (open weights, ...)", indent=False,
                                      layout=w.Layout(width="300px"))
        self.exposures = {e.route.asset.id: w.Dropdown(options=list(EXPOSURE_CHOICES), value="scenario",
                                                        description=_label(e.route.asset.title), style=style,
                                                        layout=wide)
                          for e in self.base.exposures}
        for widget in (self.actor, self.tier, self.pathway, self.cap, *self.controls.values(), self.substitutes,
                       *self.exposures.values()):
            widget.observe(self._changed, names="value")

        box = {"height": "auto", "overflow": "auto", "border": "1px solid #ddd", "padding": "4px"}
        self.tree_view = w.HTML(layout=w.Layout(**{**box, "height": "430px"}))
        self.tree_view.add_class("tk-tree")
        # The tree opens fitted to its box (root in view); full size scrolls inside the box.
        # no icon: its font (Font Awesome) is not in an offline snapshot, where it showed a stray glyph
        self.tree_full = w.ToggleButton(value=False, description="Full size",
                                        tooltip="show the tree at full size, scrolling inside its box")
        self.tree_full.add_class("tk-tree-size")
        self.tree_full.observe(self._tree_size, names="value")
        self.matrix_view = w.HTML(layout=w.Layout(**{**box, "height": "400px"}))
        self.matrix_view.add_class("tk-matrix")
        self.curve_view = w.HTML(layout=w.Layout(**{**box, "height": "400px"}))
        self.curve_view.add_class("tk-curve")
        self.why_view = w.HTML(layout=w.Layout(**{**box, "height": "400px"}))
        self.why_view.add_class("tk-why")
        self.status = w.HTML()
        self.status.add_class("tk-status")
        # The numbers behind the views, redrawn in place; a fixed height keeps the page still.
        self.details = w.Output(layout=w.Layout(**{**box, "height": "400px"}))
        self.details.add_class("tk-details")

        # The controls keep their width (flex 0 0): the views take the rest and scroll
        # inside their own boxes, instead of squeezing and clipping the controls.
        left = w.VBox([self.actor, self.tier, self.pathway, self.cap,
                       w.HTML("<small>query cap per account per day; far right: no cap</small>"),
                       w.HTML("<b>Controls</b>"), w.VBox(list(self.controls.values())),
                       *([w.HTML("<b>Without access</b>"), self.substitutes] if model.substitutes else []),
                       *([w.HTML("<b>Other models the actor reaches</b>"), *self.exposures.values()]
                         if self.exposures else [])],
                      layout=w.Layout(width="440px", flex="0 0 440px"))
        self.views = views = w.Tab(children=[w.VBox([self.tree_full, self.tree_view]), self.matrix_view,
                                             self.curve_view, self.details, self.why_view])
        for i, title in enumerate(TABS):
            views.set_title(i, title)
        # The "Why" tab reruns a sensitivity sweep (a fifth of a second), and the capability view its
        # Monte Carlo curves (most of a change's time): each only while it is shown.
        views.observe(self._tab_changed, names="selected_index")
        right = w.VBox([self.status, views], layout=w.Layout(flex="1 1 auto", min_width="0"))
        self.widget = w.VBox([w.HBox([left, right])])
        self.widget.add_class("tk-explorer")
        self.state: dict = {}
        # once at the start, so a saved or exported page shows them too; on a tree of thousands of
        # steps they wait for their tab, as after a change
        self.refresh(curves=self.drawn)
        if self.drawn:
            self.explain()

    # ---- state ------------------------------------------------------------------------------

    def setting(self) -> Setting:
        """The scenario the widgets describe now."""
        controls = tuple(self.model.control(cid) for cid, box in self.controls.items() if box.value)
        if self.cap.value < 10 ** CAP_MAX_EXPONENT:
            controls += (Control(id=CAP_CONTROL_ID, name="Explorer query cap",
                                 caps_queries_per_day=Quantity.scalar(float(self.cap.value))),)
        actor = self.model.actor(self.actor.value)
        scenario = self.model.scenario(self.base.id).model_copy(update={"actor": actor.id})
        substitutes = self.model.substitutes_of(scenario) if self.substitutes.value else ()
        exposures = []
        for e in self.base.exposures:
            choice = self.exposures[e.route.asset.id].value
            if choice != "off":
                chosen = {"scenario": e.controls, "coordinated": controls, "none": ()}[choice]
                exposures.append(replace(e, id="explorer", actor=actor, controls=chosen))
        return replace(self.base, id="explorer", actor=actor, tier=self.model.tier(self.tier.value),
                       controls=controls, substitutes=substitutes, exposures=tuple(exposures))

    def compute(self, curves: bool = True) -> dict:
        """The numbers the views show, from the analysis layer; the Monte Carlo curves only with
        `curves` (they cost most of a change: the capability view asks for them when shown)."""
        setting = self.setting()
        result = assess_setting(setting, (self.model.pathway(self.pathway.value),)).pathways[0]
        t = self._answers.timeline(setting)
        state = {} if not curves else {"curves": self.curves_of(setting)}
        return {**state, "at_modes": not self.drawn, "tree": result.tree, "pathway": result.pathway,
                "probability": result.probability, "cost_usd": result.cost_usd, "time_days": result.time_days,
                "likelihood": result.likelihood, "impact": result.impact, "risk": result.risk,
                "cheapest_attack": result.cheapest_attack, "controls": tuple(c.id for c in setting.controls),
                "threshold": t.threshold, "days_to_durable": t.days_to_durable, "days_to_usable": t.days_to_usable,
                "days_independent": t.days_independent, "days_substitute": t.days_substitute,
                "days_without_access": t.days_without_access, "lead_days": t.lead_days,
                "acceleration_days": t.acceleration_days, "expected_capability": t.expected_capability}

    def summary(self):
        """The current numbers as a one-column table."""
        import pandas as pd

        s = self.state
        return pd.Series({
            "actor": self.actor.value, "tier": self.tier.value, "pathway": s["pathway"],
            "controls": ", ".join(s["controls"]) or "none",
            "probability": round(s["probability"], 4), "cost_usd": s["cost_usd"], "time_days": s["time_days"],
            "likelihood": s["likelihood"], "impact": s["impact"], "risk": s["risk"],
            "cheapest attack": ", ".join(s["cheapest_attack"]) or "none feasible",
            "days to durable capability": s["days_to_durable"], "days to usable capability": s["days_to_usable"],
            "days to parity on its own": s["days_independent"],
            "days to the substitutes": s["days_substitute"], "days without access": s["days_without_access"],
            "lead from controls (days)": s["lead_days"],
            "acceleration (days)": s["acceleration_days"],
            "expected durable share at 6 months": round(s["expected_capability"][180], 4),
            "expected durable share at 1 year": round(s["expected_capability"][365], 4),
        }, name="explorer").to_frame()

    # ---- views ------------------------------------------------------------------------------

    def curves_of(self, setting: Setting) -> tuple:
        without, with_ = self._answers.curves(setting)
        return with_.relabel("this setting"), without

    def refresh(self, curves: bool | None = None) -> None:
        """Recompute and redraw; the curves now when their tab is shown (or `curves`), else when it is."""
        shown = self.views.selected_index == TABS.index("Capability over time")
        state = self.compute(curves=shown if curves is None else curves)
        self.state = state
        views = render_views(self.model, state, full_tree=self.tree_full.value)
        self.status.value = views["status"]
        self.tree_view.value = views["tree"]
        self.matrix_view.value = views["matrix"]
        self.curve_view.value = views["curve"]
        if self.views.selected_index == TABS.index("Why"):
            self.explain()
        else:
            self.why_view.value = WHY_PENDING
        from IPython.display import clear_output, display

        with self.details:
            clear_output(wait=True)
            display(self.summary())

    def explain(self) -> None:
        """Fill the "Why" tab for the current setting: key judgments and the inputs that move them."""
        brief, why = why_of(self.model, self.base.id, self.setting(), self.samples, self.seed)
        self.state.update(brief=brief, why=why)
        self.why_view.value = render_why(self.state)

    def _changed(self, _change) -> None:
        self.refresh()

    def _tab_changed(self, change) -> None:
        if change["new"] == TABS.index("Why") and self.why_view.value == WHY_PENDING:
            self.explain()
        if change["new"] == TABS.index("Capability over time") and "curves" not in self.state:
            self.state["curves"] = self.curves_of(self.setting())
            self.curve_view.value = curve_html(self.state)

    def _tree_size(self, _change) -> None:
        self.tree_view.value = tree_html(self.state, full=self.tree_full.value)

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)


def _label(title: str) -> str:
    return one_line(title, LABEL_LIMIT)


def render_views(model: ThreatModel, state: dict, *, full_tree: bool = False) -> dict[str, str]:
    """The HTML of the explorer's status line and its three views for `state` (as
    `Explorer.compute` returns it). A pure function of the numbers, so a test can
    render what the page must show from numbers it computed itself."""
    from threatkit.render.matrix import RiskMatrix

    durable_when = months_text(state["days_to_durable"])
    pathway, risk = html.escape(state["pathway"]), html.escape(state["risk"])
    status = (
        f'<div class="tk-summary" data-probability="{state["probability"]:.6f}" '
        f'data-risk="{risk}" data-likelihood="{state["likelihood"]}" '
        f'data-impact="{state["impact"]}" data-days-to-durable="{state["days_to_durable"]}" '
        f'data-lead-days="{state["lead_days"]}" data-expected-six-months="{state["expected_capability"][180]:.6f}">'
        f'<b>{pathway}</b>: p = {state["probability"]:.3f}, '
        f'likelihood {state["likelihood"]} x impact {state["impact"]} &rarr; risk <b>{risk}</b>; '
        f'durable capability (&ge;{state["threshold"]:g}) {durable_when}; '
        f'lead from controls {months_text(state["lead_days"], since=False)}; '
        f'acceleration {months_text(state["acceleration_days"], since=False)}'
        + (f'<br><small class="tk-at-modes">Every number and curve {AT_MODES}.</small>' if state.get("at_modes") else "")
        + '</div>')
    matrix = RiskMatrix(model.scales, (("explorer", state["pathway"], state["likelihood"], state["impact"]),),
                        uuid="threatkit-explorer-matrix")
    # The alt texts carry the numbers too, for screen readers and the static export.
    return {
        "status": status,
        "tree": tree_html(state, full=full_tree),
        "matrix": _inline_svg(matrix.to_svg(), f"Risk matrix: {state['pathway']} at likelihood "
                              f"{state['likelihood']}, impact {state['impact']} (risk {state['risk']})", fit=True),
        "curve": curve_html(state),
    }


def curve_html(state: dict) -> str:
    """The capability view of `state`: its curves, or a note that they come when the tab is shown."""
    from threatkit.render.curves import CapabilityPlot

    if "curves" not in state:
        return CURVE_PENDING
    return _inline_svg(CapabilityPlot(state["curves"]).to_svg(),
                       f"Capability over time: durable capability {months_text(state['days_to_durable'])}; "
                       f"expected durable share at six months {state['expected_capability'][180]:.3f}", fit=True)


TREE_FIT_HEIGHT_PX = 415       # the tree box's 430 px, less its padding and border


def tree_html(state: dict, full: bool = False) -> str:
    """The attack tree of `state`: fitted to its box (root in view), or at full size."""
    from threatkit.render.fit import fit_to_box
    from threatkit.render.trees import drawn_or_why, undrawn_html

    drawn, why = drawn_or_why(state["tree"])
    if drawn is None:
        return undrawn_html(state["pathway"], why)
    svg = _inline_svg(drawn, f"Attack tree of {state['pathway']}: p = {state['probability']:.3f}")
    return svg if full else fit_to_box(svg, TREE_FIT_HEIGHT_PX)


def why_of(model: ThreatModel, scenario: str, setting: Setting, samples: int, seed: int):
    """The "Why" tab's numbers: the key judgments for this setting and the five inputs whose
    one-at-a-time swings move the days to durable capability most."""
    from threatkit.analysis.judgments import JUDGED_OUTPUTS, key_judgments
    from threatkit.analysis.sensitivity import sweep

    swept = sweep(model, scenario, setting=setting, outputs=JUDGED_OUTPUTS)
    brief = key_judgments(model, scenario, samples=samples, seed=seed, setting=setting, swept=swept)
    return brief, tuple(r for r in swept.tornado("days_to_durable").top(5) if r.swing > 0)


def render_why(state: dict) -> str:
    """The "Why" tab: key judgments, then the top inputs by swing; every model text escaped."""
    from threatkit.render.brief import brief_html

    def days(x: float) -> str:
        return months_text(x, since=False) if math.isfinite(x) else "never"

    rows = "".join(
        f'<tr data-input="{html.escape(r.input.ref)}"><td>{html.escape(r.input.label)}<br>'
        f'<code>{html.escape(r.input.ref)}</code></td><td>{r.low_value:.4g} &rarr; {days(r.output_low)}</td>'
        f'<td>{r.high_value:.4g} &rarr; {days(r.output_high)}</td></tr>' for r in state["why"])
    table = ('<p><b>What moves the days to durable capability most</b> (each input at its 5th and 95th '
             'percentile, the others at their modes):</p>'
             + (f'<table class="tk-why-inputs"><tr><th>input</th><th>5th percentile</th><th>95th percentile</th></tr>'
                f'{rows}</table>' if rows else "<p>No single input moves it.</p>"))
    return f"<h4>Key judgments for this setting</h4>{brief_html(state['brief'])}{table}"


def months_text(days: float, since: bool = True) -> str:
    """Days as an analyst reads them: '38 days (1.2 months)', or why there is no number."""
    if math.isnan(days):
        return "not defined"
    if math.isinf(days):
        return "beyond the horizon" if days > 0 else "not reached with the controls removed"
    if since:
        return f"on day {days:,.0f} ({days / DAYS_PER_MONTH:.1f} months)"
    return f"{days:,.0f} days ({days / DAYS_PER_MONTH:.1f} months)"


def _inline_svg(svg: str, alt: str, *, fit: bool = False) -> str:
    """`svg_for_html`; `fit` scales the drawing down to the width of its box (matrix and
    curve; a tree is fitted in both directions by `tree_html`)."""
    from threatkit.report import svg_for_html

    if fit:
        svg = svg.replace("<svg", '<svg style="max-width: 100%; height: auto"', 1)
    return svg_for_html(svg, alt)
