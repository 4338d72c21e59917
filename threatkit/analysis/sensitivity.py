"""Which inputs an answer hangs on: one-at-a-time swings (a tornado).

Every uncertain input the scenario uses (a range, or an estimative word) goes
to the 5th and then the 95th percentile of its own distribution (PERT for a
range, uniform over a word's band: the distributions Monte Carlo draws from),
with every other input at its mode, and the outputs are recomputed.

Recomputed means: the model that `threatkit.model.inputs.substitute` builds,
the one a hand-edited file would load to, evaluated at its modes, so that
"set this input to low_value in the file and recompute" gives output_low. The
sweep gets those numbers, bit for bit, without building 2 x N models: each
perturbed model is a column of one evaluation (`columns.ColumnSampler`: column
0 has every input at its mode, columns 2i+1 and 2i+2 input i at its low and
high end). That is the same thing because the analysis reads an input only
as the sampler's draw of it (at the mode, a substituted number is itself),
and works column by column: elementwise, or reducing over a tree's nodes or
the pathways, never across columns. tests/test_sensitivity.py checks every
row against the substituted model, for every kind of input.

Outputs: days_to_durable (default), lead_days, acceleration_days and
probability:PATHWAY; for the key judgments also durable:DAYS and
durable_without_controls:DAYS (the chance of durable capability by that day).
"""
from __future__ import annotations

import difflib
import math
from dataclasses import dataclass

import numpy as np

from threatkit.analysis import screening
from threatkit.analysis.assess import Setting
from threatkit.analysis.columns import ColumnSampler
from threatkit.analysis.simulate import quantiles
from threatkit.analysis.timeline import (
    DEFAULT_HORIZON_DAYS,
    Answer,
    acceleration,
    days_to_durable,
    durable,
    lead,
)
from threatkit.model.inputs import Input, inputs_of
from threatkit.model.values import ThreatModel

OUTPUTS = ("days_to_durable", "lead_days", "acceleration_days")
PERCENTILES = (5, 95)
JUDGED_DAYS = (91, 183, 365)        # 3, 6 and 12 months, in whole days (a month is 365.25 / 12 days)


class OutputError(ValueError):
    """An output name the scenario does not have."""


def check_output(model: ThreatModel, output: str) -> str:
    """`output` if it names an output of the model's scenarios; OutputError with the closest name otherwise."""
    names = list(OUTPUTS) + [f"probability:{p.id}" for p in model.pathways]
    if output in names or _internal(output):
        return output
    hint = difflib.get_close_matches(output, names, n=1)
    raise OutputError(f"unknown output {output!r}" + (f" (did you mean {hint[0]!r}?)" if hint else "")
                      + f"; expected one of: {', '.join(names)}")


def _internal(output: str) -> bool:
    kind, _, day = output.partition(":")
    return kind in ("durable", "durable_without_controls") and day.isdigit()


def scenario_inputs(model: ThreatModel, scenario: str, setting: Setting | None = None) -> list[Input]:
    """The uncertain inputs the scenario's answer can depend on: its asset, actor, the scenario itself
    (with its exposures' relative_capability), the tiers and controls of its own access and of each
    exposure, every pathway with its steps, and the substitutes that apply (other actors, tiers or
    substitutes cannot move it)."""
    s = model.scenario(scenario)
    setting = setting or Setting.of(model, s)
    in_model = {c.id for c in model.controls}
    tiers = {r.tier.id: r.tier for r in setting.routes}
    controls = {c.id: c for r in setting.routes for c in r.controls if c.id in in_model}
    return inputs_of(model, {"asset": (setting.asset,), "actor": (setting.actor,), "scenario": (s,),
                             "tier": tuple(tiers.values()), "control": tuple(controls.values()),
                             "pathway": model.pathways, "substitute": setting.substitutes})


def outputs_of(answer: Answer, extra: tuple[str, ...] = ()) -> list[dict[str, float]]:
    """Every output of an answer, one dict per column (per draw, or per perturbed model)."""
    w, wo, h = answer.with_, answer.without, answer.horizon
    d, d0 = days_to_durable(w, h), days_to_durable(wo, h)
    cols = {"days_to_durable": d, "days_to_durable_without_controls": d0, "lead_days": lead(d, d0),
            "acceleration_days": acceleration(w.without_access, d)}
    days = sorted(set(JUDGED_DAYS) | {int(o.partition(":")[2]) for o in extra if _internal(o)})
    grid = np.array([days], float)
    for name, inp in (("durable", w), ("durable_without_controls", wo)):
        values = durable(inp, grid)
        for j, t in enumerate(days):
            cols[f"{name}:{t}"] = values[:, j]
    for k, pw in enumerate(w.pathways):
        cols[f"probability:{pw.id}"] = w.p[k]
    lists = {name: v.tolist() for name, v in cols.items()}          # Python floats, as float(v[i]) gives
    return [{name: v[i] for name, v in lists.items()} for i in range(w.width)]


def swing(low: float, high: float) -> float:
    """How far the output moves: |high - low|; infinite when only one end is reached (never, or
    undefined, at the other); 0 when both ends are the same never or undefined."""
    if math.isfinite(low) and math.isfinite(high):
        return abs(high - low)
    if (math.isnan(low) and math.isnan(high)) or low == high:
        return 0.0
    return math.inf


