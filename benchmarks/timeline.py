"""Benchmark capability over time; prints times against targets, and ratios.

Baseline, measured in the same run: a day-by-day scan (every whole day from 0
to the horizon, the curves evaluated on all of them, the first day at or over
1/2 picked), which is what reading the days off a full daily grid costs.
threatkit bisects instead (the durable curve never falls); the ratio is the
speed-up, and the two must agree on every day.

Targets (issue #20, the clock): `timeline` on the Mythos example, every scenario, < 0.5 s
deterministic and < 1.5 s at 2,000 draws; the 19,683-leaf benchmark model (benchmarks/load.py)
< 10 s deterministic. Printed, never failed: these machines are noisy.

    python benchmarks/timeline.py           # targets from issues #11 and #20
    python benchmarks/timeline.py --quick   # fewer repeats and scenarios, for CI
"""
from __future__ import annotations

import argparse
import sys
import timeit

from pathlib import Path

import numpy as np

from threatkit.analysis.simulate import Sampler
from threatkit.analysis.timeline import Answer, ClockMemo, _columns, days_to_durable, durable, timeline
from threatkit.cli.analysis_commands import CLOCKS_KEPT
from threatkit.model.load import load_data, load_model
from threatkit.resources import data_path

EXAMPLE = data_path("examples/mythos.yaml")


def best_of(repeats: int, fn) -> float:
    return min(timeit.repeat(fn, number=1, repeat=repeats))


def scan_days_to_durable(inp, horizon: int) -> np.ndarray:
    """The baseline: durable(t) on every whole day, then the first day >= 1/2."""
    days = np.arange(horizon + 1, dtype=float)
    out = np.full(inp.width, np.inf)
    for lo in range(0, inp.width, 64):                       # blocks keep the (K, draws, days) array small
        cols = slice(lo, lo + 64)
        part = _columns(inp, cols)
        reached = durable(part, days[None, :]) >= 0.5
        out[cols] = np.where(reached.any(axis=1), np.argmax(reached, axis=1), np.inf)
    return out


def huge_model():
    """benchmarks/load.py's model: one tree of 3^9 = 19,683 leaves (one scenario of it)."""
    sys.path.insert(0, str(Path(__file__).parent))
    from load import large_model

    from threatkit.model.load import load_text

    return load_text(large_model(scenarios=1))


def many_scenarios(n: int) -> object:
    """The Mythos example with n scenarios: every actor x tier pairing, cycling controls."""
    base = load_model(EXAMPLE)
    controls = [c.id for c in base.controls]
    scenarios = []
    for k in range(n):
        actor = base.actors[k % len(base.actors)]
        tier = base.tiers[(k // len(base.actors)) % len(base.tiers)]
        chosen = [controls[(k + j) % len(controls)] for j in range(k % 4)]
        scenarios.append({"id": f"s{k}", "asset": base.assets[0].id, "actor": actor.id, "tier": tier.id,
                          "controls": chosen})
    return load_data({"threatkit": 1, "include": [str(EXAMPLE)], "scenarios": scenarios}, base_dir=EXAMPLE.parent)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats and scenarios (CI)")
    args = parser.parse_args(argv)
    repeats = 3 if args.quick else 7
    model = load_model(EXAMPLE)
    scenario = "status-quo"
    timeline(model, scenario)                                 # first calls: imports and caches, not timed
    timeline(model, scenario, samples=64, seed=2)             # (scipy.fft, for the draws' convolutions)

    def report(name: str, seconds: float, target: float | None, note: str = "") -> None:
        verdict = ""
        if target is not None:            # printed, never a failure: these machines are noisy
            ok = seconds < target
            verdict = f"  target < {target:g} s: {'ok' if ok else 'MISSED'}"
        print(f"{name:<52} {seconds * 1000:9.1f} ms{verdict}{note}")

    ids = [s.id for s in model.scenarios]

    def every_scenario(**options) -> list:
        """As `threatkit timeline` computes them: the scenarios share the clocks of pathways with
        the same leaves."""
        clocks = ClockMemo(limit=CLOCKS_KEPT)
        return [timeline(model, s, clocks=clocks, **options) for s in ids]

    report(f"deterministic timeline, {scenario}", best_of(repeats, lambda: timeline(model, scenario)), None)
    report(f"deterministic timeline, all {len(ids)} Mythos scenarios",
           best_of(repeats, every_scenario), 0.5)
    draws = 2000
    report(f"{draws:,} Monte Carlo draws, {scenario}",
           best_of(2, lambda: timeline(model, scenario, samples=draws, seed=1)), None)
    report(f"{draws:,} Monte Carlo draws, all {len(ids)} Mythos scenarios",
           best_of(1, lambda: every_scenario(samples=draws, seed=1)), 1.5)
    huge = huge_model()
    report("19,683-leaf model, deterministic timeline", best_of(1, lambda: timeline(huge, huge.scenarios[0].id)), 10.0)

    n = 20 if args.quick else 100
    big = many_scenarios(n)
    ids = [s.id for s in big.scenarios]
    seconds = best_of(1 if args.quick else 2, lambda: [timeline(big, s) for s in ids])
    report(f"{n} scenarios, deterministic", seconds, 5.0 * n / 100)

    # bisection against the day-by-day scan, on the same draws
    answer = Answer.of(model, scenario, Sampler(draws, 1))
    fast = best_of(repeats, lambda: days_to_durable(answer.with_))
    slow = best_of(1, lambda: scan_days_to_durable(answer.with_, 3650))
    agree = np.array_equal(days_to_durable(answer.with_), scan_days_to_durable(answer.with_, 3650))
    failed = not agree                    # the bisection must find the scan's days, exactly
    report(f"days to durable, {draws:,} draws: bisection", fast, None)
    report(f"days to durable, {draws:,} draws: day-by-day scan", slow, None,
           f"  ratio {slow / fast:,.0f}x; same days: {'yes' if agree else 'NO'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
