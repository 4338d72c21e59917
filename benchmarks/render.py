"""Benchmark attack-tree rendering; prints times and the ratio to the system `dot`.

Baseline: Graphviz's system `dot -Tsvg` on the same DOT source, in the same run.
The in-process WebAssembly Graphviz (the default renderer) is timed warm (the
first call in a process also loads the WebAssembly module; printed apart).

    python benchmarks/render.py           # 5,000-node tree (target < 1 s)
    python benchmarks/render.py --quick   # 500 nodes, for CI
"""
from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from analysis import setting, synthetic_pathway  # noqa: E402

from threatkit.analysis.assess import evaluate  # noqa: E402
from threatkit.render.graphviz import render_dot  # noqa: E402
from threatkit.render.trees import tree_dot  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    size = 500 if args.quick else 5000
    target = 1.0 if not args.quick else 0.2
    tree = evaluate(synthetic_pathway(size), setting())

    t0 = time.perf_counter()
    render_dot("digraph { a -> b }", "svg")
    print(f"{'load WebAssembly Graphviz (once per process)':<52} {time.perf_counter() - t0:8.3f} s")

    t0 = time.perf_counter()
    source = tree_dot(tree)
    build = time.perf_counter() - t0
    print(f"{f'build DOT source, {size:,} nodes (pydot)':<52} {build:8.3f} s")
    t0 = time.perf_counter()
    svg = render_dot(source, "svg")
    wasm = time.perf_counter() - t0
    total = build + wasm
    print(f"{f'render SVG, {size:,} nodes (WebAssembly Graphviz)':<52} {wasm:8.3f} s")
    verdict = "ok" if total < target else "OVER TARGET"
    print(f"{'total tree -> SVG':<52} {total:8.3f} s (target < {target:g} s)  {verdict}   [{len(svg):,} bytes]")

    dot = shutil.which("dot")
    if dot is None:
        print("system dot: not installed (apt-get install graphviz) - no baseline ratio")
        return 0
    t0 = time.perf_counter()
    subprocess.run([dot, "-Tsvg"], input=source.encode(), capture_output=True, check=True)
    system = time.perf_counter() - t0
    print(f"{'render SVG with system dot (baseline)':<52} {system:8.3f} s   ratio system/wasm: {system / wasm:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
