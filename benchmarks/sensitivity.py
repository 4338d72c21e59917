"""Benchmark sensitivity and the key judgments; prints times against targets, and a ratio.

Target (issue #12): the deterministic tornado for one scenario of the Mythos example in under 2 s.

Baseline, measured in the same run: what checking a tornado by hand costs, per input end: load
the model file again (as after editing it), replace the value, recompute the whole timeline.
threatkit instead evaluates every perturbed model as a column of one vectorised computation
on the loaded model (every input at its mode but one), the days of all found by one bisection.
The two must give the same outputs. In --quick mode the baseline runs on a sample of inputs
and is extrapolated.

    python benchmarks/sensitivity.py           # every input for the baseline
    python benchmarks/sensitivity.py --quick   # fewer repeats, a sample of inputs (CI)
"""
from __future__ import annotations

import argparse
import sys
import time
import timeit

from threatkit.analysis.judgments import key_judgments
from threatkit.analysis.sensitivity import tornado
from threatkit.analysis.simulate import beta_ppf
from threatkit.analysis.timeline import timeline
from threatkit.model.inputs import substitute
from threatkit.model.load import load_model
from threatkit.resources import data_path

EXAMPLE = data_path("examples/mythos.yaml")
SCENARIOS = ("status-quo", "restricted-export-sl4")


def best_of(repeats: int, fn) -> float:
    return min(timeit.repeat(fn, number=1, repeat=repeats))


def baseline(rows, scenario: str) -> tuple[float, bool]:
    """Seconds for the given rows by reloading the file per input end; whether every output agrees."""
    agree = True
    start = time.perf_counter()
    for r in rows:
        for value, expected in ((r.low_value, r.output_low), (r.high_value, r.output_high)):
            model = substitute(load_model(EXAMPLE), r.input.ref, value)
            got = timeline(model, scenario).days_to_durable
            agree &= got == expected
    return time.perf_counter() - start, agree


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats, a sample of inputs for the baseline (CI)")
    args = parser.parse_args(argv)
    repeats = 3 if args.quick else 5
    model = load_model(EXAMPLE)
    tornado(model, SCENARIOS[0])                              # first call: imports and caches, not timed
    failed = False

    def report(name: str, seconds: float, target: float | None, note: str = "") -> None:
        nonlocal failed
        verdict = ""
        if target is not None:
            ok = seconds < target
            failed |= not ok
            verdict = f"  target < {target:g} s: {'ok' if ok else 'MISSED'}"
        print(f"{name:<58} {seconds * 1000:9.1f} ms{verdict}{note}")

    for scenario in SCENARIOS:
        t = tornado(model, scenario)
        fast = best_of(repeats, lambda: (beta_ppf.cache_clear(), tornado(model, scenario)))   # percentiles not cached
        report(f"deterministic tornado, {scenario} ({len(t.rows)} inputs)", fast, 2.0)
        rows = t.rows[:: max(1, len(t.rows) // 8)] if args.quick else t.rows
        slow, agree = baseline(rows, scenario)
        slow *= len(t.rows) / len(rows)
        failed |= not agree
        how = f"extrapolated from {len(rows)} inputs" if len(rows) < len(t.rows) else "every input"
        report(f"  baseline: reload the file per input end ({how})", slow, None,
               f"  ratio {slow / fast:,.1f}x; same outputs: {'yes' if agree else 'NO'}")
    report(f"key judgments, {SCENARIOS[0]}, 2,000 draws",
           best_of(max(1, repeats // 2), lambda: key_judgments(model, SCENARIOS[0], samples=2000, seed=1)), 3.0)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
