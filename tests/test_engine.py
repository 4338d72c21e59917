"""The warm papermill engine "threatkit" (issue 8): registered with papermill, the same
outputs as a Jupyter kernel, no state carried from one notebook to the next, and
errors, streams, rich display and trailing semicolons as a kernel gives them.

Test notebooks are written with nbformat into temporary folders (not stored under
tests/, where `make test`'s --nbval would collect them).
"""
from __future__ import annotations

import contextlib
import io
import json
import os
import re
import subprocess
import sys
import time
from importlib.metadata import entry_points
from pathlib import Path

import nbformat
import papermill
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook
from papermill.exceptions import PapermillExecutionError

import threatkit
from threatkit.cli import main
from threatkit.run.html import to_html
from threatkit.report import RESULTS_MIME, read_results

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "data" / "examples" / "mythos.yaml"
TEMPLATE = ROOT / "templates" / "scenario_report.ipynb"
SCENARIO, SAMPLES, SEED = "status-quo", 50, 1
KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
ANSI = re.compile(r"\x1b\[[0-9;]*m")
INJECTED_CELL_ID = re.compile(r'(<div id="cell-id=)[^"]+("[^>]*celltag_injected-parameters)')
CUSTOM_MIME = "application/vnd.threatkit.test+json"


def notebook(path: Path, parameters: str, *cells: str) -> Path:
    nb = new_notebook(cells=[new_markdown_cell("# A test notebook"),
                             new_code_cell(parameters, metadata={"tags": ["parameters"]}),
                             *(new_code_cell(c) for c in cells)],
                      metadata={"kernelspec": KERNELSPEC})
    nbformat.write(nb, path)
    return path


def run(template: Path, out: Path, engine: str | None, **parameters):
    """papermill.execute_notebook with `engine` (None: papermill's own, a python3 kernel)."""
    return papermill.execute_notebook(str(template), str(out), parameters=parameters, engine_name=engine,
                                      kernel_name="python3", progress_bar=False)


def output_view(output, counts: bool = True) -> dict:
    """An output without what only says when it ran (and, unless `counts`, its execution_count)."""
    view = {k: v for k, v in output.items() if k != "transient" and (counts or k != "execution_count")}
    if "traceback" in view:
        view["traceback"] = [ANSI.sub("", line) for line in view["traceback"]]
    return view


def code_cells(nb, counts: bool = True) -> list[dict]:
    """Each code cell's source and outputs (and execution counts, cell's and outputs', if `counts`)."""
    return [{"source": c.source, "outputs": [output_view(o, counts) for o in c.outputs],
             **({"execution_count": c.execution_count} if counts else {})}
            for c in nb.cells if c.cell_type == "code"]


# ---- papermill's engine entry point, and the same outputs as a kernel ---------------------------

def test_engine_is_registered_with_papermill():
    from papermill.engines import papermill_engines

    from threatkit.run.papermill_engine import ThreatkitEngine

    [ep] = [ep for ep in entry_points(group="papermill.engine") if ep.name == "threatkit"]
    assert ep.load() is ThreatkitEngine
    assert papermill_engines.get_engine("threatkit") is ThreatkitEngine


@pytest.fixture(scope="module")
def report_both_ways(tmp_path_factory):
    """The report template for one scenario of the example, with our engine and with a kernel."""
    out = tmp_path_factory.mktemp("engines")
    params = {"model_path": str(EXAMPLE), "scenario": SCENARIO, "samples": SAMPLES, "seed": SEED}
    ours = run(TEMPLATE, out / "threatkit.ipynb", "threatkit", **params)
    kernel = run(TEMPLATE, out / "kernel.ipynb", None, **params)
    return ours, kernel, out


