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

import math
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache, wraps

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

    @property
    def exact_clock(self) -> bool:
        """Whether clocks are summed in order (the same bits whatever the columns beside), or may
        use an FFT (Monte Carlo draws: the same numbers to about 1e-15, many times faster)."""
        return self.deterministic

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

    def block(self, lo: int, hi: int) -> Sampler:
        """Columns lo:hi of this sampler's draws, as a sampler of their own (to evaluate a huge
        tree a block of draws at a time)."""
        return ColumnSlice(samples=hi - lo, seed=self.seed, parent=self, lo=lo)


@dataclass(frozen=True, eq=False)
class ColumnSlice(Sampler):
    """Columns lo:lo + samples of another sampler's draws: the same values, column for column."""

    parent: Sampler | None = None
    lo: int = 0

    # Identity, not the (samples, seed) a Sampler compares by: a block is not Sampler(its width).
    __eq__ = object.__eq__
    __hash__ = object.__hash__

    @property
    def deterministic(self) -> bool:
        return self.parent.deterministic

    @property
    def exact_clock(self) -> bool:
        return self.parent.exact_clock

    @property
    def span(self) -> slice:
        """Its columns in the parent's draws."""
        return slice(self.lo, self.lo + self.width)

    def draw(self, quantities, *key: str) -> np.ndarray:
        return self.parent.draw(quantities, *key)[:, self.span]

    def draw_one(self, q: Quantity | None, *key: str, default: float = np.inf) -> np.ndarray:
        return self.parent.draw_one(q, *key, default=default)[self.span]


@lru_cache(maxsize=1024)
def _draw_one(sampler: Sampler, q: Quantity | None, key: tuple[str, ...], default: float) -> np.ndarray:
    return read_only(np.full(sampler.width, default) if q is None else sampler.draw([q], *key)[0])


def read_only(a: np.ndarray) -> np.ndarray:
    """`a`, marked read-only: draws kept and shared by every reader."""
    a.flags.writeable = False
    return a


def kept_per_sampler(maxsize: int):
    """Keep what `fn(sampler, *keys)` draws (keys hashable: the values the draws depend on) for a
    plain Sampler, whose samples and seed say all there is to its draws. A sweep's column
    samplers are many and hold their columns' values: those are drawn for, not kept."""
    def wrap(fn):
        kept = lru_cache(maxsize=maxsize)(fn)

        @wraps(fn)
        def call(sampler: Sampler, *keys):
            return kept(sampler, *keys) if type(sampler) is Sampler else fn(sampler, *keys)
        return call
    return wrap


# ---- percentiles of one quantity's own distribution (for one-at-a-time sensitivity) -----------

def quantile(q: Quantity, prob: float) -> float:
    """The `prob` quantile of the distribution the sampler draws `q` from: PERT for a range,
    uniform over the band for an estimative word, the value itself for a scalar."""
    return quantiles([q], prob)[0]


def quantiles(qs: Sequence[Quantity], prob: float) -> list[float]:
    """`quantile` of each quantity (their shapes worked out at once: a sweep asks for a hundred)."""
    if not 0.0 <= prob <= 1.0:
        raise ValueError(f"prob must be in [0, 1], found {prob}")
    arrays = Quantities.of(qs)
    return [q.mode if q.high <= q.low else q.low + (q.high - q.low) * beta_ppf(prob, a, b)
            for q, a, b in zip(qs, arrays.alpha.tolist(), arrays.beta.tolist())]


@lru_cache(maxsize=4096)
def beta_ppf(prob: float, a: float, b: float) -> float:
    """Inverse of the regularized incomplete beta function: Newton's steps on I_x(a, b) = prob,
    kept inside the bracket the signs found so far (a step that would leave it bisects instead),
    to a double's resolution (a sweep asks for a hundred of these per report; bisection took 56
    evaluations of I_x each, Newton about 6). numpy has no beta quantile, and scipy.special
    would cost a fifth of a second to import."""
    if a == 1.0 and b == 1.0:
        return prob
    if prob <= 0.0 or prob >= 1.0:
        return 0.0 if prob <= 0.0 else 1.0
    log_beta = math.lgamma(a) + math.lgamma(b) - math.lgamma(a + b)
    lo, hi = 0.0, 1.0
    x = a / (a + b)                          # the mean: where the density is well away from 0
    for _ in range(100):
        miss = _betainc(a, b, x) - prob
        if miss == 0.0:
            return x
        if miss < 0.0:
            lo = x
        else:
            hi = x
        density = math.exp((a - 1.0) * math.log(x) + (b - 1.0) * math.log1p(-x) - log_beta)
        step = x - miss / density if density > 0.0 else (lo + hi) / 2
        if not lo < step < hi:
            step = (lo + hi) / 2
        if step == x or hi - lo <= 4 * math.ulp(x):
            break
        x = step
    return x


def _betainc(a: float, b: float, x: float) -> float:
    """Regularized incomplete beta I_x(a, b) (continued fraction, modified Lentz)."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    front = math.exp(math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x))
    if x > (a + 1.0) / (a + b + 2.0):        # the fraction converges fast on this side only
        return 1.0 - _betainc(b, a, 1.0 - x)
    tiny = 1e-300
    c, d = 1.0, 1.0 - (a + b) * x / (a + 1.0)
    d = 1.0 / (d if abs(d) > tiny else tiny)
    f = d
    for m in range(1, 300):
        for num in (m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m)),
                    -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1))):
            d = 1.0 + num * d
            d = 1.0 / (d if abs(d) > tiny else tiny)
            c = 1.0 + num / c
            c = c if abs(c) > tiny else tiny
            f *= c * d
        if abs(c * d - 1.0) < 1e-16:
            break
    return front * f / a
