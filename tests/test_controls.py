"""What controls are worth: expected risk, marginal value per dollar, and the
greedy best set within a budget, on a small model computed by hand.

The model: asset capability 0.8; two one-step pathways
    one: p 0.6, fidelity 0.5  -> impact value 0.5 * 0.8 = 0.4
    two: p 0.4, fidelity 0.25 -> impact value 0.25 * 0.8 = 0.2
Expected risk = sum(p x fidelity x capability) = 0.6 * 0.4 + 0.4 * 0.2 = 0.24 + 0.08 = 0.32.

Controls (effectiveness multiplies p by 1 - e):
    c1: counters pathway one, e 0.5,  $100,000
    c2: counters step two-step, e 0.5, $10,000
    c3: counters both steps, e 0.25,   $50,000
    c4: counters two-step, e 0.1,      free
    c5: counters nothing,              free
"""
from __future__ import annotations

import pytest
import yaml

import threatkit
from threatkit.analysis.assess import Setting
from threatkit.analysis.controls import best_within_budget, control_values, expected_risk

CONTROLS = [
    {"id": "c1", "counters": ["one"], "effectiveness": 0.5, "cost_usd": 100_000},
    {"id": "c2", "counters": ["two-step"], "effectiveness": 0.5, "cost_usd": 10_000},
    {"id": "c3", "counters": ["one-step", "two-step"], "effectiveness": 0.25, "cost_usd": 50_000},
    {"id": "c4", "counters": ["two-step"], "effectiveness": 0.1},
    {"id": "c5"},
]


def build(scenarios=None, controls=CONTROLS):
    doc = {
        "threatkit": 1,
        "include": [],
        "assets": [{"id": "asset", "capability_value": 0.8}],
        "tiers": [{"id": "tier", "rank": 1, "exposes": ["outputs"]}],
        "actors": [{"id": "actor", "kind": "competitor", "capacity": "OC3", "budget_usd": 1e6, "skill": 3}],
        "pathways": [
            {"id": "one", "fidelity": 0.5, "tree": {"id": "one-step", "p": 0.6, "cost_usd": 100, "time_days": 10}},
            {"id": "two", "fidelity": 0.25, "tree": {"id": "two-step", "p": 0.4, "cost_usd": 100, "time_days": 10}},
        ],
        "controls": controls,
        "scenarios": scenarios or [
            {"id": "bare", "asset": "asset", "actor": "actor", "tier": "tier"},
            {"id": "some", "asset": "asset", "actor": "actor", "tier": "tier", "controls": ["c1", "c2"]},
        ],
    }
    return threatkit.load_text(yaml.safe_dump(doc, sort_keys=False))


@pytest.fixture(scope="module")
def model():
    return build()


def risk_with(model, *controls: str) -> float:
    setting = Setting.of(model, "bare").with_controls(tuple(model.control(c) for c in controls))
    return expected_risk(setting, model.pathways)


# ---- expected risk --------------------------------------------------------------------------

@pytest.mark.parametrize("controls, expected", [
    ((), 0.32),                 # 0.6 * 0.5 * 0.8 + 0.4 * 0.25 * 0.8 = 0.24 + 0.08
    (("c1",), 0.20),            # one: 0.6 * 0.5 = 0.3 -> 0.3 * 0.4 = 0.12; + 0.08
    (("c2",), 0.28),            # two: 0.4 * 0.5 = 0.2 -> 0.2 * 0.2 = 0.04; 0.24 + 0.04
    (("c3",), 0.24),            # one 0.45 * 0.4 = 0.18; two 0.3 * 0.2 = 0.06
    (("c4",), 0.312),           # two 0.36 * 0.2 = 0.072; 0.24 + 0.072
    (("c5",), 0.32),            # counters nothing
    (("c1", "c2"), 0.16),       # 0.12 + 0.04
    (("c4", "c2", "c3"), 0.207),  # one 0.45 * 0.4 = 0.18; two 0.4 * 0.9 * 0.5 * 0.75 = 0.135 * 0.2 = 0.027
])
def test_expected_risk_by_hand(model, controls, expected):
    assert risk_with(model, *controls) == pytest.approx(expected)


def test_expected_risk_of_the_scenarios_own_controls(model):
    # "some" has c1 and c2: 0.12 + 0.04 = 0.16
    assert expected_risk(Setting.of(model, "some"), model.pathways) == pytest.approx(0.16)


