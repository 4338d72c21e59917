"""`threatkit batch`: a model file in, a folder of reports out.

plan -> skip what is complete -> run the rest (local processes or Dask) with
progress -> summary.csv and index.html. Every file is written atomically, so
an interrupted batch leaves a folder the next run completes.
"""
from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from threatkit.batch.jobs import Job, Outcome, completed, inputs_hash
from threatkit.batch.outputs import write_failure_page, write_index, write_summary
from threatkit.batch.runners import DaskRunner, LocalRunner, Runner

__all__ = ["BatchResult", "plan", "run_batch", "Job", "Outcome"]


@dataclass(frozen=True)
class BatchResult:
    out_dir: Path
    outcomes: tuple[Outcome, ...]

    @property
    def failed(self) -> tuple[Outcome, ...]:
        return tuple(o for o in self.outcomes if not o.ok)

    @property
    def index(self) -> Path:
        return self.out_dir / "index.html"


def plan(model_path: str | Path, out_dir: str | Path, scenarios: Iterable[str] = (), template: str | None = None,
         samples: int = 2000, seed: int = 1, timeout: float | None = None, engine: str = "threatkit",
         kernel_name: str = "python3", harvest: str | None = None) -> list[Job]:
    """The jobs of a batch. Loads the model (ModelError) and checks every scenario (KeyError)
    and the template (ReportError) before anything runs."""
    from threatkit.run.engine import engine_name
    from threatkit.run.execute import ReportError, resolve_template
    from threatkit.model.load import load_model

    try:
        engine_name(engine)
    except ValueError as exc:
        raise ReportError(str(exc)) from None
    model_path = Path(model_path).resolve()
    model = load_model(model_path)
    chosen = list(dict.fromkeys(scenarios)) or [s.id for s in model.scenarios]
    if not chosen:
        raise KeyError(f"{model_path.name} has no scenarios to report on; add some under 'scenarios:'")
    for s in chosen:
        model.scenario(s)
    template_path = resolve_template(template)
    dump = model.model_dump(mode="json")
    out_dir = Path(out_dir).resolve()
    jobs = []
    for s in chosen:
        params = {"model_path": str(model_path), "scenario": s, "samples": samples, "seed": seed}
        if harvest:                       # only when asked: a template of one's own need not know it
            params["harvest"] = harvest
        jobs.append(Job(
            scenario=s, model_path=str(model_path), template=str(template_path), out_dir=str(out_dir),
            parameters=params, inputs_hash=inputs_hash(dump, template_path, params, engine),
            title=f"threatkit report: {model.scenario(s).title}",
            subtitle=f"{model.name or model_path.name} · scenario {s}", engine=engine, timeout=timeout,
            kernel_name=kernel_name, actor=model.scenario(s).actor))
    return jobs


def run_batch(jobs: list[Job], out_dir: str | Path, runner: Runner, title: str = "threatkit batch",
              risk_order: list[str] = (), progress: Progress | None = None) -> BatchResult:
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    progress = progress or Progress(len(jobs))
    outcomes: list[Outcome] = []
    todo = []
    for job in jobs:
        results = completed(job)
        if results is None:
            todo.append(job)
        else:
            outcomes.append(Outcome(job.scenario, "skipped", results=results))
            progress.update(outcomes[-1])
    try:
        for outcome in runner.run(todo):
            if outcome is None:            # still waiting: let the elapsed time move
                progress.tick()
                continue
            if not outcome.ok and not outcome.wrote_report:
                write_failure_page(out_dir, outcome, title)
            outcomes.append(outcome)
            progress.update(outcome)
    finally:
        progress.close()
        if outcomes:       # also after Ctrl-C: what finished is listed, the rest is redone next time
            done = {o.scenario for o in outcomes}
            listed = outcomes + [Outcome(j.scenario, "failed", "not run (the batch was interrupted)")
                                 for j in jobs if j.scenario not in done]
            write_summary(out_dir, listed)
            write_index(out_dir, listed, title, {name: i for i, name in enumerate(risk_order)})
    return BatchResult(out_dir, tuple(sorted(outcomes, key=lambda o: o.scenario)))


class Progress:
    """Scenarios done / failed / left and the time elapsed: a live bar on a
    terminal (rich), plain lines otherwise."""

    def __init__(self, total: int, stream=None):
        self.total, self.done, self.failed, self.skipped = total, 0, 0, 0
        self.stream = stream or sys.stderr
        self.start = time.monotonic()
        self.live = None
        if self.stream.isatty() and os.environ.get("TERM") != "dumb":
            from rich.console import Console
            from rich.progress import BarColumn, Progress as Bar, TextColumn, TimeElapsedColumn

            self.live = Bar(TextColumn("reports"), BarColumn(), TextColumn("{task.description}"),
                            TimeElapsedColumn(), console=Console(file=self.stream), auto_refresh=False)
            self.task = self.live.add_task(self._text(), total=total)
            self.live.start()

    def _text(self) -> str:
        left = self.total - self.done - self.failed
        return f"{self.done} done, {self.failed} failed, {left} left"

    def update(self, outcome: Outcome) -> None:
        if outcome.ok:
            self.done += 1
            self.skipped += outcome.status == "skipped"
        else:
            self.failed += 1
        if self.live is not None:
            self.live.update(self.task, completed=self.done + self.failed, description=self._text())
            self.live.refresh()
        else:
            elapsed = time.monotonic() - self.start
            note = {"ok": f"ok in {outcome.seconds:.1f} s", "skipped": "complete already, skipped"}.get(
                outcome.status, "FAILED: " + outcome.error.splitlines()[0] if outcome.error else "FAILED")
            print(f"[{self.done + self.failed}/{self.total} {elapsed:6.1f} s] {outcome.scenario}: {note}",
                  file=self.stream, flush=True)

    def tick(self) -> None:
        if self.live is not None:
            self.live.refresh()

    def close(self) -> None:
        if self.live is not None:
            self.live.stop()
            self.live = None


def make_runner(jobs: int | None = None, scheduler: str | None = None) -> Runner:
    if scheduler:
        return DaskRunner(scheduler)
    return LocalRunner(jobs or os.cpu_count() or 1)
