"""Each route's clock for many draws: computed in blocks of draws on the machine's cores, and kept
for pathways whose leaves come again (DESIGN.md "The clock"; the clock itself is clock.py).

A route's clock is computed as a `Plan`: independent tasks (one per block of draws; the blocks
of every route of a setting go to the cores together, so that two cores share the work even
when one pathway costs most of it) and a step that glues their results. A block is computed
exactly as it would be alone, so the numbers do not depend on the number of cores.
"""
from __future__ import annotations

import hashlib
import os
import threading
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from threatkit.analysis.assess import leaf_table
from threatkit.analysis.clock import (
    BY_LEVELS, leaves_never, never_from, node_clocks, paired_clocks, root_clock, settled_at, settling, sweep_columns)
from threatkit.model.values import Pathway

CLOCK_BYTES = 256 << 20   # about what a block of draws of a tree's clock may hold at once
BLOCK_BYTES = 4 << 20     # one node's clock for a block of draws: about what stays in cache


@dataclass(frozen=True)
class Plan:
    """Work whose `tasks` (callables without arguments) may run on any thread, in any order;
    `combine` makes the result from their results, in the tasks' order."""

    tasks: tuple[Callable[[], object], ...]
    combine: Callable[[list], object]

    @classmethod
    def done(cls, value) -> Plan:
        return cls((), lambda _: value)

    def then(self, f: Callable[[object], object]) -> Plan:
        return Plan(self.tasks, lambda parts: f(self.combine(parts)))


def run_plans(plans: list[Plan], width: int) -> list:
    """Each plan's result, in order; every plan's tasks run together on the machine's cores."""
    results = on_cores([task for plan in plans for task in plan.tasks], width)
    out, at = [], 0
    for plan in plans:
        n = len(plan.tasks)
        out.append(plan.combine(results[at:at + n]))
        at += n
    return out


_CORES: list[int | None] = [None]     # cores this process's work may use (None: the machine's)


def use_cores(n: int | None) -> int | None:
    """Let this process's work use `n` cores (None: every core of the machine); returns the
    previous setting. For a process that runs beside others on the same cores (a batch's jobs,
    as many as the cores): threads of its own would only contend with them."""
    previous, _CORES[0] = _CORES[0], (None if n is None else max(1, int(n)))
    return previous


def cores() -> int:
    return _CORES[0] or os.cpu_count() or 1


def on_cores(tasks: list, width: int) -> list:
    """The tasks' results in order, on the cores this process may use (`use_cores`): the clocks
    are independent, pure numpy (which works outside the interpreter lock)."""
    n = cores()
    if len(tasks) < 2 or n < 2 or width < 64:      # small work: threads cost more
        return [task() for task in tasks]
    with ThreadPoolExecutor(min(len(tasks), n)) as pool:
        return list(pool.map(lambda task: task(), tasks))


def route_clocks(leaves: list, last: list[int], exact: bool, kept: ClockMemo | None = None) -> list[np.ndarray]:
    """Each pathway's clock from its leaves' (p, tau, cap), to its route's last day read (`last`).
    With `kept`, a pathway whose leaves are those of a kept clock takes that clock, and each clock
    not kept is computed once (routes may share one) and kept."""
    items = [(pw, rows, days) for (pw, rows), days in zip(leaves, last)]
    if kept is None:
        return run_plans([clock_plan(pw, rows, days, exact) for pw, rows, days in items], _width(leaves))
    keys = [kept.key(pw, rows, days, exact) for pw, rows, days in items]
    found: dict = {}
    for k in keys:
        found.setdefault(k, kept.get(k))
    todo = {k: item for k, item in zip(keys, items) if found[k] is None}
    slot = {k: i for i, k in reversed(list(enumerate(keys)))}     # the route the reference is kept for
    made = run_plans([kept.plan(pw, rows, days, exact, slot[k]) for k, (pw, rows, days) in todo.items()],
                     _width(leaves))
    for k, clock in zip(todo, made):
        found[k] = clock
        kept.put(k, clock)
    return [found[k] for k in keys]


