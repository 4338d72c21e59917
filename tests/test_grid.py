"""analysis.grid computes the curves of a block of draws with fewer passes: its numbers must be
timeline's, byte for byte (reports and stored notebooks compare figures drawn from them)."""
from __future__ import annotations

import numpy as np
import pytest

from threatkit.analysis.grid import column_percentiles, curves_block
from threatkit.analysis.timeline import Inputs, day_grid, durable, expected_capability, usable

DAYS = day_grid(3650)[None, :]


def inputs(seed: int, draws: int = 64, pathways: int = 6, **override) -> Inputs:
    """Random inputs with every special case of the rules mixed in: p = 0 and 1, instant and
    infinite attempts, open-ended and short access, shares either side of the threshold."""
    rng = np.random.default_rng(seed)
    special = rng.random((pathways, draws)) < 0.3
    p = np.where(special, rng.choice([0.0, 1.0, 0.3, 1e-9], size=(pathways, draws)), rng.random((pathways, draws)))
    time = rng.choice([0.0, np.inf, 1.0, 7.5, 48.0, 400.0, 5000.0], size=(pathways, draws))
    share = rng.choice([0.05, 0.5, 0.49, 0.9, 1.0], size=(pathways, draws))
    fields = dict(
        setting=None, pathways=(), p=p, time=time, share=share,
        persistent=rng.random(pathways) < 0.6, needs_access=rng.random(pathways) < 0.5,
        duration=rng.choice([0.0, 30.0, 365.0, np.inf], size=draws),
        parity=rng.choice([0.0, 200.0, 2000.0, np.inf], size=draws), threshold=0.5)
    fields.update(override)
    return Inputs(**fields)


def same(a: np.ndarray, b: np.ndarray) -> bool:
    return a.shape == b.shape and a.dtype == b.dtype and a.tobytes() == b.tobytes()


@pytest.mark.parametrize("seed", range(12))
def test_the_same_bytes_as_the_rules(seed):
    inp = inputs(seed)
    e, d, u = curves_block(inp, DAYS)
    assert same(e, expected_capability(inp, DAYS))
    assert same(d, durable(inp, DAYS))
    assert same(u, usable(inp, DAYS))


def test_one_row_per_pathway_cases():
    """Shares equal in every draw (one order for all draws), no pathway counting, none persistent,
    a pathway that holds nothing anywhere, and no pathways at all."""
    base = inputs(99, pathways=4)
    cases = [
        inputs(99, pathways=4, share=np.tile([[0.9], [0.2], [0.6], [0.6]], (1, 64))),
        inputs(99, pathways=4, share=np.full((4, 64), 0.1)),
        inputs(99, pathways=4, persistent=np.zeros(4, bool)),
        inputs(99, pathways=4, p=np.vstack([np.zeros((1, 64)), base.p[1:]])),
        inputs(99, pathways=0, p=np.zeros((0, 64)), time=np.zeros((0, 64)), share=np.zeros((0, 64)),
               persistent=np.zeros(0, bool), needs_access=np.zeros(0, bool)),
    ]
    for inp in cases:
        e, d, u = curves_block(inp, DAYS)
        assert same(e, expected_capability(inp, DAYS))
        assert same(d, durable(inp, DAYS))
        assert same(u, usable(inp, DAYS))


@pytest.mark.parametrize("change", [
    {"p": np.full((6, 64), np.nan)},
    {"time": np.full((6, 64), -1.0)},
    {"duration": np.full(64, np.nan)},
    {"p": np.full((6, 64), 1.5)},
])
def test_inputs_that_need_the_guards_go_back_to_the_rules(change):
    assert curves_block(inputs(1, **change), DAYS) is None


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
