"""Diffusion curves and lead time, checked against values computed by hand.

A pathway with success probability p that takes T days is attempted again and
again: by day t the actor has made floor(t / T) attempts, so the curve is
1 - (1 - p)^floor(t / T). The median time to capability is the first day the
curve reaches 1/2: T * ceil(log(0.5) / log(1 - p)), or, on a grid of days,
the first grid day at or after it. The tests do not assume a particular grid
beyond: it starts at day 0, ascends, ends at the horizon, and holds the small
whole days (every multiple of 5 up to 40) at which values are checked by hand.
"""
from __future__ import annotations

import math

import numpy as np
import pytest
import yaml

import threatkit
from threatkit.analysis.assess import Setting
from threatkit.analysis.diffusion import diffusion, lead_time


def build(pathways: list[dict], *, tier: dict | None = None, controls=(), scenarios=None):
    doc = {
        "threatkit": 1,
        "include": [],
        "assets": [{"id": "asset", "capability_value": 1.0}],
        "tiers": [{"id": "tier", "rank": 2, "exposes": ["outputs"], **(tier or {})}],
        "actors": [{"id": "actor", "kind": "state", "capacity": "OC4", "budget_usd": 1e9, "skill": 5}],
        "pathways": pathways,
        "controls": list(controls),
        "scenarios": scenarios or [{"id": "s", "asset": "asset", "actor": "actor", "tier": "tier"}],
    }
    return threatkit.load_text(yaml.safe_dump(doc, sort_keys=False))


def single(p, time, *, persistent=True, id="pw") -> dict:
    """A pathway whose tree is one step."""
    return {"id": id, "fidelity": 0.5, "persistent": persistent,
            "tree": {"id": f"{id}-step", "p": p, "time_days": time}}


def curve_of(model, scenario="s", **kw):
    return diffusion(Setting.of(model, scenario), model.pathways, **kw)


def point(d, day: float, curve=None) -> float:
    """The curve (default: combined) at a grid day (exactly on the grid, no interpolation)."""
    hits = np.flatnonzero(d.days == day)
    assert hits.size == 1, f"day {day} is not on the grid"
    return float((d.combined if curve is None else curve)[hits[0]])


def grid_ceil(days: np.ndarray, x: float) -> float:
    """The first grid day at or after day x: where a step at x first shows on the grid."""
    return float(days[np.searchsorted(days, x - 1e-9)])


# ---- the grid -------------------------------------------------------------------------------

def test_grid_starts_at_zero_ascends_and_ends_at_the_horizon():
    d = curve_of(build([single(0.2, 10)]))
    assert d.days[0] == 0
    assert d.days[-1] == pytest.approx(3650)
    assert np.all(np.diff(d.days) > 0)
    assert d.combined.shape == d.days.shape


# ---- one persistent pathway -----------------------------------------------------------------

# p = 0.2, T = 10 days: 1 - 0.8^floor(t / 10)
@pytest.mark.parametrize("day, expected", [
    (0, 0.0),                  # floor(0/10) = 0 attempts: 1 - 0.8^0 = 0
    (5, 0.0),                  # floor(0.5) = 0
    (10, 0.2),                 # 1 attempt: 1 - 0.8 = 0.2
    (15, 0.2),                 # floor(1.5) = 1
    (20, 0.36),                # 1 - 0.8^2 = 1 - 0.64 = 0.36
    (35, 0.488),               # floor(3.5) = 3: 1 - 0.512 = 0.488
    (40, 0.5904),              # 1 - 0.8^4 = 1 - 0.4096 = 0.5904
])
def test_persistent_curve_by_hand(day, expected):
    d = curve_of(build([single(0.2, 10)]))
    assert point(d, day) == pytest.approx(expected)
    assert point(d, day, d.pathways["pw"]) == pytest.approx(expected)
    assert d.at(day) == pytest.approx(expected)


