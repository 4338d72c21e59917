"""Properties of the clock and the adaptive harvest (issue 20), on random models.

With the default (adaptive) harvest, nothing that can only hurt the actor brings durable capability
sooner: a control added, fewer queries a day, a shorter access window, a step less likely to succeed.
An `or` child that cannot succeed changes nothing; `--harvest planned` changes nothing in a model
without transfer curves. Each property compares two deterministic timelines of the same random model.
"""
from __future__ import annotations

import copy

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import threatkit
from threatkit.analysis.assess import Setting
from threatkit.analysis.timeline import timeline

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])

probability = st.sampled_from([0.0, 0.05, 0.2, 0.5, 0.8, 1.0]) | st.floats(0.0, 1.0)
whole_days = st.integers(0, 60)


@st.composite
def leaves(draw, prefix: str, index: int) -> dict:
    leaf = {"id": f"{prefix}-{index}", "p": draw(probability), "time_days": draw(whole_days),
            "cost_usd": draw(st.sampled_from([0, 1000, 100_000, 2_000_000]))}
    if draw(st.booleans()):
        leaf["queries"] = draw(st.sampled_from([100, 10_000, 1_000_000]))
    if draw(st.integers(0, 4)) == 0:
        leaf["retry"] = False
    return leaf


@st.composite
def trees(draw, prefix: str) -> dict:
    """A gate over leaves and, sometimes, a gate of leaves."""
    children, k = [], 0
    for _ in range(draw(st.integers(1, 3))):
        if draw(st.integers(0, 3)) == 0:
            kids = []
            for _ in range(draw(st.integers(1, 3))):
                kids.append(draw(leaves(prefix, k)))
                k += 1
            children.append({"id": f"{prefix}-g{k}", "gate": draw(st.sampled_from(["and", "or", "sand"])),
                             "children": kids})
        else:
            children.append(draw(leaves(prefix, k)))
            k += 1
    return {"id": f"{prefix}-root", "gate": draw(st.sampled_from(["and", "or", "sand"])), "children": children}


@st.composite
def curves(draw) -> list:
    """A nondecreasing transfer curve."""
    points = sorted(draw(st.sets(st.sampled_from([10, 100, 1000, 10_000, 100_000, 1_000_000]), min_size=1,
                                 max_size=3)))
    shares = sorted(draw(st.lists(st.sampled_from([0.1, 0.3, 0.5, 0.6, 0.8, 1.0]), min_size=len(points),
                                  max_size=len(points))))
    return [[n, s] for n, s in zip(points, shares)]


@st.composite
def models(draw) -> dict:
    pathways = []
    for k in range(draw(st.integers(1, 3))):
        tree = draw(trees(f"w{k}"))
        pathway = {"id": f"pw{k}", "fidelity": draw(st.sampled_from([0.2, 0.5, 0.9])),
                   "persistent": draw(st.booleans()), "needs_access": draw(st.booleans())}
        if draw(st.booleans()):        # a harvest STEP in front of the tree, on every route
            harvest = {"id": f"w{k}-harvest", "p": draw(probability), "time_days": draw(st.integers(0, 5)),
                       "queries": draw(st.sampled_from([1000, 100_000, 5_000_000]))}
            tree = {"id": f"w{k}-top", "gate": "sand", "children": [harvest, tree]}
            pathway["transfer"] = {"samples_from": harvest["id"], "curve": draw(curves())}
        pathway["tree"] = tree
        pathways.append(pathway)
    leaf_ids = [n["id"] for p in pathways for n in _walk(p["tree"]) if "gate" not in n]
    controls = []
    for k in range(draw(st.integers(0, 3))):
        control = {"id": f"c{k}", "counters": draw(st.lists(st.sampled_from(leaf_ids), max_size=3, unique=True)),
                   "effectiveness": draw(st.sampled_from([0.0, 0.3, 0.9, 1.0]))}
        if draw(st.booleans()):
            control["caps_queries_per_day"] = draw(st.sampled_from([10, 1000, 100_000]))
        if draw(st.booleans()):
            control["caps_accounts"] = draw(st.sampled_from([1, 5]))
        if draw(st.booleans()):
            control["detection_per_million_queries"] = draw(st.sampled_from([0.1, 0.5]))
        controls.append(control)
    actor = {"id": "actor", "kind": "state", "skill": 5, "budget_usd": draw(st.sampled_from([1e5, 1e7, 1e9])),
             "accounts": draw(st.sampled_from([1, 20, 1000]))}
    if draw(st.booleans()):
        actor["independent_months"] = draw(st.integers(0, 24))
    tier = {"id": "tier", "rank": 2, "exposes": ["outputs"], "queries_per_day": draw(st.sampled_from([100, 5000, 100_000])),
            "duration_days": draw(st.integers(1, 400))}
    chosen = draw(st.lists(st.sampled_from([c["id"] for c in controls]), unique=True)) if controls else []
    scenario = {"id": "s", "asset": "asset", "actor": "actor", "tier": "tier", "controls": chosen,
                "capability_threshold": draw(st.sampled_from([0.3, 0.5, 0.8]))}
    return {"threatkit": 1, "include": [], "assets": [{"id": "asset", "capability_value": 1.0}],
            "tiers": [tier], "actors": [actor], "pathways": pathways, "controls": controls, "scenarios": [scenario]}


