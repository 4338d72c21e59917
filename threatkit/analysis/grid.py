"""The three capability curves for a block of draws on a grid of days, in few passes.

timeline.py states the rules one curve at a time (`held`, `durable`, `usable`,
`expected_capability`), each computing P_k(t) over pathways x draws x days
afresh, with a dozen passes over the whole array to guard against NaN. A
report draws its curves on ~600 days for 2,000 draws, with and without
controls: that was most of a report's time. Here the same numbers, bit for
bit, come from one P_k(t) shared by the three curves and computed in place:

- the same floating-point operations on the same values, in the same order
  (a product or sum over pathways multiplies or adds in pathway order; a
  factor of exactly 1 or a term of exactly 0 is skipped, which changes nothing);
- the guards are checked once per (pathway, draw) instead of per day; inputs that
  need them (NaN, p outside [0, 1], negative times) get None, and the caller
  falls back on timeline's functions;
- a pathway that holds nothing on any day (p = 0 or infinite attempt time in
  every draw) is skipped.

tests/test_grid.py compares the bytes with timeline's functions.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from threatkit.analysis.timeline import Inputs


def curves_block(inp: Inputs, days: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """(expected_capability, durable, usable) on `days` of shape (1, M), each (D, M);
    None when the inputs need timeline's guarded rules."""
    t = np.asarray(days, float)
    P = held(inp, t)
    if P is None:
        return None
    own = (t >= inp.parity[:, None]).astype(float)
    return _expected(inp, P, own), *_holding(inp, P, own)


def _clean(inp: Inputs, t: np.ndarray) -> bool:
    p, T = inp.p, inp.time
    return bool(t.ndim == 2 and t.shape[0] == 1 and np.isfinite(t).all() and (t >= 0).all()
                and not np.isnan(T).any() and (T >= 0).all() and not np.isnan(inp.duration).any()
                and ((p >= 0) & (p <= 1)).all())


def held(inp: Inputs, t: np.ndarray) -> dict[int, np.ndarray] | None:
    """P_k(t) for the pathways that can hold something: {k: (D, M)}; the others are 0."""
    if not _clean(inp, t):
        return None
    out = {}
    for k in range(len(inp.p)):
        p, T = inp.p[k][:, None], inp.time[k][:, None]                # (D, 1)
        if np.all((p == 0) | np.isinf(T)):
            continue                     # 1 - (1 - p)^n is 0: p = 0, or n = floor(t / inf) = 0
        with np.errstate(divide="ignore", invalid="ignore"):
            n = np.divide(t, T)
            np.floor(n, out=n)
            if inp.needs_access[k]:      # attempts that start while access lasts
                cap = np.ceil(inp.duration[:, None] / T)
                cap[np.isnan(cap)] = np.inf      # inf/inf: n is 0 anyway; 0/0: T = 0, n is inf below
                np.minimum(n, cap, out=n)
        instant = T == 0                 # an instant attempt: as many as it takes
        if instant.any():
            np.copyto(n, np.inf, where=instant)
        with np.errstate(invalid="ignore"):
            np.power(1.0 - p, n, out=n)
        np.subtract(1.0, n, out=n)       # p = 0 in some draws: 1 - 1^n = 0, as the rule says
        if not inp.persistent[k]:        # gone once access has ended
            np.copyto(n, 0.0, where=t > inp.duration[:, None])
        out[k] = n
    return out


def _holding(inp: Inputs, P: dict[int, np.ndarray], own: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(durable, usable): 1 - (1 - own) x prod over counted pathways of (1 - P_k)."""
    counts = inp.share >= inp.threshold                                  # (K, D)
    durable = usable = None
    for k, Pk in P.items():
        if not counts[k].any():
            continue
        q = 1.0 - Pk
        if not counts[k].all():
            q = np.where(counts[k][:, None], q, 1.0)
        usable = q.copy() if usable is None else np.multiply(usable, q, out=usable)
        if inp.persistent[k]:
            durable = q.copy() if durable is None else np.multiply(durable, q, out=durable)
    free = 1.0 - own
    return tuple(1.0 - free * (1.0 if s is None else s) for s in (durable, usable))


def _expected(inp: Inputs, P: dict[int, np.ndarray], own: np.ndarray) -> np.ndarray:
    """E[largest share held durably]: over own development (share 1) and the persistent
    pathways, highest share first per draw, sum of s_i P_i prod_{j<i} (1 - P_j)."""
    rows = [k for k in range(len(inp.p)) if inp.persistent[k]]          # timeline's order, own first
    s = np.concatenate([np.ones((1, inp.width)), inp.share[rows]])
    order = np.argsort(-s, axis=0, kind="stable")
    cols = np.arange(inp.width)
    s = s[order, cols]
    sources = [own] + [P.get(k) for k in rows]                          # None: holds nothing
    total = run = None
    for i in range(len(sources)):
        Pi = _gather(sources, order[i])
        if Pi is None:
            continue                     # a term of 0 and a factor of 1
        term = s[i][:, None] * Pi
        if run is not None:
            term *= run
        total = term if total is None else np.add(total, term, out=total)
        if i < len(sources) - 1:
            run = 1.0 - Pi if run is None else np.multiply(run, 1.0 - Pi, out=run)
    return total if total is not None else np.zeros_like(own)


def _gather(sources: list[np.ndarray | None], pick: np.ndarray) -> np.ndarray | None:
    """Row d of sources[pick[d]] for every draw d (None stands for zeros): (D, M), or None if all zero."""
    first = pick[0]
    if (pick == first).all():
        return sources[first]
    out = None
    for r in np.unique(pick):
        if sources[r] is None:
            continue
        if out is None:
            out = np.zeros_like(next(x for x in sources if x is not None))
        mask = pick == r
        out[mask] = sources[r][mask]
    return out


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
