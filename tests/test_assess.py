"""Scenario rules of DESIGN.md "Attack-tree semantics", checked against values
computed by hand: leaf gating, query time and caps, control effects, the
likelihood/impact/risk levels, assessment rows, and the `assess`/`tree` CLI.
"""
from __future__ import annotations

import json
import math

import pytest
import yaml

import threatkit
from threatkit.analysis.assess import Setting, assess, evaluate
from threatkit.cli import main

INF = math.inf
ALL_FEATURES = ["outputs", "logprobs", "fine_tuning", "internals", "weights"]


# ---- helpers: a one-pathway model around a tree ----------------------------------------------

def leaf(id: str, p, cost: float = 0, time: float = 0, skill: int = 1, **extra) -> dict:
    return {"id": id, "p": p, "cost_usd": cost, "time_days": time, "skill": skill, **extra}


def gate(kind: str, id: str, *children: dict) -> dict:
    return {"id": id, "gate": kind, "children": list(children)}


def model_doc(tree: dict, *, actor: dict | None = None, tier: dict | None = None, controls=(),
              scenario_controls=None, fidelity=0.5, capability=1.0, scales=None) -> dict:
    """One pathway `pw`, one scenario `s`. By default nothing is gated: actor skill 5 with
    $1e9 and one account; tier rank 2 exposing everything, unmetered, open-ended."""
    doc = {
        "threatkit": 1,
        "include": [],
        "assets": [{"id": "asset", "capability_value": capability}],
        "tiers": [{"id": "tier", "rank": 2, "exposes": ALL_FEATURES, **(tier or {})}],
        "actors": [{"id": "actor", "kind": "state", "capacity": "OC4", "budget_usd": 1e9, "skill": 5, **(actor or {})}],
        "pathways": [{"id": "pw", "fidelity": fidelity, "tree": tree}],
        "controls": list(controls),
        "scenarios": [{"id": "s", "asset": "asset", "actor": "actor", "tier": "tier",
                       "controls": [c["id"] for c in controls] if scenario_controls is None else scenario_controls}],
    }
    if scales:
        doc["scales"] = scales
    return doc


def build(tree: dict, **kw):
    return threatkit.load_text(yaml.safe_dump(model_doc(tree, **kw), sort_keys=False))


def run(tree: dict, **kw):
    model = build(tree, **kw)
    return evaluate(model.pathway("pw"), Setting.of(model, "s"))


def values(ev, node_id: str) -> dict[str, float]:
    return {attr: ev.node(node_id, attr) for attr in ("probability", "cost_usd", "time_days", "skill")}


INFEASIBLE = {"probability": 0.0, "cost_usd": INF, "time_days": INF, "skill": INF}


# ---- gating: when a leaf is infeasible ------------------------------------------------------

@pytest.mark.parametrize("feature", ALL_FEATURES)
def test_leaf_requiring_a_feature_the_tier_lacks_is_infeasible(feature):
    exposes = [f for f in ALL_FEATURES if f != feature]
    ev = run(gate("or", "root", leaf("needs", 0.9, 10, 1, requires=[feature]), leaf("other", 0.4, 80, 6, 2)),
             tier={"exposes": exposes})
    assert values(ev, "needs") == INFEASIBLE
    assert feature in " ".join(ev.infeasible["needs"])
    # the or falls back on the other child: p = 1 - (1-0)(1-0.4) = 0.4, cost $80
    assert ev.node("root", "probability") == pytest.approx(0.4)
    assert ev.node("root", "cost_usd") == pytest.approx(80)


def test_leaf_requiring_exposed_features_is_feasible():
    ev = run(leaf("needs", 0.9, 10, 1, 2, requires=["outputs", "logprobs"]), tier={"exposes": ["outputs", "logprobs"]})
    assert values(ev, "needs") == pytest.approx({"probability": 0.9, "cost_usd": 10, "time_days": 1, "skill": 2})
    assert "needs" not in ev.infeasible


def test_leaf_needs_every_required_feature():
    # requires outputs and weights; tier exposes outputs only
    ev = run(leaf("needs", 0.9, 10, 1, requires=["outputs", "weights"]), tier={"exposes": ["outputs"]})
    assert values(ev, "needs") == INFEASIBLE
    reasons = " ".join(ev.infeasible["needs"])
    assert "weights" in reasons


@pytest.mark.parametrize("min_rank, feasible", [(1, True), (2, True), (3, False), (5, False)])
def test_min_rank_against_tier_rank(min_rank, feasible):
    # tier rank 2: infeasible only when rank 2 < min_rank
    ev = run(leaf("deep", 0.7, 50, 3, 1, min_rank=min_rank), tier={"rank": 2})
    if feasible:
        assert values(ev, "deep") == pytest.approx({"probability": 0.7, "cost_usd": 50, "time_days": 3, "skill": 1})
    else:
        assert values(ev, "deep") == INFEASIBLE
        assert "rank" in " ".join(ev.infeasible["deep"])


@pytest.mark.parametrize("skill, feasible", [(1, True), (3, True), (4, False), (5, False)])
def test_leaf_skill_against_actor_skill(skill, feasible):
    # actor skill 3: infeasible only when the leaf's skill > 3
    ev = run(leaf("hard", 0.7, 50, 3, skill), actor={"skill": 3})
    if feasible:
        assert values(ev, "hard") == pytest.approx({"probability": 0.7, "cost_usd": 50, "time_days": 3, "skill": skill})
    else:
        assert values(ev, "hard") == INFEASIBLE
        assert "skill" in " ".join(ev.infeasible["hard"])


@pytest.mark.parametrize("cost, feasible", [(0, True), (999.5, True), (1000, True), (1000.01, False), (1e6, False)])
def test_leaf_cost_against_actor_budget(cost, feasible):
    # budget $1000: infeasible only when the leaf costs more than $1000
    ev = run(leaf("pricey", 0.7, cost, 3, 1), actor={"budget_usd": 1000})
    if feasible:
        assert values(ev, "pricey") == pytest.approx({"probability": 0.7, "cost_usd": cost, "time_days": 3, "skill": 1})
    else:
        assert values(ev, "pricey") == INFEASIBLE
        assert "budget" in " ".join(ev.infeasible["pricey"])


