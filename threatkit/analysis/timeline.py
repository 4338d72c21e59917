"""Capability over time: how much of the asset's capability the actor holds
as days pass, and how many days the scenario's controls buy (DESIGN.md
"Capability over time").

Per pathway k, P_k(t) is its tree's clock (clock.py): the chance its root has
succeeded by day t, every step retried on failure within its caps; with
`needs_access` nothing succeeds after access ends, and a non-persistent pathway
(direct use) holds nothing once access has ended. The actor's own development
reaches the full capability on the parity day. Pathways and own development are
independent, so:

- durable(t): the chance of holding, after access could end, at least the
  threshold share: own development or a persistent pathway whose share
  reaches the threshold;
- usable(t): the same, counting non-persistent pathways while they last;
- E(t): the expected largest share held durably (own development counts 1).

Days to a curve are the first whole day it reaches 1/2, found exactly by
bisection (durable and, within access, usable never fall), not read off a
plotting grid. With samples, every draw has its own clock and its own days; the
lead's band comes from paired draws (see simulate.Sampler): with and without the
controls, the same inputs are drawn.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import numpy as np

from threatkit.analysis.assess import Setting, evaluate_blocks, share
from threatkit.analysis.controls import acts_on
from threatkit.analysis.grid import column_percentiles
from threatkit.analysis.route_clocks import ClockMemo, on_cores, route_clock_pairs, route_clocks
from threatkit.analysis.simulate import Sampler
from threatkit.analysis.substitutes import Shares
from threatkit.analysis.transfer import reaches
from threatkit.model.values import Pathway, ThreatModel

DEFAULT_HORIZON_DAYS = 3650
DAYS_PER_MONTH = 365.25 / 12        # as in parity_day: a month is a twelfth of a Julian year
REPORT_DAYS = (30, 90, 180, 365)      # the days of expected_capability in JSON
DEFAULT_POINTS = 600
CHUNK = 128                           # draws per block on the curves grid: a block's arrays stay in cache (15% faster than 512)


@dataclass(frozen=True, eq=False)
class Inputs:
    """Everything the curves depend on, one column per draw. A row per route: each pathway on the
    scenario's own access (the first len(pathways) rows, in the pathways' order), then each
    pathway on each exposure."""

    setting: Setting
    pathways: tuple[Pathway, ...]
    p: np.ndarray              # (K, D) root probability per attempt (the tree table's)
    time: np.ndarray           # (K, D) days per attempt (inf: infeasible; the tree table's)
    share: np.ndarray          # (K, D) share of the capability a success gives
    persistent: np.ndarray     # (K,) bool
    needs_access: np.ndarray   # (K,) bool
    duration: np.ndarray       # (D,) days the scenario's own access lasts (inf: open-ended)
    parity: np.ndarray         # (D,) day of independent parity (inf: never)
    threshold: float
    clocks: tuple[np.ndarray, ...] = ()   # per route, F_root over days 0..T_k: (D, T_k + 1), carried on after;
    # right only to the last day anything reads it (`_last_days`): read it through `held` and the curves
    cost: np.ndarray | None = None   # (K, D) cost of the attack, for an assessment to share (None: not kept)
    route_duration: np.ndarray | None = None   # (K, D) days each route's access lasts (None: `duration` for all)
    substitutes: Shares | None = None           # what the world offers without access (None: nothing)
    days_substitute: np.ndarray | None = None   # (D,) first day sub(t) reaches the threshold (inf: never)
    reads: str = "curves"     # "days": the clocks stop where durable and usable are 1, before E(t) is known

    @property
    def width(self) -> int:
        return self.duration.size

    @property
    def ends(self) -> np.ndarray:
        """(K, D): the day each route's access ends."""
        if self.route_duration is not None:
            return self.route_duration
        return np.broadcast_to(self.duration, (len(self.persistent), self.width))

    def substitute(self, days: np.ndarray) -> np.ndarray:
        """sub(t) on `days`: (D, M); zeros without substitutes."""
        if self.substitutes is None or not len(self.substitutes):
            return np.zeros(np.broadcast_shapes(np.shape(days), (self.width, 1)))
        return self.substitutes.at(days)

    @property
    def without_access(self) -> np.ndarray:
        """(D,): the earlier of own development and the substitutes (inf: neither)."""
        sub = self.days_substitute if self.days_substitute is not None else np.full(self.width, np.inf)
        return np.minimum(self.parity, sub)


def independent_months(setting: Setting, model_scenario=None):
    """The quantity of months to parity on the actor's own (scenario override first), and its draw key."""
    if model_scenario is not None and model_scenario.independent_months is not None:
        return model_scenario.independent_months, ("scenario", model_scenario.id, "independent_months")
    actor = setting.actor
    return actor.independent_months, ("actor", actor.id, "independent_months")


def parity_day(months: np.ndarray | float) -> np.ndarray:
    """The first day of parity: ceil(months x 365.25 / 12)."""
    return np.ceil(np.asarray(months, float) * 365.25 / 12)


READS = ("curves", "days")


