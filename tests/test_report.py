"""`threatkit report`: the papermill template run, its HTML, and its recorded results."""
import json
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import nbformat
import pytest

from threatkit.cli import main
from threatkit.run.execute import ReportError, execute, resolve_template
from threatkit.report import RESULTS_MIME, read_results

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "data" / "examples" / "mythos.yaml"
SCENARIO = "restricted-export"
SAMPLES, SEED = 300, 7

pytestmark = pytest.mark.slow


class Elements(HTMLParser):
    """Collects start tags (with attributes) and text; raises nothing on odd markup."""

    def __init__(self):
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.text.append(data)


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    out = tmp_path_factory.mktemp("report")
    html, nb = out / "r.html", out / "r.ipynb"
    code = main(["report", str(EXAMPLE), "--scenario", SCENARIO, "-o", str(html), "--notebook", str(nb),
                 "--samples", str(SAMPLES), "--seed", str(SEED)])
    assert code == 0
    return html, nb


def test_html_has_no_code_and_has_a_tree_per_pathway_the_matrix_and_sources(report):
    html, _ = report
    text = html.read_text()
    parsed = Elements()
    parsed.feed(text)
    classes = " ".join(a.get("class", "") for _, a in parsed.tags)
    # code input would appear as an editor area with highlighted source; markdown is narrative
    assert "jp-InputArea-editor" not in classes and "hl-ipython3" not in classes and "jp-InputPrompt" not in classes
    assert "ScenarioReport.build" not in text and "report.trees()" not in text
    labels = [a.get("aria-label", "") for tag, a in parsed.tags if tag == "svg"]
    from threatkit import load_model
    model = load_model(EXAMPLE)
    for p in model.pathways:
        assert f"Attack tree of pathway {p.id} in scenario {SCENARIO}" in labels, p.id
    assert any(label.startswith("Risk matrix") for label in labels)
    assert any(label.startswith("Capability over time") for label in labels)
    body = " ".join(parsed.text)
    assert "Sources and confidence" in body and "RAND RR-A2849-1" in body
    assert "threatkit report:" in body                     # the header
    assert not [t for t, _ in parsed.tags if t == "script" and "require" in str(_)]


def test_recorded_results_equal_assess_json(report, capsys):
    _, nb = report
    recorded = read_results(nb)
    assert main(["assess", str(EXAMPLE), "--scenario", SCENARIO, "--format", "json",
                 "--samples", str(SAMPLES), "--seed", str(SEED)]) == 0
    assessed = json.loads(capsys.readouterr().out)
    assert recorded["rows"] == assessed
    assert recorded["scenario"] == SCENARIO and recorded["samples"] == SAMPLES
    executed = nbformat.read(nb, as_version=4)
    assert any(RESULTS_MIME in o.get("data", {}) for c in executed.cells for o in c.get("outputs", []))


def test_report_opens_with_its_key_judgments_and_records_them(report):
    from threatkit import load_model
    from threatkit.analysis.judgments import key_judgments

    html, nb = report
    text = html.read_text()
    order = [text.index(f'id="{h}"') for h in ("Key-judgments", "Summary", "Attack-trees", "What-drives-the-answer")]
    assert order == sorted(order)
    brief = key_judgments(load_model(EXAMPLE), SCENARIO, samples=SAMPLES, seed=SEED)
    assert read_results(nb)["judgments"] == json.loads(json.dumps(brief.to_list()))
    from html import unescape
    shown = unescape(text)
    for j in brief.judgments:
        assert j.statement in shown
    assert "5th and 95th percentile" in text or "5th (blue) and 95th" in text


def test_unknown_scenario_fails_before_any_kernel(tmp_path, capsys, monkeypatch):
    import papermill

    def no_kernel(*args, **kwargs):
        raise AssertionError("a kernel was started")

    monkeypatch.setattr(papermill, "execute_notebook", no_kernel)
    out = tmp_path / "x.html"
    assert main(["report", str(EXAMPLE), "--scenario", "restricted-exprot", "-o", str(out)]) == 1
    err = capsys.readouterr().err
    assert "unknown scenario 'restricted-exprot' (did you mean 'restricted-export'?)" in err
    assert not out.exists()


