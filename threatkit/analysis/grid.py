"""Percentiles of many columns at once: the capability curves' 5-95% band."""
from __future__ import annotations

import numpy as np


def column_percentiles(x: np.ndarray, q: list[float]) -> np.ndarray:
    """np.percentile(x, q, axis=0) (its default, linear interpolation), bit for bit, from one
    sort: numpy's percentile partitions every column around six indices, three times slower
    than its vectorised sort of the columns laid out as rows (the band of 2,000 draws x 360 days:
    10 ms instead of 3). A column holding NaN gives NaN, as in numpy."""
    rows = np.sort(np.asarray(x, float).T, axis=1)                       # (M, D), NaN last
    n = rows.shape[1]
    virtual = (n - 1) * (np.asarray(q, float) / 100)                     # numpy's virtual index
    below = np.floor(virtual)
    gamma = (virtual - below)[:, None]
    below = below.astype(np.intp)
    above = np.minimum(below + 1, n - 1)
    a, b = rows[:, below].T, rows[:, above].T                            # (Q, M)
    diff = b - a                                                         # numpy's _lerp, step for step
    out = a + diff * gamma
    np.subtract(b, diff * (1 - gamma), out=out, where=np.broadcast_to(gamma >= 0.5, out.shape))
    out[:, np.isnan(rows[:, -1])] = np.nan
    return out
