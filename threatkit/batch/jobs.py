"""One report run: its inputs and their hash, the resume check, and the run
itself in a forked child that can be killed, kernel and all, at a deadline.

Every backend runs a job the same way: `start_job` forks a child in a session
of its own, the child executes the template and writes the notebook and HTML
atomically, and sends back a small outcome (the results the notebook
recorded); `finish_job` reaps it. `run_job` does both, waiting (Dask workers);
the local runner waits on several jobs at once. A raising cell, a dead kernel, a kernel that
would not start (retried) and a deadline passed all come back as a failed
outcome with the reason; nothing here raises for a notebook's fault.
"""
from __future__ import annotations

import hashlib
import json
import os
import select
import time
import traceback
from dataclasses import asdict, dataclass, field
from pathlib import Path

from threatkit import __version__
from threatkit.run import processes
from threatkit.run.engine import KERNEL_ARGUMENTS, engine_name
from threatkit.files import atomic_write

KERNEL_START_TRIES = 3
RESULTS_KEY = "threatkit"          # notebook metadata key: inputs hash, status, error


@dataclass(frozen=True)
class Job:
    scenario: str
    model_path: str
    template: str
    out_dir: str
    parameters: dict
    inputs_hash: str
    title: str
    subtitle: str
    engine: str = "threatkit"        # threatkit (warm, forked) or kernel (papermill's Jupyter kernel)
    timeout: float | None = None
    kernel_name: str = "python3"
    actor: str = ""                  # the scenario's actor: a lane takes the same actor's reports in a row

    @property
    def notebook_path(self) -> Path:
        return Path(self.out_dir) / f"{self.scenario}.ipynb"

    @property
    def html_path(self) -> Path:
        return Path(self.out_dir) / f"{self.scenario}.html"


@dataclass
class Outcome:
    scenario: str
    status: str                      # ok | failed | skipped (complete from an earlier run)
    error: str = ""
    results: dict = field(default_factory=dict)
    seconds: float = 0.0
    wrote_report: bool = False       # the run wrote its notebook and HTML (even when failed)

    @property
    def ok(self) -> bool:
        return self.status in ("ok", "skipped")


def inputs_hash(model_dump: dict, template: Path, parameters: dict, engine: str) -> str:
    """Hash of everything a report depends on: the resolved model (so every
    included file counts), the template, the parameters, threatkit's version."""
    digest = hashlib.sha256()
    digest.update(json.dumps({"model": model_dump, "parameters": parameters, "engine": engine,
                              "version": __version__}, sort_keys=True).encode())
    digest.update(template.read_bytes())
    return digest.hexdigest()


def completed(job: Job) -> dict | None:
    """The recorded results, if both outputs exist, succeeded and match the inputs."""
    import nbformat

    from threatkit.report import read_results

    if not (job.notebook_path.is_file() and job.html_path.is_file()):
        return None
    try:
        nb = nbformat.read(job.notebook_path, as_version=4)
        meta = nb.metadata.get(RESULTS_KEY, {})
        if meta.get("inputs_hash") != job.inputs_hash or meta.get("status") != "ok":
            return None
        if job.inputs_hash not in job.html_path.read_text(encoding="utf-8", errors="replace"):
            return None
        return read_results(nb)
    except Exception:            # unreadable or foreign files: redo them
        return None


# ---- running -------------------------------------------------------------------------------

@dataclass(eq=False)
class Started:
    """A job running in a forked child: its pid, and the pipe its outcome comes back on."""

    job: Job
    pid: int
    fd: int
    began: float
    chunks: list[bytes] = field(default_factory=list)

    @property
    def deadline(self) -> float | None:
        return None if self.job.timeout is None else self.began + self.job.timeout

    def read(self) -> bool:
        """Take what the child has written (call when the pipe is readable); True at its end."""
        chunk = os.read(self.fd, 1 << 16)
        if chunk:
            self.chunks.append(chunk)
        return not chunk