def _walk(node):
    yield node
    for child in node.get("children", ()):
        yield from _walk(child)


def durable_day(doc: dict, **options) -> float:
    model = threatkit.load_text(yaml.safe_dump(doc, sort_keys=False))
    return timeline(model, "s", **options).days_to_durable


@SETTINGS
@given(doc=models(), data=st.data())
def test_a_control_added_never_brings_capability_sooner(doc, data):
    unused = [c["id"] for c in doc["controls"] if c["id"] not in doc["scenarios"][0]["controls"]]
    if not unused:
        return
    more = copy.deepcopy(doc)
    more["scenarios"][0]["controls"].append(data.draw(st.sampled_from(unused)))
    assert durable_day(more) >= durable_day(doc)


@SETTINGS
@given(doc=models(), field=st.sampled_from(["queries_per_day", "duration_days"]), cut=st.sampled_from([0.1, 0.5, 0.9]))
def test_less_access_never_brings_capability_sooner(doc, field, cut):
    less = copy.deepcopy(doc)
    less["tiers"][0][field] = max(1, int(doc["tiers"][0][field] * cut))
    assert durable_day(less) >= durable_day(doc)


@SETTINGS
@given(doc=models(), data=st.data(), cut=st.sampled_from([0.0, 0.5, 0.9]))
def test_a_step_less_likely_never_brings_capability_sooner(doc, data, cut):
    less = copy.deepcopy(doc)
    steps = [n for p in less["pathways"] for n in _walk(p["tree"]) if "gate" not in n]
    step = data.draw(st.sampled_from(steps))
    step["p"] = step["p"] * cut
    assert durable_day(less) >= durable_day(doc)


@SETTINGS
@given(doc=models(), data=st.data())
def test_an_or_child_that_cannot_succeed_changes_nothing(doc, data):
    more = copy.deepcopy(doc)
    gates = [n for p in more["pathways"] for n in _walk(p["tree"]) if n.get("gate") == "or"]
    if not gates:
        return
    gate = data.draw(st.sampled_from(gates))
    gate["children"].append({"id": "never", "p": 0.0, "time_days": data.draw(whole_days)})
    before = timeline(threatkit.load_text(yaml.safe_dump(doc)), "s").to_dict()
    assert timeline(threatkit.load_text(yaml.safe_dump(more)), "s").to_dict() == before


@SETTINGS
@given(doc=models())
def test_a_planned_harvest_changes_nothing_without_transfer_curves(doc):
    for pathway in doc["pathways"]:
        pathway.pop("transfer", None)
    model = threatkit.load_text(yaml.safe_dump(doc))
    adaptive, planned = timeline(model, "s"), timeline(model, "s", harvest="planned")
    assert adaptive.to_dict() | {"harvest": None} == planned.to_dict() | {"harvest": None}


