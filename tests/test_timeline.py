"""Capability over time (DESIGN.md), checked against values computed by hand.

Each test builds a small model where the rule under test is the only thing
that matters and states the arithmetic in a comment. The worked example's
numbers are reproduced through the CLI, exactly.
"""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import threatkit
from threatkit.analysis.assess import assess
from threatkit.analysis.timeline import (
    durable,
    expected_capability,
    gather,
    held,
    scenario_curves,
    timeline,
    usable,
)
from threatkit.analysis.assess import Setting
from threatkit.analysis.transfer import share_at
from threatkit.cli import main

from expected import TIMELINE_FIELDS, expected

EXAMPLE = Path(__file__).parent / "examples" / "capability-timeline.yaml"


def build(pathways: list[dict], *, tier: dict | None = None, actor: dict | None = None, controls=(),
          scenario: dict | None = None):
    doc = {
        "threatkit": 1,
        "include": [],
        "assets": [{"id": "asset", "capability_value": 1.0}],
        "tiers": [{"id": "tier", "rank": 2, "exposes": ["outputs"], **(tier or {})}],
        "actors": [{"id": "actor", "kind": "state", "budget_usd": 1e9, "skill": 5, **(actor or {})}],
        "pathways": pathways,
        "controls": list(controls),
        "scenarios": [{"id": "s", "asset": "asset", "actor": "actor", "tier": "tier",
                       "controls": [c["id"] for c in controls], **(scenario or {})}],
    }
    return threatkit.load_text(yaml.safe_dump(doc, sort_keys=False))


def single(p, time, *, share=1.0, persistent=True, needs_access=False, id="pw") -> dict:
    """A pathway whose tree is one step."""
    return {"id": id, "fidelity": share, "persistent": persistent, "needs_access": needs_access,
            "tree": {"id": f"{id}-step", "p": p, "time_days": time}}


def harvest(queries, curve, *, p=1.0, time=0, extra=(), id="distil") -> dict:
    """A distillation pathway: sand(harvest with queries, train), share by the harvest's samples."""
    return {"id": id, "fidelity": 0.1, "persistent": True, "needs_access": True,
            "transfer": {"samples_from": "harvest", "curve": curve},
            "tree": {"id": "root", "gate": "sand", "children": [
                {"id": "harvest", "p": p, "time_days": time, "queries": queries},
                {"id": "train", "p": 1.0, "time_days": 10}, *extra]}}


def inputs(model, scenario="s"):
    return gather(Setting.of(model, scenario), model.pathways)


def at(fn, inp, day):
    return float(fn(inp, np.array([[day]], float))[0, 0])


# ---- transfer curves --------------------------------------------------------------------------

CURVE = [[1000, 0.3], [100000, 0.6], [10000000, 0.85]]


@pytest.mark.parametrize("n, share", [
    (0, 0.0), (0.5, 0.0),                     # below one sample: nothing
    (1, 0.0),                                 # (1, 0) starts the first segment
    (10, 0.1),                                # log10 10 = 1 of 3 to the first point: 0.3 / 3
    (100, 0.2),                               # 2 of 3: 0.2
    (1000, 0.3),                              # at the first point
    (10000, 0.45),                            # halfway (in log10) from 0.3 to 0.6
    (100000, 0.6),                            # at the second point
    (1000000, 0.725),                         # halfway from 0.6 to 0.85
    (5000000, 0.6 + 0.25 * math.log10(50) / 2),   # 0.812371
    (10000000, 0.85), (1e12, 0.85),           # flat after the last point
])
def test_curve_interpolation_by_hand(n, share):
    assert share_at(n, [p for p, _ in CURVE], [s for _, s in CURVE]) == pytest.approx(share)


def test_curve_whose_first_point_is_one_sample():
    # [[1, 0.4], [1e6, 0.9]]: 0.4 at 1 sample, then 0.4 + 0.5 * log10(n) / 6
    assert share_at(1, [1, 1e6], [0.4, 0.9]) == pytest.approx(0.4)
    assert share_at(1000, [1, 1e6], [0.4, 0.9]) == pytest.approx(0.65)
    assert share_at(0.9, [1, 1e6], [0.4, 0.9]) == 0.0


