"""The built-in catalog, the example model, and the catalog/schema/validate commands."""
import json
from pathlib import Path

import pytest
import yaml

from threatkit.cli import main
from threatkit.model.load import atlas_ids, builtin_model, load_model

ROOT = Path(__file__).resolve().parents[1]
MODEL_FILES = sorted(ROOT.glob("data/*.yaml")) + sorted(ROOT.glob("data/examples/*.yaml"))
NUMBER_KEYS = {"capability_value", "rank", "queries_per_day", "duration_days", "budget_usd", "skill", "accounts",
               "fidelity", "p", "cost_usd", "time_days", "queries", "effectiveness",
               "detection_per_million_queries", "caps_queries_per_day", "caps_accounts",
               "transfer", "independent_months"}    # a transfer curve's points and own-development months too


def test_every_model_file_in_data_validates(capsys):
    assert len(MODEL_FILES) >= 7
    assert main(["validate", *map(str, MODEL_FILES)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert len(out) == len(MODEL_FILES) and all(": ok: " in line for line in out)


def _entries_with_numbers(data: dict):
    for kind in ("assets", "tiers", "actors", "pathways", "controls"):
        for entry in data.get(kind, []) or []:
            yield kind, entry
            if kind == "pathways":
                stack = [entry["tree"]]
                while stack:
                    node = stack.pop()
                    stack.extend(node.get("children", []))
                    if "gate" not in node:
                        yield "step", node


@pytest.mark.parametrize("path", [p for p in MODEL_FILES if p.parent.name == "data"], ids=lambda p: p.name)
def test_every_catalog_number_cites_a_source(path):
    data = yaml.safe_load(path.read_text())
    for kind, entry in _entries_with_numbers(data):
        if NUMBER_KEYS & set(entry):
            assert entry.get("source"), f"{path.name}: {kind} {entry['id']} has numbers but no source"
            if entry["source"].lower().startswith("threatkit judgement"):   # a pure judgement call
                assert entry.get("confidence") == "low", f"{kind} {entry['id']}: a judgement call is confidence: low"


@pytest.mark.parametrize("path", [p for p in MODEL_FILES if p.parent.name == "data"], ids=lambda p: p.name)
def test_every_catalog_pathway_states_persistence_and_access(path):
    # `persistent` and `needs_access` both default to false: the catalog says which it means
    for entry in yaml.safe_load(path.read_text()).get("pathways", []) or []:
        assert isinstance(entry.get("persistent"), bool), f"{path.name}: pathway {entry['id']} must state persistent"
        assert isinstance(entry.get("needs_access"), bool), f"{path.name}: pathway {entry['id']} must state needs_access"
        if "transfer" in entry:
            assert entry.get("confidence"), f"pathway {entry['id']}: a transfer curve says how sure it is"


def test_every_control_counters_a_step_or_pathway_that_exists():
    m = builtin_model()
    known = {p.id for p in m.pathways} | {n.id for p in m.pathways for n in p.tree.walk()}
    for c in m.controls:
        assert set(c.counters) <= known, f"control {c.id} counters {sorted(set(c.counters) - known)}"
        if c.counters:
            assert any(n in known for n in c.counters)


def test_catalog_has_the_required_entries():
    m = builtin_model()
    tiers = {t.id for t in m.tiers}
    assert {"one-time-evaluation", "public-api", "enterprise-contract", "dedicated-instance", "fine-tuning-api",
            "internal-tooling", "weights"} <= tiers
    kinds = {a.kind for a in m.actors}
    assert {"individual", "intermediary", "competitor", "lab", "insider", "state"} <= kinds
    assert all(a.capacity and a.budget_usd.mode > 0 and a.accounts.mode >= 1 for a in m.actors)
    assert {"direct-use", "distillation", "broad-imitation", "logit-distillation", "failure-mode-probing",
            "fine-tuning-abuse", "router-training", "weight-exfiltration"} <= {p.id for p in m.pathways}
    for p in m.pathways:
        steps = [n for n in p.tree.walk() if n.is_leaf]
        assert any(n.atlas for n in steps), f"pathway {p.id} has no ATLAS ids on its steps"
    assert len(m.controls) >= 10
    assert {"rate-limit", "customer-screening", "intermediary-screening", "anomaly-detection", "logprob-hiding",
            "output-watermarking", "contractual-terms", "export-licensing", "fine-tuning-data-screening",
            "weight-security-sl3"} <= {c.id for c in m.controls}


def test_example_model_has_the_two_policy_scenarios():
    m = load_model(ROOT / "data" / "examples" / "mythos.yaml")
    quo, restricted = m.scenario("status-quo"), m.scenario("restricted-export")
    assert m.actor(quo.actor).kind == "state" and quo.actor == restricted.actor
    assert set(quo.controls) < set(restricted.controls)
    assert "export-licensing" in restricted.controls


def test_pinned_atlas_list():
    ids = atlas_ids()
    assert ids["AML.T0024.002"]["name"] == "Extract AI Model"
    assert ids["AML.T0040"]["kind"] == "technique" and ids["AML.M0004"]["kind"] == "mitigation"
    text = (ROOT / "data" / "atlas" / "atlas.yaml").read_text()
    assert "Apache License, Version 2.0" in text and "MITRE" in text


def test_catalog_command_table_and_json(capsys):
    assert main(["catalog"]) == 0
    assert "tiers" in capsys.readouterr().out
    assert main(["catalog", "tiers"]) == 0
    table = capsys.readouterr().out.splitlines()
    assert table[0].split()[:3] == ["id", "name", "rank"] and any(line.startswith("public-api ") for line in table)
    assert main(["catalog", "actors", "--format", "json"]) == 0
    actors = json.loads(capsys.readouterr().out)
    state = next(a for a in actors if a["id"] == "state-linked")
    assert state["accounts"] == 24000 and state["capacity"] == "OC4"
    assert main(["catalog", "scenarios", "--model", str(ROOT / "data" / "examples" / "mythos.yaml")]) == 0
    assert "restricted-export" in capsys.readouterr().out


def test_schema_is_json_schema_that_accepts_the_example(capsys):
    import jsonschema

    assert main(["schema"]) == 0
    schema = json.loads(capsys.readouterr().out)
    assert schema["title"] == "threatkit model file"
    jsonschema.Draft202012Validator.check_schema(schema)
    for path in MODEL_FILES:
        jsonschema.validate(yaml.safe_load(path.read_text()), schema)
    bad = {"threatkit": 1, "tiers": [{"id": "x", "rank": 1, "colour": "red"}]}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, schema)


def test_catalog_lists_every_kind_without_a_traceback(capsys):
    from threatkit.model.values import KINDS

    assert main(["catalog"]) == 0
    counts = {line.split()[0]: line.split()[1] for line in capsys.readouterr().out.splitlines()[1:]}
    assert counts["substitutes"] == "2"
    for kind in KINDS:
        assert main(["catalog", kind]) == 0, kind
        assert capsys.readouterr().out.split()[0] == "id", kind


def test_catalog_substitutes_table_and_json(capsys):
    assert main(["catalog", "substitutes"]) == 0
    table = capsys.readouterr().out.splitlines()
    assert table[0].split() == ["id", "name", "share", "available_to", "assets", "confidence"]
    row = next(line for line in table if line.startswith("open-weights "))
    assert "0:0, 3:0.3-0.5-1, 6:0.6-1-1, 10:1" in row       # a range as low-mode-high
    assert "state-linked,state-priority" in next(line for line in table if line.startswith("domestic-frontier "))

    assert main(["catalog", "substitutes", "--format", "json"]) == 0
    entries = {e["id"]: e for e in json.loads(capsys.readouterr().out)}
    assert {"open-weights", "domestic-frontier"} <= set(entries)
    for sid in ("open-weights", "domestic-frontier"):
        assert entries[sid]["source"] and entries[sid]["confidence"]
    assert entries["open-weights"]["share"][0] == [0.0, 0.0]
    assert entries["open-weights"]["share"][1] == [3.0, {"low": 0.3, "mode": 0.5, "high": 1.0}]
    assert "available_to" not in entries["open-weights"]                 # absent: every actor
    assert entries["domestic-frontier"]["available_to"] == ["state-linked", "state-priority"]


def test_every_builtin_substitute_cites_calibration_and_confidence():
    substitutes = builtin_model().substitutes
    assert substitutes
    for x in substitutes:
        assert x.source and "calibration.md" in x.source, f"substitute {x.id}: source must cite calibration.md"
        assert x.confidence in ("low", "moderate", "high"), f"substitute {x.id} states no confidence"