@SETTINGS
@given(doc=models(), substitutes=st.sampled_from([None, [[0, 0.2], [6, 0.7]], [[0, 0.6]]]))
def test_clocks_stopped_on_the_last_day_read_change_no_answer(doc, substitutes):
    # Each route's clock is computed only to the last day anything reads it on (parity; for days
    # alone, the substitutes' day too; for a pathway that needs access, its end): every answer must
    # be what clocks computed to the horizon give. At the modes the clock is exact, so equal to
    # the bit; over draws (single precision by FFT) the curves to the FFT's rounding.
    from unittest import mock

    import numpy as np

    from threatkit.analysis import timeline as module

    if substitutes is not None:
        doc = dict(doc, substitutes=[{"id": "sub", "share": substitutes}])
    model = threatkit.load_text(yaml.safe_dump(doc, sort_keys=False))

    def every_day(routes, world, reads, horizon):
        return [horizon] * len(routes.leaves)

    def answers():
        days = module.gather(Setting.of(model, "s"), model.pathways, reads="days")    # all but E(t)
        grid = module.day_grid(module.DEFAULT_HORIZON_DAYS)[None, :]
        return (module.timeline(model, "s").to_dict(), module.scenario_curves(model, "s"),
                module.scenario_curves(model, "s", samples=40, seed=3), module.policy_leads(model, "s", "s"),
                (module.durable(days, grid), module.usable(days, grid)))
    stopped = answers()
    with mock.patch.object(module, "_last_days", every_day):
        full = answers()
    assert stopped[0] == full[0]
    assert all(np.array_equal(a, b) for a, b in zip(stopped[4], full[4]))
    np.testing.assert_equal([vars(x) for x in stopped[3].values()], [vars(x) for x in full[3].values()])  # nan == nan
    for ours, theirs, exact in ((stopped[1], full[1], True), (stopped[2], full[2], False)):
        for a, b in zip(ours, theirs):
            for name in ("expected", "expected_low", "expected_high", "durable", "usable"):
                if exact:
                    assert np.array_equal(getattr(a, name), getattr(b, name)), name
                else:
                    assert np.allclose(getattr(a, name), getattr(b, name), rtol=0, atol=1e-5), name


@SETTINGS
@given(doc=models(), substitutes=st.sampled_from([None, [[0, 0.2], [6, 0.7]], [[0, 0.6]], [[0, 0.9], [3, 0.4]]]))
def test_curves_past_the_day_routes_stop_mattering_are_the_same_without_them(doc, substitutes):
    # On the plotting grid, days past the parity day or past the day the substitutes hold every
    # route's share for good are computed without the routes: the curves must be the ones computed
    # with every route on every day, to the bit, at the modes and over draws.
    from unittest import mock

    import numpy as np

    from threatkit.analysis import timeline as module

    if substitutes is not None:
        doc = dict(doc, substitutes=[{"id": "sub", "share": substitutes}])
    model = threatkit.load_text(yaml.safe_dump(doc, sort_keys=False))

    def never(inp, horizon):
        return np.full(inp.width, np.inf)

    def both():
        return module.scenario_curves(model, "s"), module.scenario_curves(model, "s", samples=300, seed=5)
    trimmed = both()
    with mock.patch.object(module, "_routes_matter_until", never):
        full = both()
    for ours, theirs in zip(trimmed, full):
        for a, b in zip(ours, theirs):
            for name in ("expected", "expected_low", "expected_high", "durable", "usable"):
                assert np.array_equal(getattr(a, name), getattr(b, name)), name


@SETTINGS
@given(doc=models(), substitutes=st.sampled_from([None, [[0, 0.2], [6, 0.7]]]))
def test_routes_that_can_never_succeed_change_no_number_when_left_out(doc, substitutes):
    # A pathway none of whose draws can succeed (here one added with a step of p = 0 under an
    # `and`; in the models drawn, steps countered fully) gets a clock of zeros without computing
    # it, and the curves leave its routes out: every answer must be the one computed with them,
    # to the bit, at the modes and over draws.
    from unittest import mock

    import numpy as np

    from threatkit.analysis import route_clocks
    from threatkit.analysis import timeline as module

    budget = doc["actors"][0]["budget_usd"]
    doc = dict(doc, pathways=[*doc["pathways"], {
        "id": "cannot", "fidelity": 0.9, "persistent": True, "needs_access": False,
        "tree": {"id": "cannot-top", "gate": "and", "children": [
            {"id": "cannot-a", "p": 0.0, "time_days": 1}, {"id": "cannot-b", "p": 0.5, "time_days": 3}]}}, {
        # over budget in about half the draws only: computed, those draws 0
        "id": "sometimes", "fidelity": 0.7, "persistent": True, "needs_access": False,
        "tree": {"id": "sometimes-a", "p": 0.4, "time_days": 2,
                 "cost_usd": {"low": budget / 2, "mode": budget * 0.9, "high": budget * 2}}}])
    if substitutes is not None:
        doc = dict(doc, substitutes=[{"id": "sub", "share": substitutes}])
    model = threatkit.load_text(yaml.safe_dump(doc, sort_keys=False))

    def answers():
        return (module.timeline(model, "s").to_dict(), module.timeline(model, "s", samples=60, seed=2).to_dict(),
                module.scenario_curves(model, "s"), module.scenario_curves(model, "s", samples=300, seed=5))
    left_out = answers()
    with mock.patch.object(route_clocks, "_zero_clock", lambda *args: None), \
            mock.patch.object(module, "_live_routes", lambda inp: inp):
        computed = answers()
    np.testing.assert_equal(left_out[:2], computed[:2])            # nan == nan
    for ours, theirs in zip(left_out[2:], computed[2:]):
        for a, b in zip(ours, theirs):
            for name in ("expected", "expected_low", "expected_high", "durable", "usable", "substitute"):
                assert np.array_equal(getattr(a, name), getattr(b, name)), name