def test_curve_draws_read_each_their_own_curve():
    # two draws: the last point at 0.8 and at 1.0; at 1e6 samples, halfway from 0.6 to each
    out = share_at(np.array([1e6, 1e6]), [1e5, 1e7], np.array([[0.6, 0.6], [0.8, 1.0]]))
    np.testing.assert_allclose(out, [0.7, 0.8])


@pytest.mark.parametrize("curve, message", [
    ([[1000, 0.3], [1000, 0.5]], "ascend strictly"),
    ([[0.5, 0.3]], ">= 1"),
    ([[1000, 1.3]], "between 0 and 1"),
    ([[1000]], "pair"),
    ([], "non-empty"),
])
def test_bad_curves_are_reported_with_their_line(tmp_path, capsys, curve, message):
    model = yaml.safe_load(EXAMPLE.read_text())
    model["pathways"][1]["transfer"]["curve"] = curve
    path = tmp_path / "m.yaml"
    path.write_text(yaml.safe_dump(model, sort_keys=False))
    assert main(["validate", str(path)]) == 1
    err = capsys.readouterr().err
    assert message in err and f"{path}:" in err and "transfer" in err and "Traceback" not in err


def test_samples_from_must_be_a_leaf_with_queries(tmp_path, capsys):
    model = yaml.safe_load(EXAMPLE.read_text())
    model["pathways"][1]["transfer"]["samples_from"] = "train"
    path = tmp_path / "m.yaml"
    path.write_text(yaml.safe_dump(model, sort_keys=False))
    assert main(["validate", str(path)]) == 1
    err = capsys.readouterr().err
    assert "samples_from 'train'" in err and "leaf without queries" in err and "harvest" in err


# ---- collection: capped by rate x accounts x duration ----------------------------------------

PLANNED = {"harvest": "planned"}


def test_collection_is_capped_by_the_access_window():
    # 1,000 a day x 2 accounts x 30 days = 60,000 < 1M queries: the planned harvest collects 60,000,
    # takes max(0, 60,000 / 2,000) = 30 days (not infeasible), share 0.3 + 0.3 * log10(60) / 2
    model = build([harvest(1_000_000, CURVE)], tier={"queries_per_day": 1000, "duration_days": 30},
                  actor={"accounts": 2}, scenario=PLANNED)
    row = assess(model, "s").rows()[0]
    assert row["transfer_samples"] == pytest.approx(60_000)
    assert row["probability"] == pytest.approx(1.0)
    assert row["time_days"] == pytest.approx(30 + 10)
    assert row["fidelity"] == pytest.approx(0.3 + 0.3 * math.log10(60) / 2)


def test_collection_when_the_window_is_wide_enough():
    # 1,000 x 2 x 365 = 730,000 >= 100,000: all 100,000, in 50 days; share 0.6 at 1e5
    model = build([harvest(100_000, CURVE)], tier={"queries_per_day": 1000, "duration_days": 365},
                  actor={"accounts": 2}, scenario=PLANNED)
    row = assess(model, "s").rows()[0]
    assert (row["transfer_samples"], row["time_days"], row["fidelity"]) == pytest.approx((100_000, 60, 0.6))


def test_the_adaptive_harvest_takes_the_least_that_clears_the_threshold():
    # threshold 0.5 on 0.3 -> 0.6 over 1e3 -> 1e5: log10 n = 3 + 2 x (0.2 / 0.3) = 4.3333, n = 10^4.3333
    # = 21,544.3 -> 21,545 whole samples (21,544 gives 0.499998), in max(0, 21,545 / 2,000) = 10.77 days
    model = build([harvest(100_000, CURVE)], tier={"queries_per_day": 1000, "duration_days": 365},
                  actor={"accounts": 2})
    row = assess(model, "s").rows()[0]
    assert row["transfer_samples"] == 21545
    assert row["time_days"] == pytest.approx(21545 / 2000 + 10)
    assert row["fidelity"] >= 0.5 > share_at(21544, [1e3, 1e5, 1e7], [0.3, 0.6, 0.85])
    # threshold 0.7 is above what 100,000 queries give (0.6): the actor takes all it can
    row = assess(model, "s", threshold=0.7).rows()[0]
    assert row["transfer_samples"] == 100_000
    # a threshold on a curve's point is reached at the point: 1,000 samples for 0.3
    assert assess(model, "s", threshold=0.3).rows()[0]["transfer_samples"] == 1000


