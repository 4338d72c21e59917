"""What the world offers an actor without access (DESIGN.md "Substitutes").

A substitute's share of the asset's capability is given at months since the
scenario starts: 0 before its first month, linear in months between points,
its last share after the last. On day t the month is t x 12 / 365.25. sub(t)
is the largest share of the scenario's substitutes; it is held for sure and for
good, and need not rise (a share list may fall), so the first day it reaches
the threshold is found segment by segment, in order, not by bisection.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from threatkit.analysis.simulate import Sampler, kept_per_sampler, read_only
from threatkit.analysis.transfer import REACH_TOLERANCE
from threatkit.model.values import Substitute

DAYS_PER_YEAR = 365.25
KEPT_DAYS = 256                # days kept per Shares (first_day, holds_from by level): the oldest go first


@dataclass(frozen=True, eq=False)
class Shares:
    """The substitutes' share points, drawn: months (P_i,) and shares (P_i, D) per substitute."""

    months: tuple[np.ndarray, ...]
    shares: tuple[np.ndarray, ...]
    width: int
    _days: dict = field(default_factory=dict, repr=False)     # (method, level, horizon) -> its days, kept

    @classmethod
    def of(cls, substitutes: tuple[Substitute, ...], sampler: Sampler) -> Shares:
        """The substitutes' shares drawn by `sampler`: one object for the same substitutes and
        sampler, so that every scenario of a model (and both sides of one, with and without its
        controls) shares its days (`first_day`, `holds_from`, worked out once each)."""
        return _drawn(sampler, tuple(substitutes))

    def _kept(self, key: tuple, compute) -> np.ndarray:
        days = self._days.get(key)
        if days is None:
            if len(self._days) >= KEPT_DAYS:             # an explorer's settings ask for ever new levels
                self._days.pop(next(iter(self._days)))
            days = self._days[key] = read_only(compute())
        return days

    def __len__(self) -> int:
        return len(self.months)

    def columns(self, cols: slice) -> Shares:
        shares = tuple(y[:, cols] for y in self.shares)
        return Shares(self.months, shares, shares[0].shape[1] if shares else len(range(self.width)[cols]))

    def at(self, days: np.ndarray) -> np.ndarray:
        """sub(t): the largest share on each day, shape (D, M) for days of shape (D, M) or (1, M)."""
        days = np.asarray(days, float)
        out = np.zeros(np.broadcast_shapes(days.shape, (self.width, 1)))
        for months, shares in zip(self.months, self.shares):
            out = np.maximum(out, share_on(months, shares, days))
        return out

    def first_day(self, threshold: float, horizon: int) -> np.ndarray:
        """Per draw, the first whole day in 0..horizon on which sub(t) reaches the threshold; inf when never."""
        def compute() -> np.ndarray:
            out = np.full(self.width, np.inf)
            goal = threshold - REACH_TOLERANCE
            for months, shares in zip(self.months, self.shares):
                out = np.minimum(out, first_day(months, shares, goal))
            return np.where(out <= horizon, out, np.inf)
        return self._kept(("first_day", float(threshold), int(horizon)), compute)

    def holds_from(self, level: float, horizon: int) -> np.ndarray:
        """Per draw, the first whole day in 0..horizon from which sub(t) is at least `level` on every
        later day (inf: none found; `holds_from` of each substitute, the earliest)."""
        def compute() -> np.ndarray:
            out = np.full(self.width, np.inf)
            for months, shares in zip(self.months, self.shares):
                out = np.minimum(out, holds_from(months, shares, level, horizon))
            return out
        return self._kept(("holds_from", float(level), int(horizon)), compute)


@kept_per_sampler(64)
def _drawn(sampler: Sampler, substitutes: tuple[Substitute, ...]) -> Shares:
    """By the substitutes' values: all the draws depend on, with the sampler."""
    return Shares(tuple(read_only(np.array([m for m, _ in x.share], float)) for x in substitutes),
                  tuple(read_only(sampler.draw([q for _, q in x.share], "substitute", x.id, "share"))
                        for x in substitutes), sampler.width)


