"""Attack-tree combination rules, checked against values computed by hand.

The contract is DESIGN.md "Attack-tree semantics": per gate and attribute,

    attribute    or               and      sand
    probability  1 - prod(1 - p)  prod p   prod p
    cost_usd     min              sum      sum
    time_days    min              max      sum
    skill        min              max      max

and the cheapest attack is the set of leaves the min-cost rule selects (or: the
cheapest child, the first on ties; and/sand: every child). Every expected value
below is written out by hand next to the arithmetic that gives it.
"""
from __future__ import annotations

import math

import pytest
import yaml

import threatkit
from threatkit.analysis.assess import Setting, evaluate

INF = math.inf


# ---- helpers: a one-pathway model around a tree ----------------------------------------------

def leaf(id: str, p: float, cost: float = 0, time: float = 0, skill: int = 1, **extra) -> dict:
    return {"id": id, "p": p, "cost_usd": cost, "time_days": time, "skill": skill, **extra}


def gate(kind: str, id: str, *children: dict) -> dict:
    return {"id": id, "gate": kind, "children": list(children)}


def build(tree: dict, *, actor: dict | None = None, tier: dict | None = None, controls: list[dict] = (),
          scenario_controls: list[str] | None = None) -> threatkit.model.values.ThreatModel:
    """A model with one pathway `pw` (tree `tree`) and one scenario `s`. The default actor
    (skill 5, $1e9) and tier (rank 2, everything exposed, unmetered) gate nothing."""
    doc = {
        "threatkit": 1,
        "include": [],
        "assets": [{"id": "asset", "capability_value": 1.0}],
        "tiers": [{"id": "tier", "rank": 2, "exposes": ["outputs", "logprobs", "fine_tuning", "internals", "weights"],
                   **(tier or {})}],
        "actors": [{"id": "actor", "kind": "state", "capacity": "OC4", "budget_usd": 1e9, "skill": 5, **(actor or {})}],
        "pathways": [{"id": "pw", "fidelity": 0.5, "tree": tree}],
        "controls": list(controls),
        "scenarios": [{"id": "s", "asset": "asset", "actor": "actor", "tier": "tier",
                       "controls": [c["id"] for c in controls] if scenario_controls is None else scenario_controls}],
    }
    return threatkit.load_text(yaml.safe_dump(doc, sort_keys=False))


def run(tree: dict, **kw):
    model = build(tree, **kw)
    return evaluate(model.pathway("pw"), Setting.of(model, "s"))


def values(ev, node_id: str) -> dict[str, float]:
    return {attr: ev.node(node_id, attr) for attr in ("probability", "cost_usd", "time_days", "skill")}


# ---- every gate, every attribute ------------------------------------------------------------

# Three leaves: p, cost, time, skill
#   a: 0.5, 100, 10, 2
#   b: 0.4,  30,  4, 3
#   c: 0.9, 250,  7, 1
THREE = [leaf("a", 0.5, 100, 10, 2), leaf("b", 0.4, 30, 4, 3), leaf("c", 0.9, 250, 7, 1)]

GATE_EXPECTED = {
    # or: p = 1 - (1-0.5)(1-0.4)(1-0.9) = 1 - 0.5*0.6*0.1 = 1 - 0.03 = 0.97
    #     cost = min(100, 30, 250) = 30; time = min(10, 4, 7) = 4; skill = min(2, 3, 1) = 1
    "or": {"probability": 0.97, "cost_usd": 30, "time_days": 4, "skill": 1},
    # and: p = 0.5*0.4*0.9 = 0.18; cost = 100+30+250 = 380; time = max(10, 4, 7) = 10; skill = max(2, 3, 1) = 3
    "and": {"probability": 0.18, "cost_usd": 380, "time_days": 10, "skill": 3},
    # sand: p = 0.5*0.4*0.9 = 0.18; cost = 100+30+250 = 380; time = 10+4+7 = 21; skill = max(2, 3, 1) = 3
    "sand": {"probability": 0.18, "cost_usd": 380, "time_days": 21, "skill": 3},
}


@pytest.mark.parametrize("kind", ["or", "and", "sand"])
@pytest.mark.parametrize("attr", ["probability", "cost_usd", "time_days", "skill"])
def test_gate_rule(kind, attr):
    ev = run(gate(kind, "root", *THREE))
    assert ev.node("root", attr) == pytest.approx(GATE_EXPECTED[kind][attr])


@pytest.mark.parametrize("kind", ["or", "and", "sand"])
def test_single_child_gate_passes_its_child_through(kind):
    # one child: 1-(1-0.3) = 0.3; prod = 0.3; min = max = sum of one value = the value
    ev = run(gate(kind, "root", leaf("only", 0.3, 70, 5, 4)))
    assert values(ev, "root") == pytest.approx({"probability": 0.3, "cost_usd": 70, "time_days": 5, "skill": 4})


