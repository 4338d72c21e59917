"""Backends that run jobs: local processes, or a Dask distributed cluster.

Both have one method, `run(jobs)`, yielding each Outcome as it completes;
both call jobs.run_job, so the files they write are the same.
"""
from __future__ import annotations

import os
import select
import signal
from collections.abc import Iterator
from typing import Protocol

from threatkit.run import processes
from threatkit.batch.jobs import Job, Outcome, run_job, stop_running_child


class Runner(Protocol):
    def run(self, jobs: list[Job]) -> Iterator[Outcome | None]:
        """Each job's Outcome as it completes; None now and then while waiting (a heartbeat
        for the progress display)."""


HEARTBEAT_SECONDS = 1.0


class LocalRunner:
    """Up to `jobs` reports at once, each in a forked child of this (warm) process.

    A small process per job rather than a pool: the deadline and the kill of a
    job's whole process group live in run_job, and a child that dies takes
    nothing else down with it."""

    def __init__(self, jobs: int):
        self.jobs = max(1, jobs)

    def run(self, jobs: list[Job]) -> Iterator[Outcome | None]:
        if any(j.engine == "threatkit" for j in jobs):
            from threatkit.run.engine import warm_up

            warm_up()                      # once here; every forked child starts warm
        else:
            import nbconvert  # noqa: F401  # the HTML export in each child starts warm too
            import papermill  # noqa: F401
        pending = list(reversed(jobs))
        running: dict[int, tuple[int, Job]] = {}       # read fd -> (pid, job)
        try:
            while pending or running:
                while pending and len(running) < self.jobs:
                    job = pending.pop()
                    read_fd, pid = _spawn(job)
                    running[read_fd] = (pid, job)
                ready, _, _ = select.select(list(running), [], [], HEARTBEAT_SECONDS)
                if not ready:
                    yield None
                for fd in ready:
                    pid, job = running.pop(fd)
                    yield _collect(fd, pid, job)
        finally:                                         # Ctrl-C or an error: stop every job
            for fd, (pid, _) in running.items():
                try:
                    os.kill(pid, signal.SIGTERM)         # the supervisor kills its job's group, then exits
                except ProcessLookupError:
                    pass
                os.close(fd)
                try:
                    os.waitpid(pid, 0)
                except ChildProcessError:
                    pass


def _spawn(job: Job) -> tuple[int, int]:
    """Fork a supervisor that runs the job (run_job forks again, with the deadline) and
    writes its outcome to a pipe; returns (read end, pid)."""
    import json
    from dataclasses import asdict

    read_fd, write_fd = os.pipe()
    pid = processes.fork()
    if pid == 0:
        os.close(read_fd)
        os.setpgid(0, 0)          # out of the terminal's group: Ctrl-C reaches only the batch process,
        signal.signal(signal.SIGINT, signal.SIG_IGN)       # which stops each job with SIGTERM
        signal.signal(signal.SIGTERM, stop_running_child)
        try:
            outcome = run_job(job)
        except BaseException as exc:  # noqa: BLE001 - reported, never raised out of a fork
            outcome = Outcome(job.scenario, "failed", f"{type(exc).__name__}: {exc}")
        with os.fdopen(write_fd, "wb") as pipe:
            pipe.write(json.dumps(asdict(outcome)).encode())
        os._exit(0)
    os.close(write_fd)
    return read_fd, pid


def _collect(fd: int, pid: int, job: Job) -> Outcome:
    import json

    chunks = []
    while True:
        chunk = os.read(fd, 1 << 16)
        if not chunk:
            break
        chunks.append(chunk)
    os.close(fd)
    os.waitpid(pid, 0)
    if not chunks:
        return Outcome(job.scenario, "failed", "the batch worker process died")
    return Outcome(**json.loads(b"".join(chunks)))


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