def test_infeasible_reasons_name_every_rule_broken():
    # one leaf breaking all four static rules at once
    ev = run(leaf("bad", 0.9, 5000, 1, 5, requires=["weights"], min_rank=4),
             actor={"skill": 2, "budget_usd": 1000}, tier={"rank": 1, "exposes": ["outputs"]})
    assert values(ev, "bad") == INFEASIBLE
    reasons = ev.infeasible["bad"]
    assert len(reasons) == 4
    text = " ".join(reasons)
    for word in ("weights", "rank", "skill", "budget"):
        assert word in text
    assert all(isinstance(r, str) and r for r in reasons)


def test_feasible_leaves_have_no_reasons():
    ev = run(gate("and", "root", leaf("x", 0.5, 10), leaf("y", 0.5, 10)))
    assert ev.infeasible == {}


# ---- query time -----------------------------------------------------------------------------

QTIER = {"queries_per_day": 1000, "duration_days": 365}   # rate 1000 per account per day
QACTOR = {"accounts": 2}


@pytest.mark.parametrize("time_days, queries, expected", [
    (10, 100_000, 50),     # max(10, 100000 / (1000 * 2) = 50) = 50
    (80, 100_000, 80),     # max(80, 50) = 80
    (0, 1_000, 0.5),       # max(0, 1000 / 2000 = 0.5) = 0.5
    (3, 0, 3),             # max(3, 0 / 2000 = 0) = 3
])
def test_query_time_is_max_of_time_and_queries_over_rate_times_accounts(time_days, queries, expected):
    ev = run(leaf("harvest", 0.9, 100, time_days, 1, queries=queries), tier=QTIER, actor=QACTOR)
    assert ev.node("harvest", "time_days") == pytest.approx(expected)
    assert ev.node("harvest", "probability") == pytest.approx(0.9)


def test_actor_accounts_default_to_one():
    # no `accounts`: 100000 / (1000 * 1) = 100 days
    ev = run(leaf("harvest", 0.9, 100, 10, 1, queries=100_000), tier=QTIER)
    assert ev.node("harvest", "time_days") == pytest.approx(100)


def test_unmetered_tier_adds_no_query_time():
    # no queries_per_day: the rate is unbounded, queries take no time -> time_days 10
    ev = run(leaf("harvest", 0.9, 100, 10, 1, queries=10**9), tier={"duration_days": 30}, actor=QACTOR)
    assert ev.node("harvest", "time_days") == pytest.approx(10)


@pytest.mark.parametrize("cap_control, expected", [
    ({"caps_queries_per_day": 500}, 100),              # 100000 / (min(1000, 500) * 2) = 100000 / 1000 = 100
    ({"caps_accounts": 1}, 100),                       # 100000 / (1000 * min(2, 1)) = 100
    ({"caps_queries_per_day": 500, "caps_accounts": 1}, 200),   # 100000 / (500 * 1) = 200
    ({"caps_queries_per_day": 5000}, 50),              # cap above the tier's rate: min(1000, 5000) = 1000 -> 50
    ({"caps_accounts": 10}, 50),                       # cap above the actor's accounts: min(2, 10) = 2 -> 50
])
def test_caps_lower_rate_and_accounts(cap_control, expected):
    ev = run(leaf("harvest", 0.9, 100, 10, 1, queries=100_000), tier=QTIER, actor=QACTOR,
             controls=[{"id": "cap", **cap_control}])
    assert ev.node("harvest", "time_days") == pytest.approx(expected)
    # a cap alone leaves p alone (no effectiveness, no detection)
    assert ev.node("harvest", "probability") == pytest.approx(0.9)


def test_caps_of_two_controls_take_the_lowest():
    # rate min(1000, 800, 400) = 400; accounts min(2, 5, 1) = 1 -> 100000 / 400 = 250
    ev = run(leaf("harvest", 0.9, 100, 10, 1, queries=100_000), tier=QTIER, actor=QACTOR,
             controls=[{"id": "c1", "caps_queries_per_day": 800, "caps_accounts": 5},
                       {"id": "c2", "caps_queries_per_day": 400, "caps_accounts": 1}])
    assert ev.node("harvest", "time_days") == pytest.approx(250)


def test_caps_act_on_the_whole_scenario_not_only_countered_steps():
    # the cap counters another step, yet caps the harvest: 100000 / (250 * 2) = 200
    tree = gate("sand", "root", leaf("other", 0.5, 0, 1), leaf("harvest", 0.9, 100, 10, 1, queries=100_000))
    ev = run(tree, tier=QTIER, actor=QACTOR, controls=[{"id": "cap", "counters": ["other"], "caps_queries_per_day": 250}])
    assert ev.node("harvest", "time_days") == pytest.approx(200)
    assert ev.node("harvest", "probability") == pytest.approx(0.9)
    # sand time: 1 + 200 = 201
    assert ev.node("root", "time_days") == pytest.approx(201)


@pytest.mark.parametrize("queries, feasible, days", [
    (500_000, True, 250),      # 500000 / 2000 = 250 <= 365
    (730_000, True, 365),      # 730000 / 2000 = 365, exactly the duration: completes
    (732_000, False, None),    # 732000 / 2000 = 366 > 365: access ends first
    (1_000_000, False, None),  # 500 > 365
])
def test_query_time_beyond_tier_duration_is_infeasible(queries, feasible, days):
    ev = run(leaf("harvest", 0.9, 100, 1, 1, queries=queries), tier=QTIER, actor=QACTOR)
    if feasible:
        assert ev.node("harvest", "time_days") == pytest.approx(days)
        assert ev.node("harvest", "probability") == pytest.approx(0.9)
    else:
        assert values(ev, "harvest") == INFEASIBLE
        assert "365" in " ".join(ev.infeasible["harvest"])


