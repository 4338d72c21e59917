"""Key judgments: words and bands, agreement with timeline and assess, confidence from sources,
unconfirmed claims said plainly, and text that reads like an analyst's."""
import json
import re
from pathlib import Path

import numpy as np
import pytest
import yaml

from threatkit import load_model, load_text
from threatkit.analysis.assess import assess
from threatkit.analysis.judgments import entry_confidence, estimative, is_claim, key_judgments
from threatkit.analysis.timeline import timeline
from threatkit.cli import main
from threatkit.model.load import ModelError

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "tests" / "examples" / "sensitivity.yaml"
MYTHOS = ROOT / "data" / "examples" / "mythos.yaml"
SAMPLES, SEED = 600, 5

# ICD 203, as ../shared/reference/domain-facts.md gives it (percent)
ICD203 = [("almost no chance", 1, 5), ("very unlikely", 5, 20), ("unlikely", 20, 45),
          ("roughly even chance", 45, 55), ("likely", 55, 80), ("very likely", 80, 95), ("almost certain", 95, 99)]


def icd_word(p: float) -> str:
    """The word for p, found here independently: the band [low, high) that holds it, the end words beyond."""
    pct = p * 100
    for word, low, high in ICD203:
        if pct < high:
            return word
    return ICD203[-1][0]


@pytest.fixture(scope="module")
def model():
    return load_model(EXAMPLE)


@pytest.fixture(scope="module")
def brief(model):
    return key_judgments(model, "reported", samples=SAMPLES, seed=SEED)


def test_builtin_scales_carry_the_icd_203_table(model):
    assert [(b.word, round(b.low * 100), round(b.high * 100)) for b in model.scales.estimative] == ICD203


@pytest.mark.parametrize("p", [0.0, 0.004, 0.01, 0.03, 0.05, 0.12, 0.2, 0.449, 0.45, 0.5, 0.55, 0.7, 0.8, 0.9,
                               0.95, 0.97, 0.99, 0.995, 1.0])
def test_estimative_word_band_holds_the_probability(model, p):
    word, (low, high) = estimative(p, model.scales)
    assert word == icd_word(p)
    assert low <= p <= high


def test_every_printed_word_is_the_one_whose_band_holds_its_probability(brief, model):
    text = brief.text()
    bands = {w: (lo, hi) for w, lo, hi in ICD203}
    for j in brief.judgments:
        if j.probability is None:
            assert j.word is None and j.band is None
            continue
        assert j.word == icd_word(j.probability)
        assert j.band[0] <= j.probability <= j.band[1]
        assert j.statement in text
    # every "word (band" written anywhere in the text names the word's own band
    found = re.findall(r"(almost no chance|very unlikely|unlikely|roughly even chance|likely|very likely|"
                       r"almost certain) \((\d+)-(\d+)%", text)
    assert found
    for word, low, high in found:
        assert bands[word] == (int(low), int(high))


def test_durable_chances_agree_with_timeline(model):
    """At the modes, an even chance of durable capability by day t holds exactly when timeline's day is <= t."""
    for scenario in ("reported", "plain"):
        b = key_judgments(model, scenario)
        t = timeline(model, scenario)
        for months, day in ((3, 91), (6, 183), (12, 365)):
            assert (b[f"durable-{months}m"].probability >= 0.5) == (t.days_to_durable <= day)
            assert (b[f"durable-{months}m-without-controls"].probability >= 0.5) == (
                t.days_to_durable_without_controls <= day)


