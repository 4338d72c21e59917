"""What each control is worth in a scenario, and the best set within a budget.

Expected risk is the sum over pathways of probability x impact value (the
share of the capability the pathway transfers, its transfer curve at the
samples collected or its fidelity, times the asset's capability value), at
deterministic values. A control's value is the expected risk it removes at the margin:
for a control the scenario has, the risk without it minus the risk with all;
for one it lacks, the risk now minus the risk with it added.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from threatkit.analysis.assess import Setting, evaluate, leaf_table, share
from threatkit.model.values import Control, Pathway, ThreatModel


def pathway_risks(setting: Setting, pathways: tuple[Pathway, ...]) -> list[float]:
    """Each pathway's expected risk: probability x share x the asset's capability value."""
    capability = setting.asset.capability_value.mode
    out = []
    for pw in pathways:
        tree = evaluate(pw, setting)
        out.append(float(tree.root("probability")[0]) * float(share(pw, tree)[0]) * capability)
    return out


def expected_risk(setting: Setting, pathways: tuple[Pathway, ...]) -> float:
    return _total(pathway_risks(setting, pathways))


def _total(risks: list[float]) -> float:
    total = 0.0
    for r in risks:            # in pathway order, from 0.0: the same sum whichever risks were recomputed
        total += r
    return total


def acts_on(control: Control, pathway: Pathway) -> bool:
    """Whether adding or removing the control can change the pathway's evaluation: it counters
    one of its steps, or it caps the query rate or accounts and the pathway queries the model."""
    table = leaf_table(pathway)
    caps = control.caps_queries_per_day is not None or control.caps_accounts is not None
    queries = bool(table.queries_mask.any()) or table.transfer_step is not None
    return bool(table.countered_by(control).any()) or (caps and queries)


@dataclass(frozen=True)
class ControlValue:
    control: str
    in_scenario: bool
    risk_reduction: float        # expected risk removed at the margin
    cost_usd: float
    reduction_per_million_usd: float   # inf for a free control that helps

    def to_dict(self) -> dict:
        per = self.reduction_per_million_usd
        return {"control": self.control, "in_scenario": self.in_scenario, "risk_reduction": self.risk_reduction,
                "cost_usd": self.cost_usd, "reduction_per_million_usd": per if math.isfinite(per) else None}


def _per_million(reduction: float, cost: float) -> float:
    if cost > 0:
        return reduction / cost * 1e6
    return math.inf if reduction > 0 else 0.0


def control_values(model: ThreatModel, scenario: str, candidates: tuple[str, ...] | None = None) -> list[ControlValue]:
    """Each control's marginal value in the scenario, best value per dollar first."""
    setting = Setting.of(model, scenario)
    risks = pathway_risks(setting, model.pathways)
    now = _total(risks)
    chosen = model.controls if candidates is None else tuple(model.control(c) for c in candidates)
    have = {c.id for c in setting.controls}
    out = []
    for c in chosen:
        other = setting.with_controls(tuple(x for x in setting.controls if x.id != c.id) if c.id in have
                                      else setting.controls + (c,))
        # only the pathways the control acts on are evaluated again; the others' risks are unchanged
        moved = [k for k, pw in enumerate(model.pathways) if acts_on(c, pw)]
        changed = dict(zip(moved, pathway_risks(other, tuple(model.pathways[k] for k in moved))))
        risk = _total([changed.get(k, r) for k, r in enumerate(risks)])
        reduction = risk - now if c.id in have else now - risk
        cost = c.cost_usd.mode
        out.append(ControlValue(c.id, c.id in have, reduction, cost, _per_million(reduction, cost)))
    return sorted(out, key=lambda v: (-v.reduction_per_million_usd, -v.risk_reduction, v.control))


@dataclass(frozen=True)
class Portfolio:
    controls: tuple[str, ...]
    cost_usd: float
    risk_before: float
    risk_after: float


def best_within_budget(model: ThreatModel, scenario: str, budget_usd: float,
                       candidates: tuple[str, ...] | None = None) -> Portfolio:
    """Greedy: starting from no controls, repeatedly add the affordable control
    with the most risk reduction per dollar, until none helps or fits. Greedy is
    not always optimal (controls interact), but it is transparent and fast."""
    base = Setting.of(model, scenario).with_controls(())
    pool: list[Control] = list(model.controls if candidates is None else (model.control(c) for c in candidates))
    current, spent = base, 0.0
    risk = before = expected_risk(base, model.pathways)
    while True:
        best = None
        for c in pool:
            cost = c.cost_usd.mode
            if spent + cost > budget_usd:
                continue
            after = expected_risk(current.with_controls(current.controls + (c,)), model.pathways)
            score = (_per_million(risk - after, cost), risk - after)
            if risk - after > 0 and (best is None or score > best[0]):
                best = (score, c, after)
        if best is None:
            break
        _, c, risk = best
        current = current.with_controls(current.controls + (c,))
        spent += c.cost_usd.mode
        pool.remove(c)
    return Portfolio(tuple(c.id for c in current.controls), spent, before, risk)