def test_the_adaptive_harvest_never_exceeds_what_access_allows():
    # 60,000 allowed by access (share 0.533): the least for 0.5 is 21,545, well within
    model = build([harvest(1_000_000, CURVE)], tier={"queries_per_day": 1000, "duration_days": 30},
                  actor={"accounts": 2})
    assert assess(model, "s").rows()[0]["transfer_samples"] == 21545
    # 10,000 allowed (share 0.45 < 0.5): all 10,000
    model = build([harvest(1_000_000, CURVE)], tier={"queries_per_day": 1000, "duration_days": 5},
                  actor={"accounts": 2})
    assert assess(model, "s").rows()[0]["transfer_samples"] == 10_000


def test_caps_of_controls_shrink_the_harvest():
    # caps: 100 a day, 1 account: 100 x 1 x 30 = 3,000 samples; share 0.3 + 0.3 * log10(3) / 2
    cap = {"id": "cap", "caps_queries_per_day": 100, "caps_accounts": 1}
    model = build([harvest(1_000_000, CURVE)], tier={"queries_per_day": 1000, "duration_days": 30},
                  actor={"accounts": 2}, controls=[cap], scenario=PLANNED)
    row = assess(model, "s").rows()[0]
    assert row["transfer_samples"] == pytest.approx(3000)
    assert row["fidelity"] == pytest.approx(0.3 + 0.3 * math.log10(3) / 2)


def test_detection_acts_on_the_samples_collected():
    # 200,000 collected of 1M asked; detection 0.5 per million: p = 1 x 0.5^(200,000 / 1e6) = 0.5^0.2
    watch = {"id": "watch", "counters": ["harvest"], "detection_per_million_queries": 0.5}
    model = build([harvest(1_000_000, CURVE)], tier={"queries_per_day": 1000, "duration_days": 100},
                  actor={"accounts": 2}, controls=[watch], scenario=PLANNED)
    assert assess(model, "s").rows()[0]["probability"] == pytest.approx(0.5 ** 0.2)
    # the adaptive actor harvests 21,545 (threshold 0.5): p = 0.5^0.021545
    model = build([harvest(1_000_000, CURVE)], tier={"queries_per_day": 1000, "duration_days": 100},
                  actor={"accounts": 2}, controls=[watch])
    assert assess(model, "s").rows()[0]["probability"] == pytest.approx(0.5 ** 0.021545)


def test_an_infeasible_step_collects_nothing_and_transfers_nothing():
    # the harvest needs logprobs the tier hides: n = 0, share 0, p 0: likelihood 0, risk none
    path = harvest(1_000_000, CURVE)
    path["tree"]["children"][0]["requires"] = ["logprobs"]
    row = assess(build([path]), "s").rows()[0]
    assert (row["transfer_samples"], row["fidelity"], row["probability"]) == (0, 0, 0)
    assert (row["likelihood"], row["risk"]) == (0, "none")


def test_a_rate_of_zero_collects_nothing():
    cap = {"id": "cap", "caps_queries_per_day": 0}
    row = assess(build([harvest(1000, CURVE)], tier={"queries_per_day": 10}, controls=[cap]), "s").rows()[0]
    assert (row["transfer_samples"], row["fidelity"], row["probability"]) == (0, 0, 0)


def test_an_unmetered_tier_collects_every_query():
    # no queries_per_day: the harvest takes all its queries at once
    row = assess(build([harvest(5000, CURVE)]), "s").rows()[0]
    assert row["transfer_samples"] == 5000 and row["time_days"] == 10


def test_other_query_leaves_keep_the_tree_rule():
    # a second query leaf needing 2M queries at 2,000 a day for 30 days stays infeasible
    probe = {"id": "probe", "p": 1.0, "queries": 2_000_000}
    model = build([harvest(1000, CURVE, extra=[probe])], tier={"queries_per_day": 1000, "duration_days": 30},
                  actor={"accounts": 2})
    row = assess(model, "s").rows()[0]
    assert row["probability"] == 0 and row["transfer_samples"] == 1000


# ---- attempts, durable and usable ------------------------------------------------------------

@pytest.mark.parametrize("day, expected", [
    (0, 0.0), (9, 0.0), (10, 0.2), (19, 0.2), (20, 0.36), (40, 0.5904),   # 1 - 0.8^floor(t / 10)
])
def test_repeated_attempts(day, expected):
    inp = inputs(build([single(0.2, 10)]))
    assert float(held(inp, np.array([[day]], float))[0, 0, 0]) == pytest.approx(expected)
    # durable is the same curve here: one persistent pathway whose share 1 reaches 0.5
    assert at(durable, inp, day) == pytest.approx(expected)