def route_clock_pairs(a: list, b: list, last: list[int], exact: bool,
                      kept: ClockMemo | None = None) -> list[tuple[np.ndarray, np.ndarray]]:
    """`route_clocks` of two lists of the same pathways on the same routes: one clock where their
    leaves are the same, else both computed together (`pair_plan`). With `kept`, a clock kept
    for the same leaves is taken, and the clocks computed are kept."""
    keys = [(kept.key(pw, rows_a, days, exact), kept.key(pw, rows_b, days, exact)) if kept else (None, None)
            for (pw, rows_a), (_, rows_b), days in zip(a, b, last)]
    found = {k: kept.get(k) for pair in keys for k in pair} if kept else {}

    def plan(pw, rows_a, rows_b, days, key_a, key_b) -> Plan:
        Fa, Fb = found.get(key_a), found.get(key_b)
        if Fa is not None and Fb is not None:
            return Plan.done((Fa, Fb))
        if all(np.array_equal(x, y) for x, y in zip(rows_a, rows_b)):
            return clock_plan(pw, rows_a, days, exact).then(lambda F: (F, F))
        if Fa is None and Fb is None:
            return pair_plan(pw, rows_a, rows_b, days, exact)
        if Fa is None:
            return clock_plan(pw, rows_a, days, exact).then(lambda F: (F, Fb))
        return clock_plan(pw, rows_b, days, exact).then(lambda F: (Fa, F))
    made = run_plans([plan(pw, rows_a, rows_b, days, *pair)
                      for ((pw, rows_a), (_, rows_b)), days, pair in zip(zip(a, b), last, keys)], _width(a))
    if kept is not None:
        for (key_a, key_b), (Fa, Fb) in zip(keys, made):
            kept.put(key_a, Fa)
            kept.put(key_b, Fb)
    return made


def _width(leaves: list) -> int:
    return leaves[0][1][0].shape[1] if leaves else 0


class ClockMemo:
    """Clocks by the content of their leaves, the most recent within `limit` bytes: an explorer's
    settings differ in a control or two, and every pathway no control of theirs touches has the
    same leaves, so the same clock (read-only).

    And, per pathway, a reference: every node's clock for the leaves it was last computed from
    (within `reference_limit` bytes in all). A pathway a control does touch then recomputes only
    the nodes above the leaves the control changes (clock.node_clocks)."""

    def __init__(self, limit: float = 256 << 20, reference_limit: float = 128 << 20):
        self.limit, self._kept = limit, OrderedDict()
        self.reference_limit, self._references, self._lock = reference_limit, {}, threading.Lock()
        self._pathways: dict[int, Pathway] = {}

    def plan(self, pathway: Pathway, leaves: tuple, horizon: int, exact: bool, route: int = 0) -> Plan:
        """`clock_plan`, from the reference of the pathway on that route (its place in the
        setting's routes x pathways) when it has one; its nodes then kept as the reference, room
        allowing. Its tasks may run on several threads."""
        flat = leaf_table(pathway).flat
        if (zero := _zero_clock(pathway, leaves, exact)) is not None:
            return Plan.done(zero)
        layout = _layout(leaves, horizon, exact)
        if len(flat.nodes) >= BY_LEVELS or layout[0] != "blocks":
            return clock_plan(pathway, leaves, horizon, exact, layout)
        block = layout[1]
        self._pathways[id(pathway)] = pathway
        key = (id(pathway), pathway.id, route, horizon, exact, leaves[0].shape, block)
        with self._lock:
            size, parts = self._references.get(key, (0, None))
        blocks = [tuple(x[:, lo:lo + block] for x in leaves) for lo in range(0, leaves[0].shape[1], block)]
        tasks = tuple(lambda b=b, part=part: node_clocks(flat, part, horizon, exact, keep=True,
                                                         reference=parts[b] if parts else None)
                      for b, part in enumerate(blocks))

        def combine(made: list) -> np.ndarray:
            new = sum(F.nbytes for _, kept in made for F in {id(F): F for F in kept.values()}.values())
            with self._lock:                    # the latest becomes the reference: the next setting is near it
                if self._reference_bytes() - size + new <= self.reference_limit:
                    self._references[key] = (new, [(part, kept) for part, (_, kept) in zip(blocks, made)])
            return stack_clocks([F for F, _ in made])
        return Plan(tasks, combine)

    def _reference_bytes(self) -> int:
        return sum(size for size, _ in self._references.values())

    def key(self, pathway: Pathway, rows: tuple, horizon: int, exact: bool) -> tuple:
        self._pathways[id(pathway)] = pathway      # named by id in the key: kept alive, its id is no other's
        digest = hashlib.blake2b(digest_size=16)
        for a in rows:
            digest.update(np.ascontiguousarray(a, float))       # its buffer: no copy
        return (id(pathway), pathway.id, horizon, exact, rows[0].shape, digest.hexdigest())

    def get(self, key):
        clock = self._kept.get(key)
        if clock is not None:
            self._kept.move_to_end(key)
        return clock

    def put(self, key, clock: np.ndarray) -> None:
        if self.limit <= 0:
            return
        clock.flags.writeable = False
        self._kept[key] = clock
        while sum(c.nbytes for c in self._kept.values()) > self.limit and len(self._kept) > 1:
            self._kept.popitem(last=False)