def test_two_child_or_probability_is_noisy_or_not_max_or_sum():
    # 1 - (1-0.5)(1-0.5) = 1 - 0.25 = 0.75 (max would be 0.5, sum 1.0)
    ev = run(gate("or", "root", leaf("x", 0.5), leaf("y", 0.5)))
    assert ev.node("root", "probability") == pytest.approx(0.75)


def test_root_may_be_a_single_leaf():
    ev = run(leaf("only", 0.35, 1200, 9, 3))
    assert values(ev, "only") == pytest.approx({"probability": 0.35, "cost_usd": 1200, "time_days": 9, "skill": 3})
    assert ev.cheapest == ("only",)


# ---- nested trees ---------------------------------------------------------------------------

#   root: sand
#   ├── acc: or
#   │   ├── a: p 0.6, $500,  10 d, skill 2
#   │   └── b: p 0.3, $200,  20 d, skill 3
#   ├── work: and
#   │   ├── c: p 0.9, $1000,  5 d, skill 1
#   │   └── seq: sand
#   │       ├── d: p 0.8, $100, 3 d, skill 4
#   │       └── e: p 0.5, $50,  6 d, skill 2
#   └── f: p 0.7, $0, 2 d, skill 1
NESTED = gate(
    "sand", "root",
    gate("or", "acc", leaf("a", 0.6, 500, 10, 2), leaf("b", 0.3, 200, 20, 3)),
    gate("and", "work", leaf("c", 0.9, 1000, 5, 1),
         gate("sand", "seq", leaf("d", 0.8, 100, 3, 4), leaf("e", 0.5, 50, 6, 2))),
    leaf("f", 0.7, 0, 2, 1),
)

NESTED_EXPECTED = {
    # acc (or): p = 1 - 0.4*0.7 = 0.72; cost = min(500, 200) = 200; time = min(10, 20) = 10; skill = min(2, 3) = 2
    "acc": {"probability": 0.72, "cost_usd": 200, "time_days": 10, "skill": 2},
    # seq (sand): p = 0.8*0.5 = 0.4; cost = 100+50 = 150; time = 3+6 = 9; skill = max(4, 2) = 4
    "seq": {"probability": 0.4, "cost_usd": 150, "time_days": 9, "skill": 4},
    # work (and): p = 0.9*0.4 = 0.36; cost = 1000+150 = 1150; time = max(5, 9) = 9; skill = max(1, 4) = 4
    "work": {"probability": 0.36, "cost_usd": 1150, "time_days": 9, "skill": 4},
    # root (sand): p = 0.72*0.36*0.7 = 0.18144; cost = 200+1150+0 = 1350; time = 10+9+2 = 21; skill = max(2, 4, 1) = 4
    "root": {"probability": 0.18144, "cost_usd": 1350, "time_days": 21, "skill": 4},
}


@pytest.mark.parametrize("node_id", list(NESTED_EXPECTED))
def test_nested_tree_every_inner_node(node_id):
    ev = run(NESTED)
    assert values(ev, node_id) == pytest.approx(NESTED_EXPECTED[node_id])


def test_nested_tree_leaves_keep_their_own_values():
    ev = run(NESTED)
    assert values(ev, "e") == pytest.approx({"probability": 0.5, "cost_usd": 50, "time_days": 6, "skill": 2})


def test_deep_chain_of_mixed_gates():
    # or(x, and(y, sand(z, or(u, v))))
    # inner or(u, v): p = 1 - 0.9*0.8 = 0.28; cost min(40, 60) = 40; time min(2, 1) = 1; skill min(3, 5) = 3
    # sand(z, ..): p = 0.5*0.28 = 0.14; cost 10+40 = 50; time 4+1 = 5; skill max(2, 3) = 3
    # and(y, ..): p = 0.6*0.14 = 0.084; cost 5+50 = 55; time max(8, 5) = 8; skill max(1, 3) = 3
    # or(x, ..): p = 1 - (1-0.2)(1-0.084) = 1 - 0.8*0.916 = 1 - 0.7328 = 0.2672
    #            cost min(100, 55) = 55; time min(30, 8) = 8; skill min(4, 3) = 3
    tree = gate("or", "root", leaf("x", 0.2, 100, 30, 4),
                gate("and", "g1", leaf("y", 0.6, 5, 8, 1),
                     gate("sand", "g2", leaf("z", 0.5, 10, 4, 2),
                          gate("or", "g3", leaf("u", 0.1, 40, 2, 3), leaf("v", 0.2, 60, 1, 5)))))
    ev = run(tree)
    assert values(ev, "g3") == pytest.approx({"probability": 0.28, "cost_usd": 40, "time_days": 1, "skill": 3})
    assert values(ev, "g2") == pytest.approx({"probability": 0.14, "cost_usd": 50, "time_days": 5, "skill": 3})
    assert values(ev, "g1") == pytest.approx({"probability": 0.084, "cost_usd": 55, "time_days": 8, "skill": 3})
    assert values(ev, "root") == pytest.approx({"probability": 0.2672, "cost_usd": 55, "time_days": 8, "skill": 3})
    # cheapest: root or -> g1 ($55 < $100); g1 and -> y, g2; g2 sand -> z, g3; g3 or -> u ($40 < $60)
    assert set(ev.cheapest) == {"y", "z", "u"}


