"""`threatkit batch` (issue 6): a model file in, a folder of reports out.

Covered here: a batch of every scenario of the example (files, summary.csv equal
to `threatkit assess --format json`, index.html, no temporary files); fault
isolation in one batch (a raising cell, a process that kills itself, a cell past
--timeout, a cell that spins holding the GIL) with both engines; a kernel that
does not start; exit status 2 for usage and model errors before anything runs;
resume (skip what is complete, redo what is missing or stale, redo all when a
parameter changes, results read from the notebooks); Ctrl-C in the middle of a
batch; and the Dask path against a LocalCluster started here.

The test templates are written with nbformat into temporary folders rather than
committed under tests/: `make test` runs pytest with --nbval over tests/, which
would collect and execute any .ipynb stored there.
"""
from __future__ import annotations

import contextlib
import csv
import html
import io
import json
import logging
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from html.parser import HTMLParser
from pathlib import Path
from types import SimpleNamespace

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

import threatkit.batch.jobs
import threatkit.batch.lanes
import threatkit.batch.runners
from threatkit.analysis.assess import risk_order
from threatkit.batch import make_runner, plan, run_batch
from threatkit.batch.jobs import RESULTS_KEY, run_job
from threatkit.cli import main
from threatkit.model.load import load_model
from threatkit.report import RESULTS_MIME, read_results

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "data" / "examples" / "mythos.yaml"
EXAMPLE_SCENARIOS = sorted(s.id for s in load_model(EXAMPLE).scenarios)
SAMPLES = 100
ASSESS_COLUMNS = ["scenario", "pathway", "actor", "tier", "probability", "cost_usd", "time_days", "skill",
                  "fidelity", "likelihood", "impact", "risk", "cheapest_attack", "transfer_samples", "asset"]
MC_SUFFIXES = ("_mean", "_p5", "_p50", "_p95")
KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}


# ---- helpers -----------------------------------------------------------------------------------

def run_cli(args: list[str]) -> SimpleNamespace:
    """threatkit.cli.main in this process, with its stdout and stderr captured."""
    out, err = io.StringIO(), io.StringIO()
    start = time.monotonic()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main([str(a) for a in args])
    return SimpleNamespace(code=code, stdout=out.getvalue(), stderr=err.getvalue(),
                           seconds=time.monotonic() - start)


def assess_rows(model: Path, samples: int = SAMPLES, seed: int = 1) -> list[dict]:
    """`threatkit assess FILE --format json --samples N --seed S`, parsed."""
    result = run_cli(["assess", model, "--format", "json", "--samples", samples, "--seed", seed])
    assert result.code == 0, result.stderr
    return json.loads(result.stdout)


def timeline_by_scenario(model: Path) -> dict[str, dict]:
    """`threatkit timeline FILE --format json`, by scenario."""
    result = run_cli(["timeline", model, "--format", "json"])
    assert result.code == 0, result.stderr
    return {t["scenario"]: t for t in json.loads(result.stdout)}


TIMELINE_SUMMARY = ["days_to_durable", "lead_months", "acceleration_months", "days_without_access"]


def timeline_summary_text(t: dict) -> dict[str, str]:
    """How a scenario's timeline reads in summary.csv: days, and days / (365.25 / 12) to 2 places."""
    months = {k: "" if t[k] is None else str(round(t[k] / (365.25 / 12), 2)) for k in ("lead_days", "acceleration_days")}
    return {"days_to_durable": csv_text(t["days_to_durable"]), "lead_months": months["lead_days"],
            "acceleration_months": months["acceleration_days"],
            "days_without_access": csv_text(t["days_without_access"])}