def test_days_to_durable_is_exact():
    # p 0.2, T 10: 0.8^n <= 0.5 first at n = 4 (0.4096): day 40
    assert timeline(build([single(0.2, 10)]), "s").days_to_durable == 40
    # T = 7.5: n(t) = floor(t / 7.5) = 4 first at t = 30
    assert timeline(build([single(0.2, 7.5)]), "s").days_to_durable == 30


def test_needs_access_caps_the_attempts():
    # T 10, access 25 days: nothing succeeds after day 25, so attempts end on days 10 and 20:
    # P = F(min(t, 25)) <= 1 - 0.8^2 = 0.36
    model = build([single(0.2, 10, needs_access=True)], tier={"duration_days": 25})
    inp = inputs(model)
    assert at(durable, inp, 30) == pytest.approx(0.36)
    assert at(durable, inp, 1000) == pytest.approx(0.36)
    assert math.isinf(timeline(model, "s").days_to_durable)
    # without needs_access the fourth attempt (day 40) gets there
    assert timeline(build([single(0.2, 10)], tier={"duration_days": 25}), "s").days_to_durable == 40


def test_instant_attempts_and_infeasible_pathways():
    # T = 0 and p > 0: held from day 0; p = 0: never
    assert timeline(build([single(0.3, 0)]), "s").days_to_durable == 0
    t = timeline(build([single(0.0, 5)]), "s")
    assert math.isinf(t.days_to_durable) and math.isinf(t.days_to_usable)


def test_non_persistent_pathways_count_only_while_access_lasts():
    # direct use p 0.9 every 3 days, access 100 days: usable on day 3, durable never; by day 100,
    # 33 attempts: 1 - 0.1^33; after day 100, usable is 0
    model = build([single(0.9, 3, persistent=False)], tier={"duration_days": 100})
    t = timeline(model, "s")
    assert t.days_to_usable == 3 and math.isinf(t.days_to_durable)
    inp = inputs(model)
    assert at(usable, inp, 3) == pytest.approx(0.9) and at(usable, inp, 6) == pytest.approx(0.99)
    assert at(usable, inp, 100) == pytest.approx(1 - 0.1 ** 33) and at(usable, inp, 101) == 0.0


def test_usable_past_the_end_of_access_is_durable():
    # direct use p 0.3 every 3 days; access lasts 4 days: by day 4 one attempt, 0.3 < 1/2; after day 4
    # direct use is gone and only the student (p 0.5, T 20) counts: usable from day 20, as durable
    model = build([single(0.3, 3, persistent=False, id="use"), single(0.5, 20, id="student")],
                  tier={"duration_days": 4})
    t = timeline(model, "s")
    assert t.days_to_usable == 20 and t.days_to_durable == 20


def test_shares_below_the_threshold_do_not_count():
    # share 0.4 < 0.5: never durable; with --threshold 0.4 it is (day 10, p 1)
    model = build([single(1.0, 10, share=0.4)])
    assert math.isinf(timeline(model, "s").days_to_durable)
    assert timeline(model, "s", threshold=0.4).days_to_durable == 10
    assert timeline(build([single(1.0, 10, share=0.4)], scenario={"capability_threshold": 0.4}),
                    "s").days_to_durable == 10


def test_own_development():
    # 7 months: ceil(7 x 365.25 / 12) = ceil(213.0625) = 214; 0 months: day 0
    t = timeline(build([single(0.0, 5)], actor={"independent_months": 7}), "s")
    assert t.days_independent == 214 and t.days_to_durable == 214 and t.acceleration_days == 0
    t = timeline(build([single(0.0, 5)], actor={"independent_months": 7}, scenario={"independent_months": 12}), "s")
    assert t.days_independent == math.ceil(12 * 365.25 / 12) == 366
    assert timeline(build([single(0.0, 5)], actor={"independent_months": 0}), "s").days_to_durable == 0


def test_durable_combines_own_development_and_pathways():
    # p 0.2, T 100; own at day 214: durable(150) = 0.2; durable(214) = 1
    inp = inputs(build([single(0.2, 100)], actor={"independent_months": 7}))
    assert at(durable, inp, 150) == pytest.approx(0.2)
    assert at(durable, inp, 213) == pytest.approx(0.36)       # two attempts by day 200
    assert at(durable, inp, 214) == 1.0


