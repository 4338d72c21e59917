"""The clock: each node's chance of having succeeded by whole day t (DESIGN.md "The clock").

A leaf with chance p per attempt of tau days, at most `cap` attempts, has
F(t) = 1 - (1 - p)^min(floor(t / tau), cap): a failed step is retried, not the
whole tree. `or` completes with its first child to succeed, `and` with its last,
`sand` runs its children in order (a convolution of the earlier child's daily
chance with the rest's F).

Every F here is an array of days 0..T, one row per draw, with F(t) = F(T) for
every t > T: T is the day the curve settles, never past the horizon. A leaf
settles after its last attempt, or once (1 - p)^k is below half an ulp of 1, where
1 - (1 - p)^k is 1.0 in floating point: cutting it there changes no bit. A gate
settles when its children have (`sand`: the sum of their days), so a tree whose
steps are likely and short costs days, not the horizon's 3,651 columns.
"""
from __future__ import annotations

import numpy as np

from threatkit.analysis.trees import GATES, FlatTree

SETTLED = 2.0 ** -54           # (1 - p)^k below this: 1 - (1 - p)^k rounds to 1.0


def leaf_clock(p: np.ndarray, tau: np.ndarray, cap: np.ndarray, horizon: int, dtype=np.float64) -> np.ndarray:
    """F of one leaf over days 0..T for every draw (arrays of one value per draw): (W, T + 1)."""
    p, tau, cap = (np.asarray(a, float) for a in (p, tau, cap))
    q = 1.0 - p
    live = (p > 0) & (q < 1) & np.isfinite(tau)          # p below 1e-16: 1 - p is 1, F is 0
    with np.errstate(divide="ignore", invalid="ignore"):
        enough = np.where(q > 0, np.ceil(np.log(SETTLED) / np.log(q)) + 1, 1.0)   # attempts until it settles
        last = np.minimum(cap, enough)
        settle = np.where(live, np.ceil(last * tau) + 1, 0.0)
    settle = np.nan_to_num(settle, nan=0.0, posinf=float(horizon))
    T = int(min(horizon, settle.max(initial=0.0)))
    rows = live.nonzero()[0]
    if rows.size and (tau[rows] == tau[rows[0]]).all() and (last[rows] == last[rows[0]]).all():
        # every draw attempts on the same days (a fixed time, the usual case): one row of counts
        counts = attempts(np.arange(T + 1, dtype=float), tau[rows[0]], last[rows[0]])
        if counts[-1] <= 4 * (T + 1):                              # (1 - p)^k for each k once, then looked up
            powers = np.power(q[:, None], np.arange(int(counts[-1]) + 1, dtype=float)[None, :])
            miss = powers.astype(dtype, copy=False)[:, counts.astype(np.intp)]
        else:                                                      # many attempts a day (tiny or no tau)
            with np.errstate(over="ignore"):
                miss = np.power(q[:, None], counts[None, :]).astype(dtype, copy=False)
    else:
        t = np.arange(T + 1, dtype=float)[None, :]
        a = attempts(t, tau[:, None], last[:, None])
        if not live.all():
            a[~live] = 0.0
        most = a[:, -1].max(initial=0.0)                           # attempts by the last day, at most
        if most <= 4 * (T + 1):                                    # (1 - p)^k for each k once, then looked up:
            k = np.arange(int(most) + 1, dtype=float)[None, :]     # the same powers, without a power per day
            miss = np.take_along_axis(np.power(q[:, None], k).astype(dtype, copy=False), a.astype(np.intp), axis=1)
        else:
            with np.errstate(over="ignore"):
                miss = np.power(q[:, None], a).astype(dtype, copy=False)
    F = np.subtract(dtype(1.0), miss, out=miss)
    if not live.all():
        F[~live] = 0.0
    return F


def attempts(t: np.ndarray, tau, last) -> np.ndarray:
    """Attempts finished by day t: min(floor(t / tau), last); with tau = 0, all of them at once."""
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):     # a tiny tau: inf attempts, capped
        a = np.floor(t / tau)
    a = np.minimum(a, last, out=a)
    instant = np.broadcast_to(np.asarray(tau) == 0, a.shape)
    if instant.any():
        a[instant] = np.broadcast_to(last, a.shape)[instant]
    return a


def extend(F: np.ndarray, T: int) -> np.ndarray:
    """F over days 0..T: cut, or carried on at its settled value."""
    have = F.shape[1] - 1
    if have >= T:
        return F[:, :T + 1]
    return np.concatenate([F, np.repeat(F[:, -1:], T - have, axis=1)], axis=1)


def first_of(children: list[np.ndarray]) -> np.ndarray:
    """`or`: F = 1 - prod(1 - F_i), the first child to succeed completes the gate."""
    T = max(F.shape[1] for F in children) - 1
    miss = 1.0 - extend(children[0], T)
    for F in children[1:]:
        miss = miss * (1.0 - extend(F, T))
    return 1.0 - miss