def clock_of(pathway: Pathway, leaves: tuple, horizon: int, exact: bool = True) -> np.ndarray:
    """The pathway's clock, F_root over days 0..T for each column, from its leaves' (p, tau, cap)
    rows; `exact` as in clock.root_clock."""
    return run_plans([clock_plan(pathway, leaves, horizon, exact)], leaves[0].shape[1])[0]


def clock_plan(pathway: Pathway, leaves: tuple, horizon: int, exact: bool = True,
               layout: tuple | None = None) -> Plan:
    """`clock_of` as a Plan: a task per block of columns. `layout`: `_layout` of the leaves, when
    the caller has it."""
    flat = leaf_table(pathway).flat
    if (zero := _zero_clock(pathway, leaves, exact)) is not None:
        return Plan.done(zero)
    p, tau, cap = leaves
    kind, how = layout or _layout(leaves, horizon, exact)
    if kind == "sweep":                   # a sweep's columns cost only what they change
        return Plan((lambda: root_clock(flat, leaves, horizon, exact),), lambda parts: parts[0])
    if kind == "repeats":                 # columns with the same leaves have the same clock (Sobol'
        first, again = how                # columns that move other inputs)
        order = np.sort(first)                       # the distinct columns, in their first order
        position = np.empty(again.size, np.intp)
        position[order] = np.arange(order.size)
        distinct = clock_plan(pathway, (p[:, order], tau[:, order], cap[:, order]), horizon, exact)
        return distinct.then(lambda clock: clock[position[first][again]])
    return Plan(tuple(lambda lo=lo: root_clock(flat, tuple(x[:, lo:lo + how] for x in leaves), horizon, exact)
                      for lo in range(0, p.shape[1], how)), stack_clocks)


def pair_plan(pathway: Pathway, a: tuple, b: tuple, horizon: int, exact: bool = True) -> Plan:
    """(clock_of(pathway, a, ...), clock_of(pathway, b, ...)) for leaves over the same columns:
    block by block as clock_of, each subtree the two share computed once (clock.paired_clocks)."""
    flat = leaf_table(pathway).flat
    za, zb = _zero_clock(pathway, a, exact), _zero_clock(pathway, b, exact)
    if za is not None or zb is not None:          # one side costs nothing: the other alone
        return _both(Plan.done(za) if za is not None else clock_plan(pathway, a, horizon, exact),
                     Plan.done(zb) if zb is not None else clock_plan(pathway, b, horizon, exact))
    la, lb = _layout(a, horizon, exact), _layout(b, horizon, exact)
    if len(flat.nodes) >= BY_LEVELS or la[0] != "blocks" or lb[0] != "blocks" or la[1] != lb[1]:
        return _both(clock_plan(pathway, a, horizon, exact, la), clock_plan(pathway, b, horizon, exact, lb))
    block = la[1]
    tasks = tuple(lambda lo=lo: paired_clocks(flat, tuple(x[:, lo:lo + block] for x in a),
                                              tuple(x[:, lo:lo + block] for x in b), horizon, exact)
                  for lo in range(0, a[0].shape[1], block))
    return Plan(tasks, lambda parts: (stack_clocks([x for x, _ in parts]), stack_clocks([y for _, y in parts])))


