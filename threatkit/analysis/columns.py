"""Many model evaluations as the columns of one: a sampler whose "draws" are given values.

The analysis draws every uncertain quantity through a `Sampler`, one column per draw. A
`ColumnSampler` hands it chosen values instead, so that each column is the model evaluated
with those inputs and everything else at its mode: Sobol' indices evaluate thousands of input
combinations this way, and the one-at-a-time sweep every input at its two ends.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from threatkit.analysis.assess import leaf_table
from threatkit.analysis.simulate import Quantities, Sampler
from threatkit.model.inputs import CURVE, SHARE, Input
from threatkit.model.values import Quantity

_DRAW_FIELD = {"detection_per_million_queries": "detection"}    # a control's detection is drawn under this key


@dataclass(frozen=True, eq=False)
class ColumnSampler(Sampler):
    """A sampler whose 'draws' are given: key -> {row: values per column}; everything else at its mode."""

    columns: dict = field(default_factory=dict)
    exact: bool = True         # clocks summed in order, the same bits as one column alone (a sweep);
                               # False: by FFT for speed (Sobol' evaluates thousands of columns)
    _kept: dict = field(default_factory=dict, init=False, repr=False)     # draw_one's, for this sampler only

    # Identity, not the (samples, seed) a Sampler compares by: draws are cached per sampler, and two
    # column samplers of the same width hold different values.
    __eq__ = object.__eq__
    __hash__ = object.__hash__

    @classmethod
    def of(cls, inputs: list[Input], values: np.ndarray, *, exact: bool = True) -> ColumnSampler:
        """Column j has input i at values[i, j], every other input at its mode."""
        values = np.atleast_2d(values)
        columns: dict = {}
        for inp, row in zip(inputs, values):
            key, k = draw_key(inp)
            columns.setdefault(key, {})[k] = row
        return cls(samples=values.shape[1], seed=0, columns=columns, exact=exact)

    def block(self, lo: int, hi: int) -> ColumnSampler:
        """Columns lo:hi as a column sampler of their own: only their values are drawn."""
        return ColumnSampler(samples=hi - lo, seed=0, columns={
            key: {row: values[lo:hi] for row, values in rows.items()} for key, rows in self.columns.items()},
            exact=self.exact)

    @property
    def exact_clock(self) -> bool:
        return self.exact

    def draw(self, quantities, *key: str) -> np.ndarray:
        q = quantities if isinstance(quantities, Quantities) else Quantities.of(quantities)
        out = np.repeat(q.mode[:, None], self.width, axis=1)
        for row, values in self.columns.get(tuple(key), {}).items():
            out[row] = values
        return out

    def draw_one(self, q: Quantity | None, *key: str, default: float = np.inf) -> np.ndarray:
        """As Sampler.draw_one, but kept with this sampler rather than in the cache all samplers
        share: a column sampler serves one evaluation, and a sweep per report would fill that
        cache with its draws (and the sampler's columns) for good."""
        hit = self._kept.get((q, key, default))
        if hit is None:
            hit = np.full(self.width, default) if q is None else self.draw([q], *key)[0]
            hit.flags.writeable = False
            self._kept[(q, key, default)] = hit
        return hit


def draw_key(inp: Input) -> tuple[tuple[str, ...], int]:
    """Where the analysis draws this input: (sampler key, row). An exposure's relative_capability is
    drawn under ("scenario", ID, its field), as the input names it."""
    if inp.kind == "step":
        return ("pathway", inp.pathway.id, inp.field), leaf_table(inp.pathway).leaf_row[inp.id]
    m = CURVE.match(inp.field)
    if m:
        return ("pathway", inp.id, "transfer"), int(m.group(1))
    m = SHARE.match(inp.field)
    if inp.kind == "substitute" and m:
        return ("substitute", inp.id, "share"), int(m.group(1))
    return (inp.kind, inp.id, _DRAW_FIELD.get(inp.field, inp.field)), 0
