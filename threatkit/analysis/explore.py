"""Capability over time for many settings of one scenario, each part computed once.

An explorer shows one scenario under the settings an analyst picks (actor,
tier, controls, a query cap, substitutes on or off, what each exposure carries) and comes back to them: a control ticked and
unticked, an actor tried and left. Every part of the answer is a pure function
of the setting, so it is kept, keyed by the setting's content: the curves'
inputs per setting and sampler, the curves, and the timeline. The setting
without controls (the curves' baseline, and the lead's) is shared by every
choice of controls for the same actor and tier, so ticking a control computes
one side only.

The numbers are exactly those of `scenario_curves` and `timeline` for that
setting: the same functions on the same inputs (tests compare them).
"""
from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from typing import TypeVar

from threatkit.analysis.assess import Setting
from threatkit.analysis.simulate import Sampler
from threatkit.analysis.timeline import (
    DEFAULT_HORIZON_DAYS, Answer, ClockMemo, Curves, Inputs, Timeline, curves, gather,
    independent_months, timeline_of)
from threatkit.model.values import ThreatModel

T = TypeVar("T")


def setting_key(setting: Setting) -> tuple:
    """What a setting's numbers depend on (controls by content: an ad hoc cap has a value)."""
    return (setting.id, setting.asset.id, setting.actor.id, setting.tier.id,
            tuple(c.model_dump_json() for c in setting.controls), setting.threshold, setting.harvest,
            tuple(x.id for x in setting.substitutes),
            tuple((e.route.asset.id, e.route.key, e.route.relative_capability, setting_key(e)) for e in setting.exposures))


class SettingAnswers:
    """`answer(setting)`: (curves without controls, curves with them, timeline), as
    `scenario_curves(model, scenario, samples=, seed=, setting=)` and
    `timeline(model, scenario, setting=)` give them; the most recent `size` parts are kept."""

    def __init__(self, model: ThreatModel, scenario: str, *, samples: int | None, seed: int,
                 horizon: int = DEFAULT_HORIZON_DAYS, size: int = 256):
        self.model, self.scenario = model, model.scenario(scenario)
        self.samples, self.seed, self.horizon, self.size = samples, seed, int(horizon), size
        self._kept: OrderedDict[tuple, object] = OrderedDict()
        self.clocks = ClockMemo()       # per pathway: a control acts on few pathways, the rest keep their clocks

    def answer(self, setting: Setting) -> tuple[Curves, Curves, Timeline]:
        return (*self.curves(setting), self.timeline(setting))

    def curves(self, setting: Setting) -> tuple[Curves, Curves]:
        """(without any controls, with the setting's): Monte Carlo curves, the costly part."""
        bare = setting.without_controls()
        with_, without = (self._curves(x, label) for x, label in ((setting, "with controls"),
                                                                  (bare, "without controls")))
        return without, with_

    def timeline(self, setting: Setting) -> Timeline:
        """The setting's timeline at the inputs' modes (no Monte Carlo draws)."""
        bare = setting.without_controls()
        det = Answer(self._inputs(setting, True), self._inputs(bare, True), self.horizon)
        return self._keep(("timeline", setting_key(setting)), lambda: timeline_of(self.scenario.id, det))

    def _inputs(self, setting: Setting, deterministic: bool) -> Inputs:
        sampler = Sampler() if deterministic or not self.samples else Sampler(self.samples, self.seed)
        return self._keep(("inputs", setting_key(setting), sampler), lambda: gather(
            setting, self.model.pathways, sampler, months=independent_months(setting, self.scenario),
            horizon=self.horizon, kept=self.clocks if self.size > 0 else None))

    def _curves(self, setting: Setting, label: str) -> Curves:
        return self._keep(("curves", setting_key(setting), label), lambda: curves(
            self._inputs(setting, False), self._inputs(setting, True), label=label, horizon=self.horizon))

    def _keep(self, key: tuple, make: Callable[[], T]) -> T:
        if key in self._kept:
            self._kept.move_to_end(key)
            return self._kept[key]
        value = self._kept[key] = make()
        while len(self._kept) > self.size:
            self._kept.popitem(last=False)
        return value
