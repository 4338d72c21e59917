"""Benchmark the analysis engine; prints times, targets and ratios.

Baselines, measured in the same run on the same machine:
- deterministic evaluation against a plain recursive Python evaluator of the
  same rules (`naive_evaluate` below): the ratio is the speed-up;
- each size against half of it: the ratio should stay near 2 (linear growth).

    python benchmarks/analysis.py           # full sizes (targets from issue #3)
    python benchmarks/analysis.py --quick   # small sizes, for CI
"""
from __future__ import annotations

import argparse
import math
import random
import sys
import time

from threatkit.analysis.assess import Setting, assess_setting, evaluate
from threatkit.analysis.simulate import Sampler
from threatkit.model.load import builtin_model
from threatkit.model.values import Node, Pathway, Scenario
from threatkit.model.yamlsafe import gc_paused


def synthetic_pathway(n_nodes: int, seed: int = 0, ranges: bool = True) -> Pathway:
    """A random attack tree of about n_nodes nodes: gates with 2-4 children."""
    rng = random.Random(seed)
    counter = iter(range(10**9))

    def leaf() -> dict:
        lo = rng.uniform(0.1, 0.6)
        p = {"low": lo, "mode": lo + 0.2, "high": lo + 0.35} if ranges else lo
        return {"id": f"s{next(counter)}", "p": p, "cost_usd": rng.choice([100, 1000, 5000]),
                "time_days": rng.choice([1, 5, 20]), "skill": rng.randint(1, 4),
                **({"queries": 10000} if rng.random() < 0.2 else {})}

    # grow breadth first until the budget of nodes is spent
    root = {"id": f"g{next(counter)}", "gate": "or", "children": []}
    frontier, count = [root], 1
    while frontier and count < n_nodes:
        nxt = []
        for gate in frontier:
            k = rng.randint(2, 4)
            for _ in range(k):
                if count >= n_nodes:
                    break
                if rng.random() < 0.45 and count + 4 < n_nodes:
                    child = {"id": f"g{next(counter)}", "gate": rng.choice(["and", "or", "sand"]), "children": []}
                    nxt.append(child)
                else:
                    child = leaf()
                gate["children"].append(child)
                count += 1
        frontier = nxt
    for gate in frontier:               # close any gate left without children
        if not gate["children"]:
            gate["children"].append(leaf())

    def close(node):
        for c in node.get("children", []):
            if "gate" in c and not c["children"]:
                c["children"].append(leaf())
            close(c)
    close(root)
    # validated as a model file's pathways are loaded (model/load.py): with the collector paused and
    # the objects put in its oldest generation, else the first evaluation pays for full collections
    # triggered by building this tree (two, 0.13 s, in the 10,000-node tree's first call)
    with gc_paused(kept=True):
        return Pathway.model_validate({"id": f"bench-{n_nodes}", "fidelity": 0.5, "tree": root})


def naive_evaluate(node: Node) -> tuple[float, float, float, float]:
    """The tree rules, one node at a time, recursively (no gating or controls)."""
    if node.is_leaf:
        return node.p.mode, node.cost_usd.mode, node.time_days.mode, float(node.skill)
    kids = [naive_evaluate(c) for c in node.children]
    ps, cs, ts, ss = zip(*kids)
    if node.gate == "or":
        return 1 - math.prod(1 - p for p in ps), min(cs), min(ts), min(ss)
    return math.prod(ps), sum(cs), (max(ts) if node.gate == "and" else sum(ts)), max(ss)


def timed(fn, repeat: int = 3) -> float:
    best = math.inf
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def setting() -> Setting:
    model = builtin_model()
    scen = Scenario(id="bench", asset="frontier-model", actor="state-linked", tier="public-api",
                    controls=("rate-limit", "anomaly-detection"))
    return Setting(scen.id, model.asset(scen.asset), model.actor(scen.actor), model.tier(scen.tier),
                   tuple(model.control(c) for c in scen.controls), model.scales)


def report(name: str, seconds: float, target: float | None = None, extra: str = "") -> None:
    verdict = "" if target is None else ("  ok" if seconds < target else "  OVER TARGET")
    goal = "" if target is None else f" (target < {target:g} s)"
    print(f"{name:<58} {seconds:8.3f} s{goal}{verdict}{extra}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes for CI (targets scaled down)")
    args = parser.parse_args()
    scale = 10 if args.quick else 1
    ctx = setting()
    sys.setrecursionlimit(100000)

    print("== deterministic evaluation ==")
    n = 100_000 // scale
    previous = None
    for size in (n // 2, n):
        pw = synthetic_pathway(size, ranges=False)
        cold = timed(lambda: evaluate(pw, ctx), repeat=1)   # a new pathway: flattens it first
        warm = timed(lambda: evaluate(pw, ctx))
        naive = timed(lambda: naive_evaluate(pw.tree), repeat=1)
        report(f"{size:,}-node tree, first call (flatten + evaluate)", cold, 1.0 / scale if size == n else None)
        report(f"{size:,}-node tree, warm", warm, None,
               f"   naive recursive Python {naive:.3f} s: {naive / warm:.1f}x faster")
        if previous:
            print(f"{'  doubling ratio (warm)':<58} {warm / previous:8.2f}   (linear: ~2)")
        previous = warm

    print("== Monte Carlo ==")
    samples = 10_000 // scale
    previous = None
    for size in (500 // scale * 1, 1000 // scale):
        pw = synthetic_pathway(size)
        evaluate(pw, ctx)  # flatten once
        t = timed(lambda: evaluate(pw, ctx, Sampler(samples, seed=1)))
        report(f"{samples:,} samples over a {size:,}-node tree", t, 1.0 / scale if size == 1000 // scale else None)
        if previous:
            print(f"{'  doubling ratio (tree size)':<58} {t / previous:8.2f}   (linear: ~2)")
        previous = t
    pw = synthetic_pathway(1000 // scale)
    t2 = timed(lambda: evaluate(pw, ctx, Sampler(2 * samples, seed=1)))
    t1 = timed(lambda: evaluate(pw, ctx, Sampler(samples, seed=1)))
    print(f"{'  doubling ratio (samples)':<58} {t2 / t1:8.2f}   (linear: ~2)")

    print("== scenario assessment ==")
    model = builtin_model()
    pathways = model.pathways
    actors, tiers = model.actors, model.tiers
    controls = model.controls
    rng = random.Random(1)
    previous = None
    count = 1000 // scale
    for k in (count // 2, count):
        settings = [Setting(f"s{i}", model.assets[0], rng.choice(actors), rng.choice(tiers),
                            tuple(rng.sample(controls, 3)), model.scales) for i in range(k)]
        t = timed(lambda: [assess_setting(s, pathways) for s in settings], repeat=1)
        report(f"{k:,} scenarios x {len(pathways)} pathways", t, 5.0 / scale if k == count else None)
        if previous:
            print(f"{'  doubling ratio':<58} {t / previous:8.2f}   (linear: ~2)")
        previous = t
    return 0


if __name__ == "__main__":
    sys.exit(main())
