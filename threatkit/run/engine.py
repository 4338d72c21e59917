"""A papermill engine that runs a notebook in a forked child of a warm process.

Most of a papermill run is not the notebook's work: starting Python and a
kernel, importing pandas and the renderers, shutting down. This engine runs
each notebook in a fresh child forked from the calling process, which has
imported all that once (`warm_up`). Cells run in an IPython shell whose
display machinery mirrors a kernel's: rich reprs and `display()` become
display_data outputs, a cell's last value an execute_result, stdout/stderr
stream outputs, and an exception an error output (so papermill reports it
with its error cell as usual). The child's state dies with it: nothing leaks
from one notebook to the next.

Registered as papermill engine "threatkit" (entry point `papermill.engine`, class in
threatkit.run.papermill_engine, which only papermill should import):
    papermill.execute_notebook(..., engine_name="threatkit")
    papermill in.ipynb out.ipynb --engine threatkit

For templates that need a real kernel (widgets, other languages), use the
default engine (papermill's kernel), `--engine kernel` in threatkit.
"""
from __future__ import annotations

import json
import os
import select
import sys
import time

ENGINE_NAME = "threatkit"
ENGINES = (ENGINE_NAME, "kernel")
_WARM = False          # the notebooks' imports done
_EXERCISED = False     # and a small report drawn (warm_up)
_HERE = False          # run cells in this process: it is a batch job's own, and dies after the job


# For papermill's own engine: keep the kernel's start-up warning about unencrypted TCP on
# loopback (every kernel prints it) out of the user's terminal; its errors still show.
KERNEL_ARGUMENTS = {"extra_arguments": ["--IPKernelApp.log_level=ERROR"]}


def engine_name(engine: str) -> str | None:
    """papermill's engine name for one of ours: None is papermill's own (a Jupyter kernel)."""
    if engine not in ENGINES:
        raise ValueError(f"unknown engine {engine!r}; expected one of: {', '.join(ENGINES)}")
    return None if engine == "kernel" else engine


def warm_up(exercise: bool = True) -> None:
    """Import what report notebooks use and, with `exercise`, draw a small report and start the
    WebAssembly renderer, once per process, so that every forked child starts warm. (Every fork
    starts the renderer anyway, processes.fork: a child must never compile it.) A single report
    needs only the imports: its one child would build the exercise's caches itself, no slower,
    and the exercise's own report would be drawn for nothing (0.6 s). So does a batch whose
    reports all run in lanes (batch/lanes.py): each lane builds them once, in its first report."""
    global _WARM, _EXERCISED
    if _EXERCISED or (_WARM and not exercise):
        return
    from threatkit.model.yamlsafe import freeze, gc_paused

    # The collector paused: imports and the exercise build a quarter of a million objects, and
    # the full collections they would trigger find nothing to free (50 ms of start-up).
    with gc_paused():
        if not _WARM:
            _warm_imports()
        if exercise:
            _exercise()
        # Children share the warm objects copy-on-write; a garbage collection in a child would
        # touch (and so copy) every one of them. Frozen, the collector leaves them alone. Frozen
        # before it resumes, or its first pass scans them all (40 ms); and no collection first:
        # it finds only the few cycles imports leave, and costs another 50 ms.
        freeze()
    _WARM, _EXERCISED = True, exercise


def _warm_imports() -> None:
    import IPython.core.interactiveshell  # noqa: F401
    # what making a shell imports (in every child otherwise, 20 ms): the shell itself is made
    # there, since making one here would take over this process's __main__
    import IPython.core.application  # noqa: F401
    import IPython.core.completerlib  # noqa: F401
    import IPython.core.crashhandler  # noqa: F401
    import IPython.core.debugger  # noqa: F401
    import IPython.core.logger  # noqa: F401
    import IPython.core.magics  # noqa: F401
    import IPython.core.oinspect  # noqa: F401
    import nbformat  # noqa: F401
    import papermill  # noqa: F401  # each job calls it: imported in every child otherwise (0.2 s)
    import pandas  # noqa: F401
    import pandas.io.formats.string  # noqa: F401  # a table's text/plain
    import pandas.io.formats.style  # noqa: F401
    import scipy.fft  # noqa: F401  # the clock's draws convolve with it (0.15 s to import)

    import threatkit.report  # noqa: F401