def test_a_cap_can_push_query_time_past_the_duration():
    # without the cap: 500000 / 2000 = 250 days, feasible; with the cap 500/day: 500000 / 1000 = 500 > 365
    tree = leaf("harvest", 0.9, 100, 1, 1, queries=500_000)
    assert run(tree, tier=QTIER, actor=QACTOR).node("harvest", "time_days") == pytest.approx(250)
    ev = run(tree, tier=QTIER, actor=QACTOR, controls=[{"id": "cap", "caps_queries_per_day": 500}])
    assert values(ev, "harvest") == INFEASIBLE


def test_a_cap_of_zero_queries_makes_query_steps_infeasible():
    # rate min(1000, 0) = 0: 100000 / 0 = inf > 365
    ev = run(gate("or", "root", leaf("harvest", 0.9, 100, 1, 1, queries=100_000), leaf("manual", 0.2, 5, 40)),
             tier=QTIER, actor=QACTOR, controls=[{"id": "cut", "caps_queries_per_day": 0}])
    assert values(ev, "harvest") == INFEASIBLE
    # a step without queries is untouched: root or = manual alone
    assert values(ev, "root") == pytest.approx({"probability": 0.2, "cost_usd": 5, "time_days": 40, "skill": 1})


@pytest.mark.parametrize("tier, controls", [
    ({"queries_per_day": 0}, []),                                               # the tier allows none
    ({"queries_per_day": 1000}, [{"id": "cut", "caps_queries_per_day": 0}]),    # capped to none
    ({}, [{"id": "cut", "caps_queries_per_day": 0}]),                           # unmetered, capped to none
])
def test_a_zero_query_rate_makes_query_steps_infeasible_even_on_open_ended_access(tier, controls):
    # no duration_days: access is open-ended. 1000 / (0 * 1) = inf days: max(1, inf) = inf, and the
    # queries never complete, so the step is infeasible: p 0, cost = time = skill = inf (null in JSON)
    ev = run(leaf("harvest", 0.9, 0, 1, queries=1000), tier=tier, controls=controls)
    assert values(ev, "harvest") == INFEASIBLE
    assert ev.cheapest == ()


def test_zero_queries_at_a_zero_rate_take_no_time():
    # 0 queries need no rate: max(3, 0) = 3 days, feasible
    ev = run(leaf("idle", 0.9, 0, 3, queries=0), tier={"queries_per_day": 0, "duration_days": 10})
    assert values(ev, "idle") == pytest.approx({"probability": 0.9, "cost_usd": 0, "time_days": 3, "skill": 1})


def test_a_long_step_without_queries_is_not_cut_by_the_duration():
    ev = run(leaf("train", 0.8, 100, 400, 1), tier=QTIER)
    assert values(ev, "train") == pytest.approx({"probability": 0.8, "cost_usd": 100, "time_days": 400, "skill": 1})


# ---- controls on probability ----------------------------------------------------------------

def test_effectiveness_by_step_id():
    # countered: 0.8 * (1 - 0.25) = 0.6; the sibling keeps 0.5
    # root and: 0.6 * 0.5 = 0.3
    ev = run(gate("and", "root", leaf("a", 0.8, 10, 2), leaf("b", 0.5, 20, 3)),
             controls=[{"id": "ctl", "counters": ["a"], "effectiveness": 0.25}])
    assert ev.node("a", "probability") == pytest.approx(0.6)
    assert ev.node("b", "probability") == pytest.approx(0.5)
    assert ev.node("root", "probability") == pytest.approx(0.3)
    # cost and time are untouched by effectiveness
    assert ev.node("a", "cost_usd") == pytest.approx(10) and ev.node("a", "time_days") == pytest.approx(2)
    assert ev.countered == {"a": ("ctl",)}


def test_effectiveness_by_pathway_id_counters_every_step():
    # every leaf x (1 - 0.5): a 0.8 -> 0.4, b 0.5 -> 0.25; root and = 0.4 * 0.25 = 0.1
    ev = run(gate("and", "root", leaf("a", 0.8), leaf("b", 0.5)),
             controls=[{"id": "ctl", "counters": ["pw"], "effectiveness": 0.5}])
    assert ev.node("a", "probability") == pytest.approx(0.4)
    assert ev.node("b", "probability") == pytest.approx(0.25)
    assert ev.node("root", "probability") == pytest.approx(0.1)


def test_effectiveness_one_stops_a_step():
    # 0.9 * (1 - 1) = 0; or(0, 0.3) = 0.3. The step is not infeasible: its cost stays $10.
    ev = run(gate("or", "root", leaf("a", 0.9, 10), leaf("b", 0.3, 50)),
             controls=[{"id": "wall", "counters": ["a"], "effectiveness": 1.0}])
    assert ev.node("a", "probability") == pytest.approx(0.0)
    assert ev.node("root", "probability") == pytest.approx(0.3)


def test_detection_per_million_queries():
    # p = 0.9 * (1 - 0.1)^(2000000 / 1e6) = 0.9 * 0.9^2 = 0.729
    ev = run(leaf("harvest", 0.9, 0, 0, 1, queries=2_000_000),
             controls=[{"id": "watch", "counters": ["harvest"], "detection_per_million_queries": 0.1}])
    assert ev.node("harvest", "probability") == pytest.approx(0.729)


def test_detection_with_fractional_millions():
    # p = 0.8 * (1 - 0.36)^(500000 / 1e6) = 0.8 * 0.64^0.5 = 0.8 * 0.8 = 0.64
    ev = run(leaf("harvest", 0.8, 0, 0, 1, queries=500_000),
             controls=[{"id": "watch", "counters": ["harvest"], "detection_per_million_queries": 0.36}])
    assert ev.node("harvest", "probability") == pytest.approx(0.64)


def test_detection_and_effectiveness_of_one_control_multiply():
    # p = 0.9 * (1 - 0.5) * (1 - 0.1)^2 = 0.9 * 0.5 * 0.81 = 0.3645
    ev = run(leaf("harvest", 0.9, 0, 0, 1, queries=2_000_000),
             controls=[{"id": "watch", "counters": ["harvest"], "effectiveness": 0.5,
                        "detection_per_million_queries": 0.1}])
    assert ev.node("harvest", "probability") == pytest.approx(0.3645)


