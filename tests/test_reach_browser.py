"""The explorer where non-coders meet it, in headless Chromium: the Voila app (`threatkit app`)
on a model file of the user's, and offline pages: a `threatkit snapshot` and an nbconvert
export with threatkit's exporter, opened from disk with the network off.

Each page must show what the analysis layer computes for its setting (`expected` and the
page-reading script are the JupyterLab test's, so all three are held to the same numbers).
Skipped without Playwright or Chromium, unless THREATKIT_REQUIRE_BROWSER=1 (CI), like that test.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

import threatkit
from threatkit.analysis.assess import Setting
from threatkit.run.launch import MODEL_ENV, app_command, app_notebook
from threatkit.report import example_path

from test_browser import (CHROMIUM, CHROMIUM_ARGS, NOTEBOOK, PAGE_FEATURES_JS, PATHWAY, SCENARIO, _browser_or_skip,
                          show_capability,
                          _comparable, _differences, _free_port, _stop, expected)

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "artifacts" / "browser"
APP_START_TIMEOUT = 60     # s, until Voila says it is running
RENDER_TIMEOUT = 180_000   # ms, until the explorer is on the page (Voila runs the whole notebook first,
                           # in a kernel that a loaded 2-core machine can take a minute to start)
STEP_TIMEOUT = 20          # s, for the page to follow a widget


@pytest.fixture(scope="module")
def model():
    return threatkit.load_model(example_path())


@pytest.fixture(scope="module")
def browser():
    sync_playwright = _browser_or_skip()
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            yield chromium
        finally:
            chromium.close()


def base_choice(model) -> dict:
    base = Setting.of(model, SCENARIO)
    return {"actor": base.actor.id, "tier": base.tier.id, "controls": frozenset(c.id for c in base.controls),
            "cap": None}


def wait_for_numbers(explorer, model, choice: dict, step: str, page) -> dict:
    """Poll until the explorer shows what the library computes for `choice`; its features."""
    want = _comparable(expected(model, choice["actor"], choice["tier"], choice["controls"], choice["cap"]))
    show_capability(explorer)
    deadline = time.monotonic() + STEP_TIMEOUT
    while True:
        got = explorer.evaluate(PAGE_FEATURES_JS)
        problems = _differences(got, want)
        if not problems:
            return got
        if time.monotonic() > deadline:
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / f"{step}-FAILED.png"))
            pytest.fail(f"{step}: the page does not show what the library computes:\n  " + "\n  ".join(problems),
                        pytrace=False)
        time.sleep(0.1)


def no_code_or_traceback(page, step: str) -> None:
    text = page.locator("body").inner_text()
    assert "Traceback" not in text and "Error" not in text, f"{step}: the page shows an error:\n{text[:2000]}"
    for code in ("import threatkit", "model_file", "Explorer("):
        assert code not in text, f"{step}: the page shows code ({code!r})"
    editors = page.locator(".jp-InputArea, .jp-InputPrompt, .cm-editor, .CodeMirror, .jp-Cell-inputWrapper")
    assert editors.count() == 0, f"{step}: the page has {editors.count()} code cell elements"


# ---- the Voila app ------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def app(tmp_path_factory):
    """`threatkit app "my model.yaml"` as it runs it: the app notebook, Voila's command line, the
    model in the environment. The model is a user's file (a copy of the example, elsewhere)."""
    _browser_or_skip()
    home = tmp_path_factory.mktemp("app")
    mine = home / "my model.yaml"
    shutil.copy(example_path(), mine)
    serve = home / "serve"
    serve.mkdir()
    notebook = app_notebook(serve)
    env = {**os.environ, MODEL_ENV: str(mine), "JUPYTER_CONFIG_DIR": str(home / "config"),
           "JUPYTER_DATA_DIR": str(home / "data"), "JUPYTER_RUNTIME_DIR": str(home / "runtime"),
           "IPYTHONDIR": str(home / "ipython")}
    log_path = home / "voila.log"
    port = _free_port()
    with log_path.open("w") as log:
        proc = subprocess.Popen(app_command(notebook, port=port, open_browser=False), cwd=serve, env=env,
                                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + APP_START_TIMEOUT
        while "is running at" not in log_path.read_text():
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"Voila did not start:\n{log_path.read_text()[-3000:]}")
            time.sleep(0.2)
        yield f"http://127.0.0.1:{port}/"
    finally:
        _stop(proc)