def test_expected_capability_by_hand():
    # shares 0.8 (p 0.5, T 10) and 0.4 (p 1, T 5), own at day 31 (1 month); E(t):
    # day 10: 0.8 x 0.5 + 0.4 x 1 x (1 - 0.5) = 0.6
    # day 20: a = 1 - 0.25 = 0.75: 0.8 x 0.75 + 0.4 x 0.25 = 0.7; day 31: own -> 1
    model = build([single(0.5, 10, share=0.8, id="a"), single(1.0, 5, share=0.4, id="b")],
                  actor={"independent_months": 1})
    inp = inputs(model)
    assert at(expected_capability, inp, 10) == pytest.approx(0.6)
    assert at(expected_capability, inp, 20) == pytest.approx(0.7)
    assert at(expected_capability, inp, 31) == pytest.approx(1.0)
    # non-persistent pathways hold nothing durably
    inp = inputs(build([single(1.0, 5, share=0.9, persistent=False)]))
    assert at(expected_capability, inp, 10) == 0.0


# ---- lead and acceleration --------------------------------------------------------------------

def test_lead_of_controls_that_halve_p():
    # without: p 0.5, T 10 -> day 10; with (effectiveness 0.5): p 0.25 -> 0.75^n <= 0.5 at n = 3: day 30
    halve = {"id": "halve", "counters": ["pw"], "effectiveness": 0.5}
    t = timeline(build([single(0.5, 10)], controls=[halve], actor={"independent_months": 2}), "s")
    assert (t.days_to_durable, t.days_to_durable_without_controls, t.lead_days) == (30, 10, 20)
    assert t.days_independent == 61 and t.acceleration_days == 31


def test_lead_null_cases():
    block = {"id": "block", "counters": ["pw"], "effectiveness": 1.0}
    t = timeline(build([single(0.5, 10)], controls=[block]), "s")
    assert math.isinf(t.days_to_durable) and t.to_dict()["lead_days"] is None     # only one side reaches it
    t = timeline(build([single(0.0, 10)], controls=[block]), "s")
    assert t.lead_days == 0                                                         # neither does
    assert t.to_dict()["acceleration_days"] is None                                 # no independent_months
    t = timeline(build([single(0.5, 10)]), "s")
    assert t.lead_days == 0 and t.to_dict()["acceleration_days"] is None            # no controls


def test_acceleration_is_null_when_durable_is_beyond_the_horizon():
    # own development after 400 months = day 12,175 > horizon 3,650
    t = timeline(build([single(0.0, 10)], actor={"independent_months": 400}), "s")
    assert t.days_independent == 12175 and t.to_dict()["acceleration_days"] is None


# ---- sampling -------------------------------------------------------------------------------

def test_samples_give_percentiles_with_paired_draws():
    # p drawn from {0.2, 0.5, 0.8}: without controls day 10 x ceil(log .5 / log(1 - p)); the control
    # halves p on the same draws, so every per-draw lead is >= 0
    halve = {"id": "halve", "counters": ["pw"], "effectiveness": 0.5}
    pw = single({"low": 0.2, "mode": 0.5, "high": 0.8}, 10)
    t = timeline(build([pw], controls=[halve]), "s", samples=500, seed=3)
    assert t.stats["lead_days_p5"] >= 0
    assert t.stats["days_to_durable_without_controls_p5"] <= 10 * 2 <= t.stats["days_to_durable_without_controls_p95"]
    for q in ("p5", "p50", "p95"):
        assert t.stats[f"days_to_durable_{q}"] >= t.stats[f"days_to_durable_without_controls_{q}"]
    again = timeline(build([pw], controls=[halve]), "s", samples=500, seed=3)
    assert again.stats == t.stats


def test_curves_means_and_band():
    model = build([single(0.2, 10)])
    without, with_ = scenario_curves(model, "s")
    k = int(np.flatnonzero(with_.days == 40)[0])
    assert with_.expected[k] == pytest.approx(0.5904) and with_.durable[k] == pytest.approx(0.5904)
    assert with_.days_to_durable == 40 and with_.expected_low[k] <= with_.expected[k] <= with_.expected_high[k]


# ---- properties -------------------------------------------------------------------------------