def gather(setting: Setting, pathways: tuple[Pathway, ...], sampler: Sampler = Sampler(), *,
           months=None, horizon: int = DEFAULT_HORIZON_DAYS, kept: ClockMemo | None = None,
           reads: str = "curves") -> Inputs:
    """Evaluate every pathway on every route of the setting (its own access, then each exposure)
    and collect the curves' inputs, each route's clock included. `months` is (quantity or None,
    draw key) from `independent_months`. `kept`: clocks already computed for the same leaves (an
    explorer's, or other scenarios' of one model), where this one's are kept. `reads`: what the
    inputs are for, which sets the last day each clock is computed to (`_last_days`): "curves"
    (every quantity) or "days" (every quantity but E(t): days to, lead, acceleration, durable and
    usable on any day)."""
    routes = _routes(setting, pathways, sampler)
    world = _World.of(setting, sampler, months, horizon)
    clocks = route_clocks(routes.leaves, _last_days(routes, world, reads, horizon), sampler.exact_clock, kept)
    return _inputs(setting, pathways, sampler, routes, clocks, world, reads)


def gather_pair(setting: Setting, bare: Setting, pathways: tuple[Pathway, ...], sampler: Sampler, *,
                months=None, horizon: int = DEFAULT_HORIZON_DAYS, kept: ClockMemo | None = None,
                reads: str = "curves") -> tuple[Inputs, Inputs]:
    """`gather` of a setting and of the same setting without its controls (`bare`): a route's
    clock, and every subtree of it, that the controls do not change is computed once for both.
    `kept`, `reads`: as gather's."""
    with_ = _routes(setting, pathways, sampler)
    without = _routes(bare, pathways, sampler, like=(setting, with_))
    world = _World.of(setting, sampler, months, horizon)     # the controls change neither side's world
    last = [max(a, b) for a, b in zip(_last_days(with_, world, reads, horizon),
                                      _last_days(without, world, reads, horizon))]
    clocks = route_clock_pairs(with_.leaves, without.leaves, last, sampler.exact_clock, kept)
    return (_inputs(setting, pathways, sampler, with_, [a for a, _ in clocks], world, reads),
            _inputs(bare, pathways, sampler, without, [b for _, b in clocks], world, reads))


@dataclass(frozen=True)
class _World:
    """What the actor gets without access, per draw: its own development and the substitutes."""

    parity: np.ndarray              # (D,) day of independent parity (inf: never)
    substitutes: Shares
    days_substitute: np.ndarray     # (D,) first day the substitutes reach the threshold (inf: never)

    @classmethod
    def of(cls, setting: Setting, sampler: Sampler, months, horizon: int) -> _World:
        """`months` as gather's."""
        quantity, key = months if months is not None else independent_months(setting)
        parity = parity_day(sampler.draw_one(quantity, *key)) if quantity is not None else np.full(sampler.width, np.inf)
        substitutes = Shares.of(setting.substitutes, sampler)
        return cls(parity, substitutes, substitutes.first_day(float(setting.threshold), int(horizon)))


@dataclass(frozen=True)
class _Routes:
    """Every pathway evaluated on every route of a setting: the trees' roots, and the leaves the
    clocks are computed from."""

    rows: dict
    leaves: list
    ends: list


def _routes(setting: Setting, pathways: tuple[Pathway, ...], sampler: Sampler,
            like: tuple[Setting, _Routes] | None = None) -> _Routes:
    """`like`: the same routes under other controls (a scenario's, for the scenario without them)
    and their evaluation: a pathway none of either's controls acts on (`controls.acts_on`)
    evaluates alike under both, so its entries are taken from there."""
    rows = {"p": [], "time": [], "share": [], "cost": []}
    leaves, ends = [], []
    for r, route in enumerate(setting.routes):
        route_end = sampler.draw_one(route.tier.duration_days, "tier", route.tier.id, "duration_days")
        for pw in pathways:
            if like is not None and not any(acts_on(c, pw) for c in (*route.controls, *like[0].routes[r].controls)):
                k, same = len(leaves), like[1]
                for name in rows:
                    rows[name].append(same.rows[name][k])
                leaves.append(same.leaves[k])
                ends.append(same.ends[k])
                continue

            def read(tree, part, pw=pw):
                p, tau, cap = tree.leaves                                  # (L, columns): as columns' rows
                return (tree.root("probability"), tree.root("time_days"), tree.root("cost_usd"),
                        share(pw, tree, part), p.T, tau.T, cap.T)
            p, time, cost, shares, *leaf = evaluate_blocks(pw, route, sampler, read)
            for name, row in zip(("p", "time", "cost", "share"), (p, time, cost, shares)):
                rows[name].append(row)
            leaves.append((pw, tuple(x.T for x in leaf)))
            ends.append(route_end)
    return _Routes(rows, leaves, ends)


def _last_days(routes: _Routes, world: _World, reads: str, horizon: int) -> list[int]:
    """Per route, the last day its clock is read on. Never from the parity day on: the actor then
    holds the whole capability whatever the routes do, so durable, usable and E(t) are 1 without
    them. Nor from the day the substitutes hold, for good, at least every route's share: E(t) is
    then sub(t) and durable and usable 1, without the routes. Without E(t) (`reads` "days"), nor
    from the day the substitutes reach the threshold: durable and usable are 1 from then on, and
    the days to them are the earlier of that day and the first day the routes and own
    development reach 1/2 (found on days the clocks are computed for). For a pathway that needs access,
    never after its access ends (`held` reads it there). A clock computed to that day has the same
    numbers on every day read as one computed to the horizon (a day's chance depends on earlier
    days only) and costs, in the Mythos example, a tenth."""
    if reads not in READS:
        raise ValueError(f"reads must be one of {', '.join(READS)}, found {reads!r}")
    shares = routes.rows["share"]
    every_share = float(np.max(shares)) if shares else 0.0
    until = _routes_settle(world.parity, world.substitutes, every_share, horizon)
    if reads == "days":
        until = np.minimum(until, world.days_substitute)
    out = []
    for (pw, _), end in zip(routes.leaves, routes.ends):
        read = np.minimum(until, np.floor(end)) if pw.needs_access else until
        last = np.nan_to_num(read, nan=horizon, posinf=horizon).max(initial=0.0)
        out.append(int(min(horizon, max(0.0, last))))
    return out