@pytest.mark.slow
def test_report_outputs_equal_a_kernel_run(report_both_ways):
    """Per cell: the same output types, MIME types, data and output metadata as a kernel gives."""
    ours, kernel, out = report_both_ways
    assert [c.cell_type for c in ours.cells] == [c.cell_type for c in kernel.cells]
    assert [c.source for c in ours.cells] == [c.source for c in kernel.cells]
    a, b = code_cells(ours, counts=False), code_cells(kernel, counts=False)
    for cell_a, cell_b in zip(a, b):
        assert [o["output_type"] for o in cell_a["outputs"]] == [o["output_type"] for o in cell_b["outputs"]]
        assert [sorted(o.get("data", {})) for o in cell_a["outputs"]] == \
               [sorted(o.get("data", {})) for o in cell_b["outputs"]], cell_a["source"]
        assert cell_a["outputs"] == cell_b["outputs"], cell_a["source"]
    # the report shows something: figures, tables, an execute_result, the recorded results
    mimes = {m for c in a for o in c["outputs"] for m in o.get("data", {})}
    assert {"image/svg+xml", "text/html", "text/markdown", RESULTS_MIME} <= mimes
    assert "execute_result" in {o["output_type"] for c in a for o in c["outputs"]}
    # what was written to disk is what was returned
    assert code_cells(nbformat.read(out / "threatkit.ipynb", as_version=4)) == code_cells(ours)
    assert ours.metadata.papermill.parameters == kernel.metadata.papermill.parameters
    assert ours.metadata.kernelspec == kernel.metadata.kernelspec


@pytest.mark.slow
def test_report_execution_counts_equal_a_kernel_run(report_both_ways):
    """Cells numbered 1, 2, ... as in a kernel, and an execute_result carries its own cell's number."""
    ours, kernel, _ = report_both_ways
    counts = [c.execution_count for c in ours.cells if c.cell_type == "code"]
    assert counts == list(range(1, len(counts) + 1))
    assert counts == [c.execution_count for c in kernel.cells if c.cell_type == "code"]
    results = [(c.execution_count, o.execution_count) for c in ours.cells if c.cell_type == "code"
               for o in c.outputs if o.output_type == "execute_result"]
    assert results and all(cell == output for cell, output in results), results
    assert code_cells(ours) == code_cells(kernel)


@pytest.mark.slow
def test_report_results_and_html_equal_a_kernel_run(report_both_ways):
    ours, kernel, _ = report_both_ways
    results = read_results(ours)
    assert results == read_results(kernel)
    assert results["scenario"] == SCENARIO and results["samples"] == SAMPLES and results["seed"] == SEED
    run_assess = io.StringIO()
    with contextlib.redirect_stdout(run_assess):
        assert main(["assess", str(EXAMPLE), "--scenario", SCENARIO, "--format", "json",
                     "--samples", str(SAMPLES), "--seed", str(SEED)]) == 0
    assert results["rows"] == json.loads(run_assess.getvalue())
    # the HTML too, but for the id papermill draws at random for its injected-parameters cell
    html_a, html_b = (to_html(nbformat.from_dict(json.loads(json.dumps(nb))), "title", "subtitle")
                      for nb in (ours, kernel))
    assert len(INJECTED_CELL_ID.findall(html_a)) == 1
    assert INJECTED_CELL_ID.sub(r'\1\2', html_a) == INJECTED_CELL_ID.sub(r'\1\2', html_b)


@pytest.mark.slow
def test_papermill_command_line_takes_the_engine(report_both_ways, tmp_path):
    _, kernel, _ = report_both_ways
    out = tmp_path / "out.ipynb"
    done = subprocess.run([sys.executable, "-m", "papermill", str(TEMPLATE), str(out), "--engine", "threatkit",
                           "-p", "scenario", SCENARIO, "-p", "samples", str(SAMPLES)],
                          capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    nb = nbformat.read(out, as_version=4)
    assert nb.metadata.papermill.parameters == {"scenario": SCENARIO, "samples": SAMPLES}
    results = read_results(nb)
    assert results["scenario"] == SCENARIO and results["samples"] == SAMPLES and results["seed"] == SEED
    assert results["rows"] == read_results(kernel)["rows"]    # the template's default model is the example
    assert all(c.execution_count is not None for c in nb.cells if c.cell_type == "code")


# ---- no state leaks from one notebook to the next ----------------------------------------------

LEAK_PARAMETERS = 'model_path = ""\nscenario = "status-quo"\nsamples = 50\nseed = 1'
LEAK_CELL = '''\
import os
import threatkit

seen = getattr(threatkit, "_leak", None)              # a module global a notebook before might have set
threatkit._leak = scenario
seen_name = globals().get("left_behind")              # a name in the notebook's namespace
left_behind = scenario
seen_env = os.environ.get("THREATKIT_TEST_LEAK")      # the environment
os.environ["THREATKIT_TEST_LEAK"] = scenario
print(f"seen={seen!r} seen_name={seen_name!r} seen_env={seen_env!r}")
'''
LEAK_RECORD = '''\
from IPython.display import display
from threatkit.report import RESULTS_MIME, ScenarioReport

results = ScenarioReport.build(model_path, scenario, samples=samples, seed=seed).results()
results.update(seen=seen, seen_name=seen_name, seen_env=seen_env, after=getattr(threatkit, "_leak", None))
display({RESULTS_MIME: results, "text/plain": f"results of {scenario}"}, raw=True)
'''


def assert_saw_nothing(nb, scenario: str) -> None:
    results = read_results(nb)
    assert (results["seen"], results["seen_name"], results["seen_env"]) == (None, None, None)
    assert results["after"] == scenario                      # it did set the global, in its own process
    [stream] = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "stream"]
    assert stream.text == "seen=None seen_name=None seen_env=None\n"


