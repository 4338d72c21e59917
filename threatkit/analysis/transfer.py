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