def _inputs(setting: Setting, pathways: tuple[Pathway, ...], sampler: Sampler, routes: _Routes, clocks: list,
            world: _World, reads: str) -> Inputs:
    width = sampler.width
    duration = sampler.draw_one(setting.tier.duration_days, "tier", setting.tier.id, "duration_days")
    table = {k: np.array(v).reshape(-1, width) if v else np.zeros((0, width)) for k, v in routes.rows.items()}
    n_routes = len(setting.routes)
    ends = routes.ends
    return Inputs(
        setting=setting, pathways=tuple(pathways), p=table["p"], time=table["time"], share=table["share"],
        cost=table["cost"], clocks=tuple(clocks),
        persistent=np.array([pw.persistent for pw in pathways] * n_routes, bool),
        needs_access=np.array([pw.needs_access for pw in pathways] * n_routes, bool),
        duration=duration, parity=world.parity, threshold=float(setting.threshold),
        route_duration=np.array(ends, float).reshape(-1, width) if ends else np.zeros((0, width)),
        substitutes=world.substitutes, days_substitute=world.days_substitute, reads=reads)


# ---- the curves, at given days ----------------------------------------------------------

def held(inp: Inputs, days: np.ndarray) -> np.ndarray:
    """P_k(t) for every route: shape (K, D, M) for `days` of shape (D, M) or (1, M)."""
    days = np.asarray(days, float)
    t = np.broadcast_to(days, (inp.width, np.shape(days)[-1]))
    out = np.zeros((len(inp.clocks),) + t.shape)
    ends = inp.ends
    finite_days = bool(np.isfinite(days).all() and (days >= 0).all())
    one_row = days.ndim == 1 or days.shape[0] == 1                  # the same days for every draw
    for k, F in enumerate(inp.clocks):
        end = ends[k][:, None]
        access = inp.needs_access[k]
        last = F.shape[1] - 1
        if one_row and finite_days and not np.isnan(end).any():
            # the same days for every draw: one row of columns, and past the end of access each
            # draw's clock on its last day of access (nothing succeeds after it): the same values
            # as a column index per draw and day, without making one
            Pk = F[:, np.minimum(t[0], last).astype(np.intp)]
            if access:
                cut = np.floor(end)
                on_last = np.take_along_axis(F, np.minimum(cut, last).astype(np.intp), axis=1) \
                    if F.shape[0] > 1 else F[:, np.minimum(cut, last).astype(np.intp)[:, 0]].T
                Pk = np.where(t > cut, on_last, Pk)
        else:
            on = np.minimum(t, np.floor(end)) if access else t[:1] if one_row else t   # nothing succeeds after access ends
            if finite_days and not np.isnan(on).any():          # days as given: no nan or infinity to guard
                index = np.minimum(on, last).astype(np.intp)
            else:
                index = np.clip(np.nan_to_num(on, nan=0.0, posinf=last), 0, last).astype(np.intp)
            if F.shape[0] == 1 or index.shape[0] == 1:            # one clock, or one row of days: columns
                Pk = F[:, index[0]]
            else:
                Pk = np.take_along_axis(F, index, axis=1)
        if not inp.persistent[k]:                          # gone once access has ended
            Pk = np.where(t > end, 0.0, Pk)
        out[k] = Pk
    return out


def own(inp: Inputs, days: np.ndarray) -> np.ndarray:
    """1 from the parity day on, else 0: shape (D, M)."""
    return (np.asarray(days, float) >= inp.parity[:, None]).astype(float)


def _holding(inp: Inputs, days: np.ndarray, persistent_only: bool, P: np.ndarray | None = None,
             substitutes: bool = True, sub: np.ndarray | None = None) -> np.ndarray:
    P = held(inp, days) if P is None else P
    counts = reaches(inp.share, inp.threshold)                 # (K, D)
    if persistent_only:
        counts = counts & inp.persistent[:, None]
    survive = np.ones(P.shape[1:]) if len(P) else 1.0
    for k in np.flatnonzero(counts.any(axis=1)):              # a factor of 1 changes no product
        survive *= 1.0 - P[k] if counts[k].all() else np.where(counts[k][:, None], 1.0 - P[k], 1.0)
    none = (1.0 - own(inp, days)) * survive
    if substitutes:
        none = none * ~reaches(inp.substitute(days) if sub is None else sub, inp.threshold)
    return 1.0 - none


def durable(inp: Inputs, days: np.ndarray, P: np.ndarray | None = None, substitutes: bool = True,
            sub: np.ndarray | None = None) -> np.ndarray:
    """Chance of holding at least the threshold share for good by each day: (D, M). `P`: held(inp, days),
    `sub`: inp.substitute(days), when the caller has them. `substitutes=False`: from access and own
    development alone."""
    return _holding(inp, days, True, P, substitutes, sub)