def test_wide_and_uneven_levels():
    # Gates on one level with different numbers of children, and leaves mixed with gates on a
    # level: and(or(a, b, c), d, sand(e, f), or(g))
    # or(a, b, c): p = 1 - 0.9*0.8*0.7 = 1 - 0.504 = 0.496; cost min(3, 2, 1) = 1; time min(5, 6, 7) = 5
    # sand(e, f): p = 0.5*0.5 = 0.25; cost 10+20 = 30; time 1+2 = 3
    # or(g): p 0.4; cost 7; time 9
    # root and: p = 0.496*0.9*0.25*0.4 = 0.04464; cost = 1+4+30+7 = 42; time = max(5, 8, 3, 9) = 9
    tree = gate("and", "root",
                gate("or", "o1", leaf("a", 0.1, 3, 5), leaf("b", 0.2, 2, 6), leaf("c", 0.3, 1, 7)),
                leaf("d", 0.9, 4, 8),
                gate("sand", "s1", leaf("e", 0.5, 10, 1), leaf("f", 0.5, 20, 2)),
                gate("or", "o2", leaf("g", 0.4, 7, 9)))
    ev = run(tree)
    assert ev.node("o1", "probability") == pytest.approx(0.496)
    assert ev.node("s1", "time_days") == pytest.approx(3)
    assert values(ev, "root") == pytest.approx({"probability": 0.04464, "cost_usd": 42, "time_days": 9, "skill": 1})
    # cheapest: o1 -> c ($1), d, s1 -> e, f, o2 -> g
    assert set(ev.cheapest) == {"c", "d", "e", "f", "g"}


def test_each_attribute_is_combined_when_first_read_and_alone_as_all_at_once():
    # The nodes' values are combined per attribute on first reading (most readers want one or
    # two): each must be what combining every attribute at once gives, to the bit, over draws.
    import numpy as np

    from threatkit.analysis import trees
    from threatkit.analysis.simulate import Sampler

    from threatkit.report import example_path

    model = threatkit.load_model(example_path())
    for pathway in model.pathways:
        tree = evaluate(pathway, Setting.of(model, "status-quo"), Sampler(50, 3))
        assert tree.values._nodes == {}                                 # nothing combined yet
        at_once = trees.combine(tree.flat, tree.values._leaves)
        for attr in reversed(trees.ATTRIBUTES):
            assert np.array_equal(tree.values[attr], at_once[attr]), (pathway.id, attr)
        assert list(tree.values) == list(trees.ATTRIBUTES)


# ---- infinity (an infeasible leaf) through each gate -----------------------------------------

def test_infeasible_child_of_or_is_skipped_by_min_rules():
    # x needs skill 5 > actor skill 3: p = 0, cost = time = skill = inf
    # or(x, y): p = 1 - (1-0)(1-0.4) = 0.4; cost min(inf, 80) = 80; time min(inf, 6) = 6; skill min(inf, 2) = 2
    ev = run(gate("or", "root", leaf("x", 0.9, 10, 1, 5), leaf("y", 0.4, 80, 6, 2)), actor={"skill": 3})
    assert values(ev, "x") == {"probability": 0.0, "cost_usd": INF, "time_days": INF, "skill": INF}
    assert values(ev, "root") == pytest.approx({"probability": 0.4, "cost_usd": 80, "time_days": 6, "skill": 2})


@pytest.mark.parametrize("kind", ["and", "sand"])
def test_infeasible_child_of_and_makes_the_gate_infeasible(kind):
    # and/sand(x, y), x infeasible: p = 0*0.4 = 0; cost inf + 80 = inf; time max/sum with inf = inf; skill inf
    ev = run(gate(kind, "root", leaf("x", 0.9, 10, 1, 5), leaf("y", 0.4, 80, 6, 2)), actor={"skill": 3})
    assert values(ev, "root") == {"probability": 0.0, "cost_usd": INF, "time_days": INF, "skill": INF}


# ---- the cheapest attack --------------------------------------------------------------------

def test_cheapest_attack_of_nested_tree():
    # acc or -> b ($200 < $500); work and -> c, seq; seq sand -> d, e; f
    assert set(run(NESTED).cheapest) == {"b", "c", "d", "e", "f"}


