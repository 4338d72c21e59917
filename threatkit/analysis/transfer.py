"""Transfer curves: the share of the asset's capability that a student gets
from n teacher samples (DESIGN.md "Capability over time").

The share is linear in log10(n) between the curve's points, flat after the
last point, linear in log10(n) from (1, 0) up to the first point, and 0 below
one sample. Published distillation results are reported this way (quality
against samples on a log axis), which is why the curve is read in log10.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def share_at(samples, points: Sequence[float], shares) -> np.ndarray:
    """The share at `samples` (a number or an array of draws).

    `points` are the curve's sample counts (ascending, >= 1); `shares` their
    shares, one value per point or one row of draws per point (shape
    (points, draws)), so that each draw reads its own curve.
    """
    n = np.asarray(samples, float)
    scalar = n.ndim == 0 and np.ndim(shares) == 1
    x = np.log10(np.asarray(points, float))
    y = np.asarray(shares, float).reshape(len(x), -1)          # (points, draws or 1)
    if x[0] > 0:   # the curve starts from (1 sample, share 0) unless its first point sits at one sample
        x = np.concatenate([[0.0], x])
        y = np.concatenate([np.zeros((1, y.shape[1])), y])
    width = max(n.size, y.shape[1])
    n = np.broadcast_to(n.reshape(-1), (width,))
    y = np.broadcast_to(y, (len(x), width))
    with np.errstate(divide="ignore"):
        logn = np.log10(np.maximum(n, 1.0))
    if len(x) == 1:
        out = y[0].astype(float)
    else:
        # segment k holds x[k] <= log n < x[k + 1]; past the last point the share stays flat
        k = np.clip(np.searchsorted(x, logn, side="right") - 1, 0, len(x) - 2)
        cols = np.arange(width)
        x0, x1 = x[k], x[k + 1]
        frac = np.clip((logn - x0) / (x1 - x0), 0.0, 1.0)
        out = y[k, cols] + (y[k + 1, cols] - y[k, cols]) * frac
    out = np.where(n < 1, 0.0, out)
    return float(out[0]) if scalar else out


REACH_TOLERANCE = 1e-12        # a share s reaches theta when s >= theta - 1e-12 (DESIGN.md)


def reaches(share, theta) -> np.ndarray:
    """Whether a share reaches the threshold, with DESIGN.md's tolerance."""
    return np.asarray(share, float) >= np.asarray(theta, float) - REACH_TOLERANCE


def least_samples(target, points: Sequence[float], shares) -> np.ndarray:
    """Per draw, the least whole number n >= 1 whose share (`share_at`) reaches `target`
    (a threshold, per draw or one for all); inf where no n does.

    Each segment of the curve is inverted where it crosses the target (in log10 n), the first
    crossing kept; rounding up to a whole number can land one off, so the neighbours are
    checked against `share_at` itself, the definition."""
    x = np.log10(np.asarray(points, float))
    y = np.asarray(shares, float).reshape(len(x), -1)
    if x[0] > 0:
        x = np.concatenate([[0.0], x])
        y = np.concatenate([np.zeros((1, y.shape[1])), y])
    width = y.shape[1]
    goal = np.broadcast_to(np.asarray(target, float) - REACH_TOLERANCE, (width,))
    best = np.full(width, np.inf)
    for k in range(len(x)):
        y0 = y[k]
        at_start = y0 >= goal                                  # reached at this point already
        best = np.where(at_start & ~np.isfinite(best), 10.0 ** x[k], best)
        if k + 1 < len(x):
            y1 = y[k + 1]
            with np.errstate(divide="ignore", invalid="ignore"):
                frac = (goal - y0) / (y1 - y0)
            crosses = ~at_start & (y1 >= goal) & ~np.isfinite(best)
            best = np.where(crosses, 10.0 ** (x[k] + np.clip(frac, 0.0, 1.0) * (x[k + 1] - x[k])), best)
    with np.errstate(invalid="ignore"):
        n = np.where(np.isfinite(best), np.maximum(np.ceil(best - 1e-9 * best), 1.0), np.inf)
    finite = np.isfinite(n)
    if finite.any():
        for _ in range(2):      # step down while the whole number below still reaches, up while n does not
            lower = np.where(finite, np.maximum(n - 1, 1.0), 1.0)
            down = finite & (n > 1) & (share_at(lower, points, shares).reshape(-1) >= goal)
            n = np.where(down, n - 1, n)
            up = finite & (share_at(np.where(finite, n, 1.0), points, shares).reshape(-1) < goal)
            n = np.where(up, n + 1, n)
    return n
