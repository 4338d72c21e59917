"""Sobol' total-order indices: the share of an output's variance each input accounts for,
interactions included (AND and SAND gates multiply probabilities, so one-at-a-time swings
miss what two inputs do together). Needs SALib (`pip install 'threatkit[sensitivity]'`).

Inputs are drawn from the same distributions as Monte Carlo (PERT for a range, uniform over
a word's band), independently, by Saltelli's scheme; every model evaluation is a column of
one vectorised timeline computation (`ColumnSampler`: the sampler hands each input's values
to the analysis in place of random draws). Days that are never reached within the horizon
count as horizon + 1, so that the variance is finite.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from threatkit.analysis.assess import Setting
from threatkit.analysis.columns import ColumnSampler
from threatkit.analysis.sensitivity import scenario_inputs
from threatkit.analysis.simulate import Quantities
from threatkit.analysis.timeline import DEFAULT_HORIZON_DAYS, Answer, days_to_durable
from threatkit.model.inputs import Input
from threatkit.model.values import ThreatModel


def evaluate_columns(model: ThreatModel, scenario: str, inputs: list[Input], values: np.ndarray, output: str, *,
                     setting: Setting | None = None, threshold: float | None = None,
                     horizon: int = DEFAULT_HORIZON_DAYS) -> np.ndarray:
    """`output` for each column of `values` (one row per input), all other inputs at their modes."""
    answer = Answer.of(model, scenario, ColumnSampler.of(inputs, values, exact=False), threshold=threshold, horizon=horizon,
                       setting=setting, reads="days")
    cap = float(horizon + 1)
    d = np.minimum(days_to_durable(answer.with_, horizon), cap)
    if output == "days_to_durable":
        return d
    if output == "lead_days":
        return d - np.minimum(days_to_durable(answer.without, horizon), cap)
    if output == "acceleration_days":
        without = answer.with_.without_access
        if not np.isfinite(without).all():
            raise ValueError("acceleration needs a day without access: the actor's independent_months, or a "
                             "substitute that reaches the threshold within the horizon (the model gives neither)")
        return without - d
    if output.startswith("probability:"):
        k = [pw.id for pw in answer.with_.pathways].index(output.split(":", 1)[1])
        return answer.with_.p[k]
    raise ValueError(f"unknown output {output!r}")


@dataclass(frozen=True)
class SobolRow:
    input: Input
    total: float
    total_conf: float
    first: float
    first_conf: float

    def to_dict(self) -> dict:
        def f(x):
            return float(x) if math.isfinite(x) else None
        return {"input": self.input.ref, "label": self.input.label, "ST": f(self.total), "ST_conf": f(self.total_conf),
                "S1": f(self.first), "S1_conf": f(self.first_conf)}


def sobol_indices(model: ThreatModel, scenario: str, output: str = "days_to_durable", *, samples: int = 256,
                  seed: int = 0, setting: Setting | None = None, threshold: float | None = None,
                  horizon: int = DEFAULT_HORIZON_DAYS) -> list[SobolRow]:
    """Total-order (and first-order) Sobol' indices of every uncertain input, largest total first.
    `samples` is Saltelli's base sample size N (a power of 2): N x (inputs + 2) evaluations."""
    try:
        from SALib.analyze import sobol as analyze
        from SALib.sample import sobol as sample
        from scipy.stats import beta
    except ImportError:
        raise ImportError("Sobol' indices need SALib: pip install 'threatkit[sensitivity]'") from None
    setting = setting or Setting.of(model, scenario)
    inputs = [i for i in scenario_inputs(model, scenario, setting) if i.kind != "asset"]   # the asset's value only scales impact
    problem = {"num_vars": len(inputs), "names": [i.ref for i in inputs], "bounds": [[0.0, 1.0]] * len(inputs)}
    unit = sample.sample(problem, samples, calc_second_order=False, seed=seed)
    arrays = Quantities.of([i.quantity for i in inputs])
    values = arrays.low[:, None] + (arrays.high - arrays.low)[:, None] * beta.ppf(
        unit.T, arrays.alpha[:, None], arrays.beta[:, None])
    y = evaluate_columns(model, scenario, inputs, values, output, setting=setting, threshold=threshold,
                         horizon=horizon)
    if np.var(y) == 0:
        si = {k: np.zeros(len(inputs)) for k in ("ST", "ST_conf", "S1", "S1_conf")}
    else:
        si = analyze.analyze(problem, y, calc_second_order=False, seed=seed)
    rows = [SobolRow(i, float(si["ST"][k]), float(si["ST_conf"][k]), float(si["S1"][k]), float(si["S1_conf"][k]))
            for k, i in enumerate(inputs)]
    return sorted(rows, key=lambda r: -r.total if math.isfinite(r.total) else 0.0)
