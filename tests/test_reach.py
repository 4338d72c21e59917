"""Reaching users without a browser: init, example:NAME, catalog examples, the checks lab and app
make before starting, the explorer notebook's model parameter, and the snapshot's page."""
from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

import threatkit
from threatkit.cli import main
from threatkit.examples import examples, resolve
from threatkit.run.launch import MODEL_ENV, NO_APP_TAG, app_notebook, lab_command, notebooks_folder
from threatkit.report import example_path

ROOT = Path(__file__).resolve().parents[1]
BROKEN = "threatkit: 1\nscenarios:\n  - id: s\n    asset: nowhere\n    actor: competitor\n    tier: public-api\n"


def run(*argv: str) -> tuple[int, str, str]:
    out = subprocess.run([sys.executable, "-m", "threatkit.cli", *argv], capture_output=True, text=True)
    return out.returncode, out.stdout, out.stderr


def test_init_writes_a_model_that_validates_and_assesses(tmp_path, capsys):
    path = tmp_path / "mine.yaml"
    assert main(["init", str(path)]) == 0
    text = path.read_text()
    assert "include: [builtin]" in text and "threatkit catalog actors" in text
    model = threatkit.load_model(path)
    assert [a.id for a in model.assets if a.id == "my-model"] == ["my-model"]
    assert [s.id for s in model.scenarios] == ["baseline"]
    assert main(["assess", str(path), "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert {r["scenario"] for r in rows} == {"baseline"} and len(rows) == len(model.pathways)


def test_init_refuses_to_overwrite(tmp_path):
    path = tmp_path / "model.yaml"
    path.write_text("mine\n")
    code, _, err = run("init", str(path))
    assert code == 1 and "already exists" in err and "Traceback" not in err
    assert path.read_text() == "mine\n"
    assert [p.name for p in tmp_path.iterdir()] == ["model.yaml"]     # no temporary file left behind


def test_examples_by_name_wherever_a_file_is_taken(tmp_path):
    assert resolve("example:mythos") == example_path()
    code, out, err = run("validate", "example:mythos")
    assert code == 0 and ": ok: 'Mythos 5" in out, err
    code, out, _ = run("catalog", "scenarios", "--model", "example:mythos")
    assert code == 0 and "status-quo" in out
    code, out, _ = run("catalog", "examples", "--format", "json")
    assert code == 0
    assert [r["id"] for r in json.loads(out)] == [f"example:{n}" for n in examples()] == ["example:mythos"]
    code, _, err = run("assess", "example:nothing")
    assert code == 2 and "no shipped example 'nothing'" in err and "example:mythos" in err


@pytest.mark.parametrize("command", ["lab", "app"])
def test_lab_and_app_check_the_model_before_starting(tmp_path, command):
    broken = tmp_path / "broken.yaml"
    broken.write_text(BROKEN)
    code, out, err = run(command, str(broken), "--no-browser", "--port", "1")
    assert code == 1 and "Traceback" not in err
    assert re.search(rf"^{re.escape(str(broken))}:\d+: .*nowhere", err, re.M), err
    no_scenarios = tmp_path / "empty.yaml"
    no_scenarios.write_text("threatkit: 1\n")
    code, _, err = run(command, str(no_scenarios), "--no-browser", "--port", "1")
    assert code == 1 and "has no scenarios" in err


def test_lab_command_opens_the_explorer_on_the_notebooks_folder():
    folder = notebooks_folder()
    assert folder == ROOT / "notebooks"
    command = lab_command(folder, port=8899, open_browser=False)
    assert command[1:5] == ["-m", "jupyter", "lab", "explorer.ipynb"]
    assert f"--ServerApp.root_dir={folder}" in command and "--ServerApp.ip=127.0.0.1" in command


def test_app_notebook_keeps_only_what_follows_the_widgets(tmp_path):
    nb = json.loads(app_notebook(tmp_path).read_text())
    assert all(NO_APP_TAG not in c["metadata"].get("tags", []) for c in nb["cells"])
    assert all(c["cell_type"] == "code" and not c["outputs"] for c in nb["cells"])
    sources = "\n".join("".join(c["source"]) for c in nb["cells"])
    assert "model_file" in sources and "Explorer(" in sources and "summary()" not in sources


def _run_explorer(tmp_path, model_file: str, env_model: str = ""):
    """Execute the explorer notebook with this model_file (the first cell's parameter)."""
    import os

    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    nb = nbformat.read(ROOT / "notebooks" / "explorer.ipynb", as_version=4)
    (param,) = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    param.source += f"\nmodel_file = {model_file!r}"
    old = os.environ.get(MODEL_ENV)
    os.environ[MODEL_ENV] = env_model
    try:
        NotebookClient(nb, kernel_name="python3", timeout=120, store_widget_state=True,
                       resources={"metadata": {"path": str(tmp_path)}}).execute()
        error = None
    except CellExecutionError as exc:
        error = exc
    finally:
        if old is None:
            os.environ.pop(MODEL_ENV)
        else:
            os.environ[MODEL_ENV] = old
    return nb, error


@pytest.mark.slow
def test_explorer_notebook_shows_a_broken_model_as_file_line_problems(tmp_path):
    broken = tmp_path / "broken.yaml"
    broken.write_text(BROKEN)
    nb, error = _run_explorer(tmp_path, "broken.yaml")
    assert error is not None
    (shown,) = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    text = "\n".join(shown.traceback)
    assert re.search(r"broken\.yaml:4: .*nowhere", text), text
    assert "Traceback" not in text and "File \"" not in text


@pytest.mark.slow
def test_explorer_notebook_opens_the_model_lab_was_given(tmp_path):
    mine = tmp_path / "mine.yaml"
    assert main(["init", str(mine)]) == 0
    nb, error = _run_explorer(tmp_path, "", env_model=str(mine))
    assert error is None, error
    # The starter's scenario (a competitor on the public API), not Mythos's status quo: read the
    # dropdowns' chosen labels from the widget state the run saved.
    state = nb.metadata["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]
    chosen = {m["state"]["description"]: m["state"]["_options_labels"][m["state"]["index"]]
              for m in state.values() if m["model_name"] == "DropdownModel"}
    from threatkit.model.load import builtin_model

    builtin = builtin_model()
    assert chosen["Actor"] == builtin.actor("competitor").title
    assert chosen["Access tier"] == builtin.tier("public-api").title


def test_snapshot_page_embeds_state_with_defaults_and_the_renderer(tmp_path):
    out = tmp_path / "snap.html"
    code, _, err = run("snapshot", "example:mythos", "--scenario", "restricted-export", "-o", str(out))
    assert code == 0, err
    page = out.read_text()
    assert "unpkg" not in page and "cdn" not in page.lower().replace("cdnjs", "")
    assert re.search(r'<script src="data:text/javascript;base64,[A-Za-z0-9+/=]{100000,}"></script>', page)
    state = json.loads(re.search(r'widget-state\+json">(.*?)</script>', page, re.S).group(1))["state"]
    boxes = {m["state"]["description"]: m["state"]["value"] for m in state.values()
             if m["model_name"] == "CheckboxModel"}
    model = threatkit.load_model(example_path())
    chosen = set(model.scenario("restricted-export").controls)
    assert boxes == {**{c.title: c.id in chosen for c in model.controls}, "Substitutes (open weights, ...)": True}
    layouts = [m["state"] for m in state.values() if m["model_name"] == "LayoutModel"]
    assert layouts and all("grid_template_areas" in s for s in layouts)        # defaults included
    code, _, err = run("snapshot", "example:mythos", "--scenario", "nope", "-o", str(tmp_path / "x.html"))
    assert code == 1 and "nope" in err and not (tmp_path / "x.html").exists()


def test_snapshot_escapes_model_text_in_its_page(tmp_path):
    evil = tmp_path / "evil.yaml"
    evil.write_text(BROKEN.replace("nowhere", "a").replace("threatkit: 1\n", "threatkit: 1\nname: '</script><b>x'\n"
                    "assets:\n  - {id: a, name: '</script><img src=x onerror=alert(1)>', capability_value: 0.5}\n"))
    out = tmp_path / "evil.html"
    code, _, err = run("snapshot", str(evil), "-o", str(out))
    assert code == 0, err
    page = out.read_text()
    assert "</script><b>" not in page and "<img src=x" not in page
    assert "<title>&lt;/script&gt;&lt;b&gt;x</title>" in page
