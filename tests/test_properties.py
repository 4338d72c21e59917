"""Properties of tree evaluation that hold for any tree, checked on small random
trees and settings with hypothesis.

- an extra OR alternative never lowers the root probability nor raises the root cost;
- an extra AND child with p = 1, cost 0, time 0, skill 1 changes nothing;
- adding a control never raises any node's probability;
- Monte Carlo with degenerate ranges (low = mode = high) equals the deterministic result;
- the same seed gives the same draws, a different seed different ones;
- the breadth-first, vectorised evaluation equals a plain recursive reading of the rules.
"""
from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from threatkit.analysis.assess import Setting, evaluate
from threatkit.analysis.simulate import Sampler
from threatkit.model.load import builtin_model
from threatkit.model.values import Actor, Asset, Control, Pathway, Tier

FEATURES = ["outputs", "logprobs", "fine_tuning", "internals", "weights"]
ATTRS = ("probability", "cost_usd", "time_days", "skill")
SETTINGS = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SCALES = builtin_model().scales


# ---- strategies ---------------------------------------------------------------------------

def leaf_strategy(ranges: bool = False):
    """A leaf's fields without its id. With `ranges`, p, cost and time are {low, mode, high}."""
    def rng(lo, hi):
        # low in [lo, hi], width at least 1, mode somewhere between
        return st.tuples(st.floats(lo, hi), st.floats(1, hi), st.floats(0, 1)).map(
            lambda t: {"low": t[0], "mode": t[0] + t[1] * t[2], "high": t[0] + t[1]})

    if ranges:
        # p ranges kept inside (0.05, 0.95) and wide enough that two seeds cannot agree
        p = st.tuples(st.floats(0.05, 0.5), st.floats(0.1, 0.45)).map(
            lambda t: {"low": t[0], "mode": t[0] + t[1] / 2, "high": t[0] + t[1]})
        cost, time = rng(0, 1e4), rng(0, 100)
    else:
        p, cost, time = st.floats(0, 1), st.floats(0, 1e4), st.floats(0, 100)
    return st.fixed_dictionaries(
        {"p": p, "cost_usd": cost, "time_days": time, "skill": st.integers(1, 5)},
        optional={} if ranges else {
            "requires": st.lists(st.sampled_from(FEATURES), max_size=2, unique=True),
            "min_rank": st.integers(0, 4),
            "queries": st.floats(0, 1e7),
        })


def tree_strategy(ranges: bool = False):
    """Nested ("leaf", fields) / (gate, [children]) tuples, up to 8 leaves."""
    leaves = leaf_strategy(ranges).map(lambda d: ("leaf", d))
    return st.recursive(
        leaves,
        lambda kids: st.tuples(st.sampled_from(["or", "and", "sand"]), st.lists(kids, min_size=1, max_size=3)),
        max_leaves=8,
    )


def to_node(shape, counter=None) -> dict:
    """Give every node a unique id: n0, n1, ... in preorder."""
    counter = counter if counter is not None else itertools.count()
    kind, body = shape
    node_id = f"n{next(counter)}"
    if kind == "leaf":
        return {"id": node_id, **body}
    return {"id": node_id, "gate": kind, "children": [to_node(c, counter) for c in body]}


def preorder(node: dict):
    yield node
    for child in node.get("children", ()):
        yield from preorder(child)


def pathway(tree: dict) -> Pathway:
    return Pathway.model_validate({"id": "pw", "fidelity": 0.5, "tree": tree})


settings_strategy = st.fixed_dictionaries({
    "skill": st.integers(1, 5),
    "budget": st.floats(0, 2e4),
    "accounts": st.integers(1, 10),
    "rank": st.integers(0, 4),
    "exposes": st.lists(st.sampled_from(FEATURES), unique=True),
    "qpd": st.one_of(st.none(), st.floats(1, 1e5)),
    "duration": st.one_of(st.none(), st.floats(1, 1000)),
})


