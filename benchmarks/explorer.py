"""Benchmark the explorer's response: from a checkbox or dropdown change to updated widget values.

Drives `threatkit.widgets.Explorer` in this process as notebooks/explorer.ipynb builds it (the
Mythos example, scenario status-quo, pathway distillation, 500 draws shown): sets a widget's
value and times until the observer has run `refresh`, which has then set every view's HTML and
the numbers. The session: every control ticked off and on again, each tier, each actor, each
pathway, back to the start, with the capability view shown (so every view is computed). Target:
median < 150 ms. A second session never comes back to a setting
(controls switched off one after another, then on, then each actor): every change computes its
setting afresh, as the clock (issue #20) must. Target: median < 100 ms. Both sessions run with the
attack tree shown (the explorer opens on it); the second also with the capability view shown, whose
Monte Carlo curves are computed only while it is shown.

Baseline, in the same run: the same session with the explorer's per-setting cache turned off
(every curve and timeline computed afresh at each change). Prints best-of-N medians and the ratio.

    python benchmarks/explorer.py           # 3 rounds
    python benchmarks/explorer.py --quick   # 1 round (CI)
"""
from __future__ import annotations

import argparse
import contextlib
import io
import statistics
import sys
import time

TARGET_MS = 150
DISTINCT_TARGET_MS = 100


def distinct_session(explorer) -> list[tuple[object, object]]:
    """Changes that each reach a setting not seen before in the session."""
    boxes = list(explorer.controls.values())
    steps = [(box, not box.value) for box in boxes]               # off one after another: all new
    steps += [(box, box.value) for box in boxes[:-1]]             # on again, in the same order: new too
    others = [value for _, value in explorer.actor.options if value != explorer.actor.value]
    steps += [(explorer.actor, value) for value in others]
    return steps


def session(explorer) -> list[tuple[object, object]]:
    """(widget, value) changes an analyst makes, in order."""
    steps = []
    for box in explorer.controls.values():
        steps += [(box, not box.value), (box, box.value)]
    start = {"tier": explorer.tier.value, "actor": explorer.actor.value, "pathway": explorer.pathway.value}
    for name in ("tier", "actor", "pathway"):
        widget = getattr(explorer, name)
        steps += [(widget, value) for _, value in widget.options if value != start[name]]
        steps.append((widget, start[name]))
    return steps


def run(cache: bool, steps=session, tab: str = "Attack tree") -> list[float]:
    """Seconds per change over one session, on a fresh explorer showing `tab` (the capability view
    computes its Monte Carlo curves only while shown)."""
    import threatkit
    from threatkit.report import example_path
    from threatkit.widgets import TABS, Explorer

    model = threatkit.load_model(example_path())
    with contextlib.redirect_stdout(io.StringIO()):      # the Output widget prints outside a kernel
        explorer = Explorer(model, scenario="status-quo", pathway="distillation", samples=500, seed=1)
        if not cache:
            explorer._answers.size = 0
        explorer.views.selected_index = TABS.index(tab)
        times = []
        for widget, value in steps(explorer):
            explorer.status.value = ""
            start = time.perf_counter()
            widget.value = value
            times.append(time.perf_counter() - start)
            assert explorer.status.value, "refresh did not run"
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one round, for CI")
    args = parser.parse_args()
    rounds = 1 if args.quick else 3
    run(True)                                   # imports and the renderer, warm
    results = {}
    for name, cache in (("no per-setting cache (baseline)", False), ("explorer as shipped", True)):
        medians, worst = [], []
        for _ in range(rounds):
            times = run(cache, tab="Capability over time")      # every view computed at each change
            medians.append(statistics.median(times))
            worst.append(max(times))
        results[name] = min(medians)
        print(f"{name}: median {1000 * min(medians):6.1f} ms a change (best of {rounds} sessions of "
              f"{len(times)} changes), slowest {1000 * min(worst):6.1f} ms")
    baseline, shipped = results.values()
    verdict = "meets" if 1000 * shipped < TARGET_MS else "MISSES"
    print(f"explorer response: median {1000 * shipped:.1f} ms, {baseline / shipped:.2f}x the baseline; "
          f"{verdict} the target of < {TARGET_MS} ms")
    for tab in ("Attack tree", "Capability over time"):
        fresh = min(statistics.median(run(True, distinct_session, tab)) for _ in range(rounds))
        verdict = "meets" if 1000 * fresh < DISTINCT_TARGET_MS else "MISSES"
        print(f"explorer response, settings never seen before (no cache hits), {tab} shown: median "
              f"{1000 * fresh:.1f} ms; {verdict} the target of < {DISTINCT_TARGET_MS} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
