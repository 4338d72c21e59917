"""A scenario's pathways, evaluated: leaf gating, query time, control effects,
and the likelihood, impact and risk levels from the model's scales.

The rules follow ../DESIGN.md "Attack-tree semantics" exactly; outside scripts
check them against hand-computed values.
"""
from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from functools import cached_property

import numpy as np

from threatkit.analysis.simulate import ColumnSlice, Quantities, Sampler, kept_per_sampler, read_only
from threatkit.analysis.transfer import least_samples, reaches, share_at
from threatkit.analysis.trees import FlatTree, NodeValues, cheapest_attack
from threatkit.model.values import (
    Actor,
    Asset,
    Control,
    Pathway,
    Quantity,
    Scales,
    Scenario,
    Substitute,
    ThreatModel,
    Tier,
)

FEATURES = ("outputs", "logprobs", "fine_tuning", "internals", "weights")
STATS = ("mean", "p5", "p50", "p95")
SAMPLED = ("probability", "cost_usd", "time_days")
DEFAULT_THRESHOLD = 0.5
DEFAULT_HARVEST = "adaptive"
HARVESTS = ("adaptive", "planned")


@dataclass(frozen=True)
class Route:
    """Another model the actor reaches (a scenario's exposure): its asset, and its capability as
    a share of the scenario's asset's, drawn under `key`."""

    asset: Asset
    relative_capability: Quantity
    key: tuple[str, ...]


@dataclass(frozen=True)
class Setting:
    """A scenario resolved to its entries (or an ad hoc one, e.g. from a widget), with the
    threshold share that counts as holding the capability and how the actor harvests.

    `asset` is always the asset whose capability counts (the scenario's). An exposure is a
    Setting of its own in `exposures`, with its tier and controls and a `route` naming the
    other model; `substitutes` are what the world offers without access."""

    id: str
    asset: Asset
    actor: Actor
    tier: Tier
    controls: tuple[Control, ...]
    scales: Scales
    threshold: float = DEFAULT_THRESHOLD
    harvest: str = DEFAULT_HARVEST          # adaptive | planned
    exposures: tuple[Setting, ...] = ()
    substitutes: tuple[Substitute, ...] = ()
    route: Route | None = None              # set on an exposure's setting

    @classmethod
    def of(cls, model: ThreatModel, scenario: Scenario | str, *, controls: tuple[str, ...] | None = None,
           threshold: float | None = None, harvest: str | None = None) -> Setting:
        """`threshold` and `harvest` override the scenario's (as the CLI's --threshold, --harvest do)."""
        s = model.scenario(scenario) if isinstance(scenario, str) else scenario
        ids = s.controls if controls is None else controls
        theta = threshold if threshold is not None else (
            s.capability_threshold if s.capability_threshold is not None else DEFAULT_THRESHOLD)
        own = cls(id=s.id, asset=model.asset(s.asset), actor=model.actor(s.actor), tier=model.tier(s.tier),
                  controls=tuple(model.control(c) for c in ids), scales=model.scales, threshold=float(theta),
                  harvest=harvest or s.harvest or DEFAULT_HARVEST, substitutes=model.substitutes_of(s))
        exposures = tuple(
            replace(own, tier=model.tier(e.tier), controls=tuple(model.control(c) for c in e.controls),
                    substitutes=(), route=Route(model.asset(e.asset), e.relative_capability,
                                                ("scenario", s.id, f"exposures[{e.asset}].relative_capability")))
            for e in s.exposures)
        return replace(own, exposures=exposures)

    @property
    def routes(self) -> tuple[Setting, ...]:
        """The scenario's own access, then each exposure."""
        return (self,) + self.exposures

    @property
    def route_asset(self) -> Asset:
        """The model this setting reaches: an exposure's, else the scenario's asset."""
        return self.route.asset if self.route is not None else self.asset

    def with_controls(self, controls: tuple[Control, ...]) -> Setting:
        """Other controls on the scenario's own access (its exposures keep theirs)."""
        return replace(self, controls=tuple(controls))

    def without_controls(self) -> Setting:
        """No controls anywhere: on the scenario's own access nor on any exposure (what a lead is
        measured against)."""
        return replace(self, controls=(), exposures=tuple(replace(e, controls=()) for e in self.exposures))

    def with_options(self, threshold: float | None = None, harvest: str | None = None) -> Setting:
        """The threshold and harvest replaced, on every route."""
        change = {k: v for k, v in (("threshold", None if threshold is None else float(threshold)),
                                    ("harvest", harvest)) if v is not None}
        if not change:
            return self
        return replace(self, **change, exposures=tuple(replace(e, **change) for e in self.exposures))