def test_durable_chance_by_hand():
    """One persistent pathway, p per attempt of T days: durable(t) = 1 - (1 - p)^floor(t / T)."""
    m = load_text("""
threatkit: 1
include: []
assets: [{id: a, name: Asset, capability_value: 1}]
tiers: [{id: t, name: Tier, rank: 1}]
actors: [{id: x, name: Actor, kind: lab, budget_usd: 1000, skill: 3}]
pathways:
  - {id: w, name: Theft, fidelity: 1, persistent: true, tree: {id: s, label: Steal, p: 0.2, time_days: 50}}
scenarios: [{id: s1, asset: a, actor: x, tier: t}]
""")
    b = key_judgments(m, "s1")
    for months, day in ((3, 91), (6, 183), (12, 365)):
        assert b[f"durable-{months}m"].probability == pytest.approx(1 - 0.8 ** (day // 50))
    assert b["lead"].probability is None and "no controls" in b["lead"].statement


def test_lead_and_acceleration_agree_with_timeline_for_the_same_seed(model, brief):
    t = timeline(model, "reported", samples=SAMPLES, seed=SEED)
    for name in ("lead_days", "acceleration_days"):
        judged = brief["lead" if name == "lead_days" else "acceleration"].values
        for q in ("p5", "p50", "p95"):
            assert judged[f"{name}_{q}"] == t.stats[f"{name}_{q}"]


def test_pathway_judgments_agree_with_assess_for_the_same_seed(model, brief):
    a = assess(model, "reported", samples=SAMPLES, seed=SEED)
    means = {p.pathway: p.stats["probability_mean"] for p in a.pathways}
    best = max(means, key=means.get)
    j = brief["most-likely-pathway"]
    assert j.values["pathway"] == best
    assert j.probability == pytest.approx(means[best], rel=1e-12)
    feasible = [p for p in a.pathways if p.probability > 0]
    cheapest = min(feasible, key=lambda p: p.cost_usd)
    c = brief["cheapest-attack"]
    assert c.values["pathway"] == cheapest.pathway and c.values["cost_usd"] == cheapest.cost_usd
    assert c.values["steps"] == list(cheapest.cheapest_attack)
    assert c.probability == pytest.approx(means[cheapest.pathway], rel=1e-12)


def test_inputs_are_the_ones_that_move_the_judgment(model, brief):
    from threatkit.analysis.sensitivity import sweep

    sw = sweep(model, "reported", outputs=("durable:365",))
    rows = [r for r in sw.rows("durable:365") if r.swing > 0]
    assert list(brief["durable-12m"].inputs) == [r.input.ref for r in rows if r.swing >= 0.1 * rows[0].swing][:5]
    assert brief["durable-12m"].inputs, "the example's 12-month chance must rest on some inputs"


def _confidence_of(data: dict, scenario: str, judgment: str) -> tuple[str, str]:
    j = key_judgments(load_text(yaml.safe_dump(data)), scenario)[judgment]
    return j.confidence, j.confidence_reason


def test_confidence_falls_when_a_supporting_input_loses_its_source(model):
    data = yaml.safe_load(EXAMPLE.read_text())
    assert _confidence_of(data, "plain", "durable-12m")[0] == "high"
    driver = key_judgments(model, "plain")["durable-12m"].inputs[0]
    kind, ident, _ = driver.split(":")
    if kind == "step":        # a step takes its pathway's source; drop the pathway's
        entry = next(p for p in data["pathways"] if ident in json.dumps(p["tree"]))
    else:
        entry = next(e for e in data[kind + "s"] if e["id"] == ident)
    del entry["source"]
    level, why = _confidence_of(data, "plain", "durable-12m")
    assert level == "low" and "no source" in why
    # an input that does not support the judgment does not pull it down
    data = yaml.safe_load(EXAMPLE.read_text())
    del next(p for p in data["pathways"] if p["id"] == "use")["source"]
    assert _confidence_of(data, "plain", "durable-12m")[0] == "high"


def test_confidence_rules_for_one_entry():
    from threatkit.model.values import Actor
    base = dict(id="x", kind="lab", budget_usd=1, skill=1)
    assert entry_confidence(Actor(**base)) == "low"
    assert entry_confidence(Actor(**base, confidence="high")) == "low"          # no source: low whatever it says
    assert entry_confidence(Actor(**base, source="RAND")) == "moderate"
    assert entry_confidence(Actor(**base, source="RAND", confidence="high")) == "high"
    assert is_claim(Actor(**base, source="Semafor (reported, unconfirmed)", confidence="low"))
    assert not is_claim(Actor(**base, source="Semafor (reported)", confidence="moderate"))


def test_a_reported_unconfirmed_premise_is_said_plainly(brief, model):
    assert brief.premise.startswith("Premise: the access this scenario assumes is a reported, unconfirmed claim")
    assert "Newswire (reported, unconfirmed)" in brief.premise
    assert all(j.confidence == "low" and "unconfirmed" in j.confidence_reason for j in brief.judgments)
    assert all("scenario:reported" in j.claims for j in brief.judgments)
    assert key_judgments(model, "plain").premise is None


def test_text_reads_like_an_analyst_wrote_it(brief):
    text = brief.text()
    assert "0.000" not in text and "nan" not in text.lower().split() and "inf" not in text.split()
    for raw_id in ("sl", "fm", "distil", "harvest", "rl", "sec", "api", "theft-root", "use-root"):
        assert not re.search(rf"(?<![\w-]){re.escape(raw_id)}(?![\w-])", text), raw_id
    assert "the state-linked group" in text and "Frontier model" in text
    assert not re.search(r"\d\.\d{3,}", text), "no long decimals"
    assert all(j.statement[0].isupper() and j.statement.endswith(".") for j in brief.judgments)


def test_mythos_status_quo_opens_with_its_claim_and_needs_no_catalog_numbers():
    b = key_judgments(load_model(MYTHOS), "status-quo")
    assert "reported, unconfirmed" in b.premise and "Semafor" in b.premise
    assert len(b.judgments) == 11
    # the substitutes' judgment: open weights close half the lead in about 3 months (day 92 at the modes)
    substitutes = b["substitutes"]
    assert substitutes.values == {"substitute_gain_days": 92 - 51}        # at the modes: no probability
    assert "open-weight model" in substitutes.statement and "41 days before" in substitutes.statement
    assert "own development" in b["acceleration"].statement and "open-weight" in b["acceleration"].statement


def test_brief_cli_json_and_text(capsys):
    assert main(["brief", str(EXAMPLE), "--scenario", "plain", "--samples", str(SAMPLES), "--seed", str(SEED),
                 "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert {"id", "statement", "probability", "word", "band", "confidence", "inputs"} <= set(rows[0])
    ids = [r["id"] for r in rows]
    assert ids[:6] == ["durable-3m", "durable-3m-without-controls", "durable-6m", "durable-6m-without-controls",
                       "durable-12m", "durable-12m-without-controls"]
    assert {"lead", "acceleration", "most-likely-pathway", "cheapest-attack"} <= set(ids)
    expected = key_judgments(load_model(EXAMPLE), "plain", samples=SAMPLES, seed=SEED)
    assert [r["probability"] for r in rows] == [j.probability for j in expected.judgments]
    assert all(re.fullmatch(r"(step|actor|tier|control|pathway|scenario|asset|substitute):[^:]+:[\w.\[\]-]+", i)
               for r in rows for i in r["inputs"])
    assert main(["brief", str(EXAMPLE), "--scenario", "plain", "--samples", "0"]) == 0
    assert capsys.readouterr().out.startswith("Key judgments: The same access, as a hypothetical\n")


def test_brief_cli_unknown_scenario(capsys):
    assert main(["brief", str(EXAMPLE), "--scenario", "reportd"]) == 1
    assert "did you mean 'reported'?" in capsys.readouterr().err


def test_model_text_is_escaped_in_html_and_markdown(model):
    from threatkit.analysis.judgments import key_judgments as kj
    from threatkit.render.brief import brief_html, brief_markdown

    data = yaml.safe_load(EXAMPLE.read_text())
    data["actors"][0]["name"] = "<script>alert(1)</script> *group*"
    b = kj(load_text(yaml.safe_dump(data)), "plain")
    assert "<script>" not in brief_html(b) and "&lt;script&gt;" in brief_html(b)
    md = brief_markdown(b)
    assert "<script>" not in md and "\\*group\\*" in md


def test_estimative_table_must_be_contiguous(tmp_path):
    path = tmp_path / "scales.yaml"
    path.write_text("threatkit: 1\nscales:\n  estimative:\n    - {word: low, low: 0.0, high: 0.4}\n"
                    "    - {word: high, low: 0.5, high: 1.0}\n")
    with pytest.raises(ModelError, match=r"scales.yaml:\d+: .*without gaps"):
        load_model(path)


def test_a_model_may_use_its_own_words(model):
    m = load_text("threatkit: 1\nscales:\n  estimative:\n    - {word: remote chance, low: 0.0, high: 0.1}\n"
                  "    - {word: realistic possibility, low: 0.1, high: 0.9}\n    - {word: highly likely, low: 0.9, high: 1.0}\n")
    assert estimative(0.5, m.scales) == ("realistic possibility", (0.1, 0.9))
    assert np.isclose(estimative(0.95, m.scales)[1][1], 1.0)


def test_why_tab_shows_judgments_and_top_inputs_escaped():
    from threatkit.analysis.assess import Setting
    from threatkit.analysis.sensitivity import tornado
    from threatkit.widgets import render_why, why_of

    data = yaml.safe_load(EXAMPLE.read_text())
    data["pathways"][0]["tree"]["children"][2]["label"] = "Train <img src=x onerror=alert(1)>"
    m = load_text(yaml.safe_dump(data))
    brief, rows = why_of(m, "plain", Setting.of(m, "plain"), 200, 1)
    expected = [r for r in tornado(m, "plain").rows if r.swing > 0][:5]
    assert [r.input.ref for r in rows] == [r.input.ref for r in expected] and len(rows) == 5
    page = render_why({"brief": brief, "why": rows})
    assert "<img" not in page and "&lt;img src=x" in page
    assert all(f'data-input="{r.input.ref}"' in page for r in rows)
    assert all(f'data-judgment="{j.id}"' in page for j in brief.judgments)


def test_model_text_with_braces_is_not_a_format_string():
    data = yaml.safe_load(EXAMPLE.read_text())
    data["pathways"][2]["name"] = "{evil} {chance} %(x)s ${y}"
    data["actors"][0]["name"] = "Group {0}"
    b = key_judgments(load_text(yaml.safe_dump(data)), "plain")
    text = b.text()
    assert "{evil} {chance} %(x)s ${y}" in text and "group {0}" in text
    assert "\x00" not in text and all(j.word in j.statement for j in b.judgments if j.word)


def test_the_claim_keeps_a_citation_whose_parentheses_hold_a_semicolon():
    from threatkit.analysis.judgments import _claim_part
    assert _claim_part("Semafor (restriction reported as fact; its terms not public); threatkit judgement") == \
        "Semafor (restriction reported as fact; its terms not public)"
    assert _claim_part("our judgement; Reuters (reported, unconfirmed)") == "Reuters (reported, unconfirmed)"


def test_why_tab_follows_changes_only_while_shown():
    # hidden: a change leaves it waiting (no sweep on every click); shown: it computes at once
    import threatkit
    from threatkit.report import example_path
    from threatkit.widgets import TABS, WHY_PENDING, Explorer

    ex = Explorer(threatkit.load_model(example_path()), scenario="status-quo", samples=100, seed=1)
    assert "Key judgments" in ex.why_view.value                      # computed once at the start
    ex.actor.value = "individual"
    assert ex.why_view.value == WHY_PENDING
    ex.views.selected_index = TABS.index("Why")
    assert "Key judgments" in ex.why_view.value and ex.why_view.value != WHY_PENDING
    shown = ex.why_view.value
    ex.actor.value = "state-linked"
    assert "Key judgments" in ex.why_view.value and ex.why_view.value != shown


def test_a_report_reuses_its_draws_and_judges_as_key_judgments_does():
    """The report hands its Monte Carlo answer and sweep to the brief: same judgments as computed afresh."""
    from threatkit.report import ScenarioReport

    r = ScenarioReport.build(EXAMPLE, "reported", samples=SAMPLES, seed=SEED)
    fresh = key_judgments(load_model(EXAMPLE), "reported", samples=SAMPLES, seed=SEED)
    assert [(j.id, j.statement, j.probability, j.confidence) for j in r.brief.judgments] == \
        [(j.id, j.statement, j.probability, j.confidence) for j in fresh.judgments]