def start_job(job: Job) -> Started:
    """Fork a child, in a session of its own, that runs the job and writes its outcome to a pipe."""
    if job.engine == "threatkit":          # a Dask worker warms up on its first job; locally a no-op
        from threatkit.run.engine import warm_up

        warm_up()
    began = time.monotonic()
    read_fd, write_fd = os.pipe()
    pid = processes.fork()
    if pid == 0:                                   # the child: never returns
        os.close(read_fd)
        os.setsid()                                # the kernel joins this session: one kill stops both
        outcome = outcome_here(job)
        try:
            with os.fdopen(write_fd, "wb") as pipe:
                pipe.write(json.dumps(asdict(outcome)).encode())
        finally:
            os._exit(0)
    os.close(write_fd)
    return Started(job, pid, read_fd, began)


def outcome_here(job: Job) -> Outcome:
    """Run the job in this process, a child of the batch's (its own, or a lane's): its Outcome,
    whatever happens (a failure is an outcome; nothing raises out of a fork)."""
    try:
        if job.engine == "threatkit":
            from threatkit.run.engine import run_cells_here

            run_cells_here()                   # this process is the job's: no fork per notebook
        return _execute(job)
    except BaseException as exc:               # noqa: BLE001 - reported, never raised out of a fork
        return Outcome(job.scenario, "failed", f"{type(exc).__name__}: {exc}")


def may_share_a_process(job: Job) -> bool:
    """Whether the job may run in a process that ran other reports before it: a shipped template
    on the warm engine, whose cells leave nothing behind but caches keyed by what they hold.
    A template of one's own gets a fresh process: its cells may change any global state."""
    from threatkit.resources import resource_dir

    return job.engine == "threatkit" and Path(job.template).resolve().parent == resource_dir("templates").resolve()


def share_models(jobs: list[Job]) -> None:
    """Before forking the jobs: keep each one's model in this process and draw its leaves at
    the job's samples and seed, so that every report forked after shares them instead of
    loading and drawing them again (~14 ms a report). A model that fails to load is left to
    its reports, which say what is wrong with it."""
    from threatkit.analysis.assess import draw_leaves
    from threatkit.analysis.simulate import Sampler
    from threatkit.model.load import ModelError, keep_model
    from threatkit.model.yamlsafe import freeze

    runs = {(j.model_path, j.parameters.get("samples"), j.parameters.get("seed", 0))
            for j in jobs if j.engine == "threatkit"}
    for path, samples, seed in runs:
        try:
            model = keep_model(path)
            for sampler in (Sampler(), *([Sampler(samples, seed)] if samples else [])):
                draw_leaves(model, sampler)
        except (ModelError, ValueError, TypeError):
            continue
    freeze()             # shared by every report too: the children's collector leaves it alone


def finish_job(started: Started, *, stop: bool = False) -> Outcome:
    """Reap the job's child and read its outcome. `stop`: kill it first, its group and its
    kernel with it (past its deadline, or the batch is interrupted). Anything the child left
    behind in its group is killed after."""
    os.close(started.fd)
    if stop:
        processes.kill_tree(started.pid)           # the child, its group, and its kernel's own session
    _, status = os.waitpid(started.pid, 0)
    processes.kill_tree(started.pid)
    job, seconds = started.job, time.monotonic() - started.began
    if stop:
        return stopped(job, seconds)
    if not started.chunks:
        return died(job, status, seconds)
    outcome = Outcome(**json.loads(b"".join(started.chunks)))
    outcome.seconds = seconds
    return outcome


def stopped(job: Job, seconds: float) -> Outcome:
    """The outcome of a job whose process was killed: past its deadline, or the batch interrupted."""
    why = (f"timed out after {job.timeout:g} s" if job.timeout is not None and seconds >= job.timeout
           else "stopped before it finished")
    return Outcome(job.scenario, "failed", f"{why}; the notebook was stopped", seconds=seconds)


def died(job: Job, status: int, seconds: float) -> Outcome:
    """The outcome of a job whose process died before it sent one (`status`: its wait status)."""
    how = (f"killed by signal {os.WTERMSIG(status)}" if os.WIFSIGNALED(status)
           else f"exit status {os.WEXITSTATUS(status)}")
    return Outcome(job.scenario, "failed", f"the worker process died ({how})", seconds=seconds)


