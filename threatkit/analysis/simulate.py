"""Draw uncertain quantities: their modes, or Monte Carlo samples.

A `Sampler` with `samples=None` gives each quantity's deterministic value (a
range at its mode, an estimative word at the middle of its band) as a single
column; with `samples=N` it gives N draws: PERT for a {low, mode, high} range,
uniform over the band for an estimative word.

Every entity draws from its own generator, keyed by the seed and the entity's
kind and id, never from a global seed. So the same actor's budget is the same
draw in every scenario, and two scenarios that differ only in their controls
are compared on paired samples (common random numbers).
"""
from __future__ import annotations

import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from threatkit.model.values import Quantity


@dataclass(frozen=True, eq=False)
class Quantities:
    """A column of quantities as arrays, ready to draw from many times."""

    low: np.ndarray
    mode: np.ndarray
    high: np.ndarray
    alpha: np.ndarray
    beta: np.ndarray
    varies: np.ndarray        # rows with low < high: the only ones that need random draws

    @classmethod
    def of(cls, quantities: Sequence[Quantity]) -> Quantities:
        rows = np.array([(q.low, q.mode, q.high, q.word is not None) for q in quantities], float).reshape(-1, 4)
        low, mode, high, word = rows.T
        flat = (high == low) | (word == 1)         # a word's band is drawn uniformly: Beta(1, 1)
        with np.errstate(divide="ignore", invalid="ignore"):   # an infinite scalar (.inf) has no width
            width = high - low
            alpha = np.where(flat, 1.0, 1.0 + 4.0 * (mode - low) / width)
            beta = np.where(flat, 1.0, 1.0 + 4.0 * (high - mode) / width)
        return cls(low, mode, high, alpha, beta, high > low)


@dataclass(frozen=True)
class Sampler:
    samples: int | None = None
    seed: int = 0

    def __post_init__(self) -> None:
        if self.samples is not None and self.samples < 1:
            raise ValueError(f"samples must be at least 1, found {self.samples}")
        if self.seed < 0:
            raise ValueError(f"seed must be a whole number >= 0, found {self.seed}")

    @property
    def width(self) -> int:
        """Columns of every drawn array: 1 when deterministic."""
        return self.samples or 1

    @property
    def deterministic(self) -> bool:
        return self.samples is None

    def rng(self, *key: str) -> np.random.Generator:
        words = [zlib.crc32(part.encode()) for part in key]
        return np.random.default_rng([self.seed & 0xFFFFFFFF, self.seed >> 32, *words])

    def draw(self, quantities: Sequence[Quantity] | Quantities, *key: str) -> np.ndarray:
        """One row per quantity, `width` columns: modes, or draws (PERT for a
        range, uniform over a word's band). Fixed rows cost no random draws."""
        q = quantities if isinstance(quantities, Quantities) else Quantities.of(quantities)
        out = np.repeat(q.mode[:, None], self.width, axis=1)
        if self.deterministic or not q.varies.any():
            return out
        rows = np.flatnonzero(q.varies)
        unit = self.rng(*key).beta(q.alpha[rows, None], q.beta[rows, None], size=(rows.size, self.samples))
        out[rows] = q.low[rows, None] + (q.high - q.low)[rows, None] * unit
        return out

    def draw_one(self, q: Quantity | None, *key: str, default: float = np.inf) -> np.ndarray:
        """One quantity as a row of `width` values; `default` where it is absent. Read-only,
        and kept: every pathway in every setting of a report draws the same actor, tier and
        control quantities (the same draws, by design), a thousand times a report."""
        return _draw_one(self, q, key, default)


@lru_cache(maxsize=1024)
def _draw_one(sampler: Sampler, q: Quantity | None, key: tuple[str, ...], default: float) -> np.ndarray:
    out = np.full(sampler.width, default) if q is None else sampler.draw([q], *key)[0]
    out.flags.writeable = False
    return out
