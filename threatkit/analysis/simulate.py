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

import numpy as np

from threatkit.model.values import Quantity


def pert_shape(q: Quantity) -> tuple[float, float]:
    """Beta shape parameters of a quantity: PERT for a range, flat for a word."""
    width = q.high - q.low
    if width == 0 or q.word is not None:
        return 1.0, 1.0
    return 1.0 + 4.0 * (q.mode - q.low) / width, 1.0 + 4.0 * (q.high - q.mode) / width


@dataclass(frozen=True)
class Sampler:
    samples: int | None = None
    seed: int = 0

    def __post_init__(self) -> None:
        if self.samples is not None and self.samples < 1:
            raise ValueError(f"samples must be at least 1, found {self.samples}")

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

    def draw(self, quantities: Sequence[Quantity], *key: str) -> np.ndarray:
        """One row per quantity, `width` columns."""
        n = len(quantities)
        mode = np.fromiter((q.mode for q in quantities), float, n)
        if self.deterministic or n == 0:
            return np.repeat(mode[:, None], self.width, axis=1) if self.width > 1 else mode[:, None].copy()
        low = np.fromiter((q.low for q in quantities), float, n)
        high = np.fromiter((q.high for q in quantities), float, n)
        shapes = np.array([pert_shape(q) for q in quantities]).reshape(n, 2)
        unit = self.rng(*key).beta(shapes[:, :1], shapes[:, 1:], size=(n, self.samples))
        return low[:, None] + (high - low)[:, None] * unit

    def draw_one(self, q: Quantity | None, *key: str, default: float = np.inf) -> np.ndarray:
        """One quantity as a row of `width` values; `default` where it is absent."""
        if q is None:
            return np.full(self.width, default)
        return self.draw([q], *key)[0]