# ---- per-pathway leaf table (pure function of the pathway, cached) ----------------------------

KEPT_DRAWS_BYTES = 512 << 20      # a leaf table's kept draws beside its largest (a 19,683-leaf tree: 1.3 GB per 2,000 draws)

@dataclass(frozen=True, eq=False)
class LeafTable:
    pathway_id: str
    flat: FlatTree
    leaf_ids: tuple[str, ...]
    skill: np.ndarray                 # (L,)
    min_rank: np.ndarray              # (L,), -1 when absent
    requires: np.ndarray              # (L, features) bool
    queries_mask: np.ndarray          # (L,) bool
    once: np.ndarray                  # (L,) bool: retry: false, the step can be tried once
    quantities: dict[str, Quantities] # p, cost_usd, time_days, queries
    transfer_step: int | None         # leaf row of the pathway's transfer STEP
    _draws: dict = field(default_factory=dict, repr=False)      # sampler -> draws

    @cached_property
    def leaf_row(self) -> dict[str, int]:
        """Each leaf's row, by id."""
        return {leaf: k for k, leaf in enumerate(self.leaf_ids)}

    @classmethod
    def of(cls, pathway: Pathway) -> LeafTable:
        flat = FlatTree.of(pathway.tree)
        leaves = [flat.nodes[i] for i in flat.leaves]
        zero = Quantity.scalar(0.0)
        return cls(
            pathway_id=pathway.id,
            flat=flat,
            leaf_ids=tuple(n.id for n in leaves),
            skill=np.array([n.skill for n in leaves], float),
            min_rank=np.array([-1 if n.min_rank is None else n.min_rank for n in leaves], float),
            requires=np.array([[f in n.requires for f in FEATURES] for n in leaves], bool).reshape(len(leaves), len(FEATURES)),
            queries_mask=np.array([n.queries is not None for n in leaves], bool),
            once=np.array([not n.retry for n in leaves], bool),
            quantities={
                "p": Quantities.of([n.p for n in leaves]),
                "cost_usd": Quantities.of([n.cost_usd for n in leaves]),
                "time_days": Quantities.of([n.time_days for n in leaves]),
                "queries": Quantities.of([n.queries or zero for n in leaves]),
            },
            transfer_step=(None if pathway.transfer is None
                           else [n.id for n in leaves].index(pathway.transfer.samples_from)),
        )

    def draws(self, sampler: Sampler) -> dict[str, np.ndarray]:
        """The leaves' quantities drawn (read-only, kept per sampler: a report evaluates each
        pathway in a dozen settings, on the same draws). Up to 8 samplers' draws are kept, and
        beside the largest no more than KEPT_DRAWS_BYTES (a report alternates between its Monte
        Carlo draws, however large, and small ones); a block of a sampler is a view of its draws."""
        if isinstance(sampler, ColumnSlice):
            return {name: v[:, sampler.span] for name, v in self.draws(sampler.parent).items()}
        kept = self._draws.get(sampler)
        if kept is None:
            kept = {name: sampler.draw(q, "pathway", self.pathway_id, name) for name, q in self.quantities.items()}
            for values in kept.values():
                values.flags.writeable = False
            self._draws[sampler] = kept
            sizes = {k: sum(v.nbytes for v in d.values()) for k, d in self._draws.items()}
            while len(sizes) > 8 or sum(sizes.values()) - max(sizes.values()) > KEPT_DRAWS_BYTES:
                del self._draws[next(iter(self._draws))], sizes[next(iter(sizes))]
        return kept

    def countered_by(self, control: Control) -> np.ndarray:
        """Which leaves the control counters: by leaf id, by an enclosing node's id, or by the pathway id."""
        hits = np.zeros(len(self.leaf_ids), bool)
        for target in control.counters:
            if target == self.pathway_id:
                hits[:] = True
            elif target in self.flat.index:
                hits |= self.flat.subtree_mask(self.flat.index[target], self.flat.leaves)
        return hits


