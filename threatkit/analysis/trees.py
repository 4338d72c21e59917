"""Attack-tree evaluation: the and/or/sand rules, vectorised over nodes and samples.

A tree is flattened breadth first, so that the children of the gates on one
level are exactly the next level, in order. Each level is then combined with
one `ufunc.reduceat` per rule, for every Monte Carlo sample at once. The rules
are a table (attribute x gate), after ADTool's "domains": changing how an
attribute combines is a one-line edit here.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from threatkit.model.values import Node

GATES = ("or", "and", "sand")
LEAF = -1
_GATE_CODE = {None: LEAF, **{g: k for k, g in enumerate(GATES)}}

# attribute -> gate -> reducer name
RULES: dict[str, dict[str, str]] = {
    "probability": {"or": "noisy_or", "and": "prod", "sand": "prod"},
    "cost_usd": {"or": "min", "and": "sum", "sand": "sum"},
    "time_days": {"or": "min", "and": "max", "sand": "sum"},
    "skill": {"or": "min", "and": "max", "sand": "max"},
}
ATTRIBUTES = tuple(RULES)


def _noisy_or(values: np.ndarray, starts: np.ndarray) -> np.ndarray:
    return 1.0 - np.multiply.reduceat(1.0 - values, starts, axis=0)


REDUCERS = {
    "sum": lambda v, s: np.add.reduceat(v, s, axis=0),
    "prod": lambda v, s: np.multiply.reduceat(v, s, axis=0),
    "min": lambda v, s: np.minimum.reduceat(v, s, axis=0),
    "max": lambda v, s: np.maximum.reduceat(v, s, axis=0),
    "noisy_or": _noisy_or,
}


@dataclass(frozen=True, eq=False)
class FlatTree:
    """A tree in breadth-first arrays. Node i's children are
    first_child[i] .. first_child[i] + n_children[i] - 1."""

    nodes: tuple[Node, ...]
    parent: np.ndarray
    gate: np.ndarray           # index into GATES, or LEAF
    first_child: np.ndarray
    n_children: np.ndarray
    depth: np.ndarray
    level_bounds: tuple[tuple[int, int], ...]   # [start, end) of each depth

    @classmethod
    def of(cls, root: Node) -> FlatTree:
        nodes: list[Node] = [root]
        parent = [-1]
        depth = [0]
        first_child: list[int] = []
        n_children: list[int] = []
        i = 0
        while i < len(nodes):     # the list grows as we go: a breadth-first queue
            node = nodes[i]
            kids = node.children or ()
            first_child.append(len(nodes))
            n_children.append(len(kids))
            nodes.extend(kids)
            parent.extend([i] * len(kids))
            depth.extend([depth[i] + 1] * len(kids))
            i += 1
        depth_arr = np.asarray(depth)
        bounds = np.searchsorted(depth_arr, np.arange(depth_arr[-1] + 2))
        return cls(
            nodes=tuple(nodes),
            parent=np.asarray(parent),
            gate=np.asarray([_GATE_CODE[n.gate] for n in nodes], dtype=np.int8),
            first_child=np.asarray(first_child),
            n_children=np.asarray(n_children),
            depth=depth_arr,
            level_bounds=tuple((int(a), int(b)) for a, b in zip(bounds[:-1], bounds[1:])),
        )

    @cached_property
    def leaves(self) -> np.ndarray:
        return np.flatnonzero(self.gate == LEAF)

    @cached_property
    def ids(self) -> tuple[str, ...]:
        return tuple(n.id for n in self.nodes)

    @cached_property
    def index(self) -> dict[str, int]:
        return {node_id: i for i, node_id in enumerate(self.ids)}

    @cached_property
    def preorder(self) -> tuple[np.ndarray, np.ndarray]:
        """(position of each node in depth-first order, end of its subtree there):
        node j is in i's subtree iff pre[i] <= pre[j] < end[i]."""
        n = len(self.nodes)
        pre = np.empty(n, dtype=np.int64)
        size = np.ones(n, dtype=np.int64)
        for i in range(n - 1, 0, -1):          # children come after parents: sizes bottom up
            size[self.parent[i]] += size[i]
        stack, k = [0], 0
        while stack:
            i = stack.pop()
            pre[i] = k
            k += 1
            lo, m = int(self.first_child[i]), int(self.n_children[i])
            stack.extend(range(lo + m - 1, lo - 1, -1))
        return pre, pre + size

    def subtree_mask(self, i: int, of: np.ndarray) -> np.ndarray:
        """For the nodes `of`, whether each lies in node i's subtree (i included)."""
        pre, end = self.preorder
        return (pre[of] >= pre[i]) & (pre[of] < end[i])


def combine(flat: FlatTree, leaf_values: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Every node's value of each attribute, from the leaves' values.

    `leaf_values[attr]` has one row per leaf (in `flat.leaves` order) and one
    column per sample, for some or all of ATTRIBUTES (each is combined alone: the
    others' values do not change its numbers); the result has one row per node.
    """
    samples = next(iter(leaf_values.values())).shape[1]
    out: dict[str, np.ndarray] = {}
    for attr in leaf_values:
        values = np.zeros((len(flat.nodes), samples))
        values[flat.leaves] = leaf_values[attr]
        out[attr] = values
    for start, end in reversed(flat.level_bounds):
        gates = start + np.flatnonzero(flat.gate[start:end] != LEAF)
        if gates.size == 0:
            continue
        child_lo = int(flat.first_child[gates[0]])
        child_hi = int(flat.first_child[gates[-1]] + flat.n_children[gates[-1]])
        starts = flat.first_child[gates] - child_lo
        kinds = flat.gate[gates]
        for attr in out:
            rule = RULES[attr]
            children = out[attr][child_lo:child_hi]
            reduced: dict[str, np.ndarray] = {}
            result = np.empty((gates.size, samples))
            for g, gate_name in enumerate(GATES):
                mask = kinds == g
                if not mask.any():
                    continue
                name = rule[gate_name]
                if name not in reduced:
                    reduced[name] = REDUCERS[name](children, starts)
                result[mask] = reduced[name][mask]
            out[attr][gates] = result
    return out


class NodeValues(Mapping):
    """Every node's value of each attribute (`combine`), each combined from the leaves' values
    when first read: most readers want one or two of them (the clock's inputs, a risk)."""

    def __init__(self, flat: FlatTree, leaf_values: dict[str, np.ndarray]):
        self._flat, self._leaves, self._nodes = flat, leaf_values, {}

    def __getitem__(self, attr: str) -> np.ndarray:
        values = self._nodes.get(attr)
        if values is None:
            values = self._nodes[attr] = combine(self._flat, {attr: self._leaves[attr]})[attr]
        return values

    def __iter__(self):
        return iter(self._leaves)

    def __len__(self) -> int:
        return len(self._leaves)


def cheapest_attack(flat: FlatTree, cost: np.ndarray) -> list[int]:
    """Node indexes of the min-cost attack: the cheapest child of each `or`
    (first on ties), every child of `and`/`sand`; leaves first to last.
    Empty when no attack is feasible (infinite root cost)."""
    if not np.isfinite(cost[0]):
        return []
    chosen: list[int] = []
    stack = [0]
    while stack:
        i = stack.pop()
        chosen.append(i)
        lo, n = int(flat.first_child[i]), int(flat.n_children[i])
        if n == 0:
            continue
        if GATES[flat.gate[i]] == "or":
            stack.append(lo + int(np.argmin(cost[lo:lo + n])))
        else:
            stack.extend(range(lo + n - 1, lo - 1, -1))
    return chosen