probabilities = st.floats(0.01, 1.0)
days = st.floats(0.0, 200.0)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(p=probabilities, t=days, queries=st.integers(1, 10_000_000), cap_hi=st.integers(1, 100_000),
       cap_lo=st.integers(1, 100_000), duration=st.floats(1, 400), accounts=st.integers(1, 50))
def test_a_tighter_query_cap_never_raises_expected_capability(p, t, queries, cap_hi, cap_lo, duration, accounts):
    lo, hi = sorted((cap_lo, cap_hi))
    curve = [[1000, {"low": 0.2, "mode": 0.3, "high": 0.5}], [1000000, 0.9]]

    def expected(cap):
        model = build([harvest(queries, curve, p=p, time=t)], tier={"queries_per_day": 100_000,
                      "duration_days": duration}, actor={"accounts": accounts},
                      controls=[{"id": "cap", "caps_queries_per_day": cap}])
        return expected_capability(inputs(model), np.arange(0, 800, 7.0)[None, :])[0]

    assert np.all(expected(lo) <= expected(hi) + 1e-12)


@settings(max_examples=60, deadline=None)
@given(p1=probabilities, t1=days, p2=probabilities, t2=days, eff=st.floats(0, 1), duration=st.floats(1, 400),
       persistent=st.booleans(), months=st.one_of(st.none(), st.floats(0, 60)))
def test_adding_a_control_never_brings_durable_capability_sooner(p1, t1, p2, t2, eff, duration, persistent, months):
    pathways = [single(p1, t1, id="a"), single(p2, t2, persistent=persistent, needs_access=True, id="b")]
    actor = {} if months is None else {"independent_months": months}
    control = {"id": "c", "counters": ["a"], "effectiveness": eff}
    model = build(pathways, tier={"duration_days": duration}, actor=actor, controls=[control])
    t = timeline(model, "s")
    assert t.days_to_durable >= t.days_to_durable_without_controls
    assert t.days_to_usable <= t.days_to_durable                   # durable never before usable


# ---- the worked example, through the CLI -------------------------------------------------------

STATED = expected(EXAMPLE)        # the numbers the example states in its closing comments


def run_json(capsys, argv):
    assert main(argv) == 0
    return json.loads(capsys.readouterr().out)


ECOSYSTEM = Path(__file__).parent / "examples" / "ecosystem.yaml"
STATED_BLOCKS = [(path, harvest) for path in (EXAMPLE, ECOSYSTEM) for harvest in ("adaptive", "planned")
                 if (harvest, "assess") in expected(path)]


def test_every_stated_block_is_checked():
    # the capability-timeline example states both harvests, the ecosystem example the default
    assert [(p.name, h) for p, h in STATED_BLOCKS] == [
        ("capability-timeline.yaml", "adaptive"), ("capability-timeline.yaml", "planned"), ("ecosystem.yaml", "adaptive")]


@pytest.mark.parametrize("path, harvest", STATED_BLOCKS, ids=lambda x: getattr(x, "stem", x))
def test_worked_example_assess(capsys, path, harvest):
    flag = [] if harvest == "adaptive" else ["--harvest", "planned"]
    rows = run_json(capsys, ["assess", str(path), "--format", "json", *flag])
    stated = expected(path)[(harvest, "assess")]
    assert [(r["scenario"], r["asset"], r["pathway"]) for r in rows] == list(stated)
    for r in rows:
        want = stated[(r["scenario"], r["asset"], r["pathway"])]
        assert r["probability"] == pytest.approx(want["probability"], abs=1e-6)
        assert r["time_days"] == (None if want["time_days"] is None else pytest.approx(want["time_days"], abs=1e-4))
        assert r["fidelity"] == pytest.approx(want["fidelity"], abs=1e-6)
        assert r["transfer_samples"] == want["transfer_samples"]
        assert (r["likelihood"], r["impact"], r["risk"]) == (want["likelihood"], want["impact"], want["risk"])


