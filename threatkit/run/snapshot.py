"""The explorer as one offline HTML file, and the offline widget renderer for notebook exports.

A snapshot is the explorer built in this process (no kernel) for a scenario, its widget
state saved with defaults, and @jupyter-widgets/html-manager's `embed.js` (shipped in
threatkit/static) embedded as a data: URL: the file opens from disk with no network.
A data: URL rather than inline script text, so no byte of the bundle can end the
<script> element early, and the bundle finds a non-empty script src for its
webpack public path (it throws without one).
"""
from __future__ import annotations

import base64
import contextlib
import html
import io
import json
from functools import lru_cache
from pathlib import Path

RENDERER = Path(__file__).resolve().parent.parent / "static" / "html-manager" / "embed.js"


@lru_cache(maxsize=1)
def renderer_url() -> str:
    """The widget manager's JavaScript as a data: URL (about 2.5 MB)."""
    return "data:text/javascript;base64," + base64.b64encode(RENDERER.read_bytes()).decode("ascii")


def script_json(data) -> str:
    """JSON safe inside a <script> element: no `<`, `>` or `&` that the HTML parser could read."""
    text = json.dumps(data, ensure_ascii=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def build_explorer(model, scenario: str | None, pathway: str | None, samples: int, seed: int):
    """The explorer as the notebook builds it, outside any kernel. Its Numbers tab (an Output
    widget, which only a kernel fills) gets the same table as a stored output."""
    from threatkit.widgets import Explorer

    with contextlib.redirect_stdout(io.StringIO()):    # outside IPython, display() would print
        explorer = Explorer(model, scenario=scenario, pathway=pathway, samples=samples, seed=seed)
    table = explorer.summary()
    explorer.details.outputs = ({"output_type": "display_data", "metadata": {},
                                 "data": {"text/html": table.to_html(), "text/plain": table.to_string()}},)
    return explorer


def widget_data(explorer) -> tuple[dict, dict]:
    """(widget state with defaults, view spec) of the explorer's widget tree."""
    from ipywidgets.embed import dependency_state

    state = dependency_state([explorer.widget], drop_defaults=False)
    from ipywidgets import Widget

    manager_state = {"version_major": 2, "version_minor": 0, "state": state}
    if hasattr(Widget, "get_manager_state"):        # its version numbers, where ipywidgets gives them
        full = Widget.get_manager_state(drop_defaults=False, widgets=[])
        manager_state.update(version_major=full["version_major"], version_minor=full["version_minor"])
    view = {"version_major": 2, "version_minor": 0, "model_id": explorer.widget.model_id}
    return manager_state, view


PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{title}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 1.5em; }}
.tk-snapshot-note {{ color: #555; font-size: 0.9em; }}
</style>
<script type="application/vnd.jupyter.widget-state+json">{state}</script>
</head>
<body>
<h1>{title}</h1>
<p class="tk-snapshot-note">threatkit explorer snapshot: scenario <b>{scenario}</b>, {samples} Monte Carlo draws
(seed {seed}). The controls show the settings saved; the figures are those of these settings.</p>
<script type="application/vnd.jupyter.widget-view+json">{view}</script>
<script src="{renderer}"></script>
</body>
</html>
"""


def snapshot_html(model, scenario: str | None = None, pathway: str | None = None, *, samples: int = 500,
                  seed: int = 1, title: str = "threatkit explorer") -> str:
    """The explorer for `scenario` as a self-contained HTML page."""
    explorer = build_explorer(model, scenario, pathway, samples, seed)
    state, view = widget_data(explorer)
    return PAGE.format(title=html.escape(title), scenario=html.escape(explorer.base.id), samples=samples,
                       seed=seed, state=script_json(state), view=script_json(view), renderer=renderer_url())