def assert_parent_untouched() -> None:
    assert getattr(threatkit, "_leak", None) is None
    assert "THREATKIT_TEST_LEAK" not in os.environ


@pytest.mark.slow
def test_no_state_leaks_between_scenarios_of_a_batch(tmp_path):
    template = notebook(tmp_path / "leak.ipynb", LEAK_PARAMETERS, LEAK_CELL, LEAK_RECORD)
    out = tmp_path / "reports"
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        code = main(["batch", str(EXAMPLE), "-o", str(out), "--template", str(template), "--jobs", "1",
                     "--samples", str(SAMPLES), "--scenario", "status-quo", "--scenario", "restricted-export"])
    assert code == 0, err.getvalue()
    order = [re.search(r"\] (\S+): ok", line).group(1) for line in err.getvalue().splitlines() if "] " in line]
    assert order == ["status-quo", "restricted-export"]          # one after the other, in one warm process
    for s in order:
        assert_saw_nothing(nbformat.read(out / f"{s}.ipynb", as_version=4), s)
    assert_parent_untouched()


@pytest.mark.slow
def test_no_state_leaks_between_execute_notebook_calls(tmp_path):
    template = notebook(tmp_path / "leak.ipynb", LEAK_PARAMETERS, LEAK_CELL, LEAK_RECORD)
    for i, s in enumerate(("status-quo", "restricted-export")):
        nb = run(template, tmp_path / f"{i}.ipynb", "threatkit", model_path=str(EXAMPLE), scenario=s, samples=SAMPLES)
        assert_saw_nothing(nb, s)
        assert_parent_untouched()


def test_a_process_that_runs_notebooks_one_after_another_lets_go_of_each(tmp_path):
    """A batch's worker runs shipped reports one after another in one process (run_cells_here):
    each notebook gets a fresh namespace, and its shell (with everything its cells made) is freed
    after it, __main__ given back; else a worker grew by a report's size with each report."""
    import gc
    import weakref

    from IPython.core.interactiveshell import InteractiveShell

    from threatkit.run import engine

    nb = new_notebook(cells=[new_code_cell("seen = globals().get('left_behind')\nleft_behind = 1\nprint(seen)")])
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:                                        # run_cells_here is for a process of its own
        try:
            main_module = sys.modules["__main__"]
            engine.run_cells_here()
            shells = []
            InteractiveShell.instance = classmethod(lambda cls, *a, _new=InteractiveShell.instance.__func__, **k:
                                                    shells.append(weakref.ref(_new(cls, *a, **k))) or shells[-1]())
            runs = [engine.execute_cells(nb) for _ in range(4)]
            gc.collect()
            report = {"outputs": [cells[0]["outputs"] for cells in runs],
                      "alive": len({id(r()) for r in shells if r() is not None}),
                      "main": sys.modules["__main__"] is main_module}
            os.write(write_fd, json.dumps(report).encode())
        finally:
            os._exit(0)
    os.close(write_fd)
    with os.fdopen(read_fd) as pipe:
        report = json.loads(pipe.read() or "{}")
    os.waitpid(pid, 0)
    assert report["outputs"] == [[{"output_type": "stream", "name": "stdout", "text": "None\n"}]] * 4
    assert report["alive"] <= 1                 # IPython keeps its first shell of a process: not one a notebook
    assert report["main"] is True


# ---- errors, streams, rich display, semicolons ---------------------------------------------------

ERRORS_CELLS = (
    'import sys\nprint("out 1")\nprint("out 2")\nprint("err 1", file=sys.stderr)',
    'from IPython.display import display\n'
    f'display({{"{CUSTOM_MIME}": {{"a": [1, 2], "b": None}}, "text/plain": "custom"}}, raw=True,\n'
    f'        metadata={{"{CUSTOM_MIME}": {{"expanded": True}}}})',
    'x + 1;',
    'x + 41',
    'raise ValueError(f"boom {x}")',
    'print("never")',
)


