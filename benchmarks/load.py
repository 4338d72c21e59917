"""Benchmark loading a large model and assessing it; prints times against targets.

The model: one pathway whose tree has 3^9 = 19,683 leaves under 9,841 gates, and 50
scenarios, about 2.7 MB of YAML (issue 13). Measured:
- a cold load (parse with libyaml, validate, check references, write the cache into an
  empty cache): under 1 s;
- a cached load (the file unchanged: the validated model is unpickled): under 0.2 s
  (these two targets from the issue that made loading a pipeline; issue 13 asked for 4 s and 0.5 s);
  each is the median of three loads, all three printed: one load is one sample on a host
  whose speed varies by 15-30% from second to second, and the first of the three is the
  process's first load of the file;
- `threatkit assess` over all 50 scenarios in a fresh process, cold (empty cache) and cached.
The cache lives in a temporary directory, never the user's.

    python benchmarks/load.py           # the 2.7 MB model
    python benchmarks/load.py --quick   # 3^7 leaves and 10 scenarios, for CI
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

GATES = ("or", "and", "sand")


def large_model(depth: int = 9, scenarios: int = 50) -> str:
    """YAML of a model with one pathway of 3**depth leaves (flow-style leaves) and `scenarios` scenarios."""
    out = ["threatkit: 1", "name: Large benchmark model", "pathways:", "  - id: large", "    name: One large tree",
           "    fidelity: {low: 0.2, mode: 0.4, high: 0.6}", "    tree:"]
    count = {"leaf": 0, "gate": 0}

    def gate(level: int, pad: str, first: str) -> None:
        count["gate"] += 1
        out.extend([f"{first}id: g{count['gate']}", f"{pad}gate: {GATES[level % 3]}", f"{pad}children:"])
        for _ in range(3):
            if level + 1 < depth:
                gate(level + 1, pad + "  ", pad + "- ")
                continue
            k = count["leaf"]
            count["leaf"] += 1
            p = f"{{low: 0.{5 + k % 3}, mode: 0.{7 + k % 2}, high: 0.95}}" if k % 3 == 0 else f"0.{6 + k % 4}"
            out.append(f"{pad}- {{id: s{k}, p: {p}, cost_usd: {100 * (1 + k % 7)}, time_days: {1 + k % 5}, "
                       f"skill: {1 + k % 3}}}")

    gate(0, "      ", "      ")
    out.append("scenarios:")
    actors = ("individual", "competitor", "state-linked", "insider", "well-resourced-lab")
    tiers = ("public-api", "intermediary-api", "one-time-evaluation")
    for i in range(scenarios):
        out.append(f"  - {{id: s{i}, asset: frontier-model, actor: {actors[i % len(actors)]}, "
                   f"tier: {tiers[i % len(tiers)]}, controls: [{'rate-limit' if i % 2 else ''}]}}")
    return "\n".join(out) + "\n"


def line(label: str, seconds: float | list[float], target: float | None) -> bool:
    """Print a time (or the median of several, each shown) against its target."""
    samples = seconds if isinstance(seconds, list) else [seconds]
    median = statistics.median(samples)
    ok = target is None or median < target
    verdict = "" if target is None else f"(target < {target:g} s)  {'ok' if ok else 'OVER TARGET'}"
    each = f"  median of {', '.join(f'{s:.3f}' for s in samples)}" if len(samples) > 1 else ""
    print(f"{label:<52} {median:8.3f} s {verdict}{each}")
    return ok


def cli(args: list[str], env: dict) -> float:
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "threatkit.cli", *args], env=env, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - t0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    depth, scenarios = (7, 10) if args.quick else (9, 50)
    # the targets are for the full model; the quick model is 9x smaller, so are its targets
    scale = 1 / 9 if args.quick else 1
    with tempfile.TemporaryDirectory(prefix="threatkit-bench-") as tmp:
        os.environ["THREATKIT_CACHE_DIR"] = str(Path(tmp) / "cache")
        os.environ.pop("THREATKIT_CACHE", None)
        model_file = Path(tmp) / "large.yaml"
        model_file.write_text(large_model(depth, scenarios))
        print(f"model: {3 ** depth:,} leaves, {scenarios} scenarios, {model_file.stat().st_size / 1e6:.2f} MB")

        from threatkit.model.catalog import builtin
        from threatkit.model.load import load_model

        builtin()           # the built-in catalog, read once per process: not the large file's cost
        cold, cached = [], []
        for i in range(3):
            os.environ["THREATKIT_CACHE_DIR"] = str(Path(tmp) / f"cache{i}")     # empty: a cold load
            t0 = time.perf_counter()
            model = load_model(model_file)
            cold.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            again = load_model(model_file)
            cached.append(time.perf_counter() - t0)
            assert again == model and len(model.scenarios) == scenarios
            del model, again    # kept, they slow the next sample by about a tenth (measured): each as the first
        # the quick model's targets have a floor: a small load is mostly fixed costs
        ok = line("cold load (libyaml, validate, write cache)", cold, max(1.0 * scale, 0.25))
        ok &= line("cached load (file unchanged)", cached, max(0.2 * scale, 0.05))

        env = dict(os.environ, THREATKIT_CACHE_DIR=str(Path(tmp) / "cold"))
        ok &= line(f"threatkit assess, {scenarios} scenarios, cold cache", cli(["assess", str(model_file)], env),
                   max(6.0 * scale, 2.0))
        ok &= line(f"threatkit assess, {scenarios} scenarios, cached model", cli(["assess", str(model_file)], env),
                   2.0)
    print("all within target" if ok else "some OVER TARGET")
    return 0


if __name__ == "__main__":
    sys.exit(main())
