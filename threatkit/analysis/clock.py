"""The clock: each node's chance of having succeeded by whole day t (DESIGN.md "The clock").

A leaf with chance p per attempt of tau days, at most `cap` attempts, has
F(t) = 1 - (1 - p)^min(floor(t / tau), cap): a failed step is retried, not the
whole tree. `or` completes with its first child to succeed, `and` with its last,
`sand` runs its children in order (a convolution of the earlier child's daily
chance with the rest's F).

Every F here is an array of days 0..T, one row per draw, with F(t) = F(T) for
every t > T: T is the day the curve settles, never past the horizon. A leaf
settles after its last attempt, or once (1 - p)^k is below half an ulp of 1, where
1 - (1 - p)^k is 1.0 in the clock's precision (double for exact answers, single for
Monte Carlo draws): cutting it there changes no bit. A gate
settles when its children have (`sand`: the sum of their days), so a tree whose
steps are likely and short costs days, not the horizon's 3,651 columns.
"""
from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict

import numpy as np

from threatkit.analysis.trees import GATES, LEAF, FlatTree

SETTLED = 2.0 ** -54           # (1 - p)^k below this: 1 - (1 - p)^k rounds to 1.0
SETTLED_SINGLE = 2.0 ** -25    # the same in single precision (a tie at 2^-25 rounds to 1.0, the even side)


def settled_at(dtype) -> float:
    """The miss chance below which F is 1.0 in `dtype`: a draw's curve settles there."""
    return SETTLED if np.dtype(dtype) == np.float64 else SETTLED_SINGLE


def leaf_clock(p: np.ndarray, tau: np.ndarray, cap: np.ndarray, horizon: int, dtype=np.float64) -> np.ndarray:
    """F of one leaf over days 0..T for every draw (arrays of one value per draw): (W, T + 1)."""
    p, tau, cap = (np.asarray(a, float) for a in (p, tau, cap))
    q = 1.0 - p
    live = (p > 0) & (q < 1) & np.isfinite(tau)          # p below 1e-16: 1 - p is 1, F is 0
    settled = settled_at(dtype)
    last = np.minimum(cap, _enough(q, settled))
    T = int(min(horizon, settling(p, tau, cap, horizon, settled).max(initial=0.0)))
    rows = live.nonzero()[0]
    one_tau = rows.size and (tau[rows] == tau[rows[0]]).all()
    one_cap = one_tau and (last[rows] == last[rows[0]]).all()
    counts = attempts(np.arange(T + 1, dtype=float), tau[rows[0]], last[rows].max()) if one_tau else None
    if one_cap:
        # every draw attempts on the same days (a fixed time, the usual case): one row of counts
        if counts[-1] <= 4 * (T + 1):                              # (1 - p)^k for each k once, then looked up
            powers = np.power(q[:, None], np.arange(int(counts[-1]) + 1, dtype=float)[None, :])
            miss = powers.astype(dtype, copy=False)[:, counts.astype(np.intp)]
        else:                                                      # many attempts a day (tiny or no tau)
            with np.errstate(over="ignore"):
                miss = np.power(q[:, None], counts[None, :]).astype(dtype, copy=False)
    elif one_tau and counts[-1] <= 4 * (T + 1):
        # the same days, each draw capped at its own last attempt: (1 - p)^min(k, last) is the larger
        # of (1 - p)^k and (1 - p)^last, the powers falling with k (made sure of, to the last bit)
        powers = np.power(q[:, None], np.arange(int(counts[-1]) + 1, dtype=float)[None, :]).astype(dtype, copy=False)
        powers = np.minimum.accumulate(powers, axis=1)
        stop = np.where(live, np.minimum(last, counts[-1]), 0).astype(np.intp)
        miss = np.maximum(powers[:, counts.astype(np.intp)], np.take_along_axis(powers, stop[:, None], axis=1))
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
    if F.shape[1] > T:
        return F[:, :T + 1]
    return _carried(F, T + 1)


