"""Stumbles a new user met in the first hour (issue 22), each checked as that user would meet it."""
from __future__ import annotations

import json

from threatkit.cli import main


def test_init_makes_the_folders_it_needs_and_still_never_overwrites(tmp_path, capsys):
    path = tmp_path / "reports" / "mine" / "model.yaml"
    assert main(["init", str(path)]) == 0 and path.is_file()
    before = path.read_bytes()
    assert main(["init", str(path)]) == 1
    assert "never overwrites" in capsys.readouterr().err and path.read_bytes() == before
    assert main(["validate", str(path)]) == 0


def test_a_model_file_includes_a_shipped_example_by_name(tmp_path, capsys):
    path = tmp_path / "mine.yaml"
    path.write_text("threatkit: 1\ninclude: [example:mythos]\nscenarios:\n"
                    "  - {id: mine, asset: mythos-5, actor: competitor, tier: public-api, controls: []}\n")
    assert main(["assess", str(path), "--scenario", "status-quo", "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert {r["pathway"] for r in rows} >= {"distillation", "weight-exfiltration"}     # the example's scenario
    assert main(["timeline", str(path), "--scenario", "mine", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)[0]["scenario"] == "mine"


def test_an_unknown_example_in_include_is_a_line_of_its_own(tmp_path, capsys):
    path = tmp_path / "bad.yaml"
    path.write_text("threatkit: 1\ninclude:\n  - builtin\n  - example:mythoz\n")
    assert main(["validate", str(path)]) == 1
    err = capsys.readouterr().err
    assert f"{path}:4: include: no shipped example 'mythoz'; expected one of: example:mythos" in err
    assert "Traceback" not in err


def test_the_report_names_which_own_development_figure_it_gives():
    """The acceleration section gives own development at the most likely values, the key judgment
    the median over the draws: both named, so 7.0 and about 7.1 months do not look like a slip."""
    from threatkit.report import ScenarioReport

    report = ScenarioReport.build("", "status-quo", samples=200, seed=1)
    assert "at the inputs' most likely values" in report.acceleration_text()
    judged = [j for j in report.brief.judgments if j.id == "acceleration"]
    assert judged and "the medians over the draws" in judged[0].statement
