"""Overriding a built-in pathway: the built-in controls that counter its removed steps
keep working elsewhere and warn, instead of failing the whole model.

The expected warnings are worked out here from the raw YAML files (which built-in
counters name a step that no pathway of the merged model has), not from the loader.
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from threatkit import ModelError, load_model, load_text
from threatkit.resources import data_path

EXAMPLE = Path(__file__).resolve().parent / "contract" / "model-format.yaml"


def _step_ids(node: dict):
    yield node["id"]
    for child in node.get("children", ()):
        yield from _step_ids(child)


def expected_stale() -> list[tuple[str, int, str]]:
    """(control id, index in counters, step id) for every built-in counter the override orphans."""
    example = yaml.safe_load(EXAMPLE.read_text())
    pathways = {p["id"]: p for p in yaml.safe_load(data_path("pathways.yaml").read_text())["pathways"]}
    pathways.update({p["id"]: p for p in example["pathways"]})          # later files override by id
    targets = set(pathways) | {s for p in pathways.values() for s in _step_ids(p["tree"])}
    overridden = {c["id"] for c in example["controls"]}      # the example's own controls replace these
    controls = yaml.safe_load(data_path("controls.yaml").read_text())["controls"]
    return [(c["id"], i, ref) for c in controls if c["id"] not in overridden
            for i, ref in enumerate(c.get("counters", ())) if ref not in targets]


def test_the_example_really_orphans_built_in_counters():
    assert len(expected_stale()) >= 3


def test_validate_prints_each_warning_and_exits_0():
    proc = subprocess.run([sys.executable, "-m", "threatkit.cli", "validate", str(EXAMPLE)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith(f"{EXAMPLE}: ok: ")
    lines = proc.stderr.splitlines()
    assert len(lines) == len(expected_stale())
    source = data_path("controls.yaml").read_text().splitlines()
    for line, (control, i, ref) in zip(lines, expected_stale()):
        file, number, message = line.split(":", 2)
        assert file == str(data_path("controls.yaml"))
        assert ref in source[int(number) - 1]               # the line that names the stale step
        assert message.startswith(f" warning: controls[{control}].counters[{i}]: {ref!r} is no step or pathway")


def test_assess_succeeds_with_the_warnings_on_stderr():
    proc = subprocess.run([sys.executable, "-m", "threatkit.cli", "assess", str(EXAMPLE), "--format", "csv"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.count(": warning: ") == len(expected_stale())
    scenario = yaml.safe_load(EXAMPLE.read_text())["scenarios"][0]["id"]
    assert proc.stdout.count(f"\n{scenario},") == len(load_model(EXAMPLE).pathways)


def test_library_exposes_the_warnings_and_drops_the_stale_counters():
    model = load_model(EXAMPLE)
    stale = expected_stale()
    assert [w.message.split(":", 2)[1].strip() for w in model.warnings] == [
        f"controls[{c}].counters[{i}]" for c, i, _ in stale]
    originals = {c["id"]: c.get("counters", []) for c in yaml.safe_load(data_path("controls.yaml").read_text())["controls"]}
    for control, _, ref in stale:
        counters = model.control(control).counters
        assert ref not in counters
        assert counters == tuple(r for r in originals[control] if (control, originals[control].index(r), r) not in stale)


def test_a_model_without_overrides_has_no_warnings():
    assert load_text("threatkit: 1\n").warnings == ()


def test_the_same_mistake_in_the_loaded_file_stays_an_error(tmp_path):
    own = "  - id: my-watermark\n    counters: [distill-train]\n    effectiveness: 0.2\n"
    text = EXAMPLE.read_text().replace("\nscenarios:\n", "\n" + own + "scenarios:\n")
    case = tmp_path / "own.yaml"
    case.write_text(text)
    with pytest.raises(ModelError) as info:
        load_model(case)
    line = text.splitlines().index("    counters: [distill-train]") + 1
    assert [str(p) for p in info.value.problems] == [
        f"{case}:{line}: controls[my-watermark].counters[0]: unknown step or pathway 'distill-train' "
        "(did you mean 'distillation'?); expected a step id of some pathway's tree, or a pathway id"]


def test_a_counter_from_any_included_file_warns(tmp_path):
    """Not only the built-in catalog: a team's shared control file, included, then overridden."""
    (tmp_path / "shared.yaml").write_text(
        "threatkit: 1\ninclude: []\npathways:\n  - id: p\n    fidelity: 0.5\n    tree:\n      id: root\n"
        "      gate: or\n      children:\n        - {id: a, p: 0.5}\n        - {id: b, p: 0.5}\n"
        "controls:\n  - id: c\n    counters: [a, b]\n    effectiveness: 0.5\n")
    (tmp_path / "team.yaml").write_text(
        "threatkit: 1\ninclude: [shared.yaml]\npathways:\n  - id: p\n    fidelity: 0.5\n"
        "    tree: {id: a, p: 0.4}\n")
    model = load_model(tmp_path / "team.yaml")
    assert [str(w) for w in model.warnings] == [
        f"{tmp_path}/shared.yaml:14: warning: controls[c].counters[1]: 'b' is no step or pathway of the merged model "
        "(a file loaded later replaced or removed it); this inherited counter counters nothing"]
    assert model.control("c").counters == ("a",)


def test_the_report_lists_the_warnings_under_sources():
    from threatkit.report import ScenarioReport

    report = ScenarioReport.build(EXAMPLE, yaml.safe_load(EXAMPLE.read_text())["scenarios"][0]["id"], samples=0)
    frame = report.sources().data
    warnings = frame[frame["kind"] == "warning"]["source"].tolist()
    assert warnings == [str(w) for w in load_model(EXAMPLE).warnings]
    assert len(warnings) == len(expected_stale())
