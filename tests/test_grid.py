"""analysis.grid's percentiles must be numpy's, byte for byte (reports and stored notebooks
compare figures drawn from them)."""
from __future__ import annotations

import numpy as np
import pytest

from threatkit.analysis.grid import column_percentiles


def same(a: np.ndarray, b: np.ndarray) -> bool:
    return a.shape == b.shape and a.dtype == b.dtype and a.tobytes() == b.tobytes()


@pytest.mark.parametrize("seed", range(8))
def test_column_percentiles_are_numpys(seed):
    """The band's percentiles from one sort equal np.percentile's, byte for byte: any column
    length, ties, infinities and NaN columns, and quantiles at and between the order statistics."""
    rng = np.random.default_rng(seed)
    q = [0, 5, 37.5, 50, 95, 100]
    for draws in (1, 2, 3, 20, 2000):
        x = rng.choice([0.0, 1.0, 0.5, np.inf, -np.inf, np.nan, -2.0], size=(draws, 7),
                       p=[0.25, 0.2, 0.2, 0.1, 0.1, 0.05, 0.1])
        x[:, :3] = rng.random((draws, 3)) ** 3             # continuous columns too
        with np.errstate(invalid="ignore"):
            assert same(column_percentiles(x, q), np.percentile(x, q, axis=0))


def test_column_percentiles_of_a_known_column():
    """Worked by hand: 0..10, the 5th percentile is 0.5, the 95th 9.5; a NaN column gives NaN."""
    x = np.column_stack([np.arange(11.0), np.r_[np.arange(10.0), np.nan]])
    low, high = column_percentiles(x, [5, 95])
    assert low[0] == 0.5 and high[0] == 9.5
    assert np.isnan(low[1]) and np.isnan(high[1])