def read_summary(out: Path) -> tuple[list[str], list[dict]]:
    with open(out / "summary.csv", newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        return list(reader.fieldnames), list(reader)


def csv_text(value) -> str:
    """How a JSON value of `assess` reads in summary.csv: lists space-joined, null empty."""
    if value is None:
        return ""
    if isinstance(value, list):
        return " ".join(value)
    return str(value)


def assert_rows_equal_assess(rows: list[dict], expected: list[dict], timelines: dict[str, dict] | None = None) -> None:
    """summary.csv rows (strings) equal `assess --format json` rows, every column summary.csv has,
    and the timeline columns equal `timeline --format json` (when given)."""
    assert [(r["scenario"], r["pathway"]) for r in rows] == [(e["scenario"], e["pathway"]) for e in expected]
    for row, want in zip(rows, expected):
        for column, text in row.items():
            if column in ("status", "error"):
                continue
            if column in TIMELINE_SUMMARY:
                if timelines is not None:
                    assert text == timeline_summary_text(timelines[row["scenario"]])[column], (row["scenario"], column)
                continue
            assert text == csv_text(want[column]), (row["scenario"], row["pathway"], column)
        assert row["status"] == "ok" and row["error"] == ""


def assert_summary_header(header: list[str], expected: list[dict]) -> None:
    mc = {k for e in expected for k in e if k.endswith(MC_SUFFIXES)}
    assert header[:len(ASSESS_COLUMNS)] == ASSESS_COLUMNS
    assert header[len(ASSESS_COLUMNS):len(ASSESS_COLUMNS) + len(TIMELINE_SUMMARY)] == TIMELINE_SUMMARY
    assert header[-2:] == ["status", "error"]
    assert set(header[len(ASSESS_COLUMNS) + len(TIMELINE_SUMMARY):-2]) == mc and mc     # --samples adds the Monte Carlo columns


class IndexPage(HTMLParser):
    """The table of index.html: header names, and per row its class, cell texts and link."""

    def __init__(self, text: str):
        super().__init__()
        self.headers: list[str] = []
        self.rows: list[dict] = []
        self.links: list[str] = []
        self._th = self._td = self._row = None
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "th":
            self._th = []
        elif tag == "tr":                                  # header rows have no td: dropped at </tr>
            self._row = {"class": a.get("class") or "", "cells": [], "href": None}
        elif tag == "td" and self._row is not None:
            self._td = []
        elif tag == "a":
            self.links.append(a.get("href"))
            if self._row is not None and self._row["href"] is None:
                self._row["href"] = a.get("href")

    def handle_endtag(self, tag):
        if tag == "th" and self._th is not None:
            self.headers.append("".join(self._th).strip())
            self._th = None
        elif tag == "td" and self._td is not None:
            self._row["cells"].append("".join(self._td).strip())
            self._td = None
        elif tag == "tr" and self._row is not None:
            if self._row["cells"]:
                self.rows.append(self._row)
            self._row = None

    def handle_data(self, data):
        for part in (self._th, self._td):
            if part is not None:
                part.append(data)

    def by_scenario(self) -> dict[str, dict]:
        col = {name: i for i, name in enumerate(self.headers)}
        return {r["cells"][col["scenario"]]: {**{n: r["cells"][i] for n, i in col.items()},
                                              "href": r["href"], "class": r["class"]} for r in self.rows}


def dotfiles(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


def mtimes(folder: Path) -> dict[str, int]:
    return {p.name: p.stat().st_mtime_ns for p in folder.iterdir()}


def process_state(pid: int) -> str | None:
    """The state letter of a process (R, S, Z, ...), None if there is none with that id."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()[0]


def living(pids, grace: float = 0.0) -> list[int]:
    """The processes among `pids` still alive (zombies count as dead) after up to `grace` seconds."""
    deadline = time.monotonic() + grace
    while True:
        alive = [p for p in pids if process_state(p) not in (None, "Z", "X")]
        if not alive or time.monotonic() >= deadline:
            return alive
        time.sleep(0.05)


def forked_children() -> list[int]:
    """Live children of this process that are forks of it (same command line)."""
    me, mine = os.getpid(), Path("/proc/self/cmdline").read_bytes()
    found = []
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            fields = (d / "stat").read_text().rsplit(")", 1)[1].split()
            cmdline = (d / "cmdline").read_bytes()
        except OSError:
            continue
        if int(fields[1]) == me and cmdline == mine and fields[0] not in ("Z", "X"):
            found.append(int(d.name))
    return found


def processes_mentioning(marker: str) -> list[int]:
    """Live processes whose command line contains `marker`."""
    found = []
    for d in Path("/proc").iterdir():
        if not d.name.isdigit() or int(d.name) == os.getpid():
            continue
        try:
            cmdline = (d / "cmdline").read_bytes().decode(errors="replace")
        except OSError:
            continue
        if marker in cmdline and process_state(int(d.name)) not in (None, "Z", "X"):
            found.append(int(d.name))
    return found


def unreaped_children() -> list[tuple[int, int]]:
    """Children of this process that ended and nobody waited for (they would be reaped here)."""
    reaped = []
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return reaped
        if pid == 0:
            return reaped
        reaped.append((pid, status))


# ---- test templates and models -----------------------------------------------------------------

PARAMETERS = ('model_path = ""  # model file\n'
              'scenario = "alpha"  # scenario id\n'
              'samples = 100  # Monte Carlo draws\n'
              'seed = 1  # random seed')

FAULTY_CELL = '''\
import os, signal, time
from pathlib import Path

# the process running this notebook, for the test to check that nothing outlives the batch
Path(model_path).with_name(f"{scenario}.pid").write_text(str(os.getpid()))
if scenario == "boom":
    raise ValueError(f"boom in scenario {scenario}")
if scenario == "die":
    os.kill(os.getpid(), signal.SIGKILL)
if scenario == "hang":
    time.sleep(600)
if scenario == "spin":
    sum(range(10**15))   # a C loop holding the GIL for hours: no thread of this process runs meanwhile
'''

REPORT_CELL = '''\
from threatkit.report import ScenarioReport

report = ScenarioReport.build(model_path, scenario, samples=samples, seed=seed)
report.summary()
report.record()
'''


def write_notebook(path: Path, *code: str) -> Path:
    cells = [new_markdown_cell("# A test template"),
             new_code_cell(PARAMETERS, metadata={"tags": ["parameters"]}),
             *(new_code_cell(c) for c in code)]
    nbformat.write(new_notebook(cells=cells, metadata={"kernelspec": KERNELSPEC}), path)
    return path


FAULTY_MODEL = """\
threatkit: 1
name: fault isolation test model
include: [builtin]
scenarios:
  - {id: alpha, name: good one, asset: frontier-model, actor: competitor, tier: public-api, controls: [rate-limit]}
  - {id: beta, name: good two, asset: frontier-model, actor: state-linked, tier: intermediary-api,
     controls: [customer-screening, anomaly-detection]}
  - {id: boom, name: raises, asset: frontier-model, actor: individual, tier: public-api}
  - {id: die, name: kills its process, asset: frontier-model, actor: individual, tier: public-api}
  - {id: hang, name: sleeps 600 s, asset: frontier-model, actor: individual, tier: public-api}
  - {id: spin, name: spins holding the GIL, asset: frontier-model, actor: individual, tier: public-api}
"""
GOOD, FAILING, STUCK = ("alpha", "beta"), ("boom", "die", "hang", "spin"), ("hang", "spin")


# ---- a batch of every scenario of the example ----------------------------------------------------

@pytest.fixture(scope="module")
def example_batch(tmp_path_factory):
    out = tmp_path_factory.mktemp("example") / "reports"          # batch creates the folder
    # --seed is left at its default, 1: the same seed as the assess call it is compared with
    run = run_cli(["batch", EXAMPLE, "-o", out, "--samples", SAMPLES, "--jobs", "2"])
    run.out = out
    return run


@pytest.mark.slow
def test_batch_writes_a_notebook_and_html_per_scenario(example_batch):
    run, out = example_batch, example_batch.out
    assert run.code == 0, run.stderr
    assert run.stdout.strip() == str(out / "index.html")
    expected = {f"{s}.{ext}" for s in EXAMPLE_SCENARIOS for ext in ("ipynb", "html")} | {"summary.csv", "index.html"}
    assert {p.name for p in out.iterdir()} == expected       # and so no temporary (dot) files either
    assert dotfiles(out) == []
    for s in EXAMPLE_SCENARIOS:
        nb = nbformat.read(out / f"{s}.ipynb", as_version=4)
        meta = nb.metadata[RESULTS_KEY]
        assert meta["status"] == "ok" and meta["error"] == "" and meta["scenario"] == s
        assert nb.metadata.papermill.parameters == {"model_path": str(EXAMPLE), "scenario": s,
                                                    "samples": SAMPLES, "seed": 1}
        results = read_results(nb)
        assert results["scenario"] == s and results["samples"] == SAMPLES and results["seed"] == 1
        page = (out / f"{s}.html").read_text(encoding="utf-8")
        assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
        assert meta["inputs_hash"] in page                   # the HTML carries the inputs hash too
        assert s in page and "<svg" in page                   # the report itself, figures inline


@pytest.mark.slow
def test_batch_progress_is_plain_lines_off_a_terminal(example_batch):
    lines = example_batch.stderr.splitlines()
    n = len(EXAMPLE_SCENARIOS)
    progress = [line for line in lines if line.startswith("[")]
    assert len(progress) == n
    assert [int(re.match(r"\[(\d+)/(\d+) ", line).group(1)) for line in progress] == list(range(1, n + 1))
    assert all(f"/{n} " in line for line in progress)
    assert sorted(re.search(r"\] (\S+): ok in \d+\.\d s$", line).group(1) for line in progress) == EXAMPLE_SCENARIOS
    assert lines[-1] == f"{n} of {n} reports ok"


@pytest.mark.slow
def test_summary_csv_equals_assess_json(example_batch):
    expected = assess_rows(EXAMPLE)
    header, rows = read_summary(example_batch.out)
    assert_summary_header(header, expected)
    expected.sort(key=lambda r: r["scenario"])          # summary.csv: by scenario, pathways in model order
    assert_rows_equal_assess(rows, expected, timeline_by_scenario(EXAMPLE))
    model = load_model(EXAMPLE)        # a row per scenario, model it reaches (its asset and each exposure) and pathway
    assert len(rows) == sum(1 + len(model.scenario(s).exposures) for s in EXAMPLE_SCENARIOS) * len(model.pathways)


@pytest.mark.slow
def test_recorded_results_in_each_notebook_equal_assess(example_batch):
    expected = assess_rows(EXAMPLE)
    for s in EXAMPLE_SCENARIOS:
        nb = nbformat.read(example_batch.out / f"{s}.ipynb", as_version=4)
        recorded = [o for c in nb.cells for o in c.get("outputs", []) if RESULTS_MIME in o.get("data", {})]
        assert len(recorded) == 1
        assert recorded[0]["data"][RESULTS_MIME]["rows"] == [r for r in expected if r["scenario"] == s]


@pytest.mark.slow
def test_index_lists_every_scenario_with_its_link_and_overall_risk(example_batch):
    out = example_batch.out
    page = IndexPage((out / "index.html").read_text(encoding="utf-8"))
    table = page.by_scenario()
    assert sorted(table) == EXAMPLE_SCENARIOS
    order = risk_order(load_model(EXAMPLE).scales)
    rows = assess_rows(EXAMPLE)
    for s in EXAMPLE_SCENARIOS:
        worst = max((r["risk"] for r in rows if r["scenario"] == s), key=order.index)
        assert table[s]["href"] == f"{s}.html" and (out / table[s]["href"]).is_file()
        assert table[s]["overall risk"] == worst == read_results(out / f"{s}.ipynb")["overall_risk"]
        assert table[s]["status"] == "ok" and table[s]["class"] == ""
    assert "Failures" not in (out / "index.html").read_text()
    assert f"{len(EXAMPLE_SCENARIOS)} of {len(EXAMPLE_SCENARIOS)} scenarios reported" in (out / "index.html").read_text()


@pytest.mark.slow
def test_index_gives_each_scenario_its_key_judgment_in_one_line(example_batch):
    from threatkit.analysis.judgments import key_judgments

    out = example_batch.out
    table = IndexPage((out / "index.html").read_text(encoding="utf-8")).by_scenario()
    model = load_model(EXAMPLE)
    for s in EXAMPLE_SCENARIOS:
        recorded = read_results(out / f"{s}.ipynb")
        line = table[s]["key judgment (12 months, with the controls)"]
        assert line == recorded["headline"] and "\n" not in line
        brief = key_judgments(model, s, samples=recorded["samples"], seed=recorded["seed"])
        assert line == brief.headline() and brief["durable-12m"].word in line


# ---- fault isolation ---------------------------------------------------------------------------

ENGINE_RUNS = {
    # the default engine, as the issue states it: --timeout 20 --jobs 2, every scenario (model order)
    "threatkit": ["--timeout", "20", "--jobs", "2"],
    # a kernel per report; the stuck ones first so that their deadlines overlap
    "kernel": ["--engine", "kernel", "--timeout", "15", "--jobs", "3", "--scenario", "hang", "--scenario", "spin",
               "--scenario", "boom", "--scenario", "die", "--scenario", "alpha", "--scenario", "beta"],
}


@pytest.fixture(scope="module", params=list(ENGINE_RUNS))
def faulty_batch(request, tmp_path_factory):
    engine = request.param
    base = tmp_path_factory.mktemp(f"faulty-{engine}")
    model = base / "faults.yaml"
    model.write_text(FAULTY_MODEL)
    template = write_notebook(base / "faulty.ipynb", FAULTY_CELL, REPORT_CELL)
    out = base / "reports"
    run = run_cli(["batch", model, "-o", out, "--template", template, "--samples", SAMPLES, *ENGINE_RUNS[engine]])
    run.engine = engine
    return what_the_faults_left(run, model, out)


def what_the_faults_left(run, model: Path, out: Path):
    """The faulty batch's run with what it left: the pid each notebook recorded, the failures'
    summary rows, and the processes still alive, forked or unreaped (any left alive then killed)."""
    run.model, run.out = model, out
    run.pids = {p.stem: int(p.read_text()) for p in model.parent.glob("*.pid")}
    run.summary = {r["scenario"]: r for r in read_summary(out)[1] if r["status"] == "failed"}
    run.unreaped = unreaped_children()
    run.forked = forked_children()
    run.alive = living(run.pids.values(), grace=2.0)
    for pid in run.alive:                  # a process this test started that outlived its batch: stop it now
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        if b"ipykernel" in cmdline or cmdline == Path("/proc/self/cmdline").read_bytes():
            os.kill(pid, signal.SIGKILL)
    return run


@pytest.mark.slow
def test_faulty_batch_exits_1_and_the_good_scenarios_complete(faulty_batch):
    run = faulty_batch
    assert run.code == 1, run.stderr
    assert run.stderr.splitlines()[-1] == "2 of 6 reports ok, 4 failed (boom, die, hang, spin)"
    header, rows = read_summary(run.out)
    expected = [r for r in assess_rows(run.model) if r["scenario"] in GOOD]
    assert_summary_header(header, expected)
    assert_rows_equal_assess([r for r in rows if r["scenario"] in GOOD], expected)
    failed = [r for r in rows if r["status"] == "failed"]
    assert [r["scenario"] for r in failed] == list(FAILING)      # one row each, no results
    assert all(r["pathway"] == "" and r["probability"] == "" and r["error"] for r in failed)
    for s in GOOD:
        assert read_results(run.out / f"{s}.ipynb")["rows"] == [r for r in expected if r["scenario"] == s]
        assert (run.out / f"{s}.html").is_file()
    table = IndexPage((run.out / "index.html").read_text()).by_scenario()
    assert {s: table[s]["status"] for s in table} == {**{s: "ok" for s in GOOD}, **{s: "failed" for s in FAILING}}
    assert table["alpha"]["overall risk"] == read_results(run.out / "alpha.ipynb")["overall_risk"] != ""


@pytest.mark.slow
def test_raising_notebook_is_recorded_with_its_error_cell(faulty_batch):
    run = faulty_batch
    error = run.summary["boom"]["error"]
    assert error.startswith("cell ") and "raised ValueError: boom in scenario boom" in error.splitlines()[0]
    assert "ValueError" in error and 'raise ValueError(f"boom in scenario {scenario}")' in error
    assert "\x1b[" not in error                                      # tracebacks without terminal colours
    nb = nbformat.read(run.out / "boom.ipynb", as_version=4)
    assert nb.metadata[RESULTS_KEY]["status"] == "failed" and nb.metadata[RESULTS_KEY]["error"] == error
    errors = [o for c in nb.cells for o in c.get("outputs", []) if o.output_type == "error"]
    assert [(o.ename, o.evalue) for o in errors] == [("ValueError", "boom in scenario boom")]
    assert "An Exception was encountered" in nb.cells[0].source        # papermill's error cell
    assert (run.out / "boom.html").is_file()
    index = (run.out / "index.html").read_text()
    failures = index.split("<h2>Failures</h2>", 1)[1]
    assert html.escape(error) in failures                              # the error cell, source and traceback
    assert html.escape('raise ValueError(f"boom in scenario {scenario}")') in failures


@pytest.mark.slow
def test_dying_process_is_recorded(faulty_batch):
    error = faulty_batch.summary["die"]["error"]
    assert "died" in error and "Traceback" not in error
    assert html.escape(error) in (faulty_batch.out / "index.html").read_text()


@pytest.mark.slow
def test_notebooks_past_the_timeout_are_stopped_and_recorded(faulty_batch):
    run = faulty_batch
    timeout = float(ENGINE_RUNS[run.engine][ENGINE_RUNS[run.engine].index("--timeout") + 1])
    for s in STUCK:
        assert run.summary[s]["error"].startswith(f"timed out after {timeout:g} s")
    assert run.seconds < timeout + 60            # nowhere near the 600 s the notebook asked for


@pytest.mark.slow
def test_no_process_outlives_the_batch(faulty_batch):
    """Every process that ran a notebook is gone once the batch returns (2 s of grace), including
    one stuck in C code holding the GIL; no fork of this process is left, none unreaped."""
    run = faulty_batch
    assert set(run.pids) == {*FAILING, *GOOD}            # each notebook ran and left its pid
    assert run.alive == [], {s: p for s, p in run.pids.items() if p in run.alive}
    assert run.forked == []
    assert run.unreaped == []


@pytest.mark.slow
def test_index_links_of_failed_scenarios_resolve(faulty_batch):
    """Every link of index.html opens a file, including the reports of scenarios that timed out."""
    run = faulty_batch
    links = IndexPage((run.out / "index.html").read_text()).links
    assert {f"{s}.html" for s in (*GOOD, *FAILING)} <= set(links)
    assert [link for link in links if not (run.out / link).is_file()] == []


@pytest.mark.slow
def test_no_temporary_files_left_after_failures(faulty_batch):
    assert dotfiles(faulty_batch.out) == []


# ---- a kernel that does not start --------------------------------------------------------------

@pytest.mark.slow
def test_kernel_that_does_not_start_is_retried_then_recorded(tmp_path, monkeypatch):
    spec = tmp_path / "jupyter" / "kernels" / "threatkit-test-broken"
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-c", "raise SystemExit(3)", "-f", "{connection_file}"],
        "display_name": "exits at once", "language": "python"}))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    template = write_notebook(tmp_path / "t.ipynb", REPORT_CELL)
    out = tmp_path / "reports"
    out.mkdir()
    [job] = plan(EXAMPLE, out, ["status-quo"], str(template), samples=SAMPLES, engine="kernel",
                 kernel_name="threatkit-test-broken")
    assert job.engine == "kernel" and job.kernel_name == "threatkit-test-broken"
    outcome = run_job(job)
    assert outcome.status == "failed" and not outcome.ok
    assert outcome.error.startswith("the kernel did not start")
    assert f"after {threatkit.batch.jobs.KERNEL_START_TRIES} tries" in outcome.error
    assert "Traceback" not in outcome.error and outcome.results == {}
    assert list(out.iterdir()) == []                # nothing written, no scratch left


# ---- exit status 2: usage and model errors before anything runs ---------------------------------

@pytest.fixture
def nothing_may_run(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("a report was started")

    monkeypatch.setattr(os, "fork", refuse)
    for module in (threatkit.batch.jobs, threatkit.batch.runners):
        monkeypatch.setattr(module, "run_job", refuse)
    monkeypatch.setattr(threatkit.batch.jobs, "start_job", refuse)
    monkeypatch.setattr(threatkit.batch.lanes.Lane, "start", refuse)
    monkeypatch.setattr("papermill.execute_notebook", refuse)


def test_unknown_scenario_exits_2_naming_the_close_match(tmp_path, nothing_may_run):
    run = run_cli(["batch", EXAMPLE, "-o", tmp_path / "out", "--scenario", "status-quo", "--scenario", "status-qou"])
    assert run.code == 2
    assert run.stderr.strip() == "threatkit: error: unknown scenario 'status-qou' (did you mean 'status-quo'?)"
    assert not (tmp_path / "out").exists()


def test_malformed_model_exits_2_with_file_and_line(tmp_path, nothing_may_run):
    model = tmp_path / "bad.yaml"
    model.write_text("threatkit: 1\nname: bad\nscenarios:\n  - id: a\n    asset: frontier-model\n"
                     "    actor: competitor\n    tier: public-api\n    contorls: [rate-limit]\n")
    run = run_cli(["batch", model, "-o", tmp_path / "out"])
    assert run.code == 2
    assert re.fullmatch(rf"{re.escape(str(model))}:8: .*'contorls'.*'controls'.*\n", run.stderr)
    assert "Traceback" not in run.stderr and not (tmp_path / "out").exists()


@pytest.mark.parametrize("template, message", [
    ("no-such-template", "unknown template 'no-such-template'; expected a path to a notebook or one of: "
                         "scenario_report"),
    ("missing.ipynb", "template 'missing.ipynb' does not exist"),
])
def test_unknown_template_exits_2(tmp_path, nothing_may_run, monkeypatch, template, message):
    monkeypatch.chdir(tmp_path)
    run = run_cli(["batch", EXAMPLE, "-o", tmp_path / "out", "--template", template])
    assert run.code == 2
    assert run.stderr.strip() == f"threatkit: error: {message}"
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("args", [["--jobs", "0"], ["--engine", "nbclient"], ["--samples", "many"]])
def test_bad_options_exit_2(tmp_path, nothing_may_run, capsys, args):
    with pytest.raises(SystemExit) as stop:
        main(["batch", str(EXAMPLE), "-o", str(tmp_path / "out"), *args])
    assert stop.value.code == 2
    assert "usage: threatkit batch" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


# ---- resume ------------------------------------------------------------------------------------

def rerun(out: Path, samples: int = SAMPLES) -> dict[str, str]:
    """Rerun the example's batch into `out`: each scenario's Outcome status."""
    jobs = plan(EXAMPLE, out, samples=samples)
    with contextlib.redirect_stderr(io.StringIO()):
        result = run_batch(jobs, out, make_runner(2), risk_order=risk_order(load_model(EXAMPLE).scales))
    return {o.scenario: o.status for o in result.outcomes}


@pytest.mark.slow
def test_resume_redoes_only_what_is_missing_or_stale(example_batch, tmp_path):
    out = tmp_path / "reports"
    shutil.copytree(example_batch.out, out)
    summary = (out / "summary.csv").read_text()
    reports = {n: t for n, t in mtimes(out).items() if n.rsplit(".", 1)[0] in EXAMPLE_SCENARIOS}

    assert rerun(out) == {s: "skipped" for s in EXAMPLE_SCENARIOS}       # complete: nothing redone
    assert {n: t for n, t in mtimes(out).items() if n in reports} == reports
    assert (out / "summary.csv").read_text() == summary

    (out / "status-quo.html").unlink()                                   # a report half there
    stale = out / "restricted-export.ipynb"                              # one made from other inputs
    nb = nbformat.read(stale, as_version=4)
    nb.metadata[RESULTS_KEY]["inputs_hash"] = "0" * 64
    nbformat.write(nb, stale)
    reports = {n: t for n, t in mtimes(out).items() if n.rsplit(".", 1)[0] in EXAMPLE_SCENARIOS}
    redo = {"status-quo", "restricted-export"}
    assert rerun(out) == {s: "ok" if s in redo else "skipped" for s in EXAMPLE_SCENARIOS}
    now = mtimes(out)
    for name, before in reports.items():
        assert (now[name] != before) == (name.rsplit(".", 1)[0] in redo), name
    assert (out / "status-quo.html").is_file()
    assert (out / "summary.csv").read_text() == summary                  # same seeds, same numbers
    assert dotfiles(out) == []


@pytest.mark.slow
def test_summary_is_read_from_the_notebooks_not_recomputed(example_batch, tmp_path):
    out = tmp_path / "reports"
    shutil.copytree(example_batch.out, out)
    path = out / "state-evaluation.ipynb"
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            if RESULTS_MIME in output.get("data", {}):
                output["data"][RESULTS_MIME]["rows"][0]["probability"] = 0.123456
    nbformat.write(nb, path)                       # inputs hash untouched: still complete
    assert rerun(out)["state-evaluation"] == "skipped"
    rows = [r for r in read_summary(out)[1] if r["scenario"] == "state-evaluation"]
    assert rows[0]["probability"] == "0.123456"


@pytest.mark.slow
def test_changing_a_parameter_redoes_every_scenario(example_batch, tmp_path):
    out = tmp_path / "reports"
    shutil.copytree(example_batch.out, out)
    before = mtimes(out)
    run = run_cli(["batch", EXAMPLE, "-o", out, "--samples", "50", "--jobs", "2"])
    assert run.code == 0, run.stderr
    assert "skipped" not in run.stderr
    now = mtimes(out)
    assert all(now[n] != t for n, t in before.items())
    assert {read_results(out / f"{s}.ipynb")["samples"] for s in EXAMPLE_SCENARIOS} == {50}
    expected = sorted(assess_rows(EXAMPLE, samples=50), key=lambda r: r["scenario"])
    assert_rows_equal_assess(read_summary(out)[1], expected)
    assert rerun(out, samples=50) == {s: "skipped" for s in EXAMPLE_SCENARIOS}


def interrupt_after_the_first_report(out, **popen) -> tuple[int, str]:
    """Start a batch of the example (--jobs 1, the default 2000 samples: one report after the other,
    each well over 0.25 s), send SIGINT once the first report is in; (exit status, its stderr)."""
    proc = subprocess.Popen([sys.executable, "-m", "threatkit.cli", "batch", str(EXAMPLE), "-o", str(out),
                             "--jobs", "1"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **popen)
    try:
        seen = []
        for line in proc.stderr:                    # the first report is in: the batch goes on with the next
            seen.append(line)
            if line.startswith("[1/"):
                break
        assert seen and seen[-1].startswith("[1/"), "".join(seen)
        time.sleep(0.25)          # past the fork of the next job (see test_ctrl_c_while_a_job_is_forked)
        proc.send_signal(signal.SIGINT)
        _, rest = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    return proc.returncode, "".join(seen) + rest


@pytest.mark.slow
def test_interrupted_batch_leaves_a_folder_the_next_run_completes(tmp_path):
    out = tmp_path / "reports"
    code, stderr = interrupt_after_the_first_report(out)
    assert code == 130, stderr
    assert "interrupted" in stderr.splitlines()[-1]
    assert processes_mentioning(str(out)) == []           # its forks (same command line) are gone too

    assert [p.name for p in out.glob(".*.tmp")] == []
    for path in out.glob("*.ipynb"):                       # hidden ones too: pathlib's * matches them
        nbformat.read(path, as_version=4)
    finished = {p.stem for p in out.glob("[!.]*.ipynb")}
    assert finished < set(EXAMPLE_SCENARIOS) and len(finished) >= 1
    for s in finished:                                     # a notebook is written after its HTML
        assert (out / f"{s}.html").is_file()
    _, rows = read_summary(out)                            # listed as far as it got
    assert {r["scenario"] for r in rows} == set(EXAMPLE_SCENARIOS)
    # a report may land just as the batch stops, before its outcome reaches the summary: then it is
    # complete on disk (and skipped next time) but not yet listed as ok
    assert {r["scenario"] for r in rows if r["status"] == "ok"} <= finished
    before = mtimes(out)

    run = run_cli(["batch", EXAMPLE, "-o", out, "--jobs", "2"])
    assert run.code == 0, run.stderr
    assert sorted(re.findall(r"\] (\S+): complete already, skipped", run.stderr)) == sorted(finished)
    now = mtimes(out)
    assert all(now[f"{s}.{ext}"] == before[f"{s}.{ext}"] for s in finished for ext in ("ipynb", "html"))
    assert {p.name for p in out.iterdir()} == ({f"{s}.{ext}" for s in EXAMPLE_SCENARIOS for ext in ("ipynb", "html")}
                                               | {"summary.csv", "index.html"})
    assert {r["status"] for r in read_summary(out)[1]} == {"ok"}


# Ctrl-C arriving while the batch forks a worker: an after-fork hook sends the SIGINT at that moment
# (by hand, a Ctrl-C right as a report lands did the same about one time in eight). The second fork:
# the second lane's, the first one's report under way
SIGINT_DURING_FORK = """
import os, signal, sys
from threatkit.cli import main

parent, forks = os.getpid(), []

def after_fork_in_parent():
    forks.append(1)
    if os.getpid() == parent and len(forks) == 2:      # the second worker's fork
        os.kill(parent, signal.SIGINT)

os.register_at_fork(after_in_parent=after_fork_in_parent)
sys.exit(main(sys.argv[1:]))
"""


@pytest.mark.slow
def test_ctrl_c_while_a_job_is_forked_stops_the_batch(tmp_path):
    out = tmp_path / "reports"
    done = subprocess.run([sys.executable, "-c", SIGINT_DURING_FORK, "batch", str(EXAMPLE), "-o", str(out),
                           "--jobs", "2", "--samples", "50", "--scenario", "status-quo", "--scenario",
                           "restricted-export", "--scenario", "state-evaluation"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 130, done.stderr
    assert "interrupted" in done.stderr.splitlines()[-1]


# ---- the Dask path -----------------------------------------------------------------------------

# papermill gives the injected-parameters cell a random id on every run (so two local runs differ
# there too), and records the run's own times and output path in the notebook's metadata
INJECTED_CELL_ID = re.compile(r'(<div id="cell-id=)[^"]+("[^>]*celltag_injected-parameters)')


def comparable(nb) -> dict:
    nb = json.loads(json.dumps(nb))
    nb["metadata"].pop("papermill")
    for cell in nb["cells"]:
        cell.pop("id", None)
        cell["metadata"].pop("papermill", None)
    return nb


@pytest.mark.slow
def test_dask_cluster_gives_the_same_files_as_local_processes(example_batch, tmp_path):
    distributed = pytest.importorskip("distributed")
    out = tmp_path / "reports"
    with distributed.LocalCluster(n_workers=2, processes=True, threads_per_worker=1, dashboard_address=":0",
                                  silence_logs=logging.ERROR) as cluster:
        run = run_cli(["batch", EXAMPLE, "-o", out, "--samples", SAMPLES, "--scheduler", cluster.scheduler_address])
    assert run.code == 0, run.stderr
    local = example_batch.out
    assert sorted(p.name for p in out.iterdir()) == sorted(p.name for p in local.iterdir())
    assert (out / "summary.csv").read_bytes() == (local / "summary.csv").read_bytes()
    assert (out / "index.html").read_bytes() == (local / "index.html").read_bytes()
    for s in EXAMPLE_SCENARIOS:
        a = nbformat.read(local / f"{s}.ipynb", as_version=4)
        b = nbformat.read(out / f"{s}.ipynb", as_version=4)
        assert read_results(a) == read_results(b)
        assert a.metadata[RESULTS_KEY] == b.metadata[RESULTS_KEY]
        assert comparable(a) == comparable(b)
        ha, hb = ((d / f"{s}.html").read_text(encoding="utf-8") for d in (local, out))
        assert len(INJECTED_CELL_ID.findall(ha)) == 1
        assert INJECTED_CELL_ID.sub(r'\1\2', ha) == INJECTED_CELL_ID.sub(r'\1\2', hb)


def test_the_batch_keeps_its_model_and_draws_for_the_reports_it_forks(tmp_path, monkeypatch):
    """Before forking, the local runner keeps each job's model and draws its leaves at the
    jobs' samples and seed: a report's load_model is then that same object, its draws made."""
    from threatkit.analysis.assess import leaf_table
    from threatkit.analysis.simulate import Sampler
    from threatkit.batch.jobs import share_models
    from threatkit.model import load as load_module

    monkeypatch.setattr(load_module, "_KEPT", {})
    model_file = tmp_path / "model.yaml"
    shutil.copy(EXAMPLE, model_file)
    jobs = plan(model_file, tmp_path / "out", samples=50, seed=3)
    share_models(jobs)
    model = load_model(model_file)
    assert load_model(jobs[0].parameters["model_path"]) is model
    for pw in model.pathways:
        assert {Sampler(), Sampler(50, 3)} <= set(leaf_table(pw)._draws), pw.id
    model_file.write_text("threatkit: 1\nname: [broken\n")      # left to the reports to say
    monkeypatch.setattr(load_module, "_KEPT", {})
    share_models(jobs)
    assert load_module._KEPT == {}


@pytest.mark.slow
def test_ctrl_c_stops_a_batch_that_inherited_sigint_ignored(tmp_path):
    """A script's background job (`make test &` without job control) starts with SIGINT ignored;
    the batch must still stop at a Ctrl-C (here `kill -INT`), keep what it finished and exit 130."""
    out = tmp_path / "reports"
    code, stderr = interrupt_after_the_first_report(
        out, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN))
    assert code == 130, stderr
    assert "interrupted" in stderr.splitlines()[-1]
    assert len(list(out.glob("[!.]*.html"))) < len(EXAMPLE_SCENARIOS)


CORES_CELL = '''\
from pathlib import Path
from threatkit.analysis.route_clocks import cores

Path(model_path).with_name(f"{scenario}.cores").write_text(str(cores()))
'''


@pytest.mark.parametrize("jobs, scenarios, each", [("2", 2, 2), ("4", 4, 1), ("4", 1, 4)])
def test_reports_run_side_by_side_share_the_cores(tmp_path, monkeypatch, jobs, scenarios, each):
    """On 4 cores, each of the reports running at once may use its share of them (the clocks'
    threads), no more: threads beyond it only contend with the other reports. The batch's own
    process keeps every core afterwards."""
    from threatkit.analysis import route_clocks

    monkeypatch.setattr(os, "cpu_count", lambda: 4)
    model = tmp_path / "faults.yaml"
    model.write_text(FAULTY_MODEL)
    template = write_notebook(tmp_path / "cores.ipynb", CORES_CELL, REPORT_CELL)
    chosen = [a for s in ("alpha", "beta", "boom", "die")[:scenarios] for a in ("--scenario", s)]
    run = run_cli(["batch", model, "-o", tmp_path / "out", "--template", template, "--samples", "0",
                   "--jobs", jobs, *chosen])
    assert run.code == 0, run.stderr
    assert {p.read_text() for p in tmp_path.glob("*.cores")} == {str(each)}
    assert len(list(tmp_path.glob("*.cores"))) == scenarios
    assert route_clocks.cores() == 4


# ---- lanes: reports of the shipped template, several to a worker -----------------------------------

def faulty_build(original):
    """ScenarioReport.build with FAULTY_CELL's faults, for the shipped template: a batch run in this
    process forks its workers from it, so they inherit the patch."""
    def build(model_path="", scenario="status-quo", *args, **kwargs):
        exec(FAULTY_CELL, {"model_path": str(model_path), "scenario": scenario})
        return original(model_path, scenario, *args, **kwargs)
    return build


@pytest.fixture(scope="module")
def lane_batch(tmp_path_factory):
    from threatkit.report import ScenarioReport

    base = tmp_path_factory.mktemp("lanes")
    model = base / "faults.yaml"
    model.write_text(FAULTY_MODEL)
    out = base / "reports"
    original = ScenarioReport.build
    ScenarioReport.build = staticmethod(faulty_build(original))
    try:
        # the faults first, two workers: each one killed is replaced, and the good reports still run
        run = run_cli(["batch", model, "-o", out, "--samples", SAMPLES, "--timeout", "15", "--jobs", "2",
                       *[a for s in ("die", "hang", "spin", "boom", *GOOD) for a in ("--scenario", s)]])
    finally:
        ScenarioReport.build = original
    return what_the_faults_left(run, model, out)


@pytest.mark.slow
def test_workers_that_die_or_pass_their_deadline_are_replaced(lane_batch):
    run = lane_batch
    assert run.code == 1, run.stderr
    assert run.stderr.splitlines()[-1] == "2 of 6 reports ok, 4 failed (boom, die, hang, spin)"
    assert run.summary["die"]["error"] == "the worker process died (killed by signal 9)"
    for s in STUCK:
        assert run.summary[s]["error"] == "timed out after 15 s; the notebook was stopped"
    assert "raised ValueError: boom in scenario boom" in run.summary["boom"]["error"].splitlines()[0]
    expected = [r for r in assess_rows(run.model) if r["scenario"] in GOOD]
    assert_rows_equal_assess([r for r in read_summary(run.out)[1] if r["scenario"] in GOOD], expected)
    assert set(run.pids) == {*FAILING, *GOOD}
    assert run.alive == [] and run.forked == [] and run.unreaped == []
    assert dotfiles(run.out) == []


def test_shipped_reports_share_a_worker_and_give_the_files_one_process_each_gives(tmp_path, monkeypatch):
    """A worker that has run other reports first (and kept their caches) writes the same notebook
    and HTML, to the byte, as a fresh process for the report alone; a template of one's own still
    gets a process per report."""
    from threatkit.report import ScenarioReport

    original = ScenarioReport.build

    def build(model_path="", scenario="status-quo", *args, **kwargs):
        (tmp_path / f"{scenario}.{os.getpid()}.pid").write_text("")
        return original(model_path, scenario, *args, **kwargs)
    monkeypatch.setattr(ScenarioReport, "build", staticmethod(build))
    chosen = ["status-quo", "restricted-export", "state-evaluation"]
    together = run_cli(["batch", EXAMPLE, "-o", tmp_path / "together", "--samples", "200", "--jobs", "1",
                        *[a for s in chosen for a in ("--scenario", s)]])
    assert together.code == 0, together.stderr
    pids = {p.name.split(".")[1] for p in tmp_path.glob("*.pid")}
    assert len(pids) == 1                                    # one worker ran all three
    for s in chosen:
        alone = run_cli(["batch", EXAMPLE, "-o", tmp_path / s, "--samples", "200", "--scenario", s])
        assert alone.code == 0, alone.stderr
        for ext in ("ipynb", "html"):
            a, b = (tmp_path / "together" / f"{s}.{ext}").read_text(), (tmp_path / s / f"{s}.{ext}").read_text()
            if ext == "ipynb":
                a, b = (comparable(nbformat.reads(x, as_version=4)) for x in (a, b))
            assert a == b, (s, ext)


@pytest.mark.slow
def test_a_template_of_ones_own_gets_a_process_per_report(faulty_batch):
    run = faulty_batch
    assert len(set(run.pids.values())) == len(run.pids)


def test_a_lane_takes_the_same_actors_report_next():
    """The next job for a lane is the first pending one of the actor it ran last (its kept clocks
    serve that actor's pathways), else the next in order."""
    from types import SimpleNamespace

    from threatkit.batch.runners import _next_for

    jobs = [SimpleNamespace(actor=a) for a in ("crew", "lab", "state", "lab", "crew")]
    pending = [4, 3, 2, 1]                              # popped from the end: job 1 is next in order
    assert _next_for(SimpleNamespace(last=jobs[0]), jobs, pending) == 4 and pending == [3, 2, 1]
    assert _next_for(SimpleNamespace(last=jobs[2]), jobs, pending) == 2 and pending == [3, 1]
    assert _next_for(SimpleNamespace(last=None), jobs, pending) == 1 and pending == [3]
    assert _next_for(SimpleNamespace(last=jobs[0]), jobs, pending) == 3 and pending == []