def make_setting(s: dict, controls: tuple[Control, ...] = ()) -> Setting:
    return Setting(
        id="s",
        asset=Asset.model_validate({"id": "asset", "capability_value": 1.0}),
        actor=Actor.model_validate({"id": "actor", "kind": "state", "capacity": "OC3", "budget_usd": s["budget"],
                                    "skill": s["skill"], "accounts": s["accounts"]}),
        tier=Tier.model_validate({"id": "tier", "rank": s["rank"], "exposes": s["exposes"],
                                  **({"queries_per_day": s["qpd"]} if s["qpd"] is not None else {}),
                                  **({"duration_days": s["duration"]} if s["duration"] is not None else {})}),
        controls=controls,
        scales=SCALES,
    )


def control_strategy(node_ids: list[str], name: str = "ctl"):
    return st.fixed_dictionaries(
        {"id": st.just(name),
         "counters": st.lists(st.sampled_from(node_ids + ["pw"]), max_size=3, unique=True)},
        optional={
            "effectiveness": st.floats(0, 1),
            "detection_per_million_queries": st.floats(0, 1),
            "caps_queries_per_day": st.floats(0, 1e5),
            "caps_accounts": st.floats(1, 20),
        },
    ).map(Control.model_validate)


def replace_node(tree: dict, target: str, make) -> dict:
    """A copy of `tree` with the node `target` replaced by make(node)."""
    if tree["id"] == target:
        return make(tree)
    if "children" in tree:
        return {**tree, "children": [replace_node(c, target, make) for c in tree["children"]]}
    return tree


# ---- an extra OR alternative --------------------------------------------------------------

@SETTINGS
@given(shape=tree_strategy(), extra=leaf_strategy(), s=settings_strategy, data=st.data())
def test_extra_or_alternative_never_lowers_probability_nor_raises_cost(shape, extra, s, data):
    tree = to_node(shape)
    target = data.draw(st.sampled_from([n["id"] for n in preorder(tree)]))
    alt = {"id": "alt", **extra}

    def add_alternative(node):
        if node.get("gate") == "or":                      # one more child of an existing or
            return {**node, "children": [*node["children"], alt]}
        return {"id": "wrap", "gate": "or", "children": [node, alt]}   # or(node, alternative)

    bigger = replace_node(tree, target, add_alternative)
    setting = make_setting(s)
    before, after = evaluate(pathway(tree), setting), evaluate(pathway(bigger), setting)
    root_id = bigger["id"]
    # 1e-12: 1 - (1 - x) may round below x when x is tiny; no semantic decrease is allowed
    assert after.node(root_id, "probability") >= before.node(tree["id"], "probability") - 1e-12
    assert after.node(root_id, "cost_usd") <= before.node(tree["id"], "cost_usd")


# ---- an extra neutral AND child -----------------------------------------------------------

@SETTINGS
@given(shape=tree_strategy(), s=settings_strategy, data=st.data())
def test_neutral_and_child_changes_nothing(shape, s, data):
    tree = to_node(shape)
    target = data.draw(st.sampled_from([n["id"] for n in preorder(tree)]))
    kind = data.draw(st.sampled_from(["and", "sand"]))
    neutral = {"id": "neutral", "p": 1.0, "cost_usd": 0, "time_days": 0, "skill": 1}

    def add_neutral(node):
        if node.get("gate") in ("and", "sand"):
            return {**node, "children": [*node["children"], neutral]}
        return {"id": "wrap", "gate": kind, "children": [node, neutral]}

    bigger = replace_node(tree, target, add_neutral)
    setting = make_setting(s)
    before, after = evaluate(pathway(tree), setting), evaluate(pathway(bigger), setting)
    # every original node keeps its values; a wrapper has its wrapped node's values
    for node in preorder(tree):
        for attr in ATTRS:
            assert after.node(node["id"], attr) == pytest.approx(before.node(node["id"], attr), rel=1e-12, abs=0), \
                (node["id"], attr)
    for attr in ATTRS:
        assert after.node(bigger["id"], attr) == pytest.approx(before.node(tree["id"], attr), rel=1e-12, abs=0)
    assert set(after.cheapest) - {"neutral"} == set(before.cheapest)


