"""Start JupyterLab or the Voila app on the explorer notebook, with a model of the user's.

The model reaches the notebook's kernel through one environment variable
(MODEL_ENV, inherited from the server), which the notebook's parameter cell
leaves in charge when it is "". Everything the user gave is checked here,
before a server starts, so a mistake is reported as FILE:LINE on the terminal.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from threatkit.model.load import ModelError, load_model
from threatkit.resources import resource_dir

MODEL_ENV = "THREATKIT_MODEL"
EXPLORER = "explorer.ipynb"
NO_APP_TAG = "threatkit-no-app"     # cells the app leaves out (code talk, one-moment tables)
WHEEL_NOTEBOOKS = "threatkit-notebooks"
APP_STYLE = "<style>.tk-tree svg { max-width: 100%; height: auto; display: block; margin: 0 auto; }</style>"


class LaunchError(Exception):
    """A server could not be started: a missing extra, a folder in the way."""


def check_model(path: str | Path | None) -> str:
    """The absolute path of a user's model, after loading it (ModelError with FILE:LINE
    problems if it is broken); "" for none (the notebook then shows the built-in example)."""
    if not path:
        return ""
    model = load_model(path)
    if not model.scenarios:
        raise LaunchError(f"{path} has no scenarios; the explorer starts from one (add one under 'scenarios:')")
    return str(Path(path).resolve())


def _require(module: str, extra: str, what: str) -> None:
    import importlib.util

    if importlib.util.find_spec(module) is None:
        raise LaunchError(f"{what} is not installed; install it with: pip install 'threatkit[{extra}]'")


def notebooks_folder(folder: str | Path | None = None) -> Path:
    """The folder JupyterLab opens: the given one, the checkout's notebooks/, or (from an
    installed wheel, whose notebooks are read-only package data) a copy in ./threatkit-notebooks."""
    if folder:
        path = Path(folder)
        if not (path / EXPLORER).is_file():
            raise LaunchError(f"{path} has no {EXPLORER}")
        return path.resolve()
    shipped = resource_dir("notebooks")
    if shipped.name == "notebooks":                 # a checkout: work on its notebooks directly
        return shipped
    target = Path(WHEEL_NOTEBOOKS).resolve()
    if not target.exists():
        shutil.copytree(shipped, target)
        print(f"threatkit: copied the notebooks to {target}", file=sys.stderr)
    elif not (target / EXPLORER).is_file():
        raise LaunchError(f"{target} exists but has no {EXPLORER}; pass --dir or move it away")
    return target


def lab_command(folder: Path, *, port: int, ip: str = "127.0.0.1", open_browser: bool = True,
                extra: tuple[str, ...] = ()) -> list[str]:
    """The JupyterLab command line `make lab` and `threatkit lab` run (the browser test runs it too)."""
    # The explorer twice: opened in the browser lab starts, and the page "/" leads to (a bookmark).
    return [sys.executable, "-m", "jupyter", "lab", EXPLORER, f"--ServerApp.root_dir={folder}",
            f"--LabApp.default_url=/lab/tree/{EXPLORER}",
            f"--ServerApp.ip={ip}", f"--ServerApp.port={port}", "--ServerApp.port_retries=0",
            # Jupyter refuses root unless told; containers and CI machines run as root, and the
            # server binds to this machine only by default
            *(["--allow-root"] if _is_root() else []),
            *([] if open_browser else ["--no-browser"]), *extra]


def _is_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


def app_command(notebook: Path, *, port: int, ip: str = "127.0.0.1", open_browser: bool = True,
                extra: tuple[str, ...] = ()) -> list[str]:
    """The Voila command line `threatkit app` runs: code stripped; a cell's error shown in the page,
    so a model's FILE:LINE problems (see `open_model`) reach the reader."""
    return [sys.executable, "-m", "voila", str(notebook), f"--port={port}", f"--Voila.ip={ip}",
            "--strip_sources=True", "--show_tracebacks=True", "--Voila.port_retries=0",
            *([] if open_browser else ["--no-browser"]), *extra]