_TABLES: OrderedDict[int, tuple[Pathway, LeafTable]] = OrderedDict()


def leaf_table(pathway: Pathway) -> LeafTable:
    """The pathway's flattened tree and leaf attributes, built once per pathway object."""
    hit = _TABLES.get(id(pathway))
    if hit is not None and hit[0] is pathway:
        _TABLES.move_to_end(id(pathway))
        return hit[1]
    table = LeafTable.of(pathway)
    _TABLES[id(pathway)] = (pathway, table)
    if len(_TABLES) > 256:
        _TABLES.popitem(last=False)
    return table


def draw_leaves(model: ThreatModel, sampler: Sampler, limit_bytes: int = 256 << 20) -> bool:
    """Build every pathway's leaf table and draw its leaves for `sampler` now; the tables keep
    the draws. Every scenario draws the same leaves (common random numbers), so a batch does
    this once before it forks its reports instead of in each. False, and nothing drawn, when
    the draws would take more than `limit_bytes`."""
    tables = [leaf_table(pw) for pw in model.pathways]
    size = sum(len(t.leaf_ids) * len(t.quantities) for t in tables) * sampler.width * 8
    if size > limit_bytes:
        return False
    for table in tables:
        table.draws(sampler)
    return True


# ---- evaluation of one pathway in one setting ------------------------------------------------

BLOCK_BYTES = 256 << 20           # about what evaluating one block of draws may take


