"""Backends that run jobs: local processes, or a Dask distributed cluster.

Both have one method, `run(jobs)`, yielding each Outcome as it completes;
both run a job with jobs.outcome_here in a forked child, so the files they write are the same.
"""
from __future__ import annotations

import os
import select
import time
from collections.abc import Iterator
from typing import Protocol

from threatkit.analysis.route_clocks import use_cores
from threatkit.batch.jobs import Job, Outcome, may_share_a_process, run_job, share_models
from threatkit.batch.lanes import Lane


class Runner(Protocol):
    def run(self, jobs: list[Job]) -> Iterator[Outcome | None]:
        """Each job's Outcome as it completes; None now and then while waiting (a heartbeat
        for the progress display)."""


HEARTBEAT_SECONDS = 1.0


class LocalRunner:
    """Up to `jobs` reports at once, in forked children of this (warm) process: reports of a
    shipped template in lanes (a worker that runs one report after another, lanes.py), any
    other in a child of its own.

    A job's deadline and the kill of its whole session are its worker's own, and a worker that
    dies takes nothing else down with it: its job fails and a new one takes the rest."""

    def __init__(self, jobs: int):
        self.jobs = max(1, jobs)

    def run(self, jobs: list[Job]) -> Iterator[Outcome | None]:
        if any(j.engine == "threatkit" for j in jobs):
            from threatkit.run.engine import warm_up

            # Imports once here, so every forked child starts with them. The exercise (a small report
            # drawn here) warms the caches a fresh child would build in its first report; a lane
            # builds them once for all its reports, in parallel with the others: exercised here,
            # they would cost the batch its start-up, one core idle (0.3-0.5 s of 3.5 for 6 reports).
            warm_up(exercise=not all(may_share_a_process(j) for j in jobs))
            share_models(jobs)
        else:
            import nbconvert  # noqa: F401  # the HTML export in each child starts warm too
            import papermill  # noqa: F401
        pending = list(reversed(range(len(jobs))))
        lanes: dict[int, Lane] = {}                    # read fd -> the worker on it
        # the jobs share the cores: each one's threads beyond its share would only contend (6%)
        cores = use_cores(max(1, (os.cpu_count() or 1) // min(self.jobs, len(jobs) or 1)))
        try:
            while True:
                self._give(jobs, pending, lanes)
                if not lanes:                            # every job done, every lane closed
                    break
                now = time.monotonic()
                deadlines = [lane.deadline for lane in lanes.values() if lane.deadline is not None]
                wait = min([HEARTBEAT_SECONDS, *(max(0.0, d - now) for d in deadlines)])
                ready, _, _ = select.select(list(lanes), [], [], wait)
                for fd in ready:
                    outcome = lanes[fd].read()
                    if not lanes[fd].alive:
                        del lanes[fd]
                    if outcome is not None:
                        yield outcome
                now = time.monotonic()
                for fd in [fd for fd, lane in lanes.items() if lane.deadline is not None and now >= lane.deadline]:
                    yield lanes.pop(fd).interrupt()
                if not ready:
                    yield None
        finally:                                         # Ctrl-C or an error: stop every job, kernels too
            use_cores(cores)
            for lane in lanes.values():
                lane.stop()

    def _give(self, jobs: list[Job], pending: list[int], lanes: dict[int, Lane]) -> None:
        """A job to every idle lane, and new lanes for the rest, up to `jobs` at once; lanes
        with nothing left to do are closed."""
        for fd, lane in list(lanes.items()):
            if not lane.idle:
                continue
            if pending and may_share_a_process(jobs[pending[-1]]):
                index = _next_for(lane, jobs, pending)
                lane.give(index, jobs[index])
            else:
                lanes.pop(fd).close()
        while pending and len(lanes) < self.jobs:
            index = pending.pop()
            lane = Lane.start(jobs, single=not may_share_a_process(jobs[index]))
            lanes[lane.fd] = lane
            lane.give(index, jobs[index])


def _next_for(lane: Lane, jobs: list[Job], pending: list[int]) -> int:
    """The next job for a lane (taken from `pending`): the first of the same actor as the lane's
    last, whose pathways' clocks it has kept where the scenarios differ only in tier or controls
    that leave them alone; else the next in order."""
    last = lane.last.actor if lane.last is not None else None
    at = next((k for k in range(len(pending) - 1, -1, -1) if last and jobs[pending[k]].actor == last), len(pending) - 1)
    return pending.pop(at)


class DaskRunner:
    """Send each job to a Dask distributed cluster (the `dask` extra); the
    workers must see the output folder (a shared file system, or one machine)."""

    def __init__(self, address: str):
        self.address = address

    def run(self, jobs: list[Job]) -> Iterator[Outcome | None]:
        try:
            from distributed import Client, as_completed
        except ImportError:
            raise RuntimeError("--scheduler needs Dask distributed: pip install 'threatkit[dask]'") from None
        try:
            client = Client(self.address, timeout="20s")
        except (OSError, TimeoutError) as exc:
            raise RuntimeError(f"cannot reach the Dask scheduler at {self.address}: {exc}") from None
        with client:
            futures = {client.submit(run_job, job, pure=False, key=f"threatkit-{job.scenario}-{job.inputs_hash[:12]}"): job
                       for job in jobs}
            for future in as_completed(futures):
                job = futures[future]
                try:
                    yield future.result()
                except Exception as exc:  # noqa: BLE001 - a worker lost, a task failed
                    yield Outcome(job.scenario, "failed", f"the Dask task failed: {type(exc).__name__}: {exc}")
