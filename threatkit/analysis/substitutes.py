"""What the world offers an actor without access (DESIGN.md "Substitutes").

A substitute's share of the asset's capability is given at months since the
scenario starts: 0 before its first month, linear in months between points,
its last share after the last. On day t the month is t x 12 / 365.25. sub(t)
is the largest share of the scenario's substitutes; it is held for sure and for
good, and need not rise (a share list may fall), so the first day it reaches
the threshold is found by looking at every day, not by bisection.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from threatkit.analysis.simulate import Sampler
from threatkit.analysis.transfer import REACH_TOLERANCE
from threatkit.model.values import Substitute

DAYS_PER_YEAR = 365.25
BLOCK = 256                   # draws at a time when every day is looked at (a block of days x draws stays small)


@dataclass(frozen=True, eq=False)
class Shares:
    """The substitutes' share points, drawn: months (P_i,) and shares (P_i, D) per substitute."""

    months: tuple[np.ndarray, ...]
    shares: tuple[np.ndarray, ...]
    width: int

    @classmethod
    def of(cls, substitutes: tuple[Substitute, ...], sampler: Sampler) -> Shares:
        return cls(tuple(np.array([m for m, _ in x.share], float) for x in substitutes),
                   tuple(sampler.draw([q for _, q in x.share], "substitute", x.id, "share") for x in substitutes),
                   sampler.width)

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
        out = np.full(self.width, np.inf)
        days = np.arange(horizon + 1, dtype=float)[None, :]
        goal = threshold - REACH_TOLERANCE
        for months, shares in zip(self.months, self.shares):
            for lo in range(0, self.width, BLOCK):
                hit = share_on(months, shares[:, lo:lo + BLOCK], days) >= goal       # (block, days)
                first = np.where(hit.any(axis=1), hit.argmax(axis=1), np.inf)
                out[lo:lo + BLOCK] = np.minimum(out[lo:lo + BLOCK], first)
        return out


def share_on(months: np.ndarray, shares: np.ndarray, days: np.ndarray) -> np.ndarray:
    """One substitute's share on `days` ((D, M) or (1, M)) for each of its D draws (shares (P, D))."""
    m = np.asarray(days, float) * 12.0 / DAYS_PER_YEAR
    width = shares.shape[1]
    m = np.broadcast_to(m, (width, m.shape[-1]))
    if len(months) == 1:
        return np.where(m >= months[0], shares[0][:, None], 0.0)
    # segment k holds months[k] <= m < months[k + 1] (the last segment runs on, flat)
    k = np.clip(np.searchsorted(months, m, side="right") - 1, 0, len(months) - 2)
    m0, m1 = months[k], months[k + 1]
    cols = np.arange(width)[:, None]
    y0, y1 = shares[k, cols], shares[k + 1, cols]
    frac = np.clip((m - m0) / (m1 - m0), 0.0, 1.0)
    out = y0 + (y1 - y0) * frac
    return np.where(m < months[0], 0.0, out)