@dataclass(frozen=True)
class Row:
    input: Input
    low_value: float
    high_value: float
    output_low: float
    output_high: float

    @property
    def swing(self) -> float:
        return swing(self.output_low, self.output_high)

    def to_dict(self) -> dict:
        return {"input": self.input.ref, "label": self.input.label, "low_value": self.low_value,
                "high_value": self.high_value, "output_low": _json(self.output_low),
                "output_high": _json(self.output_high), "swing": _json(self.swing)}


def _json(x: float) -> float | None:
    """Infinity (never within the horizon, or an unbounded swing) and nan (undefined) as null."""
    return x if math.isfinite(x) else None


@dataclass(frozen=True, eq=False)
class Sweep:
    """Every output of the scenario at the modes, and with each input at each end."""

    scenario: str
    inputs: tuple[Input, ...]
    low_values: tuple[float, ...]
    high_values: tuple[float, ...]
    base: dict[str, float]
    low: tuple[dict[str, float], ...]
    high: tuple[dict[str, float], ...]
    percentiles: tuple[int, int]
    horizon: int
    screened: screening.Screen | None = None      # the screen that chose `inputs` (None: every input)

    def rows(self, output: str = "days_to_durable") -> list[Row]:
        """Rows for one output, largest swing first (ties in input order)."""
        rows = [Row(i, lv, hv, lo[output], hi[output])
                for i, lv, hv, lo, hi in zip(self.inputs, self.low_values, self.high_values, self.low, self.high)]
        return sorted(rows, key=lambda r: -r.swing)

    def tornado(self, output: str = "days_to_durable") -> Tornado:
        return Tornado(self.scenario, output, self.base[output], tuple(self.rows(output)), self.percentiles,
                       self.horizon, self.screened)


@dataclass(frozen=True, eq=False)
class Tornado:
    """One output's one-at-a-time swings, largest first."""

    scenario: str
    output: str
    base: float
    rows: tuple[Row, ...]
    percentiles: tuple[int, int]
    horizon: int
    screened: screening.Screen | None = None

    def top(self, n: int = 10) -> tuple[Row, ...]:
        return self.rows[:n]

    def to_list(self) -> list[dict]:
        return [r.to_dict() for r in self.rows]


def sweep(model: ThreatModel, scenario: str, *, setting: Setting | None = None, threshold: float | None = None,
          horizon: int = DEFAULT_HORIZON_DAYS, percentiles: tuple[int, int] = PERCENTILES,
          inputs: list[Input] | None = None, outputs: tuple[str, ...] = (), screen: bool = True) -> Sweep:
    """Every input of the scenario to its low and high percentile, one at a time. With `screen`,
    a scenario with very many inputs (a tree of thousands of steps) has its steps screened first
    (`screening.screen`); `inputs`, when given, are swept as they are."""
    setting = setting or Setting.of(model, model.scenario(scenario))
    screened = None
    if inputs is None:
        inputs = scenario_inputs(model, scenario, setting)
        if screen:
            measure = pair_swings(model, scenario, setting=setting, threshold=threshold, horizon=horizon,
                                  outputs=tuple(o for o in outputs if _internal(o)))
            screened = screening.screen(inputs, measure, percentiles=percentiles)
            inputs = list(screened.inputs)
    lows, highs = (quantiles([inp.quantity for inp in inputs], q / 100) for q in percentiles)
    # Column 0 is the base, columns 2n + 1 and 2n + 2 input n at its ends: each input's draws are
    # its mode (what the base draws) in every column but its own two.
    values = np.repeat(np.array([float(inp.quantity.mode) for inp in inputs]).reshape(-1, 1), 1 + 2 * len(inputs),
                       axis=1)
    for n, (low, high) in enumerate(zip(lows, highs)):
        values[n, 2 * n + 1], values[n, 2 * n + 2] = low, high
    answer = Answer.of(model, scenario, ColumnSampler.of(inputs, values), threshold=threshold, horizon=horizon,
                       setting=setting, reads="days")
    measured = outputs_of(answer, tuple(o for o in outputs if _internal(o)))
    return Sweep(scenario, tuple(inputs), tuple(lows), tuple(highs), measured[0], tuple(measured[1::2]),
                 tuple(measured[2::2]), tuple(percentiles), int(horizon), screened)


def pair_swings(model: ThreatModel, scenario: str, *, setting: Setting, threshold: float | None = None,
                horizon: int = DEFAULT_HORIZON_DAYS, outputs: tuple[str, ...] = ()) -> screening.Measure:
    """A screen's measure: the scenario evaluated on given columns, and each pair of columns after
    the first (2n + 1, 2n + 2) as the swing of every output. In single precision, by FFT (as
    Sobol' does): a screen ranks, and the sweep after it computes the rows it keeps exactly."""
    def measure(moved: list[Input], values: np.ndarray) -> list[dict[str, float]]:
        answer = Answer.of(model, scenario, ColumnSampler.of(moved, values, exact=False), threshold=threshold,
                           horizon=horizon, setting=setting, reads="days")
        measured = outputs_of(answer, outputs)
        return [{o: swing(a[o], b[o]) for o in a} for a, b in zip(measured[1::2], measured[2::2])]

    return measure


def tornado(model: ThreatModel, scenario: str, output: str = "days_to_durable", **kwargs) -> Tornado:
    """The one-at-a-time swings of one output (see `sweep` for the keywords)."""
    check_output(model, output)
    return sweep(model, scenario, outputs=(output,), **kwargs).tornado(output)
