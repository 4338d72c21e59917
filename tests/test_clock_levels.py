"""The clock computed level by level (and, for a sweep's columns, from the first column) gives
every draw the same numbers, to the bit, as the definition node by node.

The reference is the clock as DESIGN.md defines it, one node at a time, depth first
(`clock.node_clocks`, which small trees still use): a leaf's F from `leaf_clock`, an `or` from `first_of`, an `and` from `last_of`, a `sand` from
`then`, folded from its last child as `in_order` does. `root_clock` groups nodes alike into one array per level, and for columns that each
differ from the first in a few leaves computes only the paths above those leaves; neither may
change a number. Random trees of every shape, with the edge cases of a leaf (p of 0, 1 and
1e-300; instant, slow and never-ending attempts; capped and uncapped).
"""
from __future__ import annotations

from unittest import mock

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from threatkit.analysis import clock
from threatkit.analysis.clock import root_clock
from threatkit.analysis.trees import GATES, FlatTree
from threatkit.model.values import Node

P = [0.0, 1e-300, 0.01, 0.3, 0.5, 0.9, 1.0]
TAU = [0.0, 0.5, 1.0, 3.0, 7.0, 30.0, np.inf]
CAP = [1.0, 2.0, 5.0, np.inf]
HORIZON = 400


def node_by_node(flat: FlatTree, leaves, horizon: int, exact: bool) -> np.ndarray:
    """The definition: each node from its children, depth first (what root_clock does for small trees)."""
    return clock.node_clocks(flat, leaves, horizon, exact)[0]


def random_tree(rng: np.random.Generator) -> Node:
    count = iter(range(10 ** 6))

    def make(depth: int) -> Node:
        if depth == 0 or rng.random() < 0.25:
            return Node(id=f"n{next(count)}", p=0.5, time_days=1)
        kids = [make(depth - 1) for _ in range(int(rng.integers(1, 5)))]
        return Node(id=f"n{next(count)}", gate=GATES[int(rng.integers(3))], children=kids)

    return make(int(rng.integers(0, 6)))


def random_leaves(rng: np.random.Generator, n: int, width: int) -> list[np.ndarray]:
    return [rng.choice(values, size=(n, width)) for values in (P, TAU, CAP)]


def same(a: np.ndarray, b: np.ndarray) -> bool:
    """b is a carried on to b's last day: equal to the bit where both are defined, a's settled value after."""
    T = a.shape[1]
    return a.shape[0] == b.shape[0] and np.array_equal(a, b[:, :T]) and bool((b[:, T:] == a[:, -1:]).all())


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2 ** 32 - 1))
def test_level_by_level_is_node_by_node(seed):
    rng = np.random.default_rng(seed)
    flat = FlatTree.of(random_tree(rng))
    leaves = random_leaves(rng, len(flat.leaves), int(rng.integers(1, 6)))
    with mock.patch.object(clock, "BY_LEVELS", 0):          # however small (else computed node by node)
        exact, draws = root_clock(flat, leaves, HORIZON, True), root_clock(flat, leaves, HORIZON, False)
    assert same(node_by_node(flat, leaves, HORIZON, True), exact)
    # draws: the FFT's last bits depend on the block, so equal to single precision
    expected, got = node_by_node(flat, leaves, HORIZON, False), draws
    T = expected.shape[1]
    assert got.shape[0] == expected.shape[0] and np.allclose(expected, got[:, :T], atol=2e-6)


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2 ** 32 - 1))
def test_a_sweeps_columns_are_each_as_alone(seed):
    """Column 0 at the modes, columns 2k + 1 and 2k + 2 with one field of leaf k changed: each
    column's clock is that of the column computed alone."""
    rng = np.random.default_rng(seed)
    flat = FlatTree.of(random_tree(rng))
    n = len(flat.leaves)
    leaves = [np.repeat(x, 1 + 2 * n, axis=1) for x in random_leaves(rng, n, 1)]
    for k in range(n):
        for column in (2 * k + 1, 2 * k + 2):
            field = int(rng.integers(3))
            leaves[field][k, column] = rng.choice((P, TAU, CAP)[field])
    with mock.patch.object(clock, "BY_LEVELS", 0):
        got = root_clock(flat, leaves, HORIZON, True)
    for column in range(1 + 2 * n):
        alone = node_by_node(flat, [x[:, column:column + 1] for x in leaves], HORIZON, True)
        assert same(alone, got[column:column + 1]), column


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2 ** 32 - 1), st.booleans())
def test_a_pair_of_leaves_gives_each_its_own_clock(seed, exact):
    """A scenario with its controls and without them (`paired_clocks`): the subtrees whose leaves
    the two share are computed once, and each clock is, to the bit, the one it has alone."""
    rng = np.random.default_rng(seed)
    flat = FlatTree.of(random_tree(rng))
    n, width = len(flat.leaves), int(rng.integers(1, 6))
    a = random_leaves(rng, n, width)
    b = [x.copy() for x in a]
    for k in np.flatnonzero(rng.random(n) < 0.3):           # some leaves moved in some columns
        field = int(rng.integers(3))
        b[field][k, rng.random(width) < 0.5] = rng.choice((P, TAU, CAP)[field])
    Fa, Fb = clock.paired_clocks(flat, a, b, HORIZON, exact)
    assert np.array_equal(Fa, node_by_node(flat, a, HORIZON, exact))
    assert np.array_equal(Fb, node_by_node(flat, b, HORIZON, exact))