@SETTINGS
@given(doc=models())
def test_the_routes_held_on_days_shared_by_every_draw_are_as_on_days_of_their_own(doc):
    # The curves' grid is one row of days for every draw: `held` then reads columns, and each
    # draw's clock on its last day of access past it, instead of an index per draw and day.
    import numpy as np

    from threatkit.analysis import timeline as module

    from unittest import mock

    model = threatkit.load_text(yaml.safe_dump(doc, sort_keys=False))
    grid = module.day_grid(module.DEFAULT_HORIZON_DAYS)[None, :]
    # clocks to the horizon too: those of routes that need access then go on past its end
    with mock.patch.object(module, "_last_days", lambda routes, world, reads, horizon: [horizon] * len(routes.leaves)):
        to_the_horizon = module.answers(model, "s", samples=50, seed=4)
    for answer in (*module.answers(model, "s", samples=50, seed=4), *to_the_horizon):
        for inp in (answer.with_, answer.without):
            assert np.array_equal(module.held(inp, grid), module.held(inp, np.repeat(grid, inp.width, axis=0)))


@SETTINGS
@given(doc=models())
def test_a_scenario_gathered_with_and_without_its_controls_is_each_as_alone(doc):
    # Both sides are gathered together: a pathway none of the controls acts on is evaluated once
    # for both, a clock the controls leave alone computed once. Each side must be what gathering
    # it alone gives, every array to the bit, at the modes and over draws.
    import numpy as np

    from threatkit.analysis import timeline as module
    from threatkit.analysis.simulate import Sampler

    model = threatkit.load_text(yaml.safe_dump(doc, sort_keys=False))
    setting = Setting.of(model, "s")
    for sampler in (Sampler(), Sampler(40, 6)):
        together = module.gather_pair(setting, setting.without_controls(), model.pathways, sampler)
        for got, alone in zip(together, (setting, setting.without_controls())):
            want = module.gather(alone, model.pathways, sampler)
            for name in ("p", "time", "share", "cost", "route_duration", "duration", "parity"):
                assert np.array_equal(getattr(got, name), getattr(want, name)), name
            assert len(got.clocks) == len(want.clocks)
            assert all(np.array_equal(a, b) for a, b in zip(got.clocks, want.clocks))


def test_leaf_clocks_at_the_edges():
    """1 - (1 - p)^min(floor(t / tau), cap), by hand: a p too small to move 1 - p, instant attempts
    (tau 0: all of them at once), a step tried once, an infeasible step (infinite time)."""
    import numpy as np

    from threatkit.analysis.clock import extend, leaf_clock

    F = extend(leaf_clock(np.array([1e-300, 0.5, 0.5, 0.3, 0.9]), np.array([1.0, 0.0, 0.0, 10.0, np.inf]),
                          np.array([np.inf, np.inf, 3.0, 1.0, np.inf]), 100), 100)
    assert (F[0] == 0).all()                                    # 1 - 1e-300 is 1: never
    assert (F[1] == 1).all()                                    # unbounded instant attempts: done on day 0
    assert (F[2] == 1 - 0.5 ** 3).all()                         # three instant attempts
    assert F[3, 9] == 0 and (F[3, 10:] == 1 - (1 - 0.3)).all()    # once, on day 10, for good
    assert (F[4] == 0).all()