def _exercise() -> None:
    """Draw one small report's sections and export a notebook to HTML, here, once: the
    template caches of pandas and nbconvert and the WebAssembly Graphviz are
    then warm in every forked child, instead of being built again in each."""
    import nbformat

    from threatkit.run.html import to_html
    from threatkit.render.brief import brief_markdown
    from threatkit.render.curves import CapabilityPlot
    from threatkit.render.display import assessment_table
    from threatkit.render.matrix import RiskMatrix
    from threatkit.render.tornado import tornado_svg
    from threatkit.render.trees import tree_svg
    from threatkit.report import ScenarioReport

    from threatkit.model.load import load_text

    # a model of one small pathway: every section's code and caches, little of the work
    model_report = ScenarioReport(load_text(EXERCISE_MODEL, "exercise.yaml"), "s", 10, 0)
    a = model_report.assessment
    tree_svg(a.pathways[0].tree)
    RiskMatrix.of(a).to_svg()
    CapabilityPlot(model_report.curves).to_svg()
    brief_markdown(model_report.brief)     # its sweep warms the percentile caches every report's sweep uses
    tornado_svg(model_report.sweep.tornado())
    for table in (assessment_table(a), model_report.recommendations(), model_report.sources()):
        table._repr_html_()
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell("# warm-up\n*text*"),
        nbformat.v4.new_code_cell("x", outputs=[nbformat.v4.new_output(
            "display_data", data={"text/html": "<b>x</b>", "image/svg+xml": "<svg></svg>", "text/plain": "x"})])])
    to_html(nb, "warm-up")


EXERCISE_MODEL = """
threatkit: 1
include: []
assets: [{id: frontier, capability_value: 0.9}]
tiers: [{id: api, rank: 1, queries_per_day: 1000, duration_days: 365, exposes: [outputs]}]
actors: [{id: crew, kind: competitor, capacity: OC3, budget_usd: 100000, skill: 3, independent_months: 12}]
pathways:
  - id: distill
    fidelity: {low: 0.1, mode: 0.6, high: 0.9}
    tree:
      id: root
      gate: sand
      children:
        - {id: harvest, p: 0.9, cost_usd: 5000, time_days: 7, queries: 100000}
        - {id: train, p: {low: 0.3, mode: 0.5, high: 0.8}, cost_usd: 2000, time_days: 30, skill: 3}
controls: [{id: rate-limit, counters: [harvest], effectiveness: 0.3}]
scenarios: [{id: s, asset: frontier, actor: crew, tier: api, controls: [rate-limit]}]
"""


class DeadNotebookProcess(RuntimeError):
    """The child running the notebook died (the in-process engine's 'dead kernel')."""


def run_cells_here() -> None:
    """From now on run notebooks in this process rather than in a fork of it. For a process
    that exists to run one notebook and then exit (a batch job's child, which already holds
    the job's deadline): a second fork would only cost time."""
    global _HERE
    _HERE = True


def execute_cells(nb, execution_timeout: float | None = None) -> list[dict]:
    """Run the notebook's cells in a forked child (or here, after `run_cells_here`, where the
    caller enforces any deadline); per cell: outputs, execution_count, error."""
    from threatkit.run.processes import fork

    if _HERE:
        streams = sys.stdout, sys.stderr
        try:
            cells = _run_cells(nb)
        finally:
            sys.stdout, sys.stderr = streams
            _let_go_of_the_shell()                  # this process may run another notebook next
        return json.loads(json.dumps(cells))        # as the pipe from a child would give them
    read_fd, write_fd = os.pipe()
    pid = fork()
    if pid == 0:
        os.close(read_fd)
        _child(nb, write_fd)                            # never returns
    os.close(write_fd)
    try:
        payload = _read_all(read_fd, pid, execution_timeout)
    finally:
        os.close(read_fd)
    if payload is None:
        raise DeadNotebookProcess("the process running the notebook died before it finished")
    return json.loads(payload)["cells"]


def _read_all(fd: int, pid: int, timeout: float | None) -> bytes | None:
    """The child's result, or None if it died; kills it past `timeout` seconds."""
    chunks = []
    deadline = None if timeout is None else time.monotonic() + timeout
    while True:
        wait = None if deadline is None else max(0.0, deadline - time.monotonic())
        ready, _, _ = select.select([fd], [], [], wait)
        if not ready:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
            raise TimeoutError(f"the notebook ran past {timeout:g} s and was stopped")
        chunk = os.read(fd, 1 << 20)
        if not chunk:
            break
        chunks.append(chunk)
    _, status = os.waitpid(pid, 0)
    if not chunks or status != 0:
        return None
    return b"".join(chunks)


# ---- the child -----------------------------------------------------------------------------

def _child(nb, write_fd: int) -> None:
    code = 0
    try:
        result = {"cells": _run_cells(nb)}
        data = json.dumps(result).encode()
    except BaseException as exc:                       # noqa: BLE001 - must not return from a fork
        data = json.dumps({"cells": [], "fatal": f"{type(exc).__name__}: {exc}"}).encode()
        code = 1
    try:
        with os.fdopen(write_fd, "wb") as pipe:
            pipe.write(data)
    finally:
        os._exit(code)