def app_notebook(folder: Path) -> Path:
    """A copy of the explorer for the app: without the cells tagged NO_APP_TAG (an app page
    must follow its widgets; a table printed once would go stale) and without stored outputs."""
    import nbformat

    nb = nbformat.read(resource_dir("notebooks") / EXPLORER, as_version=4)
    nb.cells = [c for c in nb.cells if NO_APP_TAG not in c.get("metadata", {}).get("tags", [])]
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    nb.metadata.pop("widgets", None)
    # A page, not a workbench: the whole attack tree fits its box (the notebook keeps it at full size,
    # scrolled, which in an app opens on its left edge, away from the root).
    nb.cells.append(nbformat.v4.new_code_cell(f"from IPython.display import HTML\nHTML({APP_STYLE!r})"))
    path = folder / EXPLORER
    nbformat.write(nb, path)
    return path


def _serve(command: list[str], env_model: str, cwd: Path) -> int:
    env = {**os.environ, MODEL_ENV: env_model}
    try:
        return subprocess.call(command, cwd=cwd, env=env)
    except KeyboardInterrupt:
        return 130


def run_lab(file: str | None, *, port: int, ip: str, open_browser: bool, folder: str | None = None) -> int:
    model = check_model(file)
    _require("jupyterlab", "lab", "JupyterLab")
    where = notebooks_folder(folder)
    print(f"threatkit: JupyterLab on {where}, explorer showing {model or 'the Mythos example'}", file=sys.stderr)
    return _serve(lab_command(where, port=port, ip=ip, open_browser=open_browser), model, where)


def run_app(file: str | None, *, port: int, ip: str, open_browser: bool) -> int:
    model = check_model(file)
    _require("voila", "app", "Voila")
    with tempfile.TemporaryDirectory(prefix="threatkit-app-") as tmp:
        notebook = app_notebook(Path(tmp))
        print(f"threatkit app: the explorer ({model or 'the Mythos example'}) at http://{_host(ip)}:{port}/ "
              "(Ctrl-C stops it)", file=sys.stderr, flush=True)
        return _serve(app_command(notebook, port=port, ip=ip, open_browser=open_browser), model, Path(tmp))


def _host(ip: str) -> str:
    return f"[{ip}]" if ":" in ip else ip


# ---- inside the notebook's kernel -------------------------------------------------------------

class ModelProblems(ModelError):
    """A model that failed to load, shown in a notebook as its FILE:LINE lines, not a traceback
    (IPython prints what `_render_traceback_` returns in place of the traceback)."""

    def _render_traceback_(self) -> list[str]:
        return ["threatkit could not load the model:", *map(str, self.problems)]


def open_model(model_file: str | Path = ""):
    """The model for the explorer notebook: `model_file` (a path, or example:NAME), else the one
    `threatkit lab/app FILE` passed (MODEL_ENV), else the built-in Mythos example."""
    from threatkit.examples import resolve
    from threatkit.model.yamlsafe import Problem
    from threatkit.report import example_path

    chosen = str(model_file) or os.environ.get(MODEL_ENV, "")
    try:
        path = resolve(chosen) if chosen else example_path()
        model = load_model(path)
    except ModelError as exc:
        raise ModelProblems(exc.problems) from None
    except ValueError as exc:             # an unknown example:NAME
        raise ModelProblems([Problem(chosen, None, str(exc))]) from None
    if not model.scenarios:
        raise ModelProblems([Problem(str(path), None, "scenarios: none found; the explorer starts from a "
                                                         "scenario (add one under 'scenarios:')")])
    return model


def known_or_first(entries, wanted: str | None) -> str | None:
    """`wanted` if the model has an entry of that id, else None (the explorer's default: the first),
    so the notebook's defaults for the Mythos example do not break on a model of one's own."""
    return wanted if wanted and any(e.id == wanted for e in entries) else None