def last_of(children: list[np.ndarray]) -> np.ndarray:
    """`and`: F = prod F_i, complete when the last child has succeeded."""
    T = max(F.shape[1] for F in children) - 1
    out = extend(children[0], T)
    for F in children[1:]:
        out = out * extend(F, T)
    return out


def in_order(children: list[np.ndarray], horizon: int, exact: bool = True) -> np.ndarray:
    """`sand`: the children one after another, each started on the day the one before succeeded:
    F_1 * F_2 * ... with (F * G)(t) = sum over u = 0..t of (F(u) - F(u - 1)) G(t - u)."""
    out = children[-1]
    for F in reversed(children[:-1]):
        out = then(F, out, horizon, exact)
    return out


def then(F: np.ndarray, G: np.ndarray, horizon: int, exact: bool = True) -> np.ndarray:
    """F * G: G started on the day F succeeds. Settles by the sum of their settling days."""
    T = min(horizon, F.shape[1] - 1 + G.shape[1] - 1)
    f = daily(F[:, :T + 1])                                        # chance F succeeds on day u
    g = extend(G, T)
    if exact:
        return convolve(f, g)
    # F * G = f conv G = F conv g: shift over whichever succeeds on fewer days, else an FFT
    f_days = _days(f)
    if f_days.size <= SHIFTS:
        return convolve(f, g, f_days)
    g_daily = daily(g)
    g_days = _days(g_daily)
    if g_days.size <= SHIFTS:
        return convolve(g_daily, extend(F, T), g_days)
    return convolve_fft(f, g, int(f_days[-1]) + 1)


def daily(F: np.ndarray) -> np.ndarray:
    """F(u) - F(u - 1), F(-1) = 0: the chance of succeeding on each day, in F's precision."""
    out = np.empty_like(F)
    out[:, :1] = F[:, :1]
    np.subtract(F[:, 1:], F[:, :-1], out=out[:, 1:])
    return out


SHIFTS = 12                    # up to this many shifted copies cost less than an FFT


def _days(f: np.ndarray) -> np.ndarray:
    """The days on which some row succeeds."""
    return np.flatnonzero((f != 0).any(axis=0))


def convolve(f: np.ndarray, g: np.ndarray, days: np.ndarray | None = None) -> np.ndarray:
    """Row by row, the first len(g) terms of the linear convolution of f and g (f no longer).

    Shifted copies of g are added in order of u, only for the days u on which some row of f
    is not zero (`days`, found if not given): a row's sums are the same terms in the same order
    whatever the other rows (another row's day adds an exact 0), so a draw's clock is the same
    to the bit in a block of any width, alone or in a sweep's columns."""
    n = g.shape[1]
    out = np.zeros_like(g)
    for u in (_days(f[:, :n]) if days is None else days):
        out[:, u:] += f[:, u:u + 1] * g[:, :n - u]
    return out


def convolve_fft(f: np.ndarray, g: np.ndarray, m: int) -> np.ndarray:
    """`convolve` by FFT, f being 0 from day m on: the same numbers to about 1e-15 (clipped to
    [0, 1]), but a row's last bits depend on the block's length. For Monte Carlo draws."""
    n = g.shape[1]
    size = fast_length(n + m - 1)                                  # no wrap-around into the first n days
    spectrum = np.fft.rfft(f[:, :m], size, axis=1)
    spectrum *= np.fft.rfft(g, size, axis=1)
    out = np.fft.irfft(spectrum, size, axis=1)[:, :n]
    return np.clip(out, 0, 1, out=out)


def fast_length(n: int) -> int:
    """The least 2^a 3^b 5^c >= n: lengths pocketfft transforms fastest."""
    best, p5 = 1 << max(0, (n - 1).bit_length()), 1
    while p5 < best:
        p35 = p5
        while p35 < best:
            k = p35
            while k < n:
                k *= 2
            best = min(best, k)
            p35 *= 3
        p5 *= 5
    return best


def root_clock(flat: FlatTree, leaves: tuple[np.ndarray, np.ndarray, np.ndarray], horizon: int,
               exact: bool = True) -> np.ndarray:
    """F of the tree's root over days 0..T for every draw, from its leaves' (p, tau, cap) rows
    (one row per leaf, in `flat.leaves` order; one column per draw). `exact`: convolutions summed
    in order (a column's bits do not depend on the others); else by FFT where that is faster."""
    p, tau, cap = leaves
    row = {int(i): k for k, i in enumerate(flat.leaves)}
    dtype = np.float64 if exact else np.float32      # draws: single precision, 1e-7 against their spread

    def node(i: int) -> np.ndarray:           # depth first: only one path's siblings are held at once
        if i in row:
            k = row[i]
            return leaf_clock(p[k], tau[k], cap[k], horizon, dtype)
        lo, m = int(flat.first_child[i]), int(flat.n_children[i])
        kids = [node(c) for c in range(lo, lo + m)]
        gate = GATES[flat.gate[i]]
        return first_of(kids) if gate == "or" else last_of(kids) if gate == "and" else in_order(kids, horizon, exact)

    return node(0)