def test_expected_risk_counts_an_infeasible_pathway_as_zero():
    # the actor's skill 3 cannot do a skill-5 step: that pathway adds 0
    doc_model = threatkit.load_text(yaml.safe_dump({
        "threatkit": 1, "include": [],
        "assets": [{"id": "asset", "capability_value": 0.8}],
        "tiers": [{"id": "tier", "rank": 1}],
        "actors": [{"id": "actor", "kind": "competitor", "capacity": "OC3", "budget_usd": 1e6, "skill": 3}],
        "pathways": [{"id": "one", "fidelity": 0.5, "tree": {"id": "one-step", "p": 0.6}},
                     {"id": "hard", "fidelity": 1.0, "tree": {"id": "hard-step", "p": 0.9, "skill": 5}}],
        "scenarios": [{"id": "s", "asset": "asset", "actor": "actor", "tier": "tier"}],
    }, sort_keys=False))
    # 0.6 * 0.5 * 0.8 + 0 = 0.24
    assert expected_risk(Setting.of(doc_model, "s"), doc_model.pathways) == pytest.approx(0.24)


# ---- control values -------------------------------------------------------------------------

# in "bare" (no controls), each control's reduction = 0.32 - risk with it:
#   c1: 0.32 - 0.20 = 0.12   per $1M: 0.12 / 100000 * 1e6 = 1.2
#   c2: 0.32 - 0.28 = 0.04   per $1M: 0.04 / 10000 * 1e6 = 4.0
#   c3: 0.32 - 0.24 = 0.08   per $1M: 0.08 / 50000 * 1e6 = 1.6
#   c4: 0.32 - 0.312 = 0.008 free and helps: inf
#   c5: 0                    free and useless: 0
BARE_VALUES = {"c1": (0.12, 1.2), "c2": (0.04, 4.0), "c3": (0.08, 1.6), "c4": (0.008, float("inf")), "c5": (0.0, 0.0)}


def test_control_values_rank_by_reduction_per_dollar(model):
    values = control_values(model, "bare")
    assert [v.control for v in values] == ["c4", "c2", "c3", "c1", "c5"]


@pytest.mark.parametrize("control", list(BARE_VALUES))
def test_control_values_by_hand(model, control):
    v = {v.control: v for v in control_values(model, "bare")}[control]
    reduction, per_million = BARE_VALUES[control]
    assert v.risk_reduction == pytest.approx(reduction, abs=1e-12)
    assert v.reduction_per_million_usd == pytest.approx(per_million)
    assert v.in_scenario is False


def test_control_values_of_candidates_only(model):
    values = control_values(model, "bare", candidates=("c1", "c3"))
    # c3 1.6 per $1M before c1 1.2 per $1M
    assert [v.control for v in values] == ["c3", "c1"]


def test_control_values_of_controls_in_the_scenario_are_their_marginal_value(model):
    # "some" has c1, c2 (risk 0.16)
    #   c1 (in): risk without it (c2 only) 0.28 - 0.16 = 0.12, per $1M 1.2
    #   c2 (in): risk without it (c1 only) 0.20 - 0.16 = 0.04, per $1M 4.0
    #   c3 (out): one 0.3 * 0.75 = 0.225 * 0.4 = 0.09; two 0.2 * 0.75 = 0.15 * 0.2 = 0.03 -> 0.12;
    #             0.16 - 0.12 = 0.04, per $1M 0.04 / 50000 * 1e6 = 0.8
    #   c4 (out): two 0.2 * 0.9 = 0.18 * 0.2 = 0.036 -> 0.156; 0.16 - 0.156 = 0.004, free: inf
    values = {v.control: v for v in control_values(model, "some")}
    assert values["c1"].in_scenario and values["c2"].in_scenario and not values["c3"].in_scenario
    assert values["c1"].risk_reduction == pytest.approx(0.12)
    assert values["c2"].risk_reduction == pytest.approx(0.04)
    assert values["c3"].risk_reduction == pytest.approx(0.04)
    assert values["c3"].reduction_per_million_usd == pytest.approx(0.8)
    assert values["c4"].risk_reduction == pytest.approx(0.004)
    ranked = [v.control for v in control_values(model, "some")]
    assert ranked == ["c4", "c2", "c1", "c3", "c5"]


# ---- best within a budget -------------------------------------------------------------------

