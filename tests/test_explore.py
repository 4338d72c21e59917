"""analysis.explore keeps the explorer's numbers per setting: they must be exactly those of
scenario_curves and timeline, and a change of controls must reuse the side without controls."""
from __future__ import annotations

import numpy as np
import pytest

import threatkit
from threatkit.analysis.assess import Setting, leaf_table
from threatkit.analysis.explore import SettingAnswers
from threatkit.analysis.timeline import scenario_curves, timeline
from threatkit.model.values import Control, Quantity
from threatkit.report import example_path

FIELDS = ("days", "expected", "expected_low", "expected_high", "durable", "usable")


@pytest.fixture(scope="module")
def model():
    return threatkit.load_model(example_path())


def settings(model):
    base = Setting.of(model, "status-quo")
    cap = Control(id="explorer-query-cap", name="cap", caps_queries_per_day=Quantity.scalar(1000.0))
    tight = Control(id="explorer-query-cap", name="cap", caps_queries_per_day=Quantity.scalar(20.0))
    yield base
    yield base.with_controls(base.controls[1:])
    yield base.with_controls(base.controls + (cap,))
    yield base.with_controls(base.controls + (tight,))      # the same id, another value: it acts on every pathway
    yield Setting(id="explorer", asset=base.asset, actor=model.actor("individual"), tier=model.tier("public-api"),
                  controls=base.controls[:2], scales=model.scales)


def same_curves(a, b) -> bool:
    return all(getattr(a, f).tobytes() == getattr(b, f).tobytes() for f in FIELDS) and \
        (a.label, a.threshold, a.days_to_durable, a.days_to_usable) == \
        (b.label, b.threshold, b.days_to_durable, b.days_to_usable) and \
        (a.days_independent == b.days_independent or np.isnan(a.days_independent) and np.isnan(b.days_independent))


def test_the_numbers_of_scenario_curves_and_timeline(model):
    answers = SettingAnswers(model, "status-quo", samples=120, seed=4)
    for _ in range(2):                       # computed, then kept
        for setting in settings(model):
            without, with_, t = answers.answer(setting)
            want_without, want_with = scenario_curves(model, "status-quo", samples=120, seed=4, setting=setting)
            assert same_curves(without, want_without) and same_curves(with_, want_with)
            assert repr(t) == repr(timeline(model, "status-quo", setting=setting))


def test_controls_change_only_one_side(model):
    answers = SettingAnswers(model, "status-quo", samples=50, seed=1)
    base = Setting.of(model, "status-quo")
    without, with_, _ = answers.answer(base)
    fewer = answers.answer(base.with_controls(base.controls[1:]))
    assert fewer[0] is without and fewer[1] is not with_
    assert answers.answer(base)[1] is with_


def test_only_the_most_recent_parts_are_kept(model):
    answers = SettingAnswers(model, "status-quo", samples=20, seed=1, size=8)
    for setting in settings(model):
        answers.answer(setting)
    assert len(answers._kept) == 8


def test_the_explorer_switches_substitutes_off_and_restricts_other_models(model):
    # the widgets' choices give the numbers of the example's own scenarios: the rival model under the
    # restriction's controls is coordinated-restriction; not reachable is restricted-export; substitutes
    # off is the same scenario with `substitutes: []`
    from threatkit.widgets import Explorer

    explorer = Explorer(model, "unilateral-restriction", samples=20)
    assert set(explorer.exposures) == {"rival-frontier"} and explorer.substitutes.value
    days = {"unilateral-restriction": explorer.state["days_to_durable"]}
    explorer.exposures["rival-frontier"].value = "coordinated"
    days["coordinated-restriction"] = explorer.state["days_to_durable"]
    explorer.exposures["rival-frontier"].value = "off"
    days["restricted-export"] = explorer.state["days_to_durable"]
    assert days == {k: timeline(model, k).days_to_durable for k in days} == {
        "unilateral-restriction": 49, "coordinated-restriction": 51, "restricted-export": 58}
    assert explorer.state["days_substitute"] == 92
    explorer.substitutes.value = False
    alone = threatkit.load_text(
        "threatkit: 1\ninclude: ['example:mythos']\nscenarios:\n"
        "  - {id: no-substitutes, asset: mythos-5, actor: state-linked, tier: intermediary-api, substitutes: [],\n"
        f"     controls: [{', '.join(model.scenario('restricted-export').controls)}]}}\n")
    want = timeline(alone, "no-substitutes")
    assert explorer.state["days_substitute"] == want.days_substitute == float("inf")
    assert explorer.state["days_without_access"] == want.days_without_access == 214     # own development alone
    assert explorer.state["expected_capability"] == want.expected_capability
    assert want.expected_capability != timeline(model, "restricted-export").expected_capability