def _both(one: Plan, other: Plan) -> Plan:
    """Two plans as one, whose result is the pair of theirs."""
    n = len(one.tasks)
    return Plan(one.tasks + other.tasks, lambda parts: (one.combine(parts[:n]), other.combine(parts[n:])))


def _zero_clock(pathway: Pathway, leaves: tuple, exact: bool) -> np.ndarray | None:
    """The clock of a pathway that succeeds in none of the columns (`clock.never`): 0 from day
    0 on (one day: a clock is carried on at its last value); None otherwise. Worked out on one
    column, a leaf counting as unable where it is in every column: a tree's worth of booleans,
    not one per column (a sweep of a huge tree has thousands), and the shortcut only misses a
    tree that some step stops in some columns and another step in the others."""
    unable = leaves_never(*leaves).all(axis=1, keepdims=True)
    if not never_from(leaf_table(pathway).flat, unable)[0]:
        return None
    return np.zeros((leaves[0].shape[1], 1), np.float64 if exact else np.float32)


def _block_size(leaves: tuple, horizon: int, exact: bool) -> int:
    """Columns computed at once: a node's clock (columns x days) within BLOCK_BYTES, so that a
    block's arrays stay in cache, and the clock's every level (about thrice every leaf's days per
    column) within CLOCK_BYTES. Short clocks (the days a route is read on are few) take wide
    blocks: numpy's work is the same, the interpreter's is per block."""
    p, tau, cap = leaves
    dtype = np.float64 if exact else np.float32
    days = np.minimum(horizon, settling(p, tau, cap, horizon, settled_at(dtype))).max(axis=1)
    itemsize = np.dtype(dtype).itemsize
    widest = itemsize * (1 + int(days.max(initial=0.0)))
    every = 3 * itemsize * max(1, int(days.sum()))
    return max(1, min(BLOCK_BYTES // widest, CLOCK_BYTES // every))


def _layout(leaves: tuple, horizon: int, exact: bool) -> tuple[str, object]:
    """How clock_of computes these columns, worked out once: ("sweep", None) for a sweep's (each
    differing from the first in few leaves), ("repeats", (first, again)) when some columns repeat
    (`_repeats`), else ("blocks", columns at once)."""
    if sweep_columns(*leaves) is not None:
        return "sweep", None
    repeats = _repeats(leaves)
    if repeats is not None:
        return "repeats", repeats
    return "blocks", _block_size(leaves, horizon, exact)


def _repeats(leaves: tuple) -> tuple[np.ndarray, np.ndarray] | None:
    """(each distinct column's first index, each column's distinct one) when some columns are
    the same in every leaf, else None."""
    table = np.concatenate(leaves)
    varies = np.flatnonzero(table.min(axis=1, initial=np.inf) < table.max(axis=1, initial=-np.inf))
    if varies.size and np.unique(table[varies[0]]).size == table.shape[1]:
        return None                      # one leaf's values all differ (drawn): no column repeats
    table = table.T
    _, first, again = np.unique(table, axis=0, return_index=True, return_inverse=True)
    return (first, again.reshape(-1)) if len(first) < table.shape[0] else None


def stack_clocks(parts: list[np.ndarray]) -> np.ndarray:
    """Clocks of blocks of columns as one: each carried on to the latest settling day."""
    if len(parts) == 1:
        return parts[0]
    out = np.empty((sum(F.shape[0] for F in parts), max(F.shape[1] for F in parts)), dtype=parts[0].dtype)
    lo = 0
    for F in parts:
        hi = lo + F.shape[0]
        out[lo:hi, :F.shape[1]] = F
        out[lo:hi, F.shape[1]:] = F[:, -1:]
        lo = hi
    return out
