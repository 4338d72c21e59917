"""The package as users get it: cheap to import, and complete as a wheel."""
import json
import os
import subprocess
import sys
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("pandas", "pydot", "ipywidgets", "papermill")


def test_import_threatkit_loads_no_heavy_modules():
    code = "import sys, threatkit, threatkit.analysis.assess; print(' '.join(m for m in %r if m in sys.modules))" % (HEAVY,)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_charts_draw_without_matplotlib():
    """matplotlib is no dependency: the report's charts (curves, matrix, tornado) are hand-written SVG."""
    code = ("import sys, threatkit\n"
            "from threatkit.analysis.assess import assess\n"
            "from threatkit.analysis.sensitivity import tornado\n"
            "from threatkit.analysis.timeline import scenario_curves\n"
            "from threatkit.render.curves import CapabilityPlot\n"
            "from threatkit.render.matrix import RiskMatrix\n"
            "from threatkit.render.tornado import tornado_svg\n"
            "m = threatkit.load_model(sys.argv[1])\n"
            "tornado_svg(tornado(m, 'status-quo', 'durable:183'))\n"
            "CapabilityPlot(scenario_curves(m, 'status-quo', samples=20, seed=1)).to_svg()\n"
            "RiskMatrix.of([assess(m, 'status-quo')]).to_svg()\n"
            "print('matplotlib' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", code, str(ROOT / "data" / "examples" / "mythos.yaml")],
                         capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
    assert "matplotlib" not in (ROOT / "pyproject.toml").read_text()


def test_cli_imports_jsonschema_without_its_optional_format_checkers_and_hides_nothing_after():
    """The CLI's start-up imports jsonschema with its optional format modules hidden (a second saved:
    notebooks use none of those formats); afterwards every one of them imports as usual."""
    code = """
import sys
from threatkit.cli import OPTIONAL_FORMAT_MODULES, import_jsonschema_lean
import_jsonschema_lean()
from jsonschema import FormatChecker
assert "duration" not in FormatChecker.checkers and "iri" not in FormatChecker.checkers, FormatChecker.checkers
assert not any(sys.modules.get(m, 0) is None for m in OPTIONAL_FORMAT_MODULES)
import importlib.util
found = [m for m in OPTIONAL_FORMAT_MODULES if importlib.util.find_spec(m)]
for m in found:
    __import__(m)
print(len(found))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr


def test_version_and_help():
    from threatkit import __version__
    out = subprocess.run([sys.executable, "-m", "threatkit.cli", "--version"], capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout.strip() == f"threatkit {__version__}"
    for sub in ("validate", "catalog", "schema", "assess", "tree"):
        out = subprocess.run([sys.executable, "-m", "threatkit.cli", sub, "--help"], capture_output=True, text=True)
        assert out.returncode == 0 and "usage: threatkit " + sub in out.stdout


@pytest.mark.slow
def test_wheel_installs_and_finds_its_data(tmp_path):
    """Build the wheel, install it in a fresh venv outside the checkout, validate the example there."""
    dist = tmp_path / "dist"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(dist), str(ROOT)],
                   check=True)
    wheel = next(dist.glob("threatkit-*.whl"))
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    py = env_dir / "bin" / "python"
    subprocess.run([str(py), "-m", "pip", "install", "--quiet", str(wheel)], check=True)
    work = tmp_path / "elsewhere"
    work.mkdir()
    example = work / "mythos.yaml"
    example.write_bytes((ROOT / "data" / "examples" / "mythos.yaml").read_bytes())
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    where = subprocess.run([str(py), "-c", "import threatkit, threatkit.resources as r; print(threatkit.__file__); print(r.resource_dir('data')); print(r.resource_dir('templates'))"],
                           cwd=work, env=env, capture_output=True, text=True, check=True).stdout.split()
    assert all(str(env_dir) in p for p in where), where
    out = subprocess.run([str(env_dir / "bin" / "threatkit"), "validate", str(example)], cwd=work, env=env,
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith(f"{example}: ok")
    # A first model of one's own, from the installed package alone: init, then batch writes reports.
    tk = str(env_dir / "bin" / "threatkit")
    out = subprocess.run([tk, "init"], cwd=work, env=env, capture_output=True, text=True)
    assert out.returncode == 0 and (work / "model.yaml").is_file(), out.stderr
    out = subprocess.run([tk, "batch", "model.yaml", "-o", "reports", "--samples", "200", "--jobs", "1"],
                         cwd=work, env=env, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr
    assert (work / "reports" / "index.html").is_file() and (work / "reports" / "baseline.html").is_file()
    assert "baseline" in (work / "reports" / "summary.csv").read_text()
    # The shipped examples by name, and what lab, app and snapshot need inside the wheel.
    out = subprocess.run([tk, "catalog", "examples"], cwd=work, env=env, capture_output=True, text=True)
    assert out.returncode == 0 and "example:mythos" in out.stdout
    out = subprocess.run([tk, "validate", "example:mythos"], cwd=work, env=env, capture_output=True, text=True)
    assert out.returncode == 0 and str(env_dir) in out.stdout, out.stdout + out.stderr
    import zipfile

    names = set(zipfile.ZipFile(wheel).namelist())
    assert {"threatkit/_notebooks/explorer.ipynb", "threatkit/static/html-manager/embed.js"} <= names


RUN = """
import atexit, sys, threading, time
import threatkit.cli
atexit.register(lambda: print("atexit ran", flush=True))
if sys.argv[1] == "thread":     # a thread still working: the usual exit waits for it
    threading.Thread(target=lambda: (time.sleep(0.3), print("thread finished", flush=True))).start()
sys.argv = ["threatkit", *sys.argv[2:]]
threatkit.cli.run()
"""


@pytest.mark.parametrize("threads", ["none", "thread"])
def test_the_program_exits_with_mains_status_its_output_whole_and_atexit_run(tmp_path, threads):
    """run() skips the interpreter's teardown, never what an exit must do: the status is main's,
    stdout reaches a file whole, atexit handlers run, and running threads are waited for."""
    model = ROOT / "data" / "examples" / "mythos.yaml"
    for args, status in ((["schema"], 0), (["validate", str(model)], 0), (["validate", str(tmp_path / "none.yaml")], 1),
                         (["tree", str(model), "--pathway", "distillation", "--scenario", "nope"], 1),
                         (["catalog", "nope"], 2)):                 # argparse's usage error exits too
        with open(tmp_path / "out.txt", "w") as out:
            done = subprocess.run([sys.executable, "-c", RUN, threads, *args], stdout=out, stderr=subprocess.PIPE,
                                  text=True)
        text = (tmp_path / "out.txt").read_text()
        assert done.returncode == status, (args, done.stderr)
        assert text.rstrip().endswith("atexit ran")
        assert ("thread finished" in text) == (threads == "thread")
        if args == ["schema"]:                                    # a long output, whole
            assert json.loads(text[: text.rindex("}") + 1])["$defs"]