def test_persistent_curve_on_the_whole_grid():
    d = curve_of(build([single(0.2, 10)]))
    expected = 1 - 0.8 ** np.floor(d.days / 10)
    np.testing.assert_allclose(d.combined, expected, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("p, time, median", [
    (0.2, 10, 40),     # log 0.5 / log 0.8 = 3.106 -> 4 attempts: 10 * 4 = 40
    (0.5, 15, 15),     # log 0.5 / log 0.5 = 1 -> 1 attempt: 15 (1 - 0.5 = 0.5 reaches 1/2)
    (0.1, 20, 140),    # log 0.5 / log 0.9 = 6.579 -> 7: 20 * 7 = 140
    (0.05, 5, 70),     # log 0.5 / log 0.95 = 13.51 -> 14: 5 * 14 = 70
    (0.9, 25, 25),     # 1 attempt: 25
    (0.2, 12, 48),     # 4 attempts: 12 * 4 = 48
    (0.01, 30, 2070),  # log 0.5 / log 0.99 = 68.97 -> 69: 30 * 69 = 2070
])
def test_median_days_to_grid_resolution(p, time, median):
    assert median == time * math.ceil(math.log(0.5) / math.log(1 - p))
    d = curve_of(build([single(p, time)]))
    # the first grid day at or after the exact median
    assert d.median_days == grid_ceil(d.days, median)
    assert median <= d.median_days


@pytest.mark.parametrize("p, time, median", [(0.2, 10, 40), (0.5, 15, 15), (0.9, 25, 25)])
def test_median_days_exact_when_on_the_grid(p, time, median):
    assert curve_of(build([single(p, time)])).median_days == pytest.approx(median)


def test_curve_uses_the_root_probability_and_time_of_the_tree():
    # sand(a p 0.8 t 4, b p 0.5 t 6): p = 0.4, T = 4 + 6 = 10
    # day 10: 0.4; day 20: 1 - 0.6^2 = 0.64; median: log 0.5 / log 0.6 = 1.357 -> 2 attempts = 20 days
    pw = {"id": "pw", "fidelity": 0.5, "tree": {"id": "root", "gate": "sand", "children": [
        {"id": "a", "p": 0.8, "time_days": 4}, {"id": "b", "p": 0.5, "time_days": 6}]}}
    d = curve_of(build([pw]))
    assert point(d, 5) == pytest.approx(0.0)
    assert point(d, 10) == pytest.approx(0.4)
    assert point(d, 20) == pytest.approx(0.64)
    assert d.median_days == pytest.approx(20)


def test_infeasible_pathway_never_gives_capability():
    # the step needs weights, the tier exposes only outputs: p = 0, T = inf
    pw = {"id": "pw", "fidelity": 0.5, "tree": {"id": "steal", "p": 0.9, "time_days": 10, "requires": ["weights"]}}
    d = curve_of(build([pw]))
    assert np.all(d.combined == 0.0)
    assert d.median_days == math.inf


def test_independent_pathways_combine():
    # P1: p 0.2, T 10; P2: p 0.5, T 20. At day 40: P1 = 1 - 0.8^4 = 0.5904, P2 = 1 - 0.5^2 = 0.75,
    # combined = 1 - (1 - 0.5904)(1 - 0.75) = 1 - 0.4096 * 0.25 = 1 - 0.1024 = 0.8976
    # At day 20: P1 = 0.36, P2 = 0.5, combined = 1 - 0.64 * 0.5 = 0.68; at day 10: P1 0.2, P2 0 -> 0.2
    d = curve_of(build([single(0.2, 10, id="one"), single(0.5, 20, id="two")]))
    i40 = np.flatnonzero(d.days == 40)[0]
    assert d.pathways["one"][i40] == pytest.approx(0.5904)
    assert d.pathways["two"][i40] == pytest.approx(0.75)
    assert point(d, 40) == pytest.approx(0.8976)
    assert point(d, 20) == pytest.approx(0.68)
    assert point(d, 10) == pytest.approx(0.2)
    # median: day 20 reaches 0.68 >= 0.5, day 15 has P1 = 0.2, P2 = 0 -> 0.2
    assert d.median_days == pytest.approx(20)


# ---- a non-persistent pathway ---------------------------------------------------------------

def test_non_persistent_curve_drops_to_zero_after_access_ends():
    # tier lasts 100 days; p 0.2, T 10. Up to day 100 as before; after it, nothing.
    d = curve_of(build([single(0.2, 10, persistent=False)], tier={"duration_days": 100}))
    assert point(d, 40) == pytest.approx(0.5904)            # 1 - 0.8^4
    during = d.days <= 100
    np.testing.assert_allclose(d.combined[during], 1 - 0.8 ** np.floor(d.days[during] / 10), rtol=1e-12, atol=1e-15)
    assert np.all(d.combined[d.days > 100] == 0.0)
    assert d.combined[-1] == 0.0
    assert d.median_days == pytest.approx(40)


def test_non_persistent_pathway_with_open_ended_access_keeps_its_curve():
    d = curve_of(build([single(0.2, 10, persistent=False)]))
    np.testing.assert_allclose(d.combined, 1 - 0.8 ** np.floor(d.days / 10), rtol=1e-12, atol=1e-15)


def test_persistent_pathway_keeps_its_capability_after_access_ends():
    # the same numbers, persistent: the capability outlives access, so the curve is not zeroed
    # (1 - 0.8^10 = 0.8926258176 by day 100)
    d = curve_of(build([single(0.2, 10, persistent=True)], tier={"duration_days": 100}))
    assert np.all(d.combined[d.days >= 100] >= 0.8926258176 - 1e-12)


# ---- lead time ------------------------------------------------------------------------------

HALVE = {"id": "halve", "counters": ["pw"], "effectiveness": 0.5}


def test_lead_time_of_a_control_that_halves_p():
    # without: p 0.2, T 10 -> median 40 (above)
    # with: p = 0.2 * (1 - 0.5) = 0.1 -> log 0.5 / log 0.9 = 6.579 -> 7 attempts = 70 days
    # lead = 70 - 40 = 30 days = 30 / (365.25 / 12) = 0.98563 months
    model = build([single(0.2, 10)], controls=[HALVE])
    lead = lead_time(model, "s", controls=("halve",))
    days = curve_of(model).days
    assert lead.without_days == grid_ceil(days, 40) == pytest.approx(40)
    assert lead.with_days == grid_ceil(days, 70) == pytest.approx(70)
    assert lead.lead_days == pytest.approx(30)
    assert lead.lead_days > 0
    assert lead.lead_months == pytest.approx(30 / (365.25 / 12))
    # deterministic: the paired per-draw difference is the same 30 days
    assert (lead.p5, lead.p50, lead.p95) == pytest.approx((30, 30, 30))


def test_lead_time_defaults_to_the_scenarios_own_controls():
    # the scenario has the control: lead = median without it (40) - ... with it (70) -> 30 days, as above
    model = build([single(0.2, 10)], controls=[HALVE],
                  scenarios=[{"id": "s", "asset": "asset", "actor": "actor", "tier": "tier", "controls": ["halve"]}])
    lead = lead_time(model, "s")
    assert (lead.without_days, lead.with_days, lead.lead_days) == pytest.approx((40, 70, 30))


def test_lead_time_of_a_control_that_does_nothing_is_zero():
    model = build([single(0.2, 10)], controls=[{"id": "noop", "counters": ["pw"], "effectiveness": 0.0}])
    assert lead_time(model, "s", controls=("noop",)).lead_days == pytest.approx(0)


def test_lead_time_with_a_rate_cap():
    # harvest: 200000 queries at 1000/day, 1 account -> 200 days; p 0.5
    # with a cap of 500/day: 400 days; p 0.5 reaches 1/2 after one attempt: medians 200 and 400 -> lead 200
    pw = {"id": "pw", "fidelity": 0.5,
          "tree": {"id": "harvest", "p": 0.5, "time_days": 1, "queries": 200_000}}
    model = build([pw], tier={"queries_per_day": 1000},
                  controls=[{"id": "cap", "caps_queries_per_day": 500}])
    lead = lead_time(model, "s", controls=("cap",))
    days = curve_of(model).days
    # to grid resolution: each median is the first grid day at or after 200 and 400 days
    assert lead.without_days == grid_ceil(days, 200)
    assert lead.with_days == grid_ceil(days, 400)
    assert lead.lead_days == pytest.approx(grid_ceil(days, 400) - grid_ceil(days, 200))
    assert lead.lead_days == pytest.approx(200, abs=np.diff(days)[days[1:] > 400][0])


# ---- seeds ----------------------------------------------------------------------------------

RANGED = {"id": "pw", "fidelity": 0.5,
          "tree": {"id": "root", "gate": "sand", "children": [
              {"id": "a", "p": {"low": 0.1, "mode": 0.3, "high": 0.6}, "time_days": {"low": 5, "mode": 10, "high": 30}},
              {"id": "b", "p": "likely", "time_days": 3}]}}


def test_same_seed_same_curves():
    model = build([RANGED])
    one = curve_of(model, samples=200, seed=7)
    two = curve_of(model, samples=200, seed=7)
    for attr in ("combined", "low", "high", "time_to_capability"):
        np.testing.assert_array_equal(getattr(one, attr), getattr(two, attr))
    np.testing.assert_array_equal(one.pathways["pw"], two.pathways["pw"])
    assert one.median_days == two.median_days


def test_different_seed_different_curves():
    model = build([RANGED])
    one = curve_of(model, samples=200, seed=7)
    other = curve_of(model, samples=200, seed=8)
    assert not np.array_equal(one.combined, other.combined)
    assert not np.array_equal(one.time_to_capability, other.time_to_capability)


def test_sampled_band_is_ordered_and_one_time_per_draw():
    d = curve_of(build([RANGED]), samples=300, seed=3)
    assert np.all(d.low <= d.high)
    assert np.all((0 <= d.low) & (d.high <= 1))
    assert d.time_to_capability.shape == (300,)