@pytest.mark.parametrize("path, harvest", STATED_BLOCKS, ids=lambda x: getattr(x, "stem", x))
def test_worked_example_timeline(capsys, path, harvest):
    flag = [] if harvest == "adaptive" else ["--harvest", "planned"]
    out = run_json(capsys, ["timeline", str(path), "--format", "json", *flag])
    stated = expected(path)[(harvest, "timeline")]
    assert [t["scenario"] for t in out] == list(stated)
    for t in out:
        want = stated[t["scenario"]]
        assert t["threshold"] == want["threshold"] and t["horizon_days"] == 3650
        assert t["harvest"] == ("planned" if t["scenario"] == "coordinated-planned" else harvest)
        assert {k: t[k] for k in TIMELINE_FIELDS} == {k: want[k] for k in TIMELINE_FIELDS}
        assert t["expected_capability"] == pytest.approx(want["expected_capability"], abs=5e-7)


def test_timeline_with_samples_adds_percentiles_and_keeps_the_deterministic_keys(capsys):
    plain = run_json(capsys, ["timeline", str(EXAMPLE), "--format", "json"])
    sampled = run_json(capsys, ["timeline", str(EXAMPLE), "--format", "json", "--samples", "200", "--seed", "2"])
    for a, b in zip(plain, sampled):
        assert {k: b[k] for k in a} == a
        for key in ("days_to_durable", "days_to_usable", "lead_days", "acceleration_days"):
            assert b[f"{key}_p5"] <= b[f"{key}_p50"] <= b[f"{key}_p95"]