def first_of(children: list[np.ndarray]) -> np.ndarray:
    """`or`: F = 1 - prod(1 - F_i), the first child to succeed completes the gate."""
    miss = _blank(children)
    _carry(miss, children[0])
    np.subtract(1.0, miss, out=miss)
    for F in children[1:]:
        _times(miss, F, complement=True)
    return np.subtract(1.0, miss, out=miss)


def last_of(children: list[np.ndarray]) -> np.ndarray:
    """`and`: F = prod F_i, complete when the last child has succeeded."""
    out = _blank(children)
    _carry(out, children[0])
    for F in children[1:]:
        _times(out, F)
    return out


def _blank(children: list[np.ndarray]) -> np.ndarray:
    """An array for a gate of these children: their rows, to the latest settling day."""
    rows = np.broadcast_shapes(*((F.shape[0], 1) for F in children))[0]
    return np.empty((rows, max(F.shape[1] for F in children)), children[0].dtype)


def _times(out: np.ndarray, F: np.ndarray, complement: bool = False) -> None:
    """out *= F (or 1 - F) in place, F carried on at its settled value past its last day: the
    same products as with F extended, without the extended copy."""
    n = min(F.shape[1], out.shape[1])
    for part, days in ((F[:, :n], slice(0, n)), (F[:, -1:], slice(n, None))):
        if complement:
            part = np.subtract(1.0, part, dtype=out.dtype)
        out[:, days] *= part
        if n == out.shape[1]:
            break


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
    out, term = np.zeros_like(g), np.empty_like(g)        # one scratch array, not one per day
    for u in (_days(f[:, :n]) if days is None else days):
        np.multiply(f[:, u:u + 1], g[:, :n - u], out=term[:, :n - u])
        out[:, u:] += term[:, :n - u]
    return out


def convolve_fft(f: np.ndarray, g: np.ndarray, m: int) -> np.ndarray:
    """`convolve` by FFT, f being 0 from day m on: the same numbers to about the rows' precision
    (1e-7 in single; clipped to [0, 1]), but a row's last bits depend on the block's length. For
    Monte Carlo draws."""
    fft = _fft()
    n = g.shape[1]
    size = fast_length(n + m - 1)                                  # no wrap-around into the first n days
    spectrum = fft.rfft(f[:, :m], size, axis=1)
    spectrum *= fft.rfft(g, size, axis=1)
    out = fft.irfft(spectrum, size, axis=1)[:, :n]
    return np.clip(out, 0, 1, out=out)


