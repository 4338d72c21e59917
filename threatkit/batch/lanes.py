"""A lane: a forked worker process that runs a batch's reports one after another.

Forking a fresh child for every report costs it what a process that has already run one
has warm (its allocator's heap, the caches of clocks and quantiles kept across reports
of one model, numpy's and scipy's own): a report takes about a sixth longer first in a
process than after another. So reports of a shipped template (`jobs.may_share_a_process`)
run in lanes, as many as the batch runs at once; any other job gets a lane of its own
(`single`), closed after it, which is a process per report as before.

The parent gives a lane one job at a time (its index in the batch's list, which the lane
holds since it was forked after the list was made) and reads back one outcome per line.
A job's deadline is the lane's: past it, or when the lane dies, the lane is killed with
its group, that job fails, and the runner starts a new lane for the rest.
"""
from __future__ import annotations

import json
import os
import time
from dataclasses import asdict

from threatkit.batch.jobs import Job, Outcome, died, outcome_here, stopped
from threatkit.run import processes


LANE_CLOCKS_BYTES = 128 << 20        # a lane's kept clocks: a report and a half of the example's, at 2,000 draws
_PARENT_ENDS: set[int] = set()       # the parent's ends of every lane's pipes


class Lane:
    """The parent's end of a worker process."""

    def __init__(self, pid: int, orders: int, fd: int, single: bool):
        self.pid, self.orders, self.fd, self.single = pid, orders, fd, single
        self.job: Job | None = None
        self.last: Job | None = None                   # the job it was given last
        self.began = 0.0
        self.buffer = b""
        self.alive = True

    @classmethod
    def start(cls, jobs: list[Job], single: bool = False) -> Lane:
        """Fork a worker, in a session of its own, for `jobs` (given to it by index). `single`: a
        lane for one job only."""
        order_read, order_write = os.pipe()
        out_read, out_write = os.pipe()
        pid = processes.fork()
        if pid == 0:                                   # the worker: never returns
            # the other lanes' ends too: a copy of another's orders here would keep it from its end
            for fd in (order_write, out_read, *_PARENT_ENDS):
                os.close(fd)
            os.setsid()                                # a kernel joins this session: one kill stops both
            _work(jobs, order_read, out_write, single)
        os.close(order_read)
        os.close(out_write)
        _PARENT_ENDS.update((order_write, out_read))
        return cls(pid, order_write, out_read, single)

    @property
    def idle(self) -> bool:
        return self.alive and self.job is None

    @property
    def deadline(self) -> float | None:
        if self.job is None or self.job.timeout is None:
            return None
        return self.began + self.job.timeout

    def give(self, index: int, job: Job) -> None:
        """Start the job. A worker gone meanwhile says so as it would mid-job: its pipe ends."""
        self.job, self.last, self.began = job, job, time.monotonic()
        try:
            os.write(self.orders, f"{index}\n".encode())
        except BrokenPipeError:
            pass

    def read(self) -> Outcome | None:
        """Take what the worker has written (call when its pipe is readable): its job's Outcome
        once complete, or a failed one if the worker died; None while the job runs."""
        chunk = os.read(self.fd, 1 << 16)
        if not chunk:                                  # the worker died (killed, or os._exit in a cell)
            job, seconds = self.job, time.monotonic() - self.began
            status = self.stop()
            return None if job is None else died(job, status, seconds)
        self.buffer += chunk
        if b"\n" not in self.buffer:
            return None
        line, self.buffer = self.buffer.split(b"\n", 1)
        outcome = Outcome(**json.loads(line))
        outcome.seconds = time.monotonic() - self.began
        self.job = None
        if self.single:
            self.close()
        return outcome

    def interrupt(self) -> Outcome | None:
        """Kill the worker (past its job's deadline, or the batch is interrupted): its job's failed Outcome."""
        job, seconds = self.job, time.monotonic() - self.began
        self.stop()
        return None if job is None else stopped(job, seconds)

    def close(self) -> None:
        """No more jobs: the worker exits once it has read to the end of its orders."""
        if not self.alive:
            return
        self._close_ends()
        os.waitpid(self.pid, 0)
        processes.kill_tree(self.pid)                  # anything it left behind in its group
        self.alive = False

    def _close_ends(self) -> None:
        for fd in (self.orders, self.fd):
            os.close(fd)
            _PARENT_ENDS.discard(fd)

    def stop(self) -> int:
        """Kill the worker, its group and its kernels; its wait status."""
        status = 0
        if self.alive:
            self._close_ends()
            processes.kill_tree(self.pid)
            _, status = os.waitpid(self.pid, 0)
            processes.kill_tree(self.pid)
            self.alive = False
        return status


def _work(jobs: list[Job], orders: int, out: int, single: bool) -> None:
    """The worker's loop: run each job it is given, write its outcome as a line; exit at the end of
    orders. A lane of many reports keeps their clocks for the next (report.share_clocks)."""
    try:
        if not single:
            from threatkit.analysis.route_clocks import ClockMemo
            from threatkit.report import share_clocks

            share_clocks(ClockMemo(LANE_CLOCKS_BYTES, LANE_CLOCKS_BYTES // 2))
        with os.fdopen(orders, "rb") as given, os.fdopen(out, "wb") as back:
            for line in given:
                outcome = outcome_here(jobs[int(line)])
                back.write(json.dumps(asdict(outcome)).encode() + b"\n")
                back.flush()
    finally:
        os._exit(0)
