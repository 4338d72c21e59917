"""Diffusion curves: the probability that the actor holds the replicated
capability by day t, and the lead time that controls preserve.

Assumptions (state them in reports):
- an actor who fails tries again: each attempt at a pathway succeeds with the
  pathway's probability and takes its time to capability, so after n whole
  attempts P = 1 - (1 - p)^n, with n = floor(t / time);
- pathways are independent: P_all = 1 - prod_k (1 - P_k);
- a non-persistent pathway (direct use) gives capability only while access
  lasts: after the tier's `duration_days` it counts for nothing;
- uncertainty: with `samples`, each Monte Carlo draw gives its own curve; the
  curve shown is their mean and the band their 5th to 95th percentile.

The lead time of a set of controls is the difference in median time to
capability (the first day the curve reaches 1/2) with and without them. Its
band comes from the paired per-draw differences: both sides use the same
draws (see simulate.Sampler), so the band shows parameter uncertainty, not
sampling noise.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from threatkit.analysis.assess import Setting, evaluate
from threatkit.analysis.simulate import Sampler
from threatkit.model.values import Pathway, ThreatModel

DEFAULT_HORIZON_DAYS = 3650.0
DEFAULT_POINTS = 600
CHUNK = 2048
DAYS_PER_MONTH = 365.25 / 12          # samples per block, to bound memory (samples x points x 8 bytes)


@dataclass(frozen=True, eq=False)
class Diffusion:
    """Curves on a grid of days; `time_to_capability` per draw (inf: not within the horizon)."""

    scenario: str
    days: np.ndarray
    pathways: dict[str, np.ndarray]      # pathway id -> mean curve
    combined: np.ndarray                 # mean curve over pathways
    low: np.ndarray                      # 5th percentile over draws
    high: np.ndarray                     # 95th percentile over draws
    time_to_capability: np.ndarray       # (draws,) first day each draw's curve reaches 1/2

    @property
    def median_days(self) -> float:
        """First day the mean combined curve reaches 1/2 (inf if not within the horizon)."""
        return float(first_crossing(self.combined[None, :], self.days)[0])

    def __repr__(self) -> str:
        return (f"<Diffusion {self.scenario}: median {self.median_days:g} days, "
                f"{self.time_to_capability.size} draws, horizon {self.days[-1]:g} days>")

    def at(self, day: float) -> float:
        """Probability of holding the capability by `day` (mean over draws)."""
        return float(np.interp(day, self.days, self.combined))


def day_grid(horizon_days: float, points: int) -> np.ndarray:
    """Day 0, then whole days spaced geometrically up to the horizon: one-day steps
    early on (where most curves rise), about 1.4% relative steps later."""
    if horizon_days < 1:
        raise ValueError(f"the horizon must be at least 1 day, found {horizon_days}")
    return np.unique(np.concatenate([[0.0], np.round(np.geomspace(1.0, horizon_days, points))]))


def first_crossing(curves: np.ndarray, days: np.ndarray, level: float = 0.5) -> np.ndarray:
    """For each row, the first day the curve reaches `level`; inf where it never does."""
    reached = curves >= level
    first = np.argmax(reached, axis=1)
    return np.where(reached.any(axis=1), days[first], np.inf)


def _attempt_curves(p: np.ndarray, t: np.ndarray, days: np.ndarray, access_end: np.ndarray | None) -> np.ndarray:
    """(draws, points): 1 - (1 - p)^floor(day / t), zero after access ends."""
    with np.errstate(divide="ignore", invalid="ignore"):
        attempts = np.floor(days[None, :] / t[:, None])
    attempts = np.where(t[:, None] == 0, np.inf, attempts)      # an instant step: every attempt at once
    attempts = np.nan_to_num(attempts, nan=0.0, posinf=np.inf)  # inf time: never
    with np.errstate(invalid="ignore"):
        curve = 1.0 - np.power(1.0 - p[:, None], attempts)
    curve = np.nan_to_num(curve, nan=0.0)                       # p = 0 with infinitely many attempts
    if access_end is not None:
        curve = np.where(days[None, :] > access_end[:, None], 0.0, curve)
    return curve


def diffusion(setting: Setting, pathways: tuple[Pathway, ...], samples: int | None = None, seed: int = 0,
              horizon_days: float = DEFAULT_HORIZON_DAYS, points: int = DEFAULT_POINTS) -> Diffusion:
    days = day_grid(horizon_days, points)
    points = days.size
    sampler = Sampler(samples, seed)
    duration = sampler.draw_one(setting.tier.duration_days, "tier", setting.tier.id, "duration_days")
    roots = []
    for pw in pathways:
        tree = evaluate(pw, setting, sampler)
        roots.append((pw, tree.root("probability"), tree.root("time_days")))

    width = sampler.width
    sums = {pw.id: np.zeros(points) for pw in pathways}
    combined_draws = np.empty((width, points))
    for lo in range(0, width, CHUNK):
        hi = min(width, lo + CHUNK)
        survive = np.ones((hi - lo, points))
        for pw, p, t in roots:
            curve = _attempt_curves(p[lo:hi], t[lo:hi], days, None if pw.persistent else duration[lo:hi])
            sums[pw.id] += curve.sum(axis=0)
            survive *= 1.0 - curve
        combined_draws[lo:hi] = 1.0 - survive
    low, high = np.percentile(combined_draws, [5, 95], axis=0)
    return Diffusion(
        scenario=setting.id, days=days,
        pathways={k: v / width for k, v in sums.items()},
        combined=combined_draws.mean(axis=0), low=low, high=high,
        time_to_capability=first_crossing(combined_draws, days),
    )


@dataclass(frozen=True)
class LeadTime:
    """Days of lead preserved: median time to capability with minus without."""

    with_days: float             # median time to capability with the controls (inf: beyond horizon)
    without_days: float
    lead_days: float             # with - without (inf: the controls hold the actor off past the horizon)
    p5: float
    p50: float
    p95: float                   # paired per-draw differences, censored at the horizon
    horizon_days: float

    @property
    def lead_months(self) -> float:
        return self.lead_days / DAYS_PER_MONTH


def lead_between(without: Diffusion, with_: Diffusion) -> LeadTime:
    """Lead of `with_` over `without`: how much later the actor reaches capability."""
    horizon = float(without.days[-1])
    a = np.minimum(with_.time_to_capability, horizon)
    b = np.minimum(without.time_to_capability, horizon)
    p5, p50, p95 = np.percentile(a - b, [5, 50, 95])
    w, wo = with_.median_days, without.median_days
    lead = (w - wo) if np.isfinite(w) or np.isfinite(wo) else 0.0
    return LeadTime(float(w), float(wo), float(lead), float(p5), float(p50), float(p95), horizon)


def lead_time(model: ThreatModel, scenario: str, controls: tuple[str, ...] | None = None,
              samples: int | None = None, seed: int = 0, horizon_days: float = DEFAULT_HORIZON_DAYS) -> LeadTime:
    """Lead preserved by `controls` in a scenario: the scenario with them (added if
    it lacks them) against the scenario without them. Default: all its controls."""
    base = Setting.of(model, scenario)
    chosen = [model.control(c) for c in controls] if controls is not None else list(base.controls)
    names = {c.id for c in chosen}
    without = base.with_controls(tuple(c for c in base.controls if c.id not in names))
    with_ = without.with_controls(without.controls + tuple(chosen))
    d_with = diffusion(with_, model.pathways, samples, seed, horizon_days)
    d_without = diffusion(without, model.pathways, samples, seed, horizon_days)
    return lead_between(d_without, d_with)


def policy_leads(model: ThreatModel, base: str, policy: str, actors: tuple[str, ...] | None = None,
                 samples: int | None = None, seed: int = 0,
                 horizon_days: float = DEFAULT_HORIZON_DAYS) -> dict[str, LeadTime]:
    """Lead preserved by moving from scenario `base` to scenario `policy` (their tiers
    and controls), for each actor in turn (default: every actor of the model)."""
    from dataclasses import replace

    a, b = Setting.of(model, base), Setting.of(model, policy)
    out = {}
    for actor_id in actors if actors is not None else [x.id for x in model.actors]:
        actor = model.actor(actor_id)
        d_base = diffusion(replace(a, actor=actor), model.pathways, samples, seed, horizon_days)
        d_policy = diffusion(replace(b, actor=actor), model.pathways, samples, seed, horizon_days)
        out[actor_id] = lead_between(d_base, d_policy)
    return out