def _fft():
    """scipy.fft where installed (a dependency): it transforms rows of single precision in a
    third of numpy's time (0.15 s to import, so imported here, when draws first convolve).
    Without it, numpy.fft: the analysis needs numpy only."""
    try:
        from scipy import fft
    except ImportError:
        return np.fft
    return fft


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
    in order (a column's bits do not depend on the others); else by FFT where that is faster.

    Level by level from the bottom, nodes alike (the leaves; gates of one rule and number of
    children) computed together as rows of one array: numpy's work is the same, the interpreter's
    is per group rather than per node. Each node keeps its own settling day T (a gate's from its
    children's, as node by node), and a group is cut where those days differ a lot: padding a row
    with its settled value changes none of its numbers, only the work.

    Trees under BY_LEVELS nodes are computed node by node, which costs them less. A sweep's
    columns each differ from the first in a few leaves: then the first column's
    clock is computed for every node, and each other column only on the paths from the leaves
    where it differs up to the root, the rest of the tree being the first column's. Every row
    is computed as it would be alone, so the numbers are the same either way."""
    p, tau, cap = (np.asarray(a, float) for a in leaves)
    differs = sweep_columns(p, tau, cap)
    if differs is not None:
        return _from_first_column(flat, p, tau, cap, differs, horizon, exact)
    if len(flat.nodes) < BY_LEVELS:
        return node_clocks(flat, (p, tau, cap), horizon, exact)[0]
    if p.shape[1] == 1:                  # one column (the modes): kept, for a sweep around it
        return _first_column(flat, p, tau, cap, horizon, exact)[0][1]
    clocks = _levels(flat, (p, tau, cap), np.ones(p.shape, bool), horizon, exact)
    return clocks[0][1]


def never(flat: FlatTree, p: np.ndarray, tau: np.ndarray, cap: np.ndarray) -> np.ndarray:
    """Per column, whether the root's clock is 0 on every day, from the leaves alone: a leaf that
    cannot succeed (`leaf_clock`'s: p = 0 or below 1e-16, no finite time, no attempt allowed) is 0
    every day; an `or` is when all its children are, `and` and `sand` when any is (a product with
    0, a convolution with 0). The very zeros `root_clock` computes, without computing them: a
    pathway the actor cannot take (a quarter of the routes in the example's scenarios) costs nothing."""
    return never_from(flat, leaves_never(p, tau, cap))


def leaves_never(p: np.ndarray, tau: np.ndarray, cap: np.ndarray) -> np.ndarray:
    """Per leaf and column, whether the leaf's clock is 0 on every day (`leaf_clock`'s rule)."""
    p, tau, cap = (np.asarray(a, float) for a in (p, tau, cap))
    return ~((p > 0) & (1.0 - p < 1) & np.isfinite(tau)) | (cap == 0)


def never_from(flat: FlatTree, leaves: np.ndarray) -> np.ndarray:
    """`never`, from `leaves_never` (one row per leaf, in `flat.leaves` order)."""
    zero = np.zeros((len(flat.nodes), leaves.shape[1]), bool)
    zero[flat.leaves] = leaves
    for start, end in reversed(flat.level_bounds):
        gates = start + np.flatnonzero(flat.gate[start:end] != LEAF)
        if not gates.size:
            continue
        lo = int(flat.first_child[gates[0]])         # a level's gates' children: one run, in order
        kids = zero[lo:int(flat.first_child[gates[-1]] + flat.n_children[gates[-1]])]
        starts = flat.first_child[gates] - lo
        every, some = np.logical_and.reduceat(kids, starts, axis=0), np.logical_or.reduceat(kids, starts, axis=0)
        zero[gates] = np.where((flat.gate[gates] == GATES.index("or"))[:, None], every, some)
    return zero[0]


BY_LEVELS = 256                # nodes: a smaller tree costs less node by node (no copies into groups)


def paired_clocks(flat: FlatTree, a: tuple, b: tuple, horizon: int, exact: bool) -> tuple[np.ndarray, np.ndarray]:
    """`root_clock` of two sets of leaves over the same columns (a scenario with its controls and
    without them): b's subtrees whose leaves are a's taken from a's (`node_clocks`)."""
    Fa, kept = node_clocks(flat, a, horizon, exact, keep=True)
    return Fa, node_clocks(flat, b, horizon, exact, reference=(a, kept))[0]


def node_clocks(flat: FlatTree, leaves: tuple, horizon: int, exact: bool, *, reference: tuple | None = None,
                keep: bool = False) -> tuple[np.ndarray, dict | None]:
    """`root_clock` node by node, depth first (only one path's siblings held at once), and (with
    `keep`) every node's clock and every tail of a `sand` gate's children (node i's children from
    the j-th on: key (i, j)), for use as a reference.

    `reference`: (leaves, kept clocks) of the same tree over the same columns. A subtree whose
    leaves are the reference's, and a `sand` tail all of whose children are, takes the
    reference's clock rather than computing it: the same numbers, to the bit, since they are
    computed from the same arrays in the same way."""
    leaves = tuple(np.asarray(x, float) for x in leaves)
    row = {int(i): k for k, i in enumerate(flat.leaves)}
    dtype = np.float64 if exact else np.float32
    if reference is not None:
        theirs, known = reference
        alike = np.logical_and.reduce([(x == np.asarray(y, float)).all(axis=1) for x, y in zip(leaves, theirs)])
    kept: dict = {}

    def node(i: int) -> tuple[np.ndarray, bool]:
        """(F, whether the subtree's leaves are the reference's)."""
        if i in row:
            k = row[i]
            if reference is not None and alike[k]:
                return kept_as(i, known[i]), True
            return kept_as(i, leaf_clock(leaves[0][k], leaves[1][k], leaves[2][k], horizon, dtype)), False
        lo, m = int(flat.first_child[i]), int(flat.n_children[i])
        kids = [node(c) for c in range(lo, lo + m)]
        if all(same for _, same in kids):
            return kept_as(i, known[i]), True
        rule = GATES[flat.gate[i]]
        if rule != "sand":
            F = first_of([F for F, _ in kids]) if rule == "or" else last_of([F for F, _ in kids])
            return kept_as(i, F), False
        F, same = kids[-1]                         # as in_order, from the last child: a shared tail once
        for j in range(m - 2, -1, -1):
            same = same and kids[j][1]
            F = kept_as((i, j), known[(i, j)] if same else then(kids[j][0], F, horizon, exact))
        return kept_as(i, F), False

    def kept_as(key, F: np.ndarray) -> np.ndarray:
        if keep:
            kept[key] = F
        return F

    return node(0)[0], (kept if keep else None)


def sweep_columns(p: np.ndarray, tau: np.ndarray, cap: np.ndarray) -> np.ndarray | None:
    """Which leaves (rows) each column changes from the first, when columns are a sweep's (each
    differs from the first in few leaves); None otherwise."""
    if p.shape[1] < 2:
        return None
    differs = (p != p[:, :1]) | (tau != tau[:, :1]) | (cap != cap[:, :1])
    return differs if differs.sum() * 4 < differs.size else None


def _from_first_column(flat: FlatTree, p, tau, cap, differs: np.ndarray, horizon: int, exact: bool) -> np.ndarray:
    """`root_clock` of columns that differ from the first in the leaves marked in `differs`."""
    first = _first_column(flat, p[:, :1], tau[:, :1], cap[:, :1], horizon, exact)
    changed = _levels(flat, (p, tau, cap), differs, horizon, exact, first={i: F for i, (_, F) in first.items()})
    F0 = first[0][1]
    if 0 not in changed:
        return np.repeat(F0, p.shape[1], axis=0)
    columns, F = changed[0]
    out = np.empty((p.shape[1], max(F0.shape[1], F.shape[1])), F0.dtype)
    _carry(out, F0)
    out[columns] = _carried(F, out.shape[1])
    return out


_FIRST: OrderedDict = OrderedDict()     # (tree, leaves, horizon) -> every node's clock for one column
_FIRST_KEPT = [0]                       # bytes of the clocks in _FIRST
_FIRST_LOCK = threading.Lock()          # the cache is shared by the threads that compute routes' clocks
FIRST_BYTES = 256 << 20


def _first_column(flat: FlatTree, p, tau, cap, horizon: int, exact: bool) -> dict:
    """Every node's clock for one column, the most recent kept: a screen and its sweep, and the
    clocks with and without controls, evaluate columns around the same first one again and again.
    Safe to call from several threads (two may compute the same column: the same numbers)."""
    digest = hashlib.blake2b(digest_size=16)
    for a in (p, tau, cap):
        digest.update(np.ascontiguousarray(a, float))       # its buffer: no copy
    key = (id(flat), horizon, exact, digest.hexdigest())
    with _FIRST_LOCK:
        hit = _FIRST.get(key)
        if hit is not None and hit[0] is flat:
            _FIRST.move_to_end(key)
            return hit[1]
    clocks = _levels(flat, (p, tau, cap), np.ones(p.shape, bool), horizon, exact, keep=True)
    for _, F in clocks.values():
        F.flags.writeable = False
    size = sum(F.nbytes for _, F in clocks.values())
    with _FIRST_LOCK:
        old = _FIRST.pop(key, None)
        _FIRST[key] = (flat, clocks, size)
        _FIRST_KEPT[0] += size - (old[2] if old is not None else 0)
        while len(_FIRST) > 1 and _FIRST_KEPT[0] > FIRST_BYTES:
            _FIRST_KEPT[0] -= _FIRST.popitem(last=False)[1][2]
    return clocks


def _levels(flat: FlatTree, leaves: tuple, which: np.ndarray, horizon: int, exact: bool, *,
            keep: bool = False, first: dict | None = None) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    """Each node's clock for some of the columns, bottom up: node -> (columns, F), F having one row
    per column. The leaves' columns are those marked in `which` (leaf x column); a gate's are its
    children's, each child's other columns being `first`'s single row (every node's clock for the
    columns not marked), or every column when nothing is `first`. Children are dropped once their
    parent is computed unless `keep`."""
    p, tau, cap = leaves
    dtype = np.float64 if exact else np.float32      # draws: single precision, 1e-7 against their spread
    clocks: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    ks, cs = np.nonzero(which)                       # leaf by leaf, columns in order
    every = np.arange(p.shape[1]) if first is None else None    # every node has every column: one array
    settle = settling(p[ks, cs], tau[ks, cs], cap[ks, cs], horizon, settled_at(dtype))
    bounds = np.searchsorted(ks, np.arange(p.shape[0] + 1))
    present = np.flatnonzero(np.diff(bounds))
    days = np.minimum(horizon, np.maximum.reduceat(settle, bounds[present])).astype(np.intp) if present.size else []
    for group in _alike(days) if present.size else ():
        rows = np.concatenate([np.arange(bounds[present[j]], bounds[present[j] + 1]) for j in group])
        block = leaf_clock(p[ks[rows], cs[rows]], tau[ks[rows], cs[rows]], cap[ks[rows], cs[rows]], horizon, dtype)
        at = 0
        for j in group:
            k = present[j]
            n = bounds[k + 1] - bounds[k]
            columns = every if every is not None else cs[bounds[k]:bounds[k + 1]]
            clocks[int(flat.leaves[k])] = (columns, block[at:at + n, :days[j] + 1])
            at += n
    base = int(flat.n_children.max()) + 1
    for start, end in reversed(flat.level_bounds):
        gates = start + np.flatnonzero(flat.gate[start:end] != LEAF)
        if first is not None:                        # only gates above a changed leaf
            gates = np.array([i for i in gates if any(int(flat.first_child[i]) + c in clocks
                                                      for c in range(int(flat.n_children[i])))], np.intp)
        if not gates.size:
            continue
        kinds = flat.gate[gates].astype(np.int64) * base + flat.n_children[gates]
        for kind in np.unique(kinds):
            same = gates[kinds == kind]
            gate, m = GATES[kind // base], int(kind % base)
            kids = [[int(flat.first_child[i]) + c for c in range(m)] for i in same]
            parts = [[clocks.get(c) if keep else clocks.pop(c, None) for c in row] for row in kids]
            columns = [_union(row) for row in parts]
            ends = np.array([_settles(gate, [_days_of(c, part, first) for c, part in zip(ids, row)], horizon)
                             for ids, row in zip(kids, parts)])
            for group in _alike(ends):
                stacked = [_stack([(parts[j][c], columns[j], first and first.get(kids[j][c])) for j in group])
                           for c in range(m)]
                out = (first_of(stacked) if gate == "or" else last_of(stacked) if gate == "and"
                       else in_order(stacked, horizon, exact))
                at = 0
                for j in group:
                    n = columns[j].size
                    clocks[int(same[j])] = (columns[j], out[at:at + n, :ends[j] + 1])
                    at += n
    return clocks


def _union(parts: list) -> np.ndarray:
    """The columns a gate is computed for: its children's."""
    sets = [c for c, _ in (x for x in parts if x is not None)]
    if all(s is sets[0] or np.array_equal(s, sets[0]) for s in sets):
        return sets[0]
    return np.unique(np.concatenate(sets))


def _days_of(node: int, part, first: dict | None) -> int:
    """A child's settling day in its gate: its own rows', and the first column's where it uses them."""
    days = [F.shape[1] - 1 for F in ((part[1] if part is not None else None),
                                      (first.get(node) if first is not None else None)) if F is not None]
    return max(days)


def _stack(children: list[tuple]) -> np.ndarray:
    """One child of each gate of a group as one array: per gate, a row for each of its columns
    (the child's own rows where it has them, else the first column's row), each row carried on
    to the latest settling day."""
    if len(children) == 1 and children[0][0] is not None and children[0][0][0].size == children[0][1].size:
        return children[0][0][1]                                   # a gate alone: its child as it is
    T = max(max(F.shape[1] for F in (part[1] if part is not None else None, row) if F is not None)
            for part, _, row in children) - 1
    dtype = next(F for part, _, row in children for F in (part and part[1], row) if F is not None).dtype
    out = np.empty((sum(columns.size for _, columns, _ in children), T + 1), dtype=dtype)
    at = 0
    for part, columns, row in children:
        rows = out[at:at + columns.size]
        at += columns.size
        if part is not None and part[0].size == columns.size:
            _carry(rows, part[1])
            continue
        _carry(rows, row)                                          # the first column's, then the child's own
        if part is not None:
            rows[np.searchsorted(columns, part[0])] = _carried(part[1], T + 1)
    return out


def _carry(out: np.ndarray, F: np.ndarray) -> None:
    """F into `out` (rows broadcast), carried on at its settled value past its last day."""
    out[:, :F.shape[1]] = F[:, :out.shape[1]]
    out[:, F.shape[1]:] = F[:, -1:]


def _carried(F: np.ndarray, length: int) -> np.ndarray:
    out = np.empty((F.shape[0], length), F.dtype)
    _carry(out, F)
    return out


def settling(p: np.ndarray, tau: np.ndarray, cap: np.ndarray, horizon: int, settled: float = SETTLED) -> np.ndarray:
    """The day each leaf draw's F settles (`leaf_clock`'s T for that draw alone), elementwise;
    `settled` as `settled_at` the clock's precision."""
    q = 1.0 - p
    live = (p > 0) & (q < 1) & np.isfinite(tau)          # p below 1e-16: 1 - p is 1, F is 0
    with np.errstate(invalid="ignore"):
        settle = np.where(live, np.ceil(np.minimum(cap, _enough(q, settled)) * tau) + 1, 0.0)
    return np.nan_to_num(settle, nan=0.0, posinf=float(horizon))


def _enough(q: np.ndarray, settled: float = SETTLED) -> np.ndarray:
    """Attempts after which (1 - p)^k is below `settled`: F is 1.0 from there on."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(q > 0, np.ceil(np.log(settled) / np.log(q)) + 1, 1.0)


def _settles(gate: str, days: list[int], horizon: int) -> int:
    """A gate's settling day from its children's, as `first_of`, `last_of` and `in_order` find it."""
    if gate != "sand":
        return max(days)
    out = days[-1]
    for d in reversed(days[:-1]):
        out = min(horizon, d + out)
    return out


def _alike(days: np.ndarray) -> list[np.ndarray]:
    """Indexes grouped by settling day within a factor of two (a group pads its rows to its latest)."""
    bucket = np.ceil(np.log2(np.asarray(days, float) + 1)).astype(int)
    order = np.argsort(bucket, kind="stable")
    cuts = np.flatnonzero(np.diff(bucket[order])) + 1
    return np.split(order, cuts)