def test_detection_leaves_a_step_without_queries_alone():
    # d acts only on a leaf with `queries`: p stays 0.9 * (1 - 0.2) = 0.72 from effectiveness alone
    ev = run(leaf("think", 0.9),
             controls=[{"id": "watch", "counters": ["think"], "effectiveness": 0.2,
                        "detection_per_million_queries": 0.5}])
    assert ev.node("think", "probability") == pytest.approx(0.72)


def test_detection_by_pathway_id():
    # counters the pathway: harvest 0.9 * (1 - 0.2)^(3e6/1e6) = 0.9 * 0.512 = 0.4608; other (no queries) stays 0.5
    # root and: 0.4608 * 0.5 = 0.2304
    ev = run(gate("and", "root", leaf("harvest", 0.9, queries=3_000_000), leaf("other", 0.5)),
             controls=[{"id": "watch", "counters": ["pw"], "detection_per_million_queries": 0.2}])
    assert ev.node("harvest", "probability") == pytest.approx(0.4608)
    assert ev.node("other", "probability") == pytest.approx(0.5)
    assert ev.node("root", "probability") == pytest.approx(0.2304)


def test_two_controls_on_one_leaf_multiply():
    # 0.8 * (1 - 0.5) * (1 - 0.2) = 0.8 * 0.5 * 0.8 = 0.32
    ev = run(leaf("a", 0.8),
             controls=[{"id": "c1", "counters": ["a"], "effectiveness": 0.5},
                       {"id": "c2", "counters": ["pw"], "effectiveness": 0.2}])
    assert ev.node("a", "probability") == pytest.approx(0.32)
    assert set(ev.countered["a"]) == {"c1", "c2"}


def test_control_not_in_the_scenario_has_no_effect():
    # the model defines a strong control and a tight cap, but the scenario uses neither
    tree = gate("and", "root", leaf("a", 0.8, 10, 2), leaf("harvest", 0.9, 0, 1, queries=100_000))
    controls = [{"id": "strong", "counters": ["pw"], "effectiveness": 0.9, "detection_per_million_queries": 0.9},
                {"id": "cap", "caps_queries_per_day": 1, "caps_accounts": 1}]
    ev = run(tree, tier=QTIER, actor=QACTOR, controls=controls, scenario_controls=[])
    # a 0.8, harvest 0.9 at 100000 / 2000 = 50 days; and: p = 0.72, time max(2, 50) = 50
    assert ev.node("a", "probability") == pytest.approx(0.8)
    assert ev.node("harvest", "probability") == pytest.approx(0.9)
    assert ev.node("harvest", "time_days") == pytest.approx(50)
    assert ev.node("root", "probability") == pytest.approx(0.72)
    assert ev.countered == {}


def test_control_on_a_step_of_another_pathway_has_no_effect_here():
    doc = model_doc(leaf("a", 0.8), controls=[{"id": "ctl", "counters": ["elsewhere"], "effectiveness": 0.5}])
    doc["pathways"].append({"id": "other", "fidelity": 0.1, "tree": leaf("elsewhere", 0.6)})
    model = threatkit.load_text(yaml.safe_dump(doc, sort_keys=False))
    setting = Setting.of(model, "s")
    assert evaluate(model.pathway("pw"), setting).node("a", "probability") == pytest.approx(0.8)
    # 0.6 * (1 - 0.5) = 0.3
    assert evaluate(model.pathway("other"), setting).node("elsewhere", "probability") == pytest.approx(0.3)


# ---- deterministic values of ranges and words -----------------------------------------------

def test_ranges_are_taken_at_their_mode_and_words_at_the_middle_of_their_band():
    # p range mode 0.3; "likely" is the band 0.55..0.80, middle (0.55 + 0.80) / 2 = 0.675
    # cost range mode 200, time range mode 12
    # and: p = 0.3 * 0.675 = 0.2025; cost 200 + 0 = 200; time max(12, 0) = 12
    tree = gate("and", "root",
                leaf("r", {"low": 0.1, "mode": 0.3, "high": 0.9}, {"low": 100, "mode": 200, "high": 900},
                     {"low": 1, "mode": 12, "high": 40}),
                leaf("w", "likely"))
    ev = run(tree)
    assert ev.node("r", "probability") == pytest.approx(0.3)
    assert ev.node("w", "probability") == pytest.approx(0.675)
    assert values(ev, "root") == pytest.approx({"probability": 0.2025, "cost_usd": 200, "time_days": 12, "skill": 1})


# ---- likelihood, impact and risk levels -----------------------------------------------------

def assess_one(p, *, fidelity=0.5, capability=1.0, scales=None):
    model = build(leaf("step", p), fidelity=fidelity, capability=capability, scales=scales)
    return assess(model, "s")["pw"]


# default likelihood bounds: 0.20, 0.45, 0.55, 0.80; the first level whose `below` exceeds p, else 5
@pytest.mark.parametrize("p, level", [
    (0.0, 0),               # infeasible: likelihood 0, on no matrix cell
    (0.001, 1), (0.19, 1),
    (0.2, 2),               # exactly at below 0.20: 0.20 does not exceed 0.20 -> level 2
    (0.3, 2), (0.449, 2),
    (0.45, 3),              # exactly at 0.45 -> level 3
    (0.5, 3),
    (0.55, 4),              # exactly at 0.55 -> level 4
    (0.79, 4),
    (0.8, 5),               # exactly at 0.80 -> the last level
    (1.0, 5),
])
def test_likelihood_level(p, level):
    assert assess_one(p).likelihood == level


@pytest.mark.parametrize("word, level", [
    ("almost no chance", 1),     # (0.01 + 0.05) / 2 = 0.03 < 0.20
    ("unlikely", 2),             # (0.20 + 0.45) / 2 = 0.325
    ("roughly even chance", 3),  # (0.45 + 0.55) / 2 = 0.50
    ("likely", 4),               # (0.55 + 0.80) / 2 = 0.675
    ("almost certain", 5),       # (0.95 + 0.99) / 2 = 0.97
])
def test_likelihood_of_estimative_words(word, level):
    assert assess_one(word).likelihood == level