# Greedy from no controls, adding the affordable control with the most reduction per dollar:
#   start risk 0.32
#   1: c4 free (inf per $) -> risk 0.312, spent 0
#   2: c2 0.312 - (0.24 + 0.36*0.5*0.2 = 0.276) = 0.036 for $10k = 3.6 per $1M
#      c3 0.312 - (0.45*0.4 + 0.36*0.75*0.2 = 0.18 + 0.054 = 0.234) = 0.078 for $50k = 1.56 per $1M
#      c1 0.312 - (0.3*0.4 + 0.072 = 0.192) = 0.12 for $100k = 1.2 per $1M
#      -> c2, risk 0.276, spent $10,000
#   3: c3 0.276 - (0.18 + 0.18*0.75*0.2 = 0.207) = 0.069 for $50k = 1.38 per $1M
#      c1 0.276 - (0.12 + 0.036 = 0.156) = 0.12 for $100k = 1.2 per $1M
#      -> c3 if it fits (spent $60,000), risk 0.207
#   4: c1 0.207 - (0.225*0.4 + 0.027 = 0.117) = 0.09 -> if it fits ($160,000), risk 0.117
#   c5 never helps and is never chosen
@pytest.mark.parametrize("budget, chosen, cost, after", [
    (0, ("c4",), 0, 0.312),
    (9_999, ("c4",), 0, 0.312),
    (10_000, ("c4", "c2"), 10_000, 0.276),
    (59_999, ("c4", "c2"), 10_000, 0.276),
    (60_000, ("c4", "c2", "c3"), 60_000, 0.207),       # exactly the budget: fits
    (159_999, ("c4", "c2", "c3"), 60_000, 0.207),
    (160_000, ("c4", "c2", "c3", "c1"), 160_000, 0.117),
    (1e9, ("c4", "c2", "c3", "c1"), 160_000, 0.117),
])
def test_best_within_budget_greedy(model, budget, chosen, cost, after):
    result = best_within_budget(model, "bare", budget)
    assert result.controls == chosen
    assert result.cost_usd == pytest.approx(cost)
    assert result.cost_usd <= budget
    assert result.risk_before == pytest.approx(0.32)
    assert result.risk_after == pytest.approx(after)


def test_best_within_budget_skips_what_does_not_fit_and_takes_what_does():
    # budget $100,000: after c4 and c2 ($10k), c3 ($50k) fits -> $60k; c1 ($100k) no longer fits
    result = best_within_budget(build(), "bare", 100_000)
    assert result.controls == ("c4", "c2", "c3")
    assert result.cost_usd == pytest.approx(60_000)


def test_best_within_budget_among_candidates(model):
    # only c1 and c3: first c3? c3 1.6 per $1M vs c1 1.2 -> c3 ($50k), risk 0.24;
    # then c1: 0.24 - (0.225*0.4 + 0.06 = 0.15) = 0.09 for $100k -> fits in $150k, risk 0.15
    result = best_within_budget(model, "bare", 150_000, candidates=("c1", "c3"))
    assert result.controls == ("c3", "c1")
    assert result.cost_usd == pytest.approx(150_000)
    assert result.risk_after == pytest.approx(0.15)
    # with $120k, c1 no longer fits after c3
    result = best_within_budget(model, "bare", 120_000, candidates=("c1", "c3"))
    assert result.controls == ("c3",)
    assert result.risk_after == pytest.approx(0.24)


def test_best_within_budget_never_exceeds_the_budget(model):
    for budget in (0, 5_000, 10_000, 45_000, 55_000, 60_000, 99_999, 100_000, 150_000, 170_000):
        result = best_within_budget(model, "bare", budget)
        costs = {c["id"]: c.get("cost_usd", 0) for c in CONTROLS}
        assert sum(costs[c] for c in result.controls) == pytest.approx(result.cost_usd)
        assert result.cost_usd <= budget
        assert result.risk_after <= result.risk_before


def _every_pathway_again(model, scenario: str) -> dict[str, float]:
    """Each control's risk reduction by the definition: every pathway evaluated again, with and without it."""
    setting = Setting.of(model, scenario)
    now = expected_risk(setting, model.pathways)
    out = {}
    for c in model.controls:
        if c in setting.controls:
            out[c.id] = expected_risk(setting.with_controls(tuple(x for x in setting.controls if x != c)),
                                      model.pathways) - now
        else:
            out[c.id] = now - expected_risk(setting.with_controls(setting.controls + (c,)), model.pathways)
    return out


@pytest.mark.parametrize("path", ["data/examples/mythos.yaml", "tests/examples/sensitivity.yaml"])
def test_control_values_evaluate_again_only_what_a_control_acts_on_and_agree_exactly(path):
    """control_values skips the pathways a control cannot move (no step it counters, and no cap on a
    pathway that queries): the same reductions, to the bit, as evaluating every pathway again."""
    from pathlib import Path

    model = threatkit.load_model(Path(__file__).resolve().parents[1] / path)
    for s in model.scenarios:
        got = {v.control: v.risk_reduction for v in control_values(model, s.id)}
        assert got == _every_pathway_again(model, s.id), s.id