def usable(inp: Inputs, days: np.ndarray, P: np.ndarray | None = None, substitutes: bool = True,
           sub: np.ndarray | None = None) -> np.ndarray:
    """Chance of being able to use at least the threshold share on each day: (D, M). `P`, `sub`: as durable's."""
    return _holding(inp, days, False, P, substitutes, sub)


def expected_capability(inp: Inputs, days: np.ndarray, P: np.ndarray | None = None,
                        sub: np.ndarray | None = None) -> np.ndarray:
    """E[largest share held durably by each day]: own development counting 1, the substitutes
    sub(t) for sure, every persistent route its share: (D, M). `P`: held(inp, days)."""
    if inp.reads != "curves":
        raise ValueError("these inputs were gathered for days only (reads='days'): their clocks stop where "
                         "durable capability is certain, before E(t) is; gather them with reads='curves'")
    keep = inp.persistent
    P = (held(inp, days) if P is None else P)[keep]                    # (K', D, M)
    s = inp.share[keep]                                                 # (K', D)
    P = np.concatenate([np.broadcast_to(own(inp, days), P.shape[1:])[None], P])
    s = np.concatenate([np.ones((1, inp.width)), s])
    order = np.argsort(-s, axis=0, kind="stable")                       # highest share first, per draw
    s = np.take_along_axis(s, order, axis=0)
    uniform = (order == order[:, :1]).all(axis=1)                       # the same item at this rank in every draw
    cols = np.arange(inp.width)
    sub = None if inp.substitutes is None or not len(inp.substitutes) else \
        (inp.substitute(days) if sub is None else sub)                  # (D, M), held with chance 1
    # rank by rank: the item's share if it is held and nothing ranked above it is; `miss` is the
    # product of (1 - P) over the items ranked above (with substitutes, only those above sub(t))
    total, miss = np.zeros(P.shape[1:]), np.ones(P.shape[1:])
    for r in range(len(P)):
        Pr = P[order[r, 0]] if uniform[r] else P[order[r], cols]
        term = s[r][:, None] * Pr * miss
        if sub is None:
            total += term
            miss *= 1.0 - Pr
            continue
        above = s[r][:, None] > sub                                     # the items sorted before sub: a prefix
        total += np.where(above, term, 0.0)
        miss = np.where(above, miss * (1.0 - Pr), miss)
    return total if sub is None else total + sub * miss


# ---- days to a curve reaching 1/2 --------------------------------------------------------