# default impact bounds: 0.10, 0.30, 0.50, 0.75 on fidelity x capability_value
@pytest.mark.parametrize("fidelity, capability, value, level", [
    (0.25, 0.3, 0.075, 1),    # 0.25 * 0.3 = 0.075 < 0.10
    (0.1, 1.0, 0.1, 2),       # 0.1 * 1.0 = 0.10, exactly at below 0.10 -> level 2
    (0.2, 0.5, 0.1, 2),       # 0.2 * 0.5 = 0.10 -> level 2
    (0.5, 0.5, 0.25, 2),      # 0.25 < 0.30
    (0.5, 0.6, 0.3, 3),       # 0.5 * 0.6 = 0.30, exactly at below 0.30 -> level 3
    (0.5, 0.98, 0.49, 3),     # 0.49 < 0.50
    (0.5, 1.0, 0.5, 4),       # 0.50 exactly -> level 4
    (0.7, 1.0, 0.7, 4),       # 0.70 < 0.75
    (1.0, 0.75, 0.75, 5),     # 0.75 exactly -> the last level
    (0.9, 0.9, 0.81, 5),      # 0.81
])
def test_impact_level(fidelity, capability, value, level):
    pa = assess_one(0.5, fidelity=fidelity, capability=capability)
    assert pa.impact_value == pytest.approx(value)
    assert pa.impact == level


def test_impact_uses_the_mode_of_a_fidelity_range():
    # fidelity mode 0.4 x capability 1.0 = 0.4 -> level 3 (0.30 <= 0.4 < 0.50)
    pa = assess_one(0.5, fidelity={"low": 0.1, "mode": 0.4, "high": 0.9})
    assert pa.fidelity == pytest.approx(0.4)
    assert pa.impact == 3


DEFAULT_RISK = [
    ["low", "low", "low", "moderate", "moderate"],
    ["low", "low", "moderate", "moderate", "high"],
    ["low", "moderate", "moderate", "high", "high"],
    ["low", "moderate", "high", "high", "very high"],
    ["moderate", "moderate", "high", "very high", "very high"],
]


@pytest.mark.parametrize("p, fidelity, likelihood, impact", [
    (0.1, 0.05, 1, 1),    # matrix[0][0] = low
    (0.1, 0.9, 1, 5),     # matrix[0][4] = moderate
    (0.3, 0.4, 2, 3),     # matrix[1][2] = moderate
    (0.5, 0.2, 3, 2),     # matrix[2][1] = moderate
    (0.6, 0.6, 4, 4),     # matrix[3][3] = high
    (0.9, 0.05, 5, 1),    # matrix[4][0] = moderate
    (0.9, 0.6, 5, 4),     # matrix[4][3] = very high
    (0.6, 0.9, 4, 5),     # matrix[3][4] = very high
])
def test_risk_is_the_matrix_cell(p, fidelity, likelihood, impact):
    pa = assess_one(p, fidelity=fidelity)
    assert (pa.likelihood, pa.impact) == (likelihood, impact)
    assert pa.risk == DEFAULT_RISK[likelihood - 1][impact - 1]


def test_risk_is_not_transposed():
    # likelihood 1, impact 5 -> row 1, column 5 = "moderate"; likelihood 5, impact 1 -> row 5, column 1 = "moderate";
    # an asymmetric cell: likelihood 2, impact 5 -> "high"; likelihood 5, impact 2 -> "moderate"
    a = assess_one(0.3, fidelity=0.9)    # likelihood 2, impact 5
    b = assess_one(0.9, fidelity=0.2)    # likelihood 5, impact 2
    assert (a.likelihood, a.impact, a.risk) == (2, 5, "high")
    assert (b.likelihood, b.impact, b.risk) == (5, 2, "moderate")


CUSTOM_SCALES = {
    "likelihood": [{"level": 1, "name": "rare", "below": 0.1},
                   {"level": 2, "name": "possible", "below": 0.6},
                   {"level": 3, "name": "frequent"}],
    "impact": [{"level": 1, "name": "small", "below": 0.4},
               {"level": 2, "name": "large"}],
    "risk": [["green", "amber"], ["amber", "red"], ["red", "black"]],
}


@pytest.mark.parametrize("p, fidelity, likelihood, impact, risk", [
    (0.05, 0.2, 1, 1, "green"),     # 0.05 < 0.1; 0.2 < 0.4
    (0.1, 0.2, 2, 1, "amber"),      # 0.1 exactly -> 2
    (0.59, 0.4, 2, 2, "red"),       # 0.59 < 0.6; 0.4 exactly -> 2
    (0.6, 0.39, 3, 1, "red"),       # 0.6 exactly -> 3 (last)
    (0.99, 1.0, 3, 2, "black"),
])
def test_scales_from_the_model_file_override_the_defaults(p, fidelity, likelihood, impact, risk):
    pa = assess_one(p, fidelity=fidelity, scales=CUSTOM_SCALES)
    assert (pa.likelihood, pa.impact, pa.risk) == (likelihood, impact, risk)


def test_levels_come_from_the_root_probability():
    # and(0.5, 0.5) = 0.25 -> likelihood 2 although each leaf alone is 3
    model = build(gate("and", "root", leaf("a", 0.5), leaf("b", 0.5)))
    pa = assess(model, "s")["pw"]
    assert pa.probability == pytest.approx(0.25)
    assert pa.likelihood == 2


# ---- Assessment rows ------------------------------------------------------------------------

ROW_KEYS = {"scenario", "pathway", "actor", "tier", "probability", "cost_usd", "time_days", "skill", "fidelity",
            "likelihood", "impact", "risk", "cheapest_attack", "transfer_samples"}