def evaluate_blocks(pathway: Pathway, setting: Setting, sampler: Sampler, read):
    """`read(tree, sampler)` (a tuple of per-column rows) of the pathway evaluated over the
    sampler's columns, a block of columns at a time when the whole would take more than about
    BLOCK_BYTES (a 19,683-leaf tree over 2,000 draws takes 6 GB at once; a sweep's thousands of
    columns, ten times that). Every column is computed as in one evaluation: the same bits."""
    width = sampler.width
    block = max(1, BLOCK_BYTES // (len(leaf_table(pathway).flat.nodes) * 8 * 10))   # ~10 node x column arrays at its peak
    if block >= width:
        return read(evaluate(pathway, setting, sampler), sampler)
    parts = []
    for lo in range(0, width, block):
        part = sampler.block(lo, min(lo + block, width))
        parts.append([np.array(row) for row in read(evaluate(pathway, setting, part), part)])   # copies: a
        # tree's root row is a view that would keep all its nodes' arrays alive
    return tuple(np.concatenate(rows) for rows in zip(*parts))


@dataclass(frozen=True, eq=False)
class EvaluatedTree:
    """Every node's probability, cost, time and skill in one setting, with
    why each infeasible leaf is infeasible and which controls acted where.
    Arrays have one row per node (breadth first) and one column per sample."""

    pathway: Pathway
    setting: Setting
    flat: FlatTree
    values: Mapping[str, np.ndarray]           # node x column, per attribute (trees.NodeValues)
    infeasible: dict[str, tuple[str, ...]]     # leaf id -> reasons (deterministic values)
    countered: dict[str, tuple[str, ...]]      # leaf id -> control ids acting on it
    samples: np.ndarray | None = None          # teacher samples the transfer STEP collects (0 when infeasible)
    leaves: tuple | None = field(default=None, repr=False)   # per leaf: (p, time per attempt, attempts cap), for the clock

    def __repr__(self) -> str:
        return (f"<EvaluatedTree {self.pathway.id} in {self.setting.id}: p={self.node(self.flat.ids[0], 'probability'):.4g}, "
                f"{len(self.flat.nodes)} nodes>")

    def node(self, node_id: str, attr: str) -> float:
        """Deterministic value (first column) of one node."""
        return float(self.values[attr][self.flat.index[node_id], 0])

    @cached_property
    def cheapest(self) -> tuple[str, ...]:
        """Leaf ids of the cheapest attack, in tree order."""
        chosen = cheapest_attack(self.flat, self.values["cost_usd"][:, 0])
        pre = self.flat.preorder[0]
        return tuple(self.flat.ids[i] for i in sorted(chosen, key=lambda i: pre[i]) if self.flat.gate[i] < 0)

    @cached_property
    def cheapest_nodes(self) -> frozenset[str]:
        """Every node (gates included) on the cheapest attack."""
        return frozenset(self.flat.ids[i] for i in cheapest_attack(self.flat, self.values["cost_usd"][:, 0]))

    def root(self, attr: str) -> np.ndarray:
        return self.values[attr][0]

    def to_dict(self) -> dict:
        """The evaluated tree as nested plain data (infinity as None), deterministic values."""
        def node(i: int) -> dict:
            n = self.flat.nodes[i]
            lo, k = int(self.flat.first_child[i]), int(self.flat.n_children[i])
            out = {"id": n.id, "label": n.title, "gate": n.gate}
            for attr in ("probability", "cost_usd", "time_days", "skill"):
                out[attr] = finite_or_none(self.values[attr][i, 0])
            if n.is_leaf:
                out["infeasible"] = list(self.infeasible.get(n.id, ()))
                out["countered_by"] = list(self.countered.get(n.id, ()))
            out["cheapest"] = n.id in self.cheapest_nodes
            out["children"] = [node(c) for c in range(lo, lo + k)]
            return out
        return node(0)


def finite_or_none(x: float) -> float | None:
    x = float(x)
    return x if math.isfinite(x) else None


def evaluate(pathway: Pathway, setting: Setting, sampler: Sampler = Sampler()) -> EvaluatedTree:
    table = leaf_table(pathway)
    draws = table.draws(sampler)
    actor, tier = setting.actor, setting.tier
    width = sampler.width

    budget = sampler.draw_one(actor.budget_usd, "actor", actor.id, "budget_usd")
    accounts = sampler.draw_one(actor.accounts, "actor", actor.id, "accounts")
    rate = sampler.draw_one(tier.queries_per_day, "tier", tier.id, "queries_per_day")
    duration = sampler.draw_one(tier.duration_days, "tier", tier.id, "duration_days")
    for c in setting.controls:  # caps act on the whole scenario
        rate = np.minimum(rate, sampler.draw_one(c.caps_queries_per_day, "control", c.id, "caps_queries_per_day"))
        accounts = np.minimum(accounts, sampler.draw_one(c.caps_accounts, "control", c.id, "caps_accounts"))

    p, cost, time, queries = draws["p"], draws["cost_usd"], draws["time_days"], draws["queries"]
    step = table.transfer_step
    collected = None
    if step is not None:
        # the transfer STEP harvests what the whole access window allows at most (instead of failing
        # when it is short), and the adaptive actor no more than clears the threshold
        with np.errstate(invalid="ignore", over="ignore"):      # extreme inputs: inf, as intended
            window = np.where(rate * accounts > 0, rate * accounts * duration, 0.0)
        collected = np.minimum(queries[step], window)
        if setting.harvest == "adaptive":
            collected = adaptive_harvest(pathway, sampler, collected, setting.threshold,
                                         relative_capability(setting, sampler))
        queries = queries.copy()
        queries[step] = collected
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        query_time = np.where(table.queries_mask[:, None], queries / (rate * accounts), 0.0)
    query_time = np.nan_to_num(query_time, nan=0.0, posinf=np.inf)   # 0 queries at rate 0: no time
    time = np.maximum(time, query_time)

    exposed = np.array([f in tier.exposes for f in FEATURES])
    lacks = table.requires & ~exposed                                   # (L, F)
    low_rank = table.min_rank > tier.rank                               # (L,)
    low_skill = table.skill > actor.skill                               # (L,)
    static = lacks.any(axis=1) | low_rank | low_skill
    over_budget = cost > budget                                         # (L, S)
    # access ends before the queries are done (or they never can be, at a rate capped to 0)
    out_of_time = table.queries_mask[:, None] & ((query_time > duration) | np.isinf(query_time))
    if step is not None:
        out_of_time[step] = collected < 1          # a STEP fails only when it collects nothing
    infeasible = static[:, None] | over_budget | out_of_time
    if collected is not None:
        collected = np.where(infeasible[step], 0.0, collected)

    countered: dict[str, list[str]] = {}
    p = p.copy()
    for c in setting.controls:
        hits = table.countered_by(c)
        if not hits.any():
            continue
        keep = 1.0 - sampler.draw_one(c.effectiveness, "control", c.id, "effectiveness", default=0.0)
        p[hits] *= keep
        if c.detection_per_million_queries is not None:
            d = sampler.draw_one(c.detection_per_million_queries, "control", c.id, "detection")
            q_hits = hits & table.queries_mask
            p[q_hits] *= (1.0 - d) ** (queries[q_hits] / 1e6)
        for k in np.flatnonzero(hits):
            countered.setdefault(table.leaf_ids[k], []).append(c.id)

    leaf_values = {
        "probability": np.where(infeasible, 0.0, p),
        "cost_usd": np.where(infeasible, np.inf, cost),
        "time_days": np.where(infeasible, np.inf, time),
        "skill": np.where(infeasible, np.inf, np.broadcast_to(table.skill[:, None], (len(table.leaf_ids), width))),
    }
    attempts = attempt_caps(table, leaf_values["time_days"], leaf_values["cost_usd"], budget, duration)
    reasons = _reasons(table, tier, actor, lacks, low_rank, over_budget[:, 0], out_of_time[:, 0],
                       cost[:, 0], budget[0], query_time[:, 0], duration[0])
    return EvaluatedTree(pathway, setting, table.flat, NodeValues(table.flat, leaf_values), reasons,
                         {k: tuple(v) for k, v in countered.items()}, collected,
                         leaves=(leaf_values["probability"], leaf_values["time_days"], attempts))


def attempt_caps(table: LeafTable, time: np.ndarray, cost: np.ndarray, budget: np.ndarray,
                 duration: np.ndarray) -> np.ndarray:
    """How many attempts each leaf can make (DESIGN.md "The clock"): the least of 1 for a step
    tried once, ceil(D / tau) for a step with queries (its attempts need access; counted on its
    own clock), floor(budget / cost) when it costs anything (every attempt paid from the whole
    budget); unbounded (inf) when none applies."""
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        by_access = np.where(table.queries_mask[:, None], np.ceil(duration / time), np.inf)
        by_budget = np.where(cost > 0, np.floor(budget / cost), np.inf)
    by_access = np.nan_to_num(by_access, nan=np.inf, posinf=np.inf)     # 0/0 and inf/inf: no bound
    by_budget = np.nan_to_num(by_budget, nan=np.inf, posinf=np.inf)
    caps = np.minimum(by_access, by_budget)
    return np.where(table.once[:, None], np.minimum(caps, 1.0), caps)


def adaptive_harvest(pathway: Pathway, sampler: Sampler, n_max: np.ndarray, threshold: float,
                     factor: np.ndarray | float = 1.0) -> np.ndarray:
    """The adaptive actor's harvest (DESIGN.md "Harvest"): where the most access allows
    (`n_max`) clears the threshold, the least whole number of samples that does (never more
    than n_max); elsewhere n_max. The route's share is `factor` x curve(n)."""
    points = [n for n, _ in pathway.transfer.curve]
    shares = transfer_shares(pathway, sampler) * factor
    clears = reaches(share_at(n_max, points, shares), threshold)
    least = least_samples(threshold, points, shares)
    return np.where(clears, np.minimum(n_max, least), n_max)


def relative_capability(setting: Setting, sampler: Sampler) -> np.ndarray | float:
    """The route's share factor r: an exposure's relative_capability (drawn), 1 on the scenario's own access."""
    if setting.route is None:
        return 1.0
    return sampler.draw_one(setting.route.relative_capability, *setting.route.key)


def _reasons(table, tier, actor, lacks, low_rank, over_budget, out_of_time, cost, budget, query_time, duration):
    """Why each leaf is infeasible, in words (deterministic values)."""
    out: dict[str, tuple[str, ...]] = {}
    bad = np.flatnonzero(lacks.any(axis=1) | low_rank | (table.skill > actor.skill) | over_budget | out_of_time)
    for k in bad:
        why = []
        missing = [f for f, m in zip(FEATURES, lacks[k]) if m]
        if missing:
            why.append(f"tier {tier.id} does not expose {', '.join(missing)}")
        if low_rank[k]:
            why.append(f"needs tier rank {int(table.min_rank[k])}, tier {tier.id} has {tier.rank}")
        if table.skill[k] > actor.skill:
            why.append(f"needs skill {int(table.skill[k])}, actor {actor.id} has {actor.skill}")
        if over_budget[k]:
            why.append(f"costs ${cost[k]:,.0f}, over the actor's budget of ${budget:,.0f}")
        if out_of_time[k] and k == table.transfer_step:
            why.append("collects no teacher samples (no queries get through)")
        elif out_of_time[k]:
            why.append(f"needs {query_time[k]:,.0f} days of queries, access lasts {duration:,.0f}")
        out[table.leaf_ids[k]] = tuple(why)
    return out


# ---- scales -------------------------------------------------------------------------------

NO_RISK = "none"     # the risk of an infeasible pathway: likelihood 0, on no matrix cell


def level_of(value: float | np.ndarray, levels) -> np.ndarray:
    """Level number(s): the first level whose `below` exceeds the value, else the last."""
    bounds = np.array([lv.below for lv in levels[:-1]], float)
    return np.searchsorted(bounds, value, side="right") + 1


def likelihood_of(probability: float, scales: Scales) -> int:
    """The likelihood level; 0 for an infeasible pathway (probability 0)."""
    return int(level_of(probability, scales.likelihood)) if probability > 0 else 0


def risk_of(likelihood: int, impact: int, scales: Scales) -> str:
    return scales.risk[likelihood - 1][impact - 1] if likelihood > 0 else NO_RISK


def risk_order(scales: Scales) -> list[str]:
    """Risk names from least to most severe ("none" first): by the lowest likelihood + impact
    where each first appears."""
    first: dict[str, tuple[int, int]] = {}
    for li, row in enumerate(scales.risk):
        for ii, name in enumerate(row):
            key = (li + ii, li)
            if name not in first or key < first[name]:
                first[name] = key
    return [NO_RISK] + [name for name in sorted(first, key=first.get) if name != NO_RISK]


# ---- assessment ---------------------------------------------------------------------------

@dataclass(frozen=True)
class PathwayAssessment:
    scenario: str
    pathway: str
    actor: str
    tier: str
    asset: str
    probability: float
    cost_usd: float
    time_days: float
    skill: float
    fidelity: float
    impact_value: float
    likelihood: int
    impact: int
    risk: str
    cheapest_attack: tuple[str, ...]
    persistent: bool
    transfer_samples: float | None = None                      # samples the transfer STEP collects
    stats: dict[str, float] = field(default_factory=dict)      # e.g. probability_p5 (with samples)
    tree: EvaluatedTree | None = field(default=None, repr=False, compare=False)

    def to_dict(self) -> dict:
        out = {
            "scenario": self.scenario, "pathway": self.pathway, "actor": self.actor, "tier": self.tier,
            "asset": self.asset,
            "probability": self.probability, "cost_usd": finite_or_none(self.cost_usd),
            "time_days": finite_or_none(self.time_days), "skill": finite_or_none(self.skill),
            "fidelity": self.fidelity, "impact_value": self.impact_value,
            "likelihood": self.likelihood, "impact": self.impact, "risk": self.risk,
            "cheapest_attack": list(self.cheapest_attack), "transfer_samples": self.transfer_samples,
            "persistent": self.persistent,
        }
        out.update({k: finite_or_none(v) for k, v in self.stats.items()})
        return out


@dataclass(frozen=True)
class Assessment:
    """A scenario assessed: one PathwayAssessment per pathway of the model on the scenario's own
    access (`pathways`), and one per exposure and pathway (`exposures`)."""

    setting: Setting
    pathways: tuple[PathwayAssessment, ...]
    samples: int | None = None
    seed: int = 0
    exposures: tuple[PathwayAssessment, ...] = ()

    @property
    def scenario(self) -> str:
        return self.setting.id

    def __repr__(self) -> str:
        return f"<Assessment {self.scenario}: {len(self.pathways)} pathways, overall risk {self.overall_risk}>"

    @property
    def routes(self) -> tuple[PathwayAssessment, ...]:
        """Every row: the scenario's own access, then each exposure's."""
        return self.pathways + self.exposures

    @property
    def overall_risk(self) -> str:
        order = risk_order(self.setting.scales)
        return max((p.risk for p in self.routes), key=order.index, default=order[0])

    @property
    def controls_acting(self) -> dict[str, dict[str, tuple[str, ...]]]:
        """pathway id -> leaf id -> controls acting on it (on the scenario's own access)."""
        return {p.pathway: p.tree.countered for p in self.pathways if p.tree and p.tree.countered}

    def rows(self) -> list[dict]:
        return [p.to_dict() for p in self.routes]

    def __getitem__(self, pathway: str) -> PathwayAssessment:
        for p in self.pathways:
            if p.pathway == pathway:
                return p
        raise KeyError(f"no pathway {pathway!r} in this assessment")


def assess_setting(setting: Setting, pathways: tuple[Pathway, ...], samples: int | None = None,
                   seed: int = 0, drawn=None) -> Assessment:
    """`drawn`: these pathways in this setting already evaluated over Sampler(samples, seed), as
    timeline.gather collects them (a report gathers them for its curves); the draws' statistics
    are then read from its rows rather than from evaluating every tree again."""
    sampler_det = Sampler()
    sampler_mc = Sampler(samples, seed) if samples else None
    if drawn is not None and (sampler_mc is None or drawn.setting != setting or drawn.cost is None
                              or [p.id for p in drawn.pathways] != [p.id for p in pathways]
                              or drawn.width != samples):
        raise ValueError("drawn must be these pathways in this setting over the same draws")
    capability = setting.asset.capability_value.mode      # the scenario's asset, on every route
    results = []
    for route in setting.routes:
        for pw in pathways:
            tree = evaluate(pw, route, sampler_det)
            prob = float(tree.root("probability")[0])
            fidelity = float(share(pw, tree, sampler_det)[0])
            impact_value = fidelity * capability
            like = likelihood_of(prob, setting.scales)
            imp = int(level_of(impact_value, setting.scales.impact))
            stats: dict[str, float] = {}
            if drawn is not None:
                k = len(results)              # drawn rows: routes in order, pathways within
                for attr, rows in zip(SAMPLED, (drawn.p, drawn.cost, drawn.time)):
                    stats.update(summarise(attr, rows[k]))
            elif sampler_mc is not None:
                rows = evaluate_blocks(pw, route, sampler_mc, lambda t, _: tuple(t.root(a) for a in SAMPLED))
                for attr, values in zip(SAMPLED, rows):
                    stats.update(summarise(attr, values))
            results.append(PathwayAssessment(
                scenario=setting.id, pathway=pw.id, actor=setting.actor.id, tier=route.tier.id,
                asset=route.route_asset.id, probability=prob, cost_usd=float(tree.root("cost_usd")[0]),
                time_days=float(tree.root("time_days")[0]), skill=float(tree.root("skill")[0]),
                fidelity=fidelity, impact_value=impact_value, likelihood=like, impact=imp,
                risk=risk_of(like, imp, setting.scales), cheapest_attack=tree.cheapest,
                persistent=pw.persistent, stats=stats, tree=tree,
                transfer_samples=None if tree.samples is None else float(tree.samples[0])))
    own = len(pathways)
    return Assessment(setting, tuple(results[:own]), samples, seed, exposures=tuple(results[own:]))


def share(pathway: Pathway, tree: EvaluatedTree, sampler: Sampler = Sampler()) -> np.ndarray:
    """The share of the asset's capability the pathway transfers on the tree's route, per draw:
    r x its transfer curve at the samples collected, or r x its fidelity (r = 1 on the scenario's
    own access, an exposure's relative_capability otherwise)."""
    r = relative_capability(tree.setting, sampler)
    if pathway.transfer is None:
        return sampler.draw_one(pathway.fidelity, "pathway", pathway.id, "fidelity") * r
    points = [n for n, _ in pathway.transfer.curve]
    return share_at(tree.samples, points, transfer_shares(pathway, sampler)) * r


def transfer_shares(pathway: Pathway, sampler: Sampler) -> np.ndarray:
    """The shares of the pathway's transfer curve as drawn (points x columns), read-only: every
    evaluation of the pathway reads them twice (the harvest, the share), in every setting."""
    return _transfer_shares(sampler, pathway.transfer, pathway.id)


@kept_per_sampler(256)
def _transfer_shares(sampler: Sampler, transfer, pathway_id: str) -> np.ndarray:
    """By the curve's values and the pathway's id: all the draws depend on, with the sampler."""
    return read_only(sampler.draw([q for _, q in transfer.curve], "pathway", pathway_id, "transfer"))


def summarise(attr: str, values: np.ndarray) -> dict[str, float]:
    """mean, p5, p50, p95 of sampled values (infinity where infeasible samples dominate)."""
    with np.errstate(invalid="ignore"):
        mean = float(np.mean(values))
        # interpolating between two infinite samples gives nan: it is infinite
        q = np.nan_to_num(np.percentile(values, [5, 50, 95]), nan=np.inf)
        p5, p50, p95 = (float(x) for x in q)
    return {f"{attr}_mean": mean, f"{attr}_p5": p5, f"{attr}_p50": p50, f"{attr}_p95": p95}


def assess(model: ThreatModel, scenario: str | Scenario, samples: int | None = None, seed: int = 0,
           pathways: tuple[str, ...] | None = None, drawn=None, *, threshold: float | None = None,
           harvest: str | None = None) -> Assessment:
    """Assess one scenario of the model over all its pathways (or the named ones); `drawn` as
    in assess_setting; `threshold` and `harvest` override the scenario's (the adaptive harvest
    takes no more samples than clear the threshold)."""
    setting = Setting.of(model, scenario, threshold=threshold, harvest=harvest)
    chosen = model.pathways if pathways is None else tuple(model.pathway(p) for p in pathways)
    return assess_setting(setting, chosen, samples, seed, drawn)


def assess_all(model: ThreatModel, samples: int | None = None, seed: int = 0) -> list[Assessment]:
    return [assess(model, s, samples, seed) for s in model.scenarios]