def holds_from(months: np.ndarray, shares: np.ndarray, level: float, horizon: int) -> np.ndarray:
    """Per draw, a whole day from which one substitute's share is at least `level` on every later
    day (inf: none found): the first such day where the draw's points never fall, else the first
    within the last run of points that never falls (the share may fall before it, never after).
    On such a run the share rises on each segment and is each point's share exactly at that point,
    so once at `level` it stays there if every later point and the flat tail are (checked, rounding
    included)."""
    rising = np.diff(shares, axis=0) >= 0
    start = np.full(shares.shape[1], len(months) - 1)              # where each draw's last rising run starts
    for k in range(len(months) - 2, -1, -1):
        start = np.where((start == k + 1) & rising[k], k, start)
    day = np.full(shares.shape[1], np.inf)
    for s in np.unique(start):
        cols = start == s
        day[cols] = first_day(months[s:], shares[s:, cols], level)  # 0 before the run: found within it
    later = months[:, None] * DAYS_PER_YEAR / 12.0 >= np.where(np.isfinite(day), day, 0.0)[None, :]
    ok = np.isfinite(day) & np.where(later, shares >= level, True).all(axis=0)
    ok &= share_on(months, shares, np.array([[float(horizon)]]))[:, 0] >= level
    return np.where(ok & (day <= horizon), day, np.inf)


def first_day(months: np.ndarray, shares: np.ndarray, goal: float) -> np.ndarray:
    """Per draw, the first whole day on which one substitute's share is at least `goal` (inf: never).

    The share is linear on each segment between points (and flat after the last), so on each the
    days that reach the goal are one run: from the segment's first day if it starts at or above
    the goal, else from where it rises through it. Each segment's first such day is worked out
    from the month, checked against `share_on` itself (rounding a month to a whole day can land
    one off, and a peak between two whole days is reached on none), and the earliest is kept."""
    width = shares.shape[1]
    if goal <= 0:
        return np.zeros(width)              # every share is >= 0, on every day
    best = np.full(width, np.inf)
    for k in range(len(months)):
        y0 = shares[k]
        start = _day(months[k])
        last = np.floor(months[k + 1] * DAYS_PER_YEAR / 12.0) if k + 1 < len(months) else np.inf
        day = np.where(y0 >= goal, start, np.inf)
        if k + 1 < len(months):
            y1 = shares[k + 1]
            with np.errstate(divide="ignore", invalid="ignore", over="ignore"):   # (y1 == y0: not used)
                m = months[k] + (goal - y0) / (y1 - y0) * (months[k + 1] - months[k])
            m = np.clip(np.where(np.isfinite(m), m, months[k]), months[k], months[k + 1])
            day = np.where((y0 < goal) & (y1 >= goal), np.maximum(_day(m), start), day)
        day = _checked(months, shares, goal, day, start, last)
        best = np.minimum(best, day)
    return best


def _checked(months, shares, goal, day, start, last) -> np.ndarray:
    """`day` moved to the first whole day of [start, last] that reaches the goal, within a day of
    it; inf where none does."""
    def reaches(d):
        return share_on(months, shares, np.where(np.isfinite(d), d, 0.0)[:, None])[:, 0] >= goal

    ok = np.isfinite(day)
    earlier = ok & (day - 1 >= start) & reaches(day - 1)
    day = np.where(earlier, day - 1, day)
    for _ in range(2):
        later = ok & ~reaches(day)
        day = np.where(later, day + 1, day)
    return np.where(ok & (day <= last) & reaches(day), day, np.inf)


def _day(months) -> np.ndarray:
    """The first whole day on or after `months` (a month is a twelfth of a Julian year)."""
    return np.ceil(np.asarray(months, float) * DAYS_PER_YEAR / 12.0 - 1e-9)


def share_on(months: np.ndarray, shares: np.ndarray, days: np.ndarray) -> np.ndarray:
    """One substitute's share on `days` ((D, M) or (1, M)) for each of its D draws (shares (P, D))."""
    m = np.asarray(days, float) * 12.0 / DAYS_PER_YEAR
    width = shares.shape[1]
    if len(months) == 1:
        return np.where(np.broadcast_to(m, (width, m.shape[-1])) >= months[0], shares[0][:, None], 0.0)
    # segment k holds months[k] <= m < months[k + 1] (the last segment runs on, flat)
    k = np.clip(np.searchsorted(months, m, side="right") - 1, 0, len(months) - 2)
    frac = np.clip((m - months[k]) / (months[k + 1] - months[k]), 0.0, 1.0)
    if m.shape[0] == 1:                 # one row of days for every draw (a plot's grid): index by day only
        y0, y1 = shares[k[0]].T, shares[k[0] + 1].T                     # (D, M)
    else:
        cols = np.arange(width)[:, None]
        y0, y1 = shares[k, cols], shares[k + 1, cols]
    out = y0 + (y1 - y0) * frac
    return np.where(m < months[0], 0.0, out)
