"""Benchmark batch reports: `threatkit batch --jobs 2` against a plain serial loop.

Baseline, in the same run on the same machine: a serial loop of
`papermill.execute_notebook` (with a Jupyter kernel) plus nbconvert HTML
export, over the same template and the same scenarios. Prints the ratio.
Then peak memory over a long batch, sampled as it goes: it must stay flat.

    python benchmarks/batch.py                  # 8 scenarios; memory over 100
    python benchmarks/batch.py --quick          # 4 scenarios; memory over 12 (CI)
    python benchmarks/batch.py --engine kernel  # only the kernel engine (default: both engines)
"""
from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ACTORS = ("individual", "intermediary", "competitor", "well-resourced-lab", "insider", "state-linked",
          "state-priority")
TIERS = ("public-api", "intermediary-api", "enterprise-contract", "one-time-evaluation")


def model_with(n: int, folder: Path) -> Path:
    """The example model plus n generated scenarios (actor x tier x controls)."""
    lines = ["threatkit: 1", "name: batch benchmark", f"include: [builtin, {ROOT / 'data/examples/mythos.yaml'}]",
             "scenarios:"]
    for i in range(n):
        controls = ["rate-limit", "customer-screening"][: i % 3]
        lines.append(f"  - {{id: bench-{i:03d}, asset: mythos-5, actor: {ACTORS[i % len(ACTORS)]}, "
                     f"tier: {TIERS[i % len(TIERS)]}, controls: [{', '.join(controls)}]}}")
    path = folder / f"bench-{n}.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


def scenario_ids(n: int) -> list[str]:
    return [f"bench-{i:03d}" for i in range(n)]


def serial_papermill(model: Path, scenarios: list[str], out: Path, samples: int) -> float:
    import papermill
    from nbconvert import HTMLExporter

    from threatkit.execute import resolve_template

    template = resolve_template()
    out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    for s in scenarios:
        nb = papermill.execute_notebook(str(template), str(out / f"{s}.ipynb"), kernel_name="python3",
                                        parameters={"model_path": str(model), "scenario": s, "samples": samples,
                                                    "seed": 1}, progress_bar=False)
        body, _ = HTMLExporter(exclude_input=True).from_notebook_node(nb)
        (out / f"{s}.html").write_text(body)
    return time.perf_counter() - start


def threatkit_batch(model: Path, scenarios: list[str], out: Path, samples: int, jobs: int,
                    engine: str | None) -> float:
    cmd = [sys.executable, "-m", "threatkit.cli", "batch", str(model), "-o", str(out), "--jobs", str(jobs),
           "--samples", str(samples), *[a for s in scenarios for a in ("--scenario", s)]]
    if engine:
        cmd += ["--engine", engine]
    start = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"threatkit batch failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return seconds


def cells_floor(model: Path, scenarios: list[str], samples: int) -> float:
    """The bare cost of a report's cells: every section computed and drawn in this warm
    process, with no notebook, fork, papermill or HTML export around it."""
    import contextlib
    import io

    from IPython.core.interactiveshell import InteractiveShell

    from threatkit.engine import warm_up
    from threatkit.report import ScenarioReport

    warm_up()
    InteractiveShell.instance()        # display() formats rich output, as in a notebook
    start = time.perf_counter()
    for s in scenarios:
        with contextlib.redirect_stdout(io.StringIO()):
            r = ScenarioReport.build(model, s, samples=samples, seed=1)
            r.summary(), r.trees(), r.matrix(), r.capability()
            r.recommendations()._repr_html_(), r.sources()._repr_html_(), r.record()
    return time.perf_counter() - start


def memory_over(model: Path, n: int, out: Path, samples: int, jobs: int, engine: str | None) -> None:
    """Run a batch in this process and print peak memory (this process, and the largest child) as it goes."""
    from threatkit.batch import Progress, make_runner, plan, run_batch

    marks = {max(1, n // 10), n // 4, n // 2, n}

    class Meter(Progress):
        def update(self, outcome):
            super().update(outcome)
            count = self.done + self.failed
            if count in marks:
                me = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
                kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
                print(f"  after {count:4d} reports: peak RSS batch process {me:7.1f} MiB, "
                      f"largest child {kids:7.1f} MiB")

    kwargs = {"engine": engine} if engine else {}
    jobs_list = plan(model, out, scenario_ids(n), samples=samples, **kwargs)
    import io
    run_batch(jobs_list, out, make_runner(jobs), progress=Meter(len(jobs_list), stream=io.StringIO()))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer scenarios, for CI")
    parser.add_argument("--engine", choices=["threatkit", "kernel"], help="time only this engine (default: both)")
    parser.add_argument("--samples", type=int, default=500, help="Monte Carlo draws per report (default 500)")
    args = parser.parse_args()
    n, n_memory = (4, 12) if args.quick else (8, 100)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        model = model_with(max(n, n_memory), folder)
        scenarios = scenario_ids(n)
        serial = serial_papermill(model, scenarios, folder / "serial", args.samples)
        print(f"{n} reports, serial papermill loop + nbconvert (baseline): {serial:7.2f} s "
              f"({serial / n:.2f} s a report)")
        engines = [args.engine] if args.engine else ["kernel", "threatkit"]
        for engine in engines:      # kernel: the plain parallel path (target 1.8x); threatkit: warm forks (5x)
            batch = threatkit_batch(model, scenarios, folder / f"batch-{engine}", args.samples, 2, engine)
            print(f"{n} reports, threatkit batch --jobs 2 --engine {engine}: {batch:7.2f} s "
                  f"({batch / n:.2f} s a report); speed-up {serial / batch:.2f}x")
        floor = cells_floor(model, scenarios, args.samples)
        print(f"per report: threatkit batch --engine {engines[-1]} {batch / n:.3f} s wall on 2 cores "
              f"({2 * batch / n:.3f} s of a core); "
              f"floor, the cells alone in a warm process: {floor / n:.3f} s; "
              f"the rest is start-up, forks, papermill and HTML export")
        print(f"peak memory over a batch of {n_memory} reports (--jobs 2):")
        memory_over(model, n_memory, folder / "memory", args.samples, 2, args.engine)
    return 0


if __name__ == "__main__":
    sys.exit(main())