def _run_cells(nb) -> list[dict]:
    shell, sink = _shell()
    done = []
    for cell in nb.cells:
        if cell.cell_type != "code":
            done.append({"outputs": [], "execution_count": None})
            continue
        sink.outputs = []
        sink.count = count = shell.execution_count      # this cell's number, as a kernel gives it
        result = shell.run_cell(cell.source, store_history=True, silent=False)
        sink.flush_streams()
        error = None
        if not result.success:
            exc = result.error_in_exec or result.error_before_exec
            error = f"{type(exc).__name__}: {exc}"
        done.append({"outputs": sink.outputs, "execution_count": count, "error": error})
        if error:
            done.extend({"outputs": [], "execution_count": None} for _ in range(len(nb.cells) - len(done)))
            break
    return done


class _Sink:
    """Collects a cell's outputs in nbformat's shape, merging consecutive stream text as nbclient does."""

    def __init__(self):
        self.outputs: list[dict] = []
        self.count = 1          # the running cell's execution count

    def add(self, output: dict) -> None:
        self.outputs.append(output)

    def stream(self, name: str, text: str) -> None:
        if not text:
            return
        last = self.outputs[-1] if self.outputs else None
        if last and last["output_type"] == "stream" and last["name"] == name:
            last["text"] += text
        else:
            self.outputs.append({"output_type": "stream", "name": name, "text": text})

    def flush_streams(self) -> None:
        for s in (sys.stdout, sys.stderr):
            s.flush()


class _Stream:
    def __init__(self, sink: _Sink, name: str):
        self.sink, self.name = sink, name
        self.encoding = "utf-8"

    def write(self, text: str) -> int:
        self.sink.stream(self.name, text)
        return len(text)

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        return False


def _shell():
    from IPython.core.displayhook import DisplayHook
    from IPython.core.displaypub import DisplayPublisher
    from IPython.core.interactiveshell import InteractiveShell
    from traitlets import Type
    from traitlets.config import Config

    sink = _Sink()

    class Publisher(DisplayPublisher):
        def publish(self, data, metadata=None, source=None, *, transient=None, update=False, **kwargs):
            sink.add({"output_type": "display_data", "data": _jsonable(data), "metadata": metadata or {}})

        def clear_output(self, wait=False):
            sink.outputs.clear()

    class Hook(DisplayHook):
        def write_output_prompt(self):
            pass

        def write_format_data(self, format_dict, md_dict=None):
            sink.add({"output_type": "execute_result", "data": _jsonable(format_dict),
                      "metadata": md_dict or {}, "execution_count": sink.count})

        def finish_displayhook(self):
            pass

    class Shell(InteractiveShell):
        displayhook_class = Type(Hook)
        display_pub_class = Type(Publisher)

        def _showtraceback(self, etype, evalue, stb):      # as ipykernel: an error output, not a print
            sink.add({"output_type": "error", "ename": etype.__name__, "evalue": str(evalue),
                      "traceback": list(stb)})

    # No history database: every child would open the user's history.sqlite and start a thread
    # to write it (40 ms a notebook) for a history no one reads. Execution counts are unchanged.
    config = Config()
    config.HistoryManager.enabled = False
    InteractiveShell.clear_instance()             # a shell copied from the parent is not ours
    _MAIN[:] = [sys.modules.get("__main__")]      # the shell takes the place of __main__: given back after
    shell = Shell.instance(config=config, colors="Linux")    # a kernel's tracebacks are coloured too
    sys.stdout, sys.stderr = _Stream(sink, "stdout"), _Stream(sink, "stderr")
    return shell, sink


_MAIN: list = []        # the process's __main__ module, while a notebook's shell stands in for it


def _let_go_of_the_shell() -> None:
    """Free the notebook's shell and everything its cells made: IPython registers every shell
    with atexit, which would otherwise keep each one (its namespace, a whole report) alive for
    as long as the process runs notebooks (23 MB a report), and takes the place of __main__."""
    import atexit

    from IPython.core.interactiveshell import InteractiveShell

    if not InteractiveShell.initialized():
        return
    shell = InteractiveShell.instance()
    shell.reset(new_session=False)
    atexit.unregister(shell.atexit_operations)
    type(shell).clear_instance()
    if _MAIN and _MAIN[0] is not None:
        sys.modules["__main__"] = _MAIN[0]


def _jsonable(data: dict) -> dict:
    """Display data as a kernel sends it: text as str, JSON types as they are."""
    out = {}
    for mime, value in data.items():
        out[mime] = value.decode("utf-8") if isinstance(value, bytes) else value
    return out
