"""Substitutes' shares by day, and the first day they reach a threshold, against the definition
(DESIGN.md "Substitutes") written out day by day."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from threatkit.analysis.substitutes import first_day, holds_from, share_on


def share_by_hand(points, day: int) -> float:
    m = day * 12 / 365.25
    if m < points[0][0]:
        return 0.0
    for (m0, y0), (m1, y1) in zip(points, points[1:]):
        if m <= m1:
            return y0 + (y1 - y0) * (m - m0) / (m1 - m0)
    return points[-1][1]


def test_share_by_day_is_linear_in_months_between_points():
    points = [(0, 0.45), (4, 0.6), (16, 1.0)]          # the ecosystem example's open weights
    months = np.array([m for m, _ in points], float)
    shares = np.array([[y] for _, y in points])
    days = np.arange(0, 700)[None, :]
    assert share_on(months, shares, days)[0] == pytest.approx([share_by_hand(points, d) for d in range(700)])
    late = [(3, 0.55), (12, 0.95)]                      # nothing before its first month
    assert share_on(np.array([3.0, 12.0]), np.array([[0.55], [0.95]]), np.array([[91, 92, 400]]))[0] == \
        pytest.approx([0.0, share_by_hand(late, 92), 0.95])


points = st.lists(st.tuples(st.sampled_from([0, 0.5, 1, 2, 3, 3.3, 6, 7.7, 12, 24]),
                            st.sampled_from([0.0, 0.2, 0.5, 0.6, 1.0]) | st.floats(0, 1)),
                  min_size=1, max_size=5, unique_by=lambda p: p[0]).map(sorted)


@settings(max_examples=300, deadline=None)
@given(points=points, theta=st.sampled_from([0.0, 0.3, 0.5, 0.7, 1.0]) | st.floats(0, 1))
def test_first_day_is_the_first_whole_day_that_reaches_the_threshold(points, theta):
    # shares may fall, and a peak between two whole days is reached on none of them
    months = np.array([m for m, _ in points], float)
    shares = np.array([[y] for _, y in points])
    goal = theta - 1e-12
    by_hand = next((d for d in range(0, 24 * 31 + 2) if share_by_hand(points, d) >= goal), np.inf)
    assert first_day(months, shares, goal)[0] == by_hand


@settings(max_examples=300, deadline=None)
@given(points=points, level=st.sampled_from([0.0, 0.3, 0.5, 0.7, 1.0]) | st.floats(0, 1))
def test_holds_from_is_a_day_from_which_the_share_never_falls_below_the_level(points, level):
    # the clocks stop there (nothing past it reads them), so it must never be too early; it may
    # be later than the first such day (inf where the share falls somewhere), never earlier
    months = np.array([m for m, _ in points], float)
    shares = np.array([[y] for _, y in points])
    horizon = 24 * 31 + 2
    day = holds_from(months, shares, level, horizon)[0]
    every_day = share_on(months, shares, np.arange(horizon + 1)[None, :])[0]
    first = next((d for d in range(horizon + 1) if (every_day[d:] >= level).all()), np.inf)
    assert day >= first
    if np.isfinite(day):
        assert (every_day[int(day):] >= level).all()
    if all(b[1] >= a[1] for a, b in zip(points, points[1:])):      # points never fall: found exactly
        assert day == first


def test_holds_from_refuses_a_share_that_falls_again():
    months, shares = np.array([0.0, 3.0, 6.0]), np.array([[0.0], [1.0], [0.5]])
    assert holds_from(months, shares, 0.8, 3650)[0] == np.inf
    rising = holds_from(np.array([0.0, 3.0]), np.array([[0.0], [1.0]]), 0.5, 3650)[0]
    assert rising == 46                                 # month 1.5 is day 45.66: the first whole day on


def test_the_substitutes_draws_and_days_are_worked_out_once_per_sampler():
    # Every scenario of a model, and both sides of one, draw the same substitutes: one Shares for
    # the same substitutes and sampler, whose days are each worked out once and kept read-only;
    # another seed or other substitutes are other draws.
    import threatkit
    from threatkit.analysis.simulate import Sampler
    from threatkit.analysis.substitutes import Shares
    from threatkit.report import example_path

    substitutes = threatkit.load_model(example_path()).substitutes
    shares = Shares.of(substitutes, Sampler(50, 1))
    assert Shares.of(tuple(substitutes), Sampler(50, 1)) is shares
    assert Shares.of(substitutes, Sampler(50, 2)) is not shares
    assert Shares.of(substitutes[:1], Sampler(50, 1)) is not shares
    fresh = Shares(shares.months, shares.shares, shares.width)          # nothing kept
    for method, args in (("first_day", (0.5, 3650)), ("holds_from", (0.7, 3650))):
        days = getattr(shares, method)(*args)
        assert getattr(shares, method)(*args) is days and not days.flags.writeable
        assert np.array_equal(days, getattr(fresh, method)(*args))
        other = getattr(shares, method)(0.2, 3650)                     # another level: worked out for it
        assert other is not days and np.array_equal(other, getattr(fresh, method)(0.2, 3650))
    with pytest.raises(ValueError):
        shares.shares[0][0, 0] = 1.0                                  # the draws are shared: read-only


def test_the_days_kept_per_substitutes_are_bounded(monkeypatch):
    # An explorer asks for the days at ever new levels: the oldest are let go past the bound.
    from threatkit.analysis import substitutes
    from threatkit.analysis.substitutes import Shares

    monkeypatch.setattr(substitutes, "KEPT_DAYS", 3)
    shares = Shares((np.array([0.0, 6.0]),), (np.array([[0.1, 0.2], [0.6, 0.9]]),), 2)
    first = shares.first_day(0.3, 3650)
    for level in (0.4, 0.5, 0.55):
        shares.first_day(level, 3650)
    assert len(shares._days) == 3 and shares.first_day(0.3, 3650) is not first
    assert np.array_equal(shares.first_day(0.3, 3650), first)


def test_a_sweeps_column_sampler_is_not_kept_by_the_shared_draws():
    # A sweep or Sobol' run makes many column samplers, each holding its columns' values: the
    # draws kept across scenarios (substitutes, transfer curves) are for plain samplers only.
    import gc
    import weakref

    import threatkit
    from threatkit.analysis.assess import transfer_shares
    from threatkit.analysis.columns import ColumnSampler
    from threatkit.analysis.substitutes import Shares
    from threatkit.report import example_path

    model = threatkit.load_model(example_path())
    pathway = next(p for p in model.pathways if p.transfer is not None)
    sampler = ColumnSampler(samples=3, seed=0)
    shares, curve = Shares.of(model.substitutes, sampler), transfer_shares(pathway, sampler)
    assert shares.width == 3 and curve.shape[1] == 3
    gone = weakref.ref(sampler)
    del sampler, shares, curve
    gc.collect()
    assert gone() is None