def _first_day(curve, inp: Inputs, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Per draw, the first whole day in [lo, hi] where the (non-decreasing) curve
    reaches 1/2; inf where it does not by hi."""
    lo, hi = lo.astype(float).copy(), hi.astype(float).copy()
    if inp.width == 1 and np.isfinite(hi).all() and hi[0] - lo[0] < 8192:
        # one column: every day at once costs less than a dozen bisection steps
        if hi[0] < lo[0]:
            return np.array([np.inf])
        days = np.arange(lo[0], hi[0] + 1)
        ok = np.flatnonzero(curve(inp, days[None, :])[0] >= 0.5)
        return np.array([days[ok[0]] if ok.size else np.inf])
    reached = (curve(inp, hi[:, None])[:, 0] >= 0.5) & (lo <= hi)
    hi = np.where(reached, hi, lo)
    while True:
        open_ = lo < hi
        if not open_.any():
            break
        mid = np.floor((lo + hi) / 2)
        ok = curve(inp, mid[:, None])[:, 0] >= 0.5
        hi = np.where(open_ & ok, mid, hi)
        lo = np.where(open_ & ~ok, mid + 1, lo)
    return np.where(reached, lo, np.inf)


def _access(inp: Inputs, days: np.ndarray) -> np.ndarray:
    return durable(inp, days, substitutes=False)


def _access_usable(inp: Inputs, days: np.ndarray) -> np.ndarray:
    return usable(inp, days, substitutes=False)


def _with_substitutes(inp: Inputs, days: np.ndarray) -> np.ndarray:
    """The first day counting the substitutes: sub(t) reaching the threshold makes the curve 1,
    so a curve without them (non-decreasing) and the substitutes' first day decide it."""
    if inp.days_substitute is None:
        return days
    return np.minimum(days, inp.days_substitute)


def days_to_durable(inp: Inputs, horizon: int = DEFAULT_HORIZON_DAYS) -> np.ndarray:
    zeros = np.zeros(inp.width)
    return _with_substitutes(inp, _first_day(_access, inp, zeros, np.full(inp.width, float(horizon))))


def days_to_usable(inp: Inputs, horizon: int = DEFAULT_HORIZON_DAYS) -> np.ndarray:
    """Usable never falls while the same accesses are open; it falls when a non-persistent
    route's access ends. So the days are cut where accesses end, and each stretch is searched
    in order; the last (every access ended) is durable's."""
    ends = np.floor(inp.ends[~inp.persistent]) if len(inp.persistent) else np.zeros((0, inp.width))
    ends = np.unique(np.minimum(ends, horizon), axis=0)       # routes through one tier end together
    cuts = np.sort(ends, axis=0)                                          # (K', D)
    found = np.full(inp.width, np.inf)
    lo = np.zeros(inp.width)
    for cut in list(cuts) + [np.full(inp.width, float(horizon))]:
        hi = np.minimum(cut, horizon)
        todo = ~np.isfinite(found) & (lo <= hi)
        if todo.any():
            first = _first_day(_access_usable, inp, np.where(todo, lo, 0.0), np.where(todo, hi, -1.0))
            found = np.where(todo & np.isfinite(first), first, found)
        lo = np.maximum(lo, cut + 1)
    return _with_substitutes(inp, found)


# ---- the answer for a scenario ---------------------------------------------------------

def lead(with_: np.ndarray, without: np.ndarray) -> np.ndarray:
    """Days the controls buy: 0 when neither reaches it, inf/-inf when only one does."""
    with np.errstate(invalid="ignore"):
        out = with_ - without
    return np.where(np.isinf(with_) & np.isinf(without), 0.0, out)


def acceleration(independent: np.ndarray, durable_days: np.ndarray) -> np.ndarray:
    """How much sooner access gets the actor there than its own work; nan when undefined."""
    with np.errstate(invalid="ignore"):
        out = independent - durable_days
    return np.where(np.isfinite(independent) & np.isfinite(durable_days), out, np.nan)


@dataclass(frozen=True)
class Timeline:
    """A scenario's capability over time, at deterministic values (stats: per-draw percentiles)."""

    scenario: str
    threshold: float
    horizon_days: int
    days_to_durable: float          # inf: not within the horizon
    days_to_usable: float
    days_to_durable_without_controls: float
    days_independent: float         # inf: no independent_months
    lead_days: float                # inf/-inf: only one side reaches it
    acceleration_days: float        # nan: undefined
    expected_capability: dict[int, float]
    days_substitute: float = math.inf       # inf: no substitute reaches the threshold
    days_without_access: float = math.inf   # the earlier of own development and substitutes
    harvest: str = "adaptive"
    stats: dict[str, float] = field(default_factory=dict)
    samples: int | None = None
    seed: int = 0

    @property
    def lead_months(self) -> float:
        return self.lead_days / DAYS_PER_MONTH

    @property
    def acceleration_months(self) -> float:
        return self.acceleration_days / DAYS_PER_MONTH

    def to_dict(self) -> dict:
        out = {
            "scenario": self.scenario, "threshold": self.threshold, "horizon_days": self.horizon_days,
            **{k: _json_number(getattr(self, k)) for k in (
                "days_to_durable", "days_to_usable", "days_to_durable_without_controls", "days_independent",
                "days_substitute", "days_without_access", "lead_days", "acceleration_days")},
            "expected_capability": {str(d): v for d, v in self.expected_capability.items()},
            "harvest": self.harvest,
        }
        out.update({k: _json_number(v) for k, v in self.stats.items()})
        return out


def _json_number(x: float) -> float | int | None:
    x = float(x)
    if not math.isfinite(x):
        return None
    return int(x) if x.is_integer() else x


def percentiles(name: str, values: np.ndarray, horizon: int) -> dict[str, float]:
    """5th, 50th and 95th percentiles of per-draw days; inf beyond the horizon, nan when undefined.
    Never (inf) sorts above every day and nan draws are left out."""
    v = values[~np.isnan(values)]
    if v.size == 0:
        return {f"{name}_{q}": math.nan for q in ("p5", "p50", "p95")}
    big = 1e15                                     # stands for +-inf so that interpolation stays finite
    q = np.percentile(np.clip(v, -big, big), [5, 50, 95])
    q = np.where(q > horizon, np.inf, np.where(q < -horizon, -np.inf, q))
    return {f"{name}_{k}": round(float(x), 4) for k, x in zip(("p5", "p50", "p95"), q)}   # interpolated: no false digits


@dataclass(frozen=True, eq=False)
class Answer:
    """Per-draw days for one scenario, with and without its controls."""

    with_: Inputs
    without: Inputs
    horizon: int

    @classmethod
    def of(cls, model: ThreatModel, scenario: str, sampler: Sampler, *, threshold: float | None = None,
           horizon: int = DEFAULT_HORIZON_DAYS, setting: Setting | None = None,
           pathways: tuple[Pathway, ...] | None = None, harvest: str | None = None,
           clocks: ClockMemo | None = None, reads: str = "curves") -> Answer:
        """`setting` replaces the scenario's own (other controls, from the explorer); `threshold`
        and `harvest` override the scenario's (or the setting's). `clocks`: clocks kept from other
        scenarios (those of pathways with the same leaves are taken), where this one's are kept.
        `reads`: "days" when no E(t) will be asked of it (gather's)."""
        s = model.scenario(scenario)
        setting = (setting or Setting.of(model, s)).with_options(threshold, harvest)
        months = independent_months(setting, s)
        chosen = model.pathways if pathways is None else pathways
        bare = setting.without_controls()              # none of the scenario's nor its exposures' controls
        if bare == setting:
            with_ = without = gather(setting, chosen, sampler, months=months, horizon=int(horizon), kept=clocks,
                                     reads=reads)
        else:
            with_, without = gather_pair(setting, bare, chosen, sampler, months=months, horizon=int(horizon),
                                         kept=clocks, reads=reads)
        return cls(with_, without, int(horizon))

    def days(self) -> dict[str, np.ndarray]:
        d = days_to_durable(self.with_, self.horizon)
        d0 = days_to_durable(self.without, self.horizon)
        independent = self.with_.parity
        substitute = self.with_.days_substitute
        without_access = self.with_.without_access
        return {"days_to_durable": d, "days_to_usable": days_to_usable(self.with_, self.horizon),
                "days_to_durable_without_controls": d0, "days_independent": independent,
                "days_substitute": substitute, "days_without_access": without_access,
                "lead_days": lead(d, d0), "acceleration_days": acceleration(without_access, d)}


def timeline(model: ThreatModel, scenario: str, *, threshold: float | None = None, samples: int | None = None,
             seed: int = 0, horizon: int = DEFAULT_HORIZON_DAYS, setting: Setting | None = None,
             harvest: str | None = None, clocks: ClockMemo | None = None) -> Timeline:
    """The scenario's capability timeline (deterministic), with per-draw percentiles when `samples`.
    `setting` replaces the scenario's own (e.g. other controls, from the explorer); `clocks`: as
    Answer.of's, for many scenarios of one model (the same numbers, computed once)."""
    det, mc = answers(model, scenario, samples=samples, seed=seed, threshold=threshold, horizon=horizon,
                      setting=setting, harvest=harvest, clocks=clocks, reads="days")
    return timeline_of(scenario, det, mc if samples else None, samples=samples, seed=seed)


def answers(model: ThreatModel, scenario: str, *, samples: int | None = None, seed: int = 0,
            threshold: float | None = None, horizon: int = DEFAULT_HORIZON_DAYS,
            setting: Setting | None = None, harvest: str | None = None,
            clocks: ClockMemo | None = None, reads: str = "curves") -> tuple[Answer, Answer]:
    """(at deterministic values, over `samples` draws: the same Answer without samples), which
    `timeline_of` and `curves_of` share (a report needs both). `reads`: "days" when the draws'
    Answer serves only `timeline_of` (Answer.of's); the deterministic one serves E(t) as well."""
    options = dict(threshold=threshold, horizon=horizon, setting=setting, harvest=harvest, clocks=clocks)
    det = Answer.of(model, scenario, Sampler(), **options)
    mc = det if not samples else Answer.of(model, scenario, Sampler(samples, seed), reads=reads, **options)
    return det, mc


def timeline_of(scenario: str, det: Answer, mc: Answer | None = None, *, samples: int | None = None,
                seed: int = 0) -> Timeline:
    """The Timeline from answers at deterministic values (`det`) and, with samples, over draws (`mc`)."""
    horizon = det.horizon
    days = {k: float(v[0]) for k, v in det.days().items()}
    report = np.array(REPORT_DAYS, float)[None, :]
    expected = expected_capability(det.with_, report)[0]
    stats: dict[str, float] = {}
    if mc is not None:
        for name, values in mc.days().items():
            stats.update(percentiles(name, values, horizon))
    return Timeline(scenario=scenario, threshold=det.with_.threshold, horizon_days=int(horizon),
                    expected_capability={d: float(e) for d, e in zip(REPORT_DAYS, expected)},
                    harvest=det.with_.setting.harvest, stats=stats, samples=samples, seed=seed, **days)


# ---- curves on a grid, for plots --------------------------------------------------------

@dataclass(frozen=True, eq=False)
class Curves:
    """Capability over time on a grid of days: means over draws and the 5-95% band of E(t)."""

    scenario: str
    label: str
    days: np.ndarray
    expected: np.ndarray            # mean E(t)
    expected_low: np.ndarray
    expected_high: np.ndarray
    durable: np.ndarray             # mean durable(t)
    usable: np.ndarray              # mean usable(t)
    threshold: float
    days_independent: float         # at deterministic values (inf: never)
    days_to_durable: float          # at deterministic values
    days_to_usable: float
    substitute: np.ndarray | None = None    # mean sub(t): the substitutes' share (None: no substitutes)
    days_substitute: float = math.inf       # at deterministic values (inf: never)

    def __repr__(self) -> str:
        return (f"<Curves {self.scenario}: durable from day {self.days_to_durable:g}, usable from day "
                f"{self.days_to_usable:g}, horizon {self.days[-1]:g} days>")

    def at(self, day: float) -> float:
        """Expected durable share of capability on `day` (mean over draws)."""
        return float(np.interp(day, self.days, self.expected))

    def relabel(self, label: str) -> Curves:
        return replace(self, label=label)


def day_grid(horizon_days: float, points: int = DEFAULT_POINTS) -> np.ndarray:
    """Day 0, then whole days spaced geometrically to the horizon (dense where curves rise)."""
    if horizon_days < 1:
        raise ValueError(f"the horizon must be at least 1 day, found {horizon_days}")
    return np.unique(np.concatenate([[0.0], np.round(np.geomspace(1.0, horizon_days, points))]))


def curves(inp: Inputs, det: Inputs | None = None, *, label: str = "", horizon: int = DEFAULT_HORIZON_DAYS,
           points: int = DEFAULT_POINTS) -> Curves:
    """Curves for plotting from `inp` (draws); days at `det` (deterministic inputs, default `inp`'s first draw)."""
    days = day_grid(horizon, points)

    def on_grid(part: Inputs, grid: np.ndarray) -> tuple[np.ndarray, ...]:
        P, sub = held(part, grid), part.substitute(grid)          # shared by the three curves
        return (expected_capability(part, grid, P, sub), durable(part, grid, P, sub=sub),
                usable(part, grid, P, sub=sub), sub)

    until = _routes_matter_until(inp, horizon)
    live = _live_routes(inp)

    def block(lo: int) -> tuple[np.ndarray, ...]:
        part = _columns(live, slice(lo, lo + CHUNK))
        # past the day the routes stop mattering to every draw of the block, the curves are computed
        # without them: the same numbers, to the bit (see `_routes_matter_until`), for half the work
        n = int(np.searchsorted(days, until[lo:lo + CHUNK].max(initial=-np.inf), side="right"))
        pieces = [on_grid(p, days[None, d]) for p, d in ((part, slice(0, n)), (_without_routes(part), slice(n, None)))
                  if days[d].size]
        e, d, u, sub = (np.concatenate(x, axis=1) for x in zip(*pieces))
        return e, d.sum(axis=0), u.sum(axis=0), sub.sum(axis=0)

    e_rows, d_sum, u_sum, s_sum = [], np.zeros(days.size), np.zeros(days.size), np.zeros(days.size)
    for e, d, u, s in on_cores([lambda lo=lo: block(lo) for lo in range(0, inp.width, CHUNK)], inp.width):
        e_rows.append(e)                 # summed in the order of the draws, as one thread would
        d_sum += d
        u_sum += u
        s_sum += s
    has_substitutes = inp.substitutes is not None and len(inp.substitutes) > 0
    e = np.concatenate(e_rows)
    low, high = column_percentiles(e, [5, 95])
    det = det if det is not None else _columns(inp, slice(0, 1))
    return Curves(scenario=inp.setting.id, label=label, days=days, expected=e.mean(axis=0), expected_low=low,
                  expected_high=high, durable=d_sum / inp.width, usable=u_sum / inp.width,
                  threshold=inp.threshold, days_independent=float(det.parity[0]),
                  days_to_durable=float(days_to_durable(det, horizon)[0]),
                  days_to_usable=float(days_to_usable(det, horizon)[0]),
                  substitute=s_sum / inp.width if has_substitutes else None,
                  days_substitute=float(det.days_substitute[0]) if det.days_substitute is not None else math.inf)


def _routes_matter_until(inp: Inputs, horizon: int) -> np.ndarray:
    """Per draw, the last day the routes can change durable, usable or E(t) (`_last_days`'
    reasoning, for days past it): from the parity day the actor holds everything (durable, usable
    and E are 1, own development ranked first); from the day the substitutes hold, for good, at
    least every route's share, E is sub(t), and durable and usable are whether sub(t) reaches the
    threshold (no route's share does unless sub(t)'s does). On those days the formulas give, to
    the bit, what they give without the routes: every route's term is multiplied by a 0 or left out."""
    return _routes_settle(inp.parity, inp.substitutes, float(inp.share.max(initial=0.0)), horizon)


def _routes_settle(parity: np.ndarray, substitutes: Shares | None, level: float, horizon: int) -> np.ndarray:
    """Per draw, the earlier of the parity day and the day the substitutes hold `level` (every
    route's share) for good: from then on the routes change no curve."""
    if substitutes is None or not len(substitutes):
        return parity
    return np.minimum(parity, substitutes.holds_from(level, horizon))


def _live_routes(inp: Inputs) -> Inputs:
    """The inputs without the routes whose clock is 0 on every day of every draw (an infeasible
    pathway: a quarter of the routes in the example's scenarios): such a route multiplies by 1 or adds 0 in
    every formula of the curves, so they are the same to the bit without it."""
    live = np.array([k for k, F in enumerate(inp.clocks) if F.any()], np.intp)
    if live.size == len(inp.clocks):
        return inp
    return replace(inp, p=inp.p[live], time=inp.time[live], share=inp.share[live],
                   cost=None if inp.cost is None else inp.cost[live], clocks=tuple(inp.clocks[k] for k in live),
                   persistent=inp.persistent[live], needs_access=inp.needs_access[live],
                   route_duration=None if inp.route_duration is None else inp.route_duration[live])


def _without_routes(inp: Inputs) -> Inputs:
    """The inputs with no route: own development and the substitutes alone."""
    none = slice(0, 0)
    return replace(inp, p=inp.p[none], time=inp.time[none], share=inp.share[none], cost=None, clocks=(),
                   persistent=inp.persistent[none], needs_access=inp.needs_access[none],
                   route_duration=None if inp.route_duration is None else inp.route_duration[none])


def _columns(inp: Inputs, cols: slice) -> Inputs:
    return replace(inp, p=inp.p[:, cols], time=inp.time[:, cols], share=inp.share[:, cols],
                   cost=None if inp.cost is None else inp.cost[:, cols], duration=inp.duration[cols],
                   parity=inp.parity[cols], clocks=tuple(F[cols] for F in inp.clocks),
                   route_duration=None if inp.route_duration is None else inp.route_duration[:, cols],
                   substitutes=None if inp.substitutes is None else inp.substitutes.columns(cols),
                   days_substitute=None if inp.days_substitute is None else inp.days_substitute[cols])


def scenario_curves(model: ThreatModel, scenario: str, *, samples: int | None = None, seed: int = 0,
                    threshold: float | None = None, horizon: int = DEFAULT_HORIZON_DAYS,
                    setting: Setting | None = None, harvest: str | None = None) -> tuple[Curves, Curves]:
    """(without the scenario's controls, with them): curves for the report and the explorer."""
    return curves_of(*answers(model, scenario, samples=samples, seed=seed, threshold=threshold, horizon=horizon,
                              setting=setting, harvest=harvest))


def curves_of(det: Answer, mc: Answer) -> tuple[Curves, Curves]:
    """(without the controls, with them) from `answers`."""
    with_ = curves(mc.with_, det.with_, label="with controls", horizon=det.horizon)
    if mc.without is mc.with_ and det.without is det.with_:        # no controls: one side is the other
        return with_.relabel("without controls"), with_
    return curves(mc.without, det.without, label="without controls", horizon=det.horizon), with_


# ---- policies ---------------------------------------------------------------------------

@dataclass(frozen=True)
class PolicyLead:
    """What moving from a base scenario to a policy scenario buys against one actor."""

    actor: str
    base_days: float                # days to durable capability under the base (inf: beyond horizon)
    policy_days: float
    days_independent: float
    lead_days: float                # policy - base
    acceleration_base_days: float   # without access - base (nan: undefined)
    acceleration_policy_days: float
    lead_p5: float = math.nan
    lead_p50: float = math.nan
    lead_p95: float = math.nan
    days_substitute: float = math.inf       # under the base scenario's substitutes (inf: never)
    days_without_access: float = math.inf   # the earlier of own development and the substitutes


def policy_leads(model: ThreatModel, base: str, policy: str, actors: tuple[str, ...] | None = None,
                 samples: int | None = None, seed: int = 0, horizon: int = DEFAULT_HORIZON_DAYS,
                 harvest: str | None = None, clocks: ClockMemo | None = None) -> dict[str, PolicyLead]:
    """For each actor (default: all), days to durable capability under `base` and under `policy`
    (their tiers, controls, exposures and substitutes, for that actor), the lead the policy buys
    and the acceleration under each (against the days without access). `clocks`: as Answer.of's."""
    scenarios = {"base": model.scenario(base), "policy": model.scenario(policy)}
    clocks = ClockMemo() if clocks is None else clocks    # a pathway the policy leaves alone: one clock
    out = {}
    for actor_id in actors if actors is not None else [x.id for x in model.actors]:
        model.actor(actor_id)                        # an unknown actor: KeyError naming the closest
        row = {}
        for sampler in ([Sampler()] + ([Sampler(samples, seed)] if samples else [])):
            days = {}
            for name, s in scenarios.items():
                setting = Setting.of(model, s.model_copy(update={"actor": actor_id}), harvest=harvest)
                inp = gather(setting, model.pathways, sampler, months=independent_months(setting), horizon=horizon,
                             kept=clocks, reads="days")
                days[name] = days_to_durable(inp, horizon)
                if name == "base":
                    days["independent"], days["substitute"] = inp.parity, inp.days_substitute
                    days["without"] = inp.without_access
            if sampler.deterministic:
                row.update(base_days=float(days["base"][0]), policy_days=float(days["policy"][0]),
                           days_independent=float(days["independent"][0]),
                           days_substitute=float(days["substitute"][0]),
                           days_without_access=float(days["without"][0]),
                           lead_days=float(lead(days["policy"], days["base"])[0]),
                           acceleration_base_days=float(acceleration(days["without"], days["base"])[0]),
                           acceleration_policy_days=float(acceleration(days["without"], days["policy"])[0]))
            else:
                q = percentiles("lead", lead(days["policy"], days["base"]), horizon)
                row.update(lead_p5=q["lead_p5"], lead_p50=q["lead_p50"], lead_p95=q["lead_p95"])
        out[actor_id] = PolicyLead(actor=actor_id, **row)
    return out


# ---- the ecosystem: one lab's restriction against a coordinated one ---------------------

@dataclass(frozen=True)
class Ecosystem:
    """Days to durable capability (deterministic) for a scenario's world, and its variants: the
    asset the only model in view, and every exposure restricted as the scenario's own access."""

    scenario: str
    as_is: float                # the scenario as given
    asset_alone: float          # without its exposures
    coordinated: float          # every exposure with the scenario's own controls as well
    days_substitute: float      # inf: never
    days_independent: float

    @property
    def coordination_gain(self) -> float:
        """Days a coordinated restriction buys over the scenario as given."""
        return float(lead(np.array([self.coordinated]), np.array([self.as_is]))[0])


def ecosystem(model: ThreatModel, scenario: str, *, threshold: float | None = None, harvest: str | None = None,
              horizon: int = DEFAULT_HORIZON_DAYS) -> Ecosystem:
    """What the other models the actor reaches change: the scenario as given, with the asset alone,
    and with every exposure carrying the scenario's own controls too (a coordinated restriction)."""
    s = model.scenario(scenario)
    setting = Setting.of(model, s).with_options(threshold, harvest)
    months = independent_months(setting, s)
    variants = {
        "as_is": setting,
        "asset_alone": replace(setting, exposures=()),
        "coordinated": replace(setting, exposures=tuple(
            replace(e, controls=e.controls + tuple(c for c in setting.controls if c.id not in {x.id for x in e.controls}))
            for e in setting.exposures)),
    }
    days, inp = {}, None
    for name, variant in variants.items():
        inp = gather(variant, model.pathways, Sampler(), months=months, horizon=horizon, reads="days")
        days[name] = float(days_to_durable(inp, horizon)[0])
    return Ecosystem(scenario, days_substitute=float(inp.days_substitute[0]), days_independent=float(inp.parity[0]),
                     **days)
