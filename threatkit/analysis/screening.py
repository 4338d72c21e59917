"""Screening a big model's inputs before the one-at-a-time sweep: subtrees moved whole.

A sweep costs two columns per input, and a tree of thousands of steps has thousands of inputs,
nearly all of which move nothing much. Screening first moves the inputs of a whole subtree
together, to the end that hurts the actor (a step's p at its low percentile, its cost and time
at their high ones) and then to the end that helps it: two columns of one evaluation per
subtree, each computed only above the leaves it changes. The subtrees that move some output most
are broken down first, into their children and at last into single inputs, while the others
stay whole. Every other input (actor, tier, controls, curves, a step's queries, substitutes, and
any input of a model small enough) is swept one at a time, as without screening.

A subtree stays whole when, for every output, its inputs together move it no more than the
`keep`-th largest swing of a single input found so far (or than a millionth of the output's
largest swing, which no bar would show). Every output but the lead moves one way with each of
these inputs (the clock's properties: a step less likely, dearer or slower never brings
capability sooner), so none of them alone moves it more than they all do together, and none
would enter its top `keep`. The lead (a difference of two such days) has no such bound: the
screen keeps what moves it as it finds it, with no guarantee. A subtree also stays whole when the budget
of columns is spent: the screen says so, and how far its largest such subtree moved days to
durable, all its inputs together. The screen's columns are computed in single precision: it
ranks, and the sweep after it computes the rows it keeps exactly.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from threatkit.analysis.assess import leaf_table
from threatkit.analysis.simulate import quantiles
from threatkit.model.inputs import Input

SCREEN_ABOVE = 400      # inputs: a scenario with more has its steps screened (`sensitivity --help` says so)
KEEP = 10               # rows a tornado shows
BUDGET = 1200           # columns the screen may evaluate
ROUND = 96              # subtrees broken down per evaluation
VISIBLE = 1e-6          # of an output's largest swing: less moves no bar
HURTS_LOW = {"p": True, "cost_usd": False, "time_days": False}     # which end hurts the actor


@dataclass(frozen=True)
class Whole:
    """A subtree left whole: its pathway and node, how many inputs, and how far they moved
    days to durable, all together."""

    pathway: str
    node: str
    inputs: int
    days_swing: float


@dataclass(frozen=True)
class Screen:
    """What a screen kept: the inputs to sweep one at a time, out of `total`; the subtrees left whole."""

    inputs: tuple[Input, ...]
    total: int
    whole: tuple[Whole, ...]
    budget_spent: bool
    columns: int

    @property
    def screened(self) -> bool:
        return len(self.inputs) < self.total

    def sentence(self) -> str:
        """The screen for a reader (empty when every input is swept)."""
        if not self.screened:
            return ""
        left = sum(w.inputs for w in self.whole)
        text = (f"Of {self.total:,} uncertain inputs, {len(self.inputs):,} were swept one at a time: the steps' "
                f"inputs were first screened by moving each subtree's inputs together ({self.columns:,} evaluations), "
                f"and only the subtrees that moved the answer most were broken down.")
        if self.whole:
            most = max(self.whole, key=lambda w: w.days_swing)
            text += (f" {left:,} inputs in {len(self.whole):,} subtrees were left whole"
                     + (", the budget of evaluations being spent" if self.budget_spent else "") + "; ")
            if most.days_swing > 0:
                text += (f"all together, the inputs of the one that moves days to durable most ({most.node} in "
                         f"{most.pathway}, {most.inputs:,} inputs) move it by {_days(most.days_swing)}.")
            else:
                text += "none of them moves days to durable, even with all its inputs moved together."
        return text


def _days(x: float) -> str:
    return "an unbounded amount" if not np.isfinite(x) else f"{x:,.0f} days"


@dataclass
class _Group:
    pathway: object
    node: int                       # node of the pathway's flat tree (-1: a single input)
    members: list[Input]
    swings: dict | None = None      # output -> swing


Measure = Callable[[list[Input], np.ndarray], list[dict[str, float]]]


def screen(inputs: list[Input], measure: Measure, *, percentiles: tuple[int, int], keep: int = KEEP,
           budget: int = BUDGET, above: int = SCREEN_ABOVE) -> Screen:
    """The inputs a sweep should move one at a time (see the module docstring). `measure(moved,
    values)` evaluates the columns of `values` (row i: input moved[i]; column 0 at the modes, then
    a pair of columns per group) and gives each pair's swing of every output
    (`sensitivity.pair_swings`)."""
    if len(inputs) <= above:
        return Screen(tuple(inputs), len(inputs), (), False, 0)
    steps = [i for i in inputs if i.kind == "step" and i.field in HURTS_LOW and i.pathway is not None]
    alone = [i for i in inputs if not (i.kind == "step" and i.field in HURTS_LOW and i.pathway is not None)]
    ends = dict(zip((i.ref for i in inputs), zip(*(quantiles([i.quantity for i in inputs], q / 100)
                                                    for q in percentiles))))
    order = {i.ref: n for n, i in enumerate(inputs)}
    where = _positions(steps)
    frontier = [_Group(None, -1, [i]) for i in alone] + _roots(steps)
    columns, spent = 0, False
    todo = list(frontier)
    while todo:
        # two columns per group: every member at the end that hurts the actor, then at the one that helps
        moved = sorted({i.ref: i for g in todo for i in g.members}.values(), key=lambda i: order[i.ref])
        row = {i.ref: n for n, i in enumerate(moved)}
        values = np.repeat(np.array([float(i.quantity.mode) for i in moved])[:, None], 1 + 2 * len(todo), axis=1)
        for n, g in enumerate(todo):
            for i in g.members:
                low, high = ends[i.ref]
                hurt, help_ = (low, high) if HURTS_LOW.get(i.field, True) else (high, low)
                values[row[i.ref], 2 * n + 1], values[row[i.ref], 2 * n + 2] = hurt, help_
        for g, swings in zip(todo, measure(moved, values)):
            g.swings = swings
        columns += 2 * len(todo)
        todo = []
        singles = [g for g in frontier if len(g.members) == 1]
        bar = {o: _kth([g.swings[o] for g in singles], keep) for o in frontier[0].swings}
        scale = {o: max((g.swings[o] for g in frontier if np.isfinite(g.swings[o])), default=0.0) or 1.0 for o in bar}
        # below a millionth of an output's largest swing, a bar would not show: no reason to break down
        bar = {o: max(bar[o], VISIBLE * scale[o]) for o in bar}
        open_ = [g for g in frontier if len(g.members) > 1 and any(g.swings[o] > bar[o] for o in bar)]
        open_.sort(key=lambda g: -max((g.swings[o] if np.isfinite(g.swings[o]) else 2 * scale[o]) / scale[o]
                                      for o in bar if g.swings[o] > bar[o]))
        for g in open_[:ROUND]:
            parts = _children(g, where)
            if columns + 2 * (len(todo) + len(parts)) > budget:
                spent = True
                break
            frontier.remove(g)
            frontier.extend(parts)
            todo.extend(parts)
    kept = {i.ref for g in frontier if len(g.members) == 1 for i in g.members}
    whole = tuple(Whole(g.pathway.id, leaf_table(g.pathway).flat.ids[g.node], len(g.members),
                        g.swings.get("days_to_durable", 0.0))
                  for g in frontier if len(g.members) > 1)
    return Screen(tuple(i for i in inputs if i.ref in kept), len(inputs), whole, spent, columns)


def _kth(values: list[float], k: int) -> float:
    """The k-th largest value (0 when there are fewer)."""
    ranked = sorted(values, reverse=True)
    return ranked[k - 1] if len(ranked) >= k else 0.0


def _roots(steps: list[Input]) -> list[_Group]:
    """Each pathway's steps as one group, at its tree's root."""
    by_pathway: dict[str, list[Input]] = {}
    for i in steps:
        by_pathway.setdefault(i.pathway.id, []).append(i)
    return [_Group(members[0].pathway, 0, members) if len(members) > 1 else _Group(None, -1, members)
            for members in by_pathway.values()]


def _positions(steps: list[Input]) -> dict[str, int]:
    """Each step input's leaf, by its place in the depth-first order of its pathway's tree."""
    out: dict[str, int] = {}
    for pathway in {id(i.pathway): i.pathway for i in steps}.values():
        table = leaf_table(pathway)
        pre, _ = table.flat.preorder
        row = {leaf: int(pre[table.flat.leaves[k]]) for k, leaf in enumerate(table.leaf_ids)}
        out.update({i.ref: row[i.id] for i in steps if i.pathway is pathway})
    return out


def _children(g: _Group, where: dict[str, int]) -> list[_Group]:
    """A group broken down: one group per child subtree that holds members; a leaf's inputs one by one."""
    flat = leaf_table(g.pathway).flat
    pre, end = flat.preorder
    lo, m = int(flat.first_child[g.node]), int(flat.n_children[g.node])
    if m == 0:
        return [_Group(None, -1, [i]) for i in g.members]
    out = []
    for c in range(lo, lo + m):
        members = [i for i in g.members if pre[c] <= where[i.ref] < end[c]]
        if len(members) == 1:
            out.append(_Group(None, -1, members))
        elif members:
            out.append(_Group(g.pathway, c, members))
    return out