def test_many_attempts_a_day_need_no_table_of_every_power():
    """A step of tiny p tried at once a billion times (tau 0, no cap) or every thousandth of a day:
    1 - (1 - p)^attempts, computed directly rather than through a table of every power."""
    import numpy as np

    from threatkit.analysis.clock import extend, leaf_clock

    F = extend(leaf_clock(np.array([1e-12, 1e-9]), np.array([0.0, 0.001]), np.array([np.inf, 1e9]), 50), 50)
    enough = np.ceil(np.log(2.0 ** -54) / np.log(1 - 1e-12)) + 1                # the attempts until it settles
    assert F[0, 0] == 1 - (1 - 1e-12) ** enough
    assert F[1, 1] == 1 - (1 - 1e-9) ** 1000 and F[1, 50] == 1 - (1 - 1e-9) ** 50000


@st.composite
def leaf_draws(draw):
    """A leaf's draws as Monte Carlo gives them: one time per attempt for every draw (or its own for
    each), each draw capped at its own number of attempts; some draws dead (p 0, no time)."""
    import numpy as np

    n = draw(st.integers(1, 12))
    p = np.array(draw(st.lists(probability, min_size=n, max_size=n)))
    same = draw(st.booleans())
    taus = [draw(st.sampled_from([0.0, 1.0, 3.0, 7.0, 30.0, 0.5]))] * n if same else \
        draw(st.lists(st.sampled_from([0.0, 1.0, 3.0, 7.0, 30.0, 0.5, np.inf]), min_size=n, max_size=n))
    cap = np.array(draw(st.lists(st.sampled_from([0.0, 1.0, 2.0, 5.0, 40.0, np.inf]), min_size=n, max_size=n)))
    return p, np.array(taus), cap


@SETTINGS
@given(leaf_draws(), st.sampled_from(["float64", "float32"]), st.sampled_from([30, 400]))
def test_a_leaf_clock_is_its_closed_form_in_either_precision(leaf, dtype, horizon):
    """Every draw's F(t) = 1 - (1 - p)^min(floor(t / tau), cap) on every day to the horizon, to the
    bit in the clock's precision: each draw capped at its own attempts, the curve cut where it settles
    (sooner in single precision) and carried on from there."""
    import numpy as np

    from threatkit.analysis.clock import extend, leaf_clock

    p, tau, cap = leaf
    F = extend(leaf_clock(p, tau, cap, horizon, np.dtype(dtype).type), horizon)
    t = np.arange(horizon + 1, dtype=float)
    for i in range(p.size):
        with np.errstate(divide="ignore", invalid="ignore"):
            k = np.minimum(np.floor(t / tau[i]) if tau[i] > 0 else np.full_like(t, np.inf), cap[i])
        k = np.where(np.isfinite(tau[i]), k, 0.0)
        q = 1.0 - p[i]
        miss = q ** k if q < 1 else np.ones_like(t)
        expected = np.subtract(np.dtype(dtype).type(1), miss.astype(dtype))
        assert np.array_equal(F[i], expected), (i, p[i], tau[i], cap[i], np.flatnonzero(F[i] != expected)[:5])


def test_draws_convolve_with_numpy_alone_where_scipy_is_missing(monkeypatch):
    """scipy.fft speeds the draws' convolutions; without it numpy.fft gives the same numbers to
    single precision (the analysis needs numpy only)."""
    import sys

    import numpy as np

    from threatkit.analysis.clock import convolve, convolve_fft

    rng = np.random.default_rng(3)
    f = np.zeros((7, 300), np.float32)
    f[:, rng.choice(np.arange(1, 200), 40, replace=False)] = rng.random((7, 40)).astype(np.float32) / 40
    g = np.sort(rng.random((7, 300)), axis=1).astype(np.float32)
    direct = convolve(f.astype(float), g.astype(float))
    with_scipy = convolve_fft(f, g, 200)
    monkeypatch.setitem(sys.modules, "scipy", None)              # `from scipy import fft` fails
    with_numpy = convolve_fft(f, g, 200)
    assert np.allclose(with_scipy, direct, atol=2e-6) and np.allclose(with_numpy, direct, atol=2e-6)