# ---- adding a control -----------------------------------------------------------------------

@SETTINGS
@given(shape=tree_strategy(), s=settings_strategy, data=st.data())
def test_adding_a_control_never_raises_any_probability(shape, s, data):
    tree = to_node(shape)
    ids = [n["id"] for n in preorder(tree)]
    existing = tuple(data.draw(st.lists(control_strategy(ids, "old"), max_size=1)))
    added = data.draw(control_strategy(ids, "new"))
    pw = pathway(tree)
    before = evaluate(pw, make_setting(s, existing))
    after = evaluate(pw, make_setting(s, existing + (added,)))
    for node_id in ids:
        assert after.node(node_id, "probability") <= before.node(node_id, "probability") + 1e-12, node_id


# ---- Monte Carlo --------------------------------------------------------------------------

def degenerate(shape):
    """The same tree with every leaf number written as a range low = mode = high."""
    kind, body = shape
    if kind == "leaf":
        return ("leaf", {**body, **{k: {"low": body[k], "mode": body[k], "high": body[k]}
                                    for k in ("p", "cost_usd", "time_days")}})
    return (kind, [degenerate(c) for c in body])


@SETTINGS
@given(shape=tree_strategy(), s=settings_strategy, samples=st.integers(1, 20), seed=st.integers(0, 2**40),
       data=st.data())
def test_monte_carlo_with_degenerate_ranges_equals_deterministic(shape, s, samples, seed, data):
    tree = to_node(degenerate(shape))
    ids = [n["id"] for n in preorder(tree)]
    controls = tuple(data.draw(st.lists(control_strategy(ids), max_size=1)))
    pw, setting = pathway(tree), make_setting(s, controls)
    det = evaluate(pw, setting)
    mc = evaluate(pw, setting, Sampler(samples=samples, seed=seed))
    for attr in ATTRS:
        assert mc.values[attr].shape == (len(ids), samples)
        expected = np.repeat(det.values[attr], samples, axis=1)
        np.testing.assert_allclose(mc.values[attr], expected, rtol=1e-12, atol=0, err_msg=attr)


@SETTINGS
@given(shape=tree_strategy(ranges=True), seed=st.integers(0, 2**40))
def test_same_seed_same_numbers_different_seed_different_numbers(shape, seed):
    tree = to_node(shape)
    pw = pathway(tree)
    # a setting that gates nothing, so every leaf's draws reach the tree
    setting = make_setting({"skill": 5, "budget": 1e9, "accounts": 1, "rank": 4, "exposes": FEATURES,
                            "qpd": None, "duration": None})
    first = evaluate(pw, setting, Sampler(samples=16, seed=seed))
    again = evaluate(pw, setting, Sampler(samples=16, seed=seed))
    other = evaluate(pw, setting, Sampler(samples=16, seed=seed + 1))
    for attr in ATTRS:
        np.testing.assert_array_equal(first.values[attr], again.values[attr])
    assert not np.array_equal(first.values["probability"], other.values["probability"])
    assert not np.array_equal(first.values["cost_usd"], other.values["cost_usd"])
    # and the draws are spread, not constant, within each leaf's range
    for node in preorder(tree):
        if "p" in node:
            row = first.values["probability"][first.flat.index[node["id"]]]
            assert np.all(row >= node["p"]["low"]) and np.all(row <= node["p"]["high"])
            assert np.ptp(row) > 0


# ---- the vectorised evaluation equals the contract's recursive definition -------------------