def test_app_follows_its_widgets_and_shows_no_code(app, browser, model):
    page = browser.new_page(viewport={"width": 1500, "height": 1200})
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(app, timeout=RENDER_TIMEOUT)
    explorer = page.locator(".tk-explorer")
    explorer.locator(".tk-tree svg").wait_for(timeout=RENDER_TIMEOUT)
    choice = base_choice(model)
    before = wait_for_numbers(explorer, model, choice, "app-opened", page)
    no_code_or_traceback(page, "app-opened")
    # The whole tree is in view, root included (not opened on the left edge of a scrolled box).
    assert explorer.locator(".tk-tree svg").evaluate(
        "s => s.getBoundingClientRect().width <= s.closest('.tk-tree').getBoundingClientRect().width"), \
        "the attack tree is wider than its box in the app"
    # Everything on the page is the explorer: no cell output outside it that could go stale.
    stray = page.evaluate("""() => Array.from(document.querySelectorAll('.jp-OutputArea-output'))
        .filter(o => !o.closest('.tk-explorer') && !o.querySelector('.tk-explorer') && o.innerText.trim()).map(o => o.innerText.slice(0, 200))""")
    assert stray == [], f"the app shows outputs outside the explorer: {stray}"

    actor = explorer.locator(".widget-dropdown").filter(has=page.locator("label", has_text="Actor")).locator("select")
    actor.select_option(label=model.actor("individual").title)
    choice["actor"] = "individual"
    after = wait_for_numbers(explorer, model, choice, "app-actor-individual", page)
    assert after["tree"] != before["tree"], "the attack tree did not change with the actor"
    no_code_or_traceback(page, "app-actor-individual")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "app-actor-individual.png"))
    assert not errors, errors
    page.close()


# ---- offline pages ------------------------------------------------------------------------------

def open_offline(browser, path: Path, step: str):
    """The page at `path` opened from disk with the network off; (page, requests it made)."""
    context = browser.new_context(offline=True, viewport={"width": 1500, "height": 1200})
    page = context.new_page()
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.goto(path.as_uri())
    page.locator(".tk-explorer .tk-tree svg").wait_for(timeout=30_000)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{step}.png"))
    return page, requests


def check_stored_controls(page, model, choice: dict) -> None:
    """The widgets show their saved values: the chosen actor and tier, the scenario's controls."""
    explorer = page.locator(".tk-explorer")
    selected = explorer.locator("select").evaluate_all(
        "ss => ss.map(s => s.options[s.selectedIndex].text.replace(/\\u00a0/g, ' '))")
    assert selected[:3] == [model.actor(choice["actor"]).title, model.tier(choice["tier"]).title,
                            model.pathway(PATHWAY).title]
    for control in model.controls:
        box = explorer.locator(".widget-checkbox", has_text=control.title).locator("input")
        assert box.is_checked() == (control.id in choice["controls"]), control.id


def test_snapshot_opens_offline_with_the_live_explorers_numbers(tmp_path, browser, model):
    from threatkit.cli import main

    out = tmp_path / "explorer snapshot.html"
    assert main(["snapshot", "example:mythos", "--scenario", SCENARIO, "--pathway", PATHWAY, "-o", str(out)]) == 0
    page, requests = open_offline(browser, out, "snapshot-offline")
    choice = base_choice(model)
    wait_for_numbers(page.locator(".tk-explorer"), model, choice, "snapshot-offline", page)
    check_stored_controls(page, model, choice)
    assert all(u.startswith(("file:", "data:")) for u in requests), [u[:80] for u in requests]
    # offline, a button looks as it does online: no icon from a font the page cannot load (a stray glyph)
    size = page.locator(".tk-tree-size")
    assert size.inner_text().strip() == "Full size" and size.locator("i.fa").count() == 0
    page.context.close()


def test_nbconvert_export_renders_widgets_offline(tmp_path, browser, model):
    """`jupyter nbconvert --to html_offline notebooks/explorer.ipynb` (threatkit's exporter, in-process)."""
    from nbconvert.exporters import get_exporter

    body, _ = get_exporter("html_offline")().from_filename(str(NOTEBOOK))
    out = tmp_path / "explorer.html"
    out.write_text(body)
    page, requests = open_offline(browser, out, "nbconvert-offline")
    choice = base_choice(model)
    wait_for_numbers(page.locator(".tk-explorer"), model, choice, "nbconvert-offline", page)
    check_stored_controls(page, model, choice)
    widget_requests = [u for u in requests if "widget" in u or "require" in u]
    assert all(u.startswith("data:") for u in widget_requests), widget_requests
    page.context.close()