def test_assessment_rows_hand_values():
    # and(or(a $500 p .6, b $200 p .3), c $1000 p .9 skill 3), fidelity 0.6, capability 0.9
    # or: p = 1 - 0.4*0.7 = 0.72, cost min = 200, time min(10, 20) = 10, skill min(2, 1) = 1
    # root and: p = 0.72*0.9 = 0.648, cost 200+1000 = 1200, time max(10, 5) = 10, skill max(1, 3) = 3
    # likelihood: 0.55 <= 0.648 < 0.80 -> 4; impact: 0.6*0.9 = 0.54 in [0.50, 0.75) -> 4; risk matrix[3][3] = high
    # cheapest: or -> b ($200 < $500), c
    tree = gate("and", "root", gate("or", "acc", leaf("a", 0.6, 500, 10, 2), leaf("b", 0.3, 200, 20, 1)),
                leaf("c", 0.9, 1000, 5, 3))
    model = build(tree, fidelity=0.6, capability=0.9)
    rows = assess(model, "s").rows()
    assert len(rows) == 1
    row = rows[0]
    assert ROW_KEYS <= set(row)
    assert {k: row[k] for k in ("scenario", "pathway", "actor", "tier")} == {
        "scenario": "s", "pathway": "pw", "actor": "actor", "tier": "tier"}
    assert {k: row[k] for k in ("probability", "cost_usd", "time_days", "skill", "fidelity")} == pytest.approx(
        {"probability": 0.648, "cost_usd": 1200, "time_days": 10, "skill": 3, "fidelity": 0.6})
    assert (row["likelihood"], row["impact"], row["risk"]) == (4, 4, "high")
    assert list(row["cheapest_attack"]) == ["b", "c"]


def test_assessment_rows_of_an_infeasible_pathway():
    # the only leaf needs skill 5 > 2: p 0, cost/time/skill inf -> None in rows; nothing to attack
    # probability 0: likelihood 0 and risk none (on no cell); impact 0.5*1.0 = 0.5 -> 4 all the same
    model = build(leaf("hard", 0.9, 10, 1, 5), actor={"skill": 2})
    row = assess(model, "s").rows()[0]
    assert row["probability"] == 0.0
    assert row["cost_usd"] is None and row["time_days"] is None and row["skill"] is None
    assert list(row["cheapest_attack"]) == []
    assert (row["likelihood"], row["impact"], row["risk"]) == (0, 4, "none")
    assert row["transfer_samples"] is None
    json.dumps(row, allow_nan=False)


# ---- command line ---------------------------------------------------------------------------

CLI_MODEL = """\
threatkit: 1
name: CLI test model
include: []
assets:
  - {id: frontier, capability_value: 0.8}
tiers:
  - {id: api, rank: 2, queries_per_day: 10000, duration_days: 365, exposes: [outputs]}
actors:
  - {id: reseller, kind: intermediary, capacity: OC2, budget_usd: 100000, skill: 3, accounts: 10}
pathways:
  - id: distill
    fidelity: {low: 0.2, mode: 0.5, high: 0.7}
    tree:
      id: distill-root
      gate: sand
      children:
        - id: access
          gate: or
          children:
            - {id: own, p: 0.5, cost_usd: 1000, time_days: 7, skill: 1}
            - {id: buy, p: 0.9, cost_usd: 5000, time_days: 2, skill: 1}
        - {id: harvest, p: {low: 0.8, mode: 0.9, high: 0.95}, cost_usd: {low: 5000, mode: 20000, high: 40000},
           time_days: 1, skill: 2, queries: 3000000}
        - {id: train, p: 0.8, cost_usd: 30000, time_days: {low: 10, mode: 20, high: 60}, skill: 3, requires: [outputs]}
  - id: steal
    fidelity: 1.0
    tree:
      id: steal-root
      gate: and
      children:
        - {id: breach, p: 0.3, cost_usd: 50000, time_days: 90, skill: 5}
        - {id: copy, p: 0.9, cost_usd: 0, time_days: 1, skill: 2, requires: [weights]}
controls:
  - {id: rate-limit, counters: [harvest], effectiveness: 0.5, caps_queries_per_day: 5000, cost_usd: 1000}
  - {id: kyc, counters: [own], effectiveness: 0.2, caps_accounts: 5}
scenarios:
  - {id: reseller-api, asset: frontier, actor: reseller, tier: api, controls: [rate-limit, kyc]}
"""

# distill in reseller-api:
#   own: 0.5 * (1 - 0.2) = 0.4; buy 0.9; access (or): p = 1 - 0.6*0.1 = 0.94, cost min(1000, 5000) = 1000,
#        time min(7, 2) = 2, skill 1
#   harvest: p = 0.9 * (1 - 0.5) = 0.45; rate min(10000, 5000) = 5000, accounts min(10, 5) = 5:
#        3000000 / (5000 * 5) = 120 days (<= 365); time max(1, 120) = 120; cost 20000
#   train: p 0.8, cost 30000, time 20, skill 3
#   root (sand): p = 0.94 * 0.45 * 0.8 = 0.3384; cost = 1000 + 20000 + 30000 = 51000; time = 2 + 120 + 20 = 142;
#        skill = max(1, 2, 3) = 3
#   likelihood: 0.20 <= 0.3384 < 0.45 -> 2; impact: 0.5 * 0.8 = 0.4 -> 3; risk matrix[1][2] = moderate
#   cheapest: access -> own ($1000 < $5000), harvest, train
DISTILL = {"scenario": "reseller-api", "pathway": "distill", "actor": "reseller", "tier": "api",
           "probability": 0.3384, "cost_usd": 51000.0, "time_days": 142.0, "skill": 3.0, "fidelity": 0.5,
           "likelihood": 2, "impact": 3, "risk": "moderate", "cheapest_attack": ["own", "harvest", "train"]}
# steal: breach needs skill 5 > 3 and copy needs weights: both infeasible; and: p 0, the rest inf -> null
#   likelihood 0 (infeasible); impact 1.0 * 0.8 = 0.8 -> 5; risk none; no attack
STEAL = {"scenario": "reseller-api", "pathway": "steal", "actor": "reseller", "tier": "api",
         "probability": 0.0, "cost_usd": None, "time_days": None, "skill": None, "fidelity": 1.0,
         "likelihood": 0, "impact": 5, "risk": "none", "cheapest_attack": [], "transfer_samples": None}


@pytest.fixture
def model_file(tmp_path):
    path = tmp_path / "model.yaml"
    path.write_text(CLI_MODEL)
    return str(path)