def test_bad_model_fails_before_any_kernel(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text("threatkit: 1\nassets:\n  - {id: a, capability_value: 2}\n")
    assert main(["report", str(bad), "--scenario", "s", "-o", str(tmp_path / "x.html")]) == 1
    assert f"{bad}:3:" in capsys.readouterr().err


def test_bad_parameter_is_a_clear_error():
    with pytest.raises(ReportError, match="samples must be a whole number >= 0"):
        execute(resolve_template(), {"model_path": str(EXAMPLE), "scenario": SCENARIO, "samples": "many"})


def test_unknown_template_lists_the_shipped_ones(tmp_path, capsys):
    assert main(["report", str(EXAMPLE), "--scenario", SCENARIO, "-o", str(tmp_path / "x.html"),
                 "--template", "fancy"]) == 1
    err = capsys.readouterr().err
    assert "unknown template 'fancy'" in err and "scenario_report" in err


def test_template_parameters_are_documented():
    out = subprocess.run([sys.executable, "-m", "papermill", "--help-notebook", str(resolve_template())],
                         capture_output=True, text=True)
    assert out.returncode == 0
    for name, hint in (("model_path", "str"), ("scenario", "str"), ("samples", "int"), ("seed", "int")):
        line = next(line for line in out.stdout.splitlines() if line.strip().startswith(name + ":"))
        assert hint in line and "default" in line, line


def test_a_tree_too_big_to_draw_is_described_and_the_report_goes_on(monkeypatch):
    """The trees section draws each pathway's tree, or says why not and how to get it whole."""
    import threatkit.render.trees as trees
    from threatkit import report as report_module

    shown: list = []
    monkeypatch.setattr(report_module, "_display", lambda *objs, **kw: shown.extend(objs))
    r = report_module.ScenarioReport.build(EXAMPLE, SCENARIO, samples=20)
    big = max(r.assessment.pathways, key=lambda p: len(p.tree.flat.nodes))
    monkeypatch.setattr(trees, "MAX_DRAWN_NODES", len(big.tree.flat.nodes) - 1)
    r.trees()
    html = [getattr(o, "data", o) for o in shown]
    notes = [h for h in html if isinstance(h, str) and "not drawn" in h]
    assert len(notes) == sum(len(p.tree.flat.nodes) > trees.MAX_DRAWN_NODES for p in r.assessment.pathways) >= 1
    assert any(f"--pathway {big.pathway} --format dot" in n for n in notes)
    drawn = [o["text/plain"] for o in shown if isinstance(o, dict) and "image/svg+xml" in o]
    assert drawn[0].startswith("Legend of the attack trees")              # once, above the trees
    assert len(drawn) - 1 == len(r.assessment.pathways) - len(notes)


def test_the_report_compares_a_unilateral_with_a_coordinated_restriction(tmp_path):
    """The capability section of unilateral-restriction says, in days, what the example's own scenarios
    give: Mythos alone 58 (restricted-export), as given 49, coordinated 51 (coordinated-restriction),
    and the substitutes' 92; the chart draws the substitutes' share and day."""
    out = tmp_path / "u.html"
    assert main(["report", "example:mythos", "--scenario", "unilateral-restriction", "-o", str(out),
                 "--samples", "50"]) == 0
    page = out.read_text(encoding="utf-8")
    text = " ".join(page.split())
    assert ("Unilateral or coordinated:</strong> the first day the actor has an even chance of holding 50% of the "
            "capability durably is 58 days with Mythos 5 the only model in view, 49 days with the other models as "
            "this scenario has them, and 51 days if they carried this scenario's controls too") in text
    assert "Reaching the other models gets the actor there 9 days sooner than Mythos 5 alone would." in text
    assert "Coordinating buys 2 days over this scenario." in text
    assert "All of these come before the substitutes give as much (3.0 months, day 92)" in text
    assert "Another US lab" in text and "every pathway is assessed on it too" in text
    assert 'class="curve substitute"' in page and 'class="substitute"' in page
    assert "Access gets" in text or "access gets the actor there" in text