def test_the_capability_view_is_computed_when_shown(model):
    # the Monte Carlo curves cost most of a change: computed at the start (a saved page shows them),
    # then only while their tab is shown, and then exactly scenario_curves's for the setting
    from threatkit.widgets import CURVE_PENDING, TABS, Explorer, curve_html

    explorer = Explorer(model, "status-quo", samples=40, seed=1)
    assert "curves" in explorer.state and explorer.curve_view.value != CURVE_PENDING
    box = next(iter(explorer.controls.values()))
    box.value = not box.value
    assert "curves" not in explorer.state and explorer.curve_view.value == CURVE_PENDING
    explorer.views.selected_index = TABS.index("Capability over time")
    without, with_ = scenario_curves(model, "status-quo", samples=40, seed=1, setting=explorer.setting())
    assert same_curves(explorer.state["curves"][0], with_.relabel("this setting"))
    assert same_curves(explorer.state["curves"][1], without)
    assert explorer.curve_view.value == curve_html(explorer.state)
    box.value = not box.value                       # while shown, a change redraws them at once
    assert "curves" in explorer.state and explorer.curve_view.value == curve_html(explorer.state)


def test_on_a_tree_of_thousands_of_steps_the_explorer_works_at_the_modes(model, monkeypatch):
    """Draws on a huge tree take minutes: past EAGER_LEAF_DRAWS steps x draws the explorer computes
    nothing costly at the start, shows every number at the modes (and says so), and its capability
    and "Why" tabs, when shown, are scenario_curves's and the key judgments' at the modes."""
    import threatkit.widgets as widgets
    from threatkit.analysis.judgments import key_judgments
    from threatkit.widgets import CURVE_PENDING, TABS, WHY_PENDING, Explorer

    steps = sum(len(leaf_table(p).leaf_ids) for p in model.pathways)
    monkeypatch.setattr(widgets, "EAGER_LEAF_DRAWS", steps * 40 - 1)       # 40 draws: just over
    explorer = Explorer(model, "status-quo", samples=40, seed=1)
    assert explorer.samples == 0 and not explorer.drawn
    assert explorer.curve_view.value == CURVE_PENDING and explorer.why_view.value == WHY_PENDING
    assert "Every number and curve at the inputs' modes" in explorer.status.value
    explorer.views.selected_index = TABS.index("Capability over time")
    without, with_ = scenario_curves(model, "status-quo", samples=None, seed=1, setting=explorer.setting())
    assert same_curves(explorer.state["curves"][0], with_.relabel("this setting"))
    explorer.views.selected_index = TABS.index("Why")
    expected = key_judgments(model, "status-quo", samples=None, setting=explorer.setting())
    assert [j.statement for j in explorer.state["brief"].judgments] == [j.statement for j in expected.judgments]
    monkeypatch.setattr(widgets, "EAGER_LEAF_DRAWS", steps * 40)            # 40 draws: within
    drawn = Explorer(model, "status-quo", samples=40, seed=1)
    assert drawn.samples == 40 and "curves" in drawn.state and "at the inputs' modes" not in drawn.status.value