def _assess_json(capsys, argv):
    assert main(argv) == 0
    out = capsys.readouterr().out
    return json.loads(out)


def _check_row(row, expected):
    for key, value in expected.items():
        if isinstance(value, float) and value is not None:
            assert row[key] == pytest.approx(value), key
        else:
            assert row[key] == value, key


def test_cli_assess_json_hand_values(model_file, capsys):
    rows = _assess_json(capsys, ["assess", model_file, "--format", "json"])
    assert isinstance(rows, list) and len(rows) == 2
    by_pathway = {r["pathway"]: r for r in rows}
    for row in rows:
        assert ROW_KEYS <= set(row)
    _check_row(by_pathway["distill"], DISTILL)
    _check_row(by_pathway["steal"], STEAL)


def test_cli_assess_json_infinity_is_null(model_file, capsys):
    out_rows = _assess_json(capsys, ["assess", model_file, "--format", "json"])
    steal = next(r for r in out_rows if r["pathway"] == "steal")
    assert steal["cost_usd"] is None and steal["time_days"] is None and steal["skill"] is None


def test_cli_assess_named_scenario(model_file, capsys):
    rows = _assess_json(capsys, ["assess", model_file, "--scenario", "reseller-api", "--format", "json"])
    assert {r["scenario"] for r in rows} == {"reseller-api"}


def test_cli_assess_samples_keep_deterministic_columns_and_add_statistics(model_file, capsys):
    plain = _assess_json(capsys, ["assess", model_file, "--format", "json"])
    sampled = _assess_json(capsys, ["assess", model_file, "--format", "json", "--samples", "200", "--seed", "1"])
    assert len(sampled) == len(plain)
    for a, b in zip(plain, sampled):
        for key in ROW_KEYS:
            assert b[key] == a[key], key
        for attr in ("probability", "cost_usd", "time_days"):
            for stat in ("p5", "p50", "p95"):
                assert f"{attr}_{stat}" in b
    distill = next(r for r in sampled if r["pathway"] == "distill")
    # percentiles are ordered, and the spread is real (the model has ranges)
    for attr in ("probability", "cost_usd", "time_days"):
        assert distill[f"{attr}_p5"] <= distill[f"{attr}_p50"] <= distill[f"{attr}_p95"]
    assert distill["probability_p5"] < distill["probability_p95"]
    # bounds by hand: harvest p in [0.8, 0.95] x 0.5 -> root p in [0.94*0.4*0.8, 0.94*0.475*0.8] = [0.3008, 0.3572]
    assert 0.3008 - 1e-9 <= distill["probability_p5"] and distill["probability_p95"] <= 0.3572 + 1e-9
    # cost in [1000 + 5000 + 30000, 1000 + 40000 + 30000] = [36000, 71000]
    assert 36000 <= distill["cost_usd_p5"] and distill["cost_usd_p95"] <= 71000
    # time in [2 + 120 + 10, 2 + 120 + 60] = [132, 182]
    assert 132 <= distill["time_days_p5"] and distill["time_days_p95"] <= 182
    # infeasible in every sample: percentiles of infinity are null, of p = 0 are 0
    steal = next(r for r in sampled if r["pathway"] == "steal")
    assert steal["cost_usd_p50"] is None and steal["probability_p95"] == 0.0


def test_cli_assess_samples_same_seed_same_output(model_file, capsys):
    argv = ["assess", model_file, "--format", "json", "--samples", "200", "--seed", "1"]
    assert _assess_json(capsys, argv) == _assess_json(capsys, argv)