def test_cheapest_attack_lists_leaves_only_in_tree_order():
    ev = run(NESTED)
    assert list(ev.cheapest) == ["b", "c", "d", "e", "f"]
    assert "acc" not in ev.cheapest and "root" not in ev.cheapest


def test_cheapest_attack_chooses_by_cost_not_probability():
    # or(likely $500, unlikely $100) -> the $100 one, although its p is lower
    ev = run(gate("or", "root", leaf("sure", 0.9, 500), leaf("cheap", 0.1, 100)))
    assert ev.cheapest == ("cheap",)


def test_cheapest_attack_first_child_on_ties():
    # both cost $100: the first child in the file wins, whatever its id sorts as
    ev = run(gate("or", "root", leaf("zeta", 0.1, 100), leaf("alpha", 0.9, 100)))
    assert ev.cheapest == ("zeta",)


def test_cheapest_attack_or_picks_a_whole_subtree():
    # or(and(a $10, b $20) = $30, c $25) -> c;  or(and(a $10, b $20) = $30, c $35) -> a, b
    t1 = gate("or", "root", gate("and", "both", leaf("a", 0.5, 10), leaf("b", 0.5, 20)), leaf("c", 0.5, 25))
    t2 = gate("or", "root", gate("and", "both", leaf("a", 0.5, 10), leaf("b", 0.5, 20)), leaf("c", 0.5, 35))
    assert run(t1).cheapest == ("c",)
    assert set(run(t2).cheapest) == {"a", "b"}


def test_cheapest_attack_skips_an_infeasible_cheaper_child():
    # x costs $10 but needs skill 5 > 3: cost inf; y $80 is the cheapest feasible
    ev = run(gate("or", "root", leaf("x", 0.9, 10, 1, 5), leaf("y", 0.4, 80, 6, 2)), actor={"skill": 3})
    assert ev.cheapest == ("y",)


def test_cheapest_attack_empty_when_nothing_is_feasible():
    # and(x infeasible, y): root cost inf -> no attack
    ev = run(gate("and", "root", leaf("x", 0.9, 10, 1, 5), leaf("y", 0.4, 80, 6, 2)), actor={"skill": 3})
    assert ev.node("root", "cost_usd") == INF
    assert ev.cheapest == ()


def test_cheapest_attack_empty_when_every_alternative_is_infeasible():
    ev = run(gate("or", "root", leaf("x", 0.9, 10, 1, 5), leaf("y", 0.4, 80, 6, 4)), actor={"skill": 3})
    assert ev.cheapest == ()


# ---- EvaluatedTree.to_dict ------------------------------------------------------------------

def test_to_dict_shape_and_values():
    d = run(NESTED).to_dict()
    for key in ("id", "gate", "probability", "cost_usd", "time_days", "skill", "children"):
        assert key in d
    assert d["id"] == "root" and d["gate"] == "sand"
    assert [c["id"] for c in d["children"]] == ["acc", "work", "f"]
    assert {k: d[k] for k in NESTED_EXPECTED["root"]} == pytest.approx(NESTED_EXPECTED["root"])
    acc = d["children"][0]
    assert acc["gate"] == "or"
    assert {k: acc[k] for k in NESTED_EXPECTED["acc"]} == pytest.approx(NESTED_EXPECTED["acc"])
    a = acc["children"][0]
    assert a["id"] == "a" and a["gate"] is None and a["children"] == []
    assert {k: a[k] for k in ("probability", "cost_usd", "time_days", "skill")} == pytest.approx(
        {"probability": 0.6, "cost_usd": 500, "time_days": 10, "skill": 2})
    seq = d["children"][1]["children"][1]
    assert seq["id"] == "seq"
    assert {k: seq[k] for k in NESTED_EXPECTED["seq"]} == pytest.approx(NESTED_EXPECTED["seq"])


def test_to_dict_infinity_is_none():
    # and(x infeasible, y): x and root have cost = time = skill = inf -> None; p = 0
    d = run(gate("and", "root", leaf("x", 0.9, 10, 1, 5), leaf("y", 0.4, 80, 6, 2)), actor={"skill": 3}).to_dict()
    assert d["probability"] == 0.0
    assert d["cost_usd"] is None and d["time_days"] is None and d["skill"] is None
    x = d["children"][0]
    assert x["id"] == "x"
    assert (x["probability"], x["cost_usd"], x["time_days"], x["skill"]) == (0.0, None, None, None)
    y = d["children"][1]
    assert (y["probability"], y["cost_usd"], y["time_days"], y["skill"]) == pytest.approx((0.4, 80, 6, 2))


def test_to_dict_is_json_serialisable():
    import json

    json.dumps(run(NESTED).to_dict(), allow_nan=False)
