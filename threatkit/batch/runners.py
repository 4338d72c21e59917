"""Backends that run jobs: local processes, or a Dask distributed cluster.

Both have one method, `run(jobs)`, yielding each Outcome as it completes;
both run a job with jobs.start_job and jobs.finish_job, so the files they write are the same.
"""
from __future__ import annotations

import os
import select
import time
from collections.abc import Iterator
from typing import Protocol

from threatkit.analysis.route_clocks import use_cores
from threatkit.batch.jobs import Job, Outcome, Started, finish_job, run_job, share_models, start_job


class Runner(Protocol):
    def run(self, jobs: list[Job]) -> Iterator[Outcome | None]:
        """Each job's Outcome as it completes; None now and then while waiting (a heartbeat
        for the progress display)."""


HEARTBEAT_SECONDS = 1.0


class LocalRunner:
    """Up to `jobs` reports at once, each in a forked child of this (warm) process.

    A process per job rather than a pool: a job's deadline and the kill of its
    whole session are the child's own, and a child that dies takes nothing else
    down with it."""

    def __init__(self, jobs: int):
        self.jobs = max(1, jobs)

    def run(self, jobs: list[Job]) -> Iterator[Outcome | None]:
        if any(j.engine == "threatkit" for j in jobs):
            from threatkit.run.engine import warm_up

            warm_up()                      # once here; every forked child starts warm
            share_models(jobs)
        else:
            import nbconvert  # noqa: F401  # the HTML export in each child starts warm too
            import papermill  # noqa: F401
        pending = list(reversed(jobs))
        running: dict[int, Started] = {}               # read fd -> the job on it
        # the jobs share the cores: each one's threads beyond its share would only contend (6%)
        cores = use_cores(max(1, (os.cpu_count() or 1) // min(self.jobs, len(jobs) or 1)))
        try:
            while pending or running:
                while pending and len(running) < self.jobs:
                    started = start_job(pending.pop())
                    running[started.fd] = started
                now = time.monotonic()
                deadlines = [s.deadline for s in running.values() if s.deadline is not None]
                wait = min([HEARTBEAT_SECONDS, *(max(0.0, d - now) for d in deadlines)])
                ready, _, _ = select.select(list(running), [], [], wait)
                for fd in ready:
                    if running[fd].read():
                        yield finish_job(running.pop(fd))
                now = time.monotonic()
                for fd in [fd for fd, s in running.items() if s.deadline is not None and now >= s.deadline]:
                    yield finish_job(running.pop(fd), stop=True)
                if not ready:
                    yield None
        finally:                                         # Ctrl-C or an error: stop every job, kernels too
            use_cores(cores)
            for started in running.values():
                finish_job(started, stop=True)


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