def test_cli_assess_unknown_scenario(model_file, capsys):
    assert main(["assess", model_file, "--scenario", "reseller-apj", "--format", "json"]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "reseller-apj" in captured.err
    assert "reseller-api" in captured.err          # the close match
    assert "Traceback" not in captured.err


def test_cli_tree_json(model_file, capsys):
    assert main(["tree", model_file, "--pathway", "distill", "--format", "json"]) == 0
    tree = json.loads(capsys.readouterr().out)
    assert tree["id"] == "distill-root" and tree["gate"] == "sand"
    for key in ("id", "gate", "probability", "cost_usd", "time_days", "skill", "children"):
        assert key in tree
    assert {k: tree[k] for k in ("probability", "cost_usd", "time_days", "skill")} == pytest.approx(
        {"probability": 0.3384, "cost_usd": 51000, "time_days": 142, "skill": 3})
    access, harvest, train = tree["children"]
    assert access["id"] == "access" and access["gate"] == "or"
    assert {k: access[k] for k in ("probability", "cost_usd", "time_days", "skill")} == pytest.approx(
        {"probability": 0.94, "cost_usd": 1000, "time_days": 2, "skill": 1})
    own = access["children"][0]
    assert own["id"] == "own" and own["gate"] is None and own["children"] == []
    assert own["probability"] == pytest.approx(0.4)   # 0.5 * (1 - 0.2)
    assert harvest["time_days"] == pytest.approx(120)
    assert harvest["probability"] == pytest.approx(0.45)


def test_cli_tree_json_infinity_is_null(model_file, capsys):
    assert main(["tree", model_file, "--pathway", "steal", "--scenario", "reseller-api", "--format", "json"]) == 0
    tree = json.loads(capsys.readouterr().out)
    assert tree["probability"] == 0.0
    assert tree["cost_usd"] is None and tree["time_days"] is None and tree["skill"] is None
    breach, copy = tree["children"]
    assert breach["cost_usd"] is None and copy["cost_usd"] is None


def test_cli_tree_unknown_pathway(model_file, capsys):
    assert main(["tree", model_file, "--pathway", "distil", "--format", "json"]) == 1
    err = capsys.readouterr().err
    assert "distil" in err and "distill" in err


def test_cli_assess_negative_seed_is_a_seed_or_a_clear_error(model_file, capsys):
    # any integer --seed is accepted by the parser; a negative one must either work or be refused
    # in one line (exit 1 or an argparse usage error), never crash with a traceback
    try:
        code = main(["assess", model_file, "--format", "json", "--samples", "10", "--seed", "-1"])
    except SystemExit as exc:          # argparse refusing the value
        code = exc.code
    captured = capsys.readouterr()
    if code == 0:
        assert len(json.loads(captured.out)) == 2
    else:
        assert code in (1, 2)
        assert "seed" in captured.err


# ---- the draws shared with the timeline ----------------------------------------------------------

@pytest.mark.parametrize("path", ["data/examples/mythos.yaml", ""])
def test_assessment_from_the_timelines_draws_is_the_same(path):
    """A report passes the curves' Monte Carlo inputs as `drawn` instead of evaluating the trees
    again: every row, statistics included, is the one assess computes on its own."""
    from threatkit.analysis.timeline import answers
    from threatkit.report import example_path

    model = threatkit.load_model(path or example_path())
    for s in model.scenarios:
        _, mc = answers(model, s.id, samples=300, seed=4)
        shared = assess(model, s.id, 300, 4, drawn=mc.with_)
        alone = assess(model, s.id, 300, 4)
        assert json.dumps(shared.rows()) == json.dumps(alone.rows()), s.id
        assert shared.pathways[0].stats                        # statistics there to compare


def test_drawn_must_be_the_same_draws_of_the_same_setting():
    from threatkit.analysis.timeline import answers
    from threatkit.report import example_path

    model = threatkit.load_model(example_path())
    first, second = (s.id for s in model.scenarios[:2])
    _, mc = answers(model, first, samples=50, seed=1)
    for kwargs in ({"scenario": second, "samples": 50}, {"scenario": first, "samples": 60},
                   {"scenario": first, "samples": None}):
        with pytest.raises(ValueError, match="same draws"):
            assess(model, kwargs["scenario"], kwargs["samples"], 1, drawn=mc.with_)


def test_leaves_drawn_ahead_are_the_draws_an_evaluation_makes():
    """draw_leaves (a batch calls it before forking) keeps in each leaf table exactly what the
    sampler draws for its leaves; past the size limit it draws nothing."""
    from threatkit.analysis.assess import draw_leaves, leaf_table
    from threatkit.analysis.simulate import Sampler
    from threatkit.report import example_path

    model = threatkit.load_model(example_path())
    sampler = Sampler(64, 11)
    assert draw_leaves(model, sampler)
    for pw in model.pathways:
        table = leaf_table(pw)
        kept = table._draws[sampler]
        for name, q in table.quantities.items():
            fresh = Sampler(64, 11).draw(q, "pathway", pw.id, name)
            assert kept[name].tobytes() == fresh.tobytes(), (pw.id, name)
        assert table.draws(sampler) is kept
    other = Sampler(64, 12)
    assert not draw_leaves(model, other, limit_bytes=1000)
    assert all(other not in leaf_table(pw)._draws for pw in model.pathways)


def test_an_evaluation_in_blocks_of_columns_is_the_same_to_the_bit(monkeypatch):
    """A huge tree over many draws is evaluated a block of columns at a time (evaluate_blocks);
    here every block is one column: the timeline's inputs, the assessment and the sweep (a column
    sampler) are byte for byte what one evaluation gives."""
    import threatkit.analysis.assess as assess_module
    from threatkit.analysis.sensitivity import sweep
    from threatkit.analysis.simulate import Sampler
    from threatkit.analysis.timeline import gather
    from threatkit.report import example_path

    model = threatkit.load_model(example_path())
    scenario = next(s for s in model.scenarios if s.controls)
    setting = Setting.of(model, scenario)

    def outputs():
        g = gather(setting, model.pathways, Sampler(40, 3))
        return ([getattr(g, k).tobytes() for k in ("p", "time", "share", "cost")],
                json.dumps(assess(model, scenario.id, 40, 3).rows()),
                json.dumps(sweep(model, scenario.id).tornado().to_list()))

    whole = outputs()
    monkeypatch.setattr(assess_module, "BLOCK_BYTES", 1)
    assert outputs() == whole


def test_a_leaf_table_keeps_its_largest_draws_and_no_more_than_the_budget_beside(monkeypatch):
    import threatkit.analysis.assess as assess_module
    from threatkit.analysis.assess import LeafTable
    from threatkit.analysis.simulate import Sampler
    from threatkit.report import example_path

    table = LeafTable.of(threatkit.load_model(example_path()).pathways[0])
    small, large, other = Sampler(), Sampler(500, 1), Sampler(400, 2)
    monkeypatch.setattr(assess_module, "KEPT_DRAWS_BYTES", sum(v.nbytes for v in table.draws(small).values()))
    for _ in range(2):                          # a report alternates: neither pushes the other out
        for s in (small, large):
            kept = table.draws(s)
            assert table.draws(s) is kept
    assert set(table._draws) == {small, large}
    table.draws(other)                          # a second large set: the older ones go
    assert set(table._draws) == {other}
    block = table.draws(large.block(100, 130))  # a block is a view of its sampler's draws, not kept apart
    assert all(v.base is not None and v.shape[1] == 30 for v in block.values())
    assert set(table._draws) == {large}
    assert all((block[k] == v[:, 100:130]).all() for k, v in table.draws(large).items())


def test_a_transfer_curve_is_drawn_once_per_sampler_and_kept_read_only():
    # Every evaluation of a pathway reads its transfer curve's draws twice (harvest, share): drawn
    # once per sampler, as the sampler draws them, and shared read-only.
    import numpy as np

    from threatkit.analysis.assess import transfer_shares
    from threatkit.analysis.simulate import Sampler
    from threatkit.resources import data_path

    model = threatkit.load_model(data_path("examples/mythos.yaml"))
    pathway = next(p for p in model.pathways if p.transfer is not None)
    drawn = transfer_shares(pathway, Sampler(30, 4))
    assert transfer_shares(pathway, Sampler(30, 4)) is drawn and not drawn.flags.writeable
    expected = Sampler(30, 4).draw([q for _, q in pathway.transfer.curve], "pathway", pathway.id, "transfer")
    assert np.array_equal(drawn, expected)
    assert not np.array_equal(transfer_shares(pathway, Sampler(30, 5)), drawn)