def run_job(job: Job) -> Outcome:
    """Run one report in a forked child with its own session; kill it at the deadline. (The
    local runner starts and finishes jobs itself, several at once; Dask workers call this.)"""
    started = start_job(job)
    done = False
    try:
        while not done:
            wait = None if started.deadline is None else max(0.0, started.deadline - time.monotonic())
            ready, _, _ = select.select([started.fd], [], [], wait)
            if not ready:
                break                              # past the deadline
            done = started.read()
    finally:                                       # past the deadline, or interrupted: the child is killed
        outcome = finish_job(started, stop=not done)
    return outcome


def _execute(job: Job) -> Outcome:
    """In the child: run the template, write the notebook and HTML, collect the results."""
    import nbformat

    from threatkit.run.html import stable_ids, to_html
    from threatkit.report import read_results

    nb, error = _run_notebook(job)
    if nb is None:
        return Outcome(job.scenario, "failed", error)
    stable_ids(nb)
    if error:
        error += _error_cell(nb)
    results: dict = {}
    if not error:
        try:
            results = read_results(nb)
        except LookupError as exc:
            error = str(exc)
    status = "failed" if error else "ok"
    nb.metadata.get("papermill", {})["output_path"] = str(job.notebook_path)
    nb.metadata[RESULTS_KEY] = {"inputs_hash": job.inputs_hash, "status": status, "error": error,
                                "scenario": job.scenario}
    html = to_html(nb, job.title, job.subtitle)
    html = html.replace("<head>", f'<head>\n<meta name="threatkit-inputs" content="{job.inputs_hash}">', 1)
    # the HTML first: a notebook without its HTML is incomplete, and redone on resume
    atomic_write(job.html_path, html)
    atomic_write(job.notebook_path, nbformat.writes(nb))
    return Outcome(job.scenario, status, error, results, wrote_report=True)


_ANSI = __import__("re").compile(r"\x1b\[[0-9;]*m")


def _error_cell(nb) -> str:
    """The failing cell's source and traceback, as plain text."""
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                trace = _ANSI.sub("", "\n".join(output.get("traceback", [])))
                return f"\n\nIn the cell:\n{cell.source}\n\n{trace}"
    return ""


def _run_notebook(job: Job):
    """(executed notebook or None, error text). Retries a kernel that does not start."""
    import nbformat
    import papermill
    from papermill.exceptions import PapermillExecutionError

    scratch = Path(job.out_dir) / f".{job.scenario}.running.ipynb"
    last = ""
    try:
        for attempt in range(1, KERNEL_START_TRIES + 1):
            try:
                nb = papermill.execute_notebook(
                    job.template, str(scratch), parameters=job.parameters, kernel_name=job.kernel_name,
                    engine_name=engine_name(job.engine), progress_bar=False, request_save_on_cell_execute=False,
                    log_output=False, cwd=str(Path(job.model_path).parent), start_timeout=60,
                    **(KERNEL_ARGUMENTS if job.engine == "kernel" else {}))
                return nb, ""
            except PapermillExecutionError as exc:
                nb = nbformat.read(scratch, as_version=4) if scratch.exists() else None
                return nb, f"cell {exc.exec_count} raised {exc.ename}: {exc.evalue}"
            except Exception as exc:                     # noqa: BLE001 - classified below
                if _is_dead_kernel(exc):
                    nb = nbformat.read(scratch, as_version=4) if scratch.exists() else None
                    return nb, "the kernel died while running the notebook"
                if not _is_start_failure(exc) or attempt == KERNEL_START_TRIES:
                    what = "the kernel did not start" if _is_start_failure(exc) else "the run failed"
                    last = f"{what} ({type(exc).__name__}: {exc})"
                    if not _is_start_failure(exc):
                        last += "\n" + "".join(traceback.format_exception_only(exc)).strip()
                    return None, last + (f" after {attempt} tries" if _is_start_failure(exc) else "")
                time.sleep(0.5 * attempt)
        return None, last
    finally:
        scratch.unlink(missing_ok=True)


def _is_dead_kernel(exc: BaseException) -> bool:
    return type(exc).__name__ in ("DeadKernelError", "DeadNotebookProcess")


def _is_start_failure(exc: BaseException) -> bool:
    text = f"{type(exc).__name__}: {exc}"
    return any(s in text for s in ("didn't respond", "Kernel died before replying", "Address already in use",
                                   "TimeoutError", "did not start"))