def reference(tree: dict, s: dict, controls: tuple[Control, ...]) -> dict[str, dict[str, float]]:
    """Every node's values by the DESIGN.md rules, written as plainly as possible (one node at a
    time, recursively), to check the breadth-first, vectorised evaluation against."""
    inf = float("inf")
    rate = s["qpd"] if s["qpd"] is not None else inf
    accounts = float(s["accounts"])
    duration = s["duration"] if s["duration"] is not None else inf
    for c in controls:
        if c.caps_queries_per_day is not None:
            rate = min(rate, c.caps_queries_per_day.mode)
        if c.caps_accounts is not None:
            accounts = min(accounts, c.caps_accounts.mode)
    out: dict[str, dict[str, float]] = {}

    def leaf_values(n: dict) -> dict[str, float]:
        p, cost, time, skill = n["p"], n["cost_usd"], n["time_days"], n["skill"]
        bad = (any(f not in s["exposes"] for f in n.get("requires", ()))
               or n.get("min_rank", -1) > s["rank"] or skill > s["skill"] or cost > s["budget"])
        queries = n.get("queries")
        if queries is not None:
            if queries == 0:
                query_time = 0.0
            elif rate * accounts == 0:
                query_time = inf
            else:
                query_time = queries / (rate * accounts)
            time = max(time, query_time)
            # beyond the access, or never done at all (a zero rate), even on open-ended access
            bad = bad or query_time > duration or query_time == inf
        for c in controls:
            if n["id"] in c.counters or "pw" in c.counters:
                p *= 1 - c.effectiveness.mode
                if queries is not None and c.detection_per_million_queries is not None:
                    p *= (1 - c.detection_per_million_queries.mode) ** (queries / 1e6)
        if bad:
            return {"probability": 0.0, "cost_usd": inf, "time_days": inf, "skill": inf}
        return {"probability": p, "cost_usd": cost, "time_days": time, "skill": float(skill)}

    def visit(n: dict) -> dict[str, float]:
        if "gate" not in n:
            v = leaf_values(n)
        else:
            kids = [visit(c) for c in n["children"]]
            col = {a: [k[a] for k in kids] for a in ATTRS}
            if n["gate"] == "or":
                v = {"probability": 1 - float(np.prod([1 - x for x in col["probability"]])),
                     "cost_usd": min(col["cost_usd"]), "time_days": min(col["time_days"]), "skill": min(col["skill"])}
            else:
                v = {"probability": float(np.prod(col["probability"])), "cost_usd": sum(col["cost_usd"]),
                     "time_days": max(col["time_days"]) if n["gate"] == "and" else sum(col["time_days"]),
                     "skill": max(col["skill"])}
        out[n["id"]] = v
        return v

    visit(tree)
    return out


def reference_cheapest(tree: dict, values: dict[str, dict[str, float]]) -> set[str]:
    if values[tree["id"]]["cost_usd"] == float("inf"):
        return set()
    chosen: set[str] = set()

    def walk(n: dict) -> None:
        if "gate" not in n:
            chosen.add(n["id"])
        elif n["gate"] == "or":
            costs = [values[c["id"]]["cost_usd"] for c in n["children"]]
            walk(n["children"][costs.index(min(costs))])      # the first of the cheapest
        else:
            for c in n["children"]:
                walk(c)

    walk(tree)
    return chosen


@SETTINGS
@given(shape=tree_strategy(), s=settings_strategy, data=st.data())
def test_evaluation_matches_the_recursive_definition(shape, s, data):
    tree = to_node(shape)
    # controls name leaves or the pathway: the contract's two ways of countering a step
    leaf_ids = [n["id"] for n in preorder(tree) if "gate" not in n]
    controls = tuple(data.draw(st.lists(st.sampled_from(["c1", "c2"]), max_size=2, unique=True).flatmap(
        lambda names: st.tuples(*(control_strategy(leaf_ids, n) for n in names)))))
    ev = evaluate(pathway(tree), make_setting(s, controls))
    expected = reference(tree, s, controls)
    for node_id, vals in expected.items():
        for attr in ATTRS:
            assert ev.node(node_id, attr) == pytest.approx(vals[attr], rel=1e-9, abs=1e-12), (node_id, attr)
    assert set(ev.cheapest) == reference_cheapest(tree, expected)