@settings(max_examples=100, deadline=None)
@given(st.integers(0, 2 ** 32 - 1), st.booleans())
def test_a_pathway_that_never_succeeds_is_known_from_its_leaves(seed, exact):
    """`never` marks a column only where the clock, by its definition, is 0 on every day (its
    route's clock is then zeros, not computed); with a third of the leaves unable to succeed,
    most trees have both kinds of column."""
    rng = np.random.default_rng(seed)
    flat = FlatTree.of(random_tree(rng))
    n, width = len(flat.leaves), int(rng.integers(1, 8))
    p, tau, cap = random_leaves(rng, n, width)
    cannot = rng.random((n, width)) < 0.3
    p[cannot & (rng.random((n, width)) < 0.5)] = 0.0
    cap[cannot & (p > 0)] = 0.0                              # no attempt allowed (a budget below one try)
    marked = clock.never(flat, p, tau, cap)
    zero = ~node_by_node(flat, (p, tau, cap), HORIZON, exact).any(axis=1)
    assert not (marked & ~zero).any()


def test_never_follows_each_gates_rule():
    """An `or` can succeed through any child, `and` and `sand` need every one."""
    live, dead = Node(id="live", p=0.5, time_days=1), Node(id="dead", p=0.5, time_days=1)
    for gate, expected in (("or", False), ("and", True), ("sand", True)):
        for kids in ([live, dead], [dead, live]):
            flat = FlatTree.of(Node(id="root", gate=gate, children=kids))
            leaves = [np.array([[0.5], [0.5]]), np.array([[1.0], [1.0]]), np.ones((2, 1))]
            leaves[2][[k.id for k in kids].index("dead")] = 0.0  # no attempt: never succeeds
            assert clock.never(flat, *leaves).tolist() == [expected], (gate, [k.id for k in kids])
            assert (not node_by_node(flat, leaves, HORIZON, True).any()) == expected


def test_the_first_columns_cache_is_safe_from_several_threads():
    # The routes' clocks are computed on threads, and sweeps share the first column's clocks
    # through one cache. Unlocked, a thread inserting while another summed the cache's sizes
    # raised "OrderedDict mutated during iteration" (a report failed so in a full test run).
    # Many entries make that sum long enough for the threads to meet every time.
    import threading
    from collections import OrderedDict

    rng = np.random.default_rng(5)
    flat = FlatTree.of(random_tree(rng))
    n = len(flat.leaves)
    errors: list[str] = []

    def work(seed: int) -> None:
        draws = np.random.default_rng(seed)
        try:
            for _ in range(150):
                clock._first_column(flat, draws.random((n, 1)), np.full((n, 1), 3.0), np.full((n, 1), np.inf), 30, True)
        except Exception as exc:          # noqa: BLE001 - collected, asserted below
            errors.append(repr(exc))

    filler = OrderedDict((("filler", k), (None, {}, 0)) for k in range(50_000))
    with mock.patch.object(clock, "_FIRST", filler), mock.patch.object(clock, "_FIRST_KEPT", [0]), \
            mock.patch.object(clock, "FIRST_BYTES", 10 ** 12):
        threads = [threading.Thread(target=work, args=(seed,)) for seed in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert errors == []