@pytest.fixture(scope="module")
def errors_both_ways(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("errors")
    template = notebook(tmp / "errors.ipynb", "x = 1", *ERRORS_CELLS)
    runs = {}
    for engine in ("threatkit", None):
        out = tmp / f"{engine or 'kernel'}.ipynb"
        with pytest.raises(PapermillExecutionError) as raised:
            run(template, out, engine, x=2)
        runs[engine or "kernel"] = (raised.value, nbformat.read(out, as_version=4))
    return runs


def cell_of(nb, source_start: str):
    [cell] = [c for c in nb.cells if c.cell_type == "code" and c.source.startswith(source_start)]
    return cell


@pytest.mark.slow
def test_a_raising_cell_gives_papermills_error_and_error_output(errors_both_ways):
    exc, nb = errors_both_ways["threatkit"]
    assert (exc.ename, exc.evalue) == ("ValueError", "boom 2")
    failing = cell_of(nb, "raise ValueError")
    assert exc.exec_count == failing.execution_count == 7    # parameters, injected, four cells, then this
    [error] = failing.outputs
    assert error.output_type == "error" and (error.ename, error.evalue) == ("ValueError", "boom 2")
    trace = ANSI.sub("", "\n".join(error.traceback))
    assert "ValueError" in trace and 'raise ValueError(f"boom {x}")' in trace
    never = cell_of(nb, 'print("never")')
    assert never.outputs == [] and never.execution_count is None
    assert nb.cells[0].cell_type == "markdown" and "An Exception was encountered" in nb.cells[0].source
    assert failing.metadata.papermill.exception is True
    assert nb.metadata.papermill.exception is True
    k_exc, k_nb = errors_both_ways["kernel"]
    assert (exc.ename, exc.evalue, exc.exec_count) == (k_exc.ename, k_exc.evalue, k_exc.exec_count)
    assert [c.source for c in nb.cells] == [c.source for c in k_nb.cells]      # the same error cells added
    assert code_cells(nb, counts=False) == code_cells(k_nb, counts=False)      # counts: test_..._execution_counts_...
    assert [c.get("execution_count") for c in nb.cells] == [c.get("execution_count") for c in k_nb.cells]


@pytest.mark.slow
def test_prints_become_stream_outputs(errors_both_ways):
    _, nb = errors_both_ways["threatkit"]
    outputs = cell_of(nb, "import sys").outputs
    assert [(o.output_type, o.name, o.text) for o in outputs] == [("stream", "stdout", "out 1\nout 2\n"),
                                                                 ("stream", "stderr", "err 1\n")]


@pytest.mark.slow
def test_display_of_a_custom_mime_type_is_kept(errors_both_ways):
    _, nb = errors_both_ways["threatkit"]
    [output] = cell_of(nb, "from IPython.display import display").outputs
    assert output.output_type == "display_data"
    assert output.data == {CUSTOM_MIME: {"a": [1, 2], "b": None}, "text/plain": "custom"}    # JSON, not a string
    assert output.metadata == {CUSTOM_MIME: {"expanded": True}}


@pytest.mark.slow
def test_trailing_semicolon_shows_no_result(errors_both_ways):
    _, nb = errors_both_ways["threatkit"]
    assert cell_of(nb, "x + 1;").outputs == []
    assert [(o.output_type, o.data) for o in cell_of(nb, "x + 41").outputs] == [("execute_result", {"text/plain": "43"})]


# ---- a notebook that hangs or whose process dies -------------------------------------------------

def process_alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")


@pytest.mark.slow
def test_execution_timeout_stops_the_notebook(tmp_path):
    template = notebook(tmp_path / "hang.ipynb", 'marker = ""',
                        'import os, time\nopen(marker, "w").write(str(os.getpid()))\ntime.sleep(600)')
    marker = tmp_path / "pid"
    start = time.monotonic()
    with pytest.raises(TimeoutError):
        papermill.execute_notebook(str(template), str(tmp_path / "out.ipynb"), parameters={"marker": str(marker)},
                                   engine_name="threatkit", progress_bar=False, execution_timeout=2)
    assert time.monotonic() - start < 30
    assert not process_alive(int(marker.read_text()))


@pytest.mark.slow
def test_a_dying_notebook_process_is_reported(tmp_path):
    from threatkit.run.engine import DeadNotebookProcess

    template = notebook(tmp_path / "die.ipynb", "x = 1", "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)",
                        'print("never")')
    with pytest.raises(DeadNotebookProcess):
        run(template, tmp_path / "out.ipynb", "threatkit")
    assert threatkit is sys.modules["threatkit"]      # this process carries on


def test_webassembly_renderer_started_before_fork_works_in_the_child():
    """warm_up starts the WebAssembly Graphviz in the parent; a forked child must render with it."""
    import os

    from threatkit.render.graphviz import render_dot

    render_dot("digraph { a }", "svg")
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:                                       # the child: render, report, exit
        try:
            svg = render_dot('digraph { x -> y [label="child"] }', "svg")
            os.write(write_fd, b"ok" if b"child" in svg else b"bad")
        finally:
            os._exit(0)
    os.close(write_fd)
    got = os.read(read_fd, 16)
    os.close(read_fd)
    os.waitpid(pid, 0)
    assert got == b"ok"


def test_a_single_report_is_not_preceded_by_the_batch_exercise(tmp_path):
    """One report forks one child: the parent imports what it needs, but does not draw the small
    report a batch draws once for all its children (it would be drawn for nothing)."""
    import subprocess
    import sys

    from threatkit.resources import data_path

    code = (
        "from threatkit.run import engine\n"
        "def refuse(): raise AssertionError('a single report ran the exercise')\n"
        "engine._exercise = refuse\n"
        "from threatkit.run.execute import make_report\n"
        f"make_report({str(data_path('examples/mythos.yaml'))!r}, 'status-quo', {str(tmp_path / 'r.html')!r}, samples=10)\n"
        "assert engine._WARM and not engine._EXERCISED\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert (tmp_path / "r.html").stat().st_size > 0


def test_a_batch_in_lanes_leaves_the_exercise_to_them_and_a_template_of_ones_own_gets_it(tmp_path):
    """Reports of the shipped template run in lanes, each of which warms itself in its first
    report: the parent imports, but draws no exercise for them (start-up with a core idle).
    Reports of one's own template get a fresh child each, which starts from the exercise."""
    import shutil
    import subprocess
    import sys

    from threatkit.resources import data_path, resource_dir

    own = tmp_path / "mine.ipynb"
    shutil.copy(resource_dir("templates") / "scenario_report.ipynb", own)
    for template, exercised in ((None, False), (own, True)):
        code = (
            "from threatkit.run import engine\n"
            "calls = []\n"
            "real = engine._exercise\n"
            "engine._exercise = lambda: (calls.append(1), real())\n"
            "from threatkit.cli import main\n"
            f"args = ['batch', {str(data_path('examples/mythos.yaml'))!r}, '-o', {str(tmp_path / str(exercised))!r},"
            " '--samples', '10', '--jobs', '2', '--scenario', 'status-quo', '--scenario', 'restricted-export']\n"
            f"args += ['--template', {str(template)!r}] if {template is not None} else []\n"
            "assert main(args) == 0\n"
            "assert engine._WARM and calls == ([1] if %s else []), calls\n" % exercised)
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, (template, done.stderr[-2000:])


def test_a_report_child_never_compiles_the_webassembly_graphviz(tmp_path):
    """wasmtime compiles on a pool of threads, which a forked child does not have: a child that
    compiles waits for them for ever. A process that compiled the module once (its threads now
    running) and no longer holds it (here: caches cleared, as a test does, and a new, empty cache
    folder) must still get its report: the renderer is started before the fork, not in the child."""
    from threatkit.resources import data_path

    code = (
        "import os\n"
        "from threatkit.render import wasm\n"
        f"os.environ['THREATKIT_CACHE_DIR'] = {str(tmp_path / 'first')!r}\n"
        "wasm.render('digraph { a }')                  # compiled here: wasmtime's threads started\n"
        "wasm._backend.cache_clear()\n"
        f"os.environ['THREATKIT_CACHE_DIR'] = {str(tmp_path / 'second')!r}\n"
        "from threatkit.run.execute import make_report\n"
        f"make_report({str(data_path('examples/mythos.yaml'))!r}, 'status-quo', {str(tmp_path / 'r.html')!r}, "
        "samples=10, timeout=60)\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert b"<svg" in (tmp_path / "r.html").read_bytes()