def test_timeline_threshold_and_csv(capsys):
    # --threshold 0.95 overrides each scenario's: only weight theft (share 1, p 0.1 every 180 days) and own
    # development count; by day 213 theft holds 0.1 < 1/2, so durable capability is own parity, day 214
    out = run_json(capsys, ["timeline", str(EXAMPLE), "--format", "json", "--threshold", "0.95",
                            "--scenario", "state-api"])
    assert out[0]["threshold"] == 0.95 and out[0]["days_to_durable"] == 214
    assert main(["timeline", str(EXAMPLE), "--format", "csv"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("scenario,threshold,horizon_days,days_to_durable,days_to_usable,"
                               "days_to_durable_without_controls,days_independent,days_substitute,days_without_access,"
                               "lead_days,acceleration_days")
    assert lines[1].startswith("state-api,0.5,3650,21,3,21,214,,214,0,193,")


def test_timeline_bad_threshold_and_unknown_scenario(capsys):
    with pytest.raises(SystemExit) as exit:
        main(["timeline", str(EXAMPLE), "--threshold", "1.5"])
    assert exit.value.code == 2 and "between 0 and 1" in capsys.readouterr().err
    assert main(["timeline", str(EXAMPLE), "--scenario", "state-apj"]) == 1
    assert "did you mean 'state-api'" in capsys.readouterr().err


def test_a_model_without_the_new_keys_keeps_its_numbers(capsys):
    # the fidelity of a pathway without transfer is its own, whatever the samples
    model = build([single(0.5, 10, share=0.7)])
    assert assess(model, "s").rows()[0]["fidelity"] == 0.7


def test_a_cap_that_shrinks_the_harvest_has_value_through_the_share():
    # the cap leaves p at 1 but allows 100 x 1 x 30 = 3,000 samples: without it the adaptive actor
    # harvests the 21,545 that clear 0.5 (of 60,000 allowed). Expected risk p x share x value falls
    # from 0.3 + 0.3 log10(21.545) / 2 to 0.3 + 0.3 log10(3) / 2
    from threatkit.analysis.controls import control_values
    cap = {"id": "cap", "caps_queries_per_day": 100, "caps_accounts": 1}
    model = build([harvest(1_000_000, CURVE)], tier={"queries_per_day": 1000, "duration_days": 30},
                  actor={"accounts": 2}, controls=[cap])
    (value,) = control_values(model, "s")
    assert value.risk_reduction == pytest.approx(0.3 * (math.log10(21.545) - math.log10(3)) / 2)


def test_timeline_takes_a_shipped_example_by_name(capsys):
    assert main(["timeline", "example:mythos", "--scenario", "status-quo", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)[0]["scenario"] == "status-quo"


# ---- the ecosystem example: what its text says besides the stated rows ---------------------------

def test_ecosystem_example_weight_theft_over_time():
    # the one-shot insider gives 0.12 from day 60; the intrusion brings it to 0.56 on day 240 and
    # 1 - 0.88 x 0.5^2 = 0.78 on day 480 (2 of the 10 attempts a $50M budget pays for)
    # (no parity here: with it, the clocks stop on its day 274, after which nothing reads them)
    model = threatkit.load_model(ECOSYSTEM)
    inp = gather(Setting.of(model, "unilateral"), model.pathways, months=(None, ()))
    k = [pw.id for pw in inp.pathways].index("weight-theft")
    P = held(inp, np.array([[59, 60, 239, 240, 480]], float))[k, 0]
    assert P == pytest.approx([0.0, 0.12, 0.12, 1 - 0.88 * 0.5, 1 - 0.88 * 0.25])


@pytest.mark.parametrize("samples", [None, 300])
def test_with_and_without_controls_computed_together_are_each_as_alone(samples):
    """Answer.of gathers a scenario with its controls and without them together, sharing the clocks
    (and subtrees) the controls leave alone: every clock equals the one its own gather computes."""
    from threatkit.analysis.simulate import Sampler
    from threatkit.analysis.timeline import Answer

    from threatkit.resources import data_path

    model = threatkit.load_model(data_path("examples/mythos.yaml"))
    for scenario in ("status-quo", "restricted-export", "two-labs-status-quo"):
        sampler = Sampler(samples, 1) if samples else Sampler()
        answer = Answer.of(model, scenario, sampler)
        setting = Setting.of(model, model.scenario(scenario))
        for inputs, alone in ((answer.with_, setting), (answer.without, setting.without_controls())):
            expected = gather(alone, model.pathways, sampler)
            assert len(inputs.clocks) == len(expected.clocks)
            for got, want in zip(inputs.clocks, expected.clocks):
                assert np.array_equal(got, want)
            for name in ("p", "time", "share", "cost", "route_duration"):      # the pathways evaluated
                assert np.array_equal(getattr(inputs, name), getattr(expected, name)), name


@pytest.mark.parametrize("samples", [None, 300])
def test_scenarios_that_share_clocks_get_each_what_it_gets_alone(capsys, samples):
    """`threatkit timeline` keeps the clocks of one scenario for the next (a pathway whose leaves are
    the same has the same clock): every scenario's row is the one `timeline` gives it alone, and so
    are a restriction comparison's rows, which compute the base once for every policy."""
    from threatkit.report import restriction_comparison
    from threatkit.resources import data_path

    model = threatkit.load_model(data_path("examples/mythos.yaml"))
    extra = ["--samples", str(samples), "--seed", "3"] if samples else []
    assert main(["timeline", "example:mythos", "--format", "json", *extra]) == 0
    together = json.loads(capsys.readouterr().out)
    alone = [json.loads(json.dumps(timeline(model, s.id, samples=samples, seed=3).to_dict()))
             for s in model.scenarios]
    assert together == alone

    policies = ("unilateral-restriction", "coordinated-restriction")
    shared = restriction_comparison(model, "two-labs-status-quo", policies, samples=samples or None, seed=3).data
    for policy in policies:                  # each policy alone, its base computed afresh
        own = restriction_comparison(model, "two-labs-status-quo", (policy,), samples=samples or None, seed=3).data
        rows = [(h, s) for h, s in own.index if s == policy]
        assert shared.loc[rows].equals(own.loc[rows])


def test_inputs_gathered_for_days_refuse_the_expected_share():
    # their clocks stop where durable capability is certain (the substitutes' day), before E(t) is
    # known: E(t) from them would be wrong past that day, so it is refused rather than computed
    model = threatkit.load_model(ECOSYSTEM)
    inp = gather(Setting.of(model, "unilateral"), model.pathways, reads="days")
    with pytest.raises(ValueError, match="days only"):
        expected_capability(inp, np.array([[30.0]]))
    assert at(durable, inp, 30) == at(durable, inputs(model, "unilateral"), 30)


def test_kept_clocks_keep_their_pathways_alive():
    """A ClockMemo names a pathway by its id in its keys: it keeps the pathway alive, so that no
    other pathway (a model loaded later, say) ever gets that id and a clock not its own."""
    import gc
    import weakref

    import numpy as np

    from threatkit.analysis.route_clocks import ClockMemo
    from threatkit.model.load import load_model
    from threatkit.report import example_path

    memo = ClockMemo()
    pathway = load_model(example_path()).model_copy(deep=True).pathways[0]
    rows = (np.ones((1, 2)), np.ones((1, 2)), np.ones((1, 2)))
    key = memo.key(pathway, rows, 10, True)
    alive = weakref.ref(pathway)
    del pathway
    gc.collect()
    assert alive() is not None and key[0] == id(alive())
