"""Exports to and imports from other tools' formats: each checked against its
format, with values computed by hand, hostile labels and bad input."""
from __future__ import annotations

import io
import json
import subprocess
import sys
import uuid
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest

from threatkit.analysis.timeline import timeline
from threatkit.cli import main
from threatkit.examples import resolve
from threatkit.interchange import ExportError, export
from threatkit.interchange.adtool_import import read_adtool
from threatkit.interchange.stix import technique_id
from threatkit.model.load import atlas_ids, load_data, load_model
from threatkit.render.matrix import RiskMatrix

FIXTURES = Path(__file__).parent / "fixtures" / "adtool"
ECOSYSTEM = Path(__file__).parent / "examples" / "ecosystem.yaml"
HOSTILE = '<script>alert("x")</script> & \'q\' ]]> <!-- \n javascript:alert(1)'
FORMULA = '=HYPERLINK("http://evil.example","click")'


def tiny_data() -> dict:
    """Two feasible pathways and one that needs weights the tier does not expose.

    steal: and(access 0.8, or(harvest 0.5 x (1 - 0.5 screening), bribe 0.2))
         = 0.8 x (1 - 0.75 x 0.8) = 0.32
    probe: one step, p 0.6.  blocked: p 0 (infeasible).
    """
    return {
        "threatkit": 1, "name": HOSTILE, "include": [],
        "assets": [{"id": "asset", "capability_value": 1.0}],
        "tiers": [{"id": "api", "rank": 1, "exposes": ["outputs"]}],
        "actors": [{"id": "crew", "name": HOSTILE, "kind": "state", "capacity": "OC4", "budget_usd": 1e6,
                    "skill": 4, "source": FORMULA, "confidence": "moderate"}],
        "pathways": [
            {"id": "steal", "name": HOSTILE, "fidelity": 0.5, "atlas": ["AML.T0024.002"],
             "source": FORMULA, "confidence": "low", "tree": {
                 "id": "goal", "label": HOSTILE, "gate": "and", "children": [
                     {"id": "access", "label": "Get access", "p": 0.8, "cost_usd": 100, "time_days": 2, "skill": 2,
                      "atlas": ["AML.T0040"], "description": HOSTILE},
                     {"id": "get", "label": "Get outputs", "gate": "or", "children": [
                         {"id": "harvest", "label": FORMULA, "p": 0.5, "cost_usd": 1000, "time_days": 10,
                          "skill": 3, "atlas": ["AML.T0024.002"], "source": FORMULA},
                         {"id": "bribe", "label": "Bribe an insider", "p": 0.2, "cost_usd": 5000, "time_days": 3,
                          "skill": 2, "atlas": ["AML.T0024.002"]}]}]}},
            {"id": "probe", "name": "Probe", "fidelity": 0.2, "tree": {
                "id": "probe-step", "label": "Probe the API", "p": 0.6, "cost_usd": 10, "time_days": 1,
                "skill": 1, "atlas": ["AML.T0040"]}},
            {"id": "blocked", "name": "Steal weights", "fidelity": 0.9, "tree": {
                "id": "exfil", "label": "Exfiltrate weights", "p": 0.9, "cost_usd": 10, "time_days": 1,
                "skill": 1, "requires": ["weights"], "atlas": ["AML.T0025"]}},
            {"id": "staged", "name": "Staged", "fidelity": 0.3, "tree": {
                "id": "staged-goal", "label": "One step after another", "gate": "sand", "children": [
                    {"id": "first", "label": HOSTILE, "p": 0.9, "cost_usd": 1, "time_days": 1, "skill": 1},
                    {"id": "second", "label": "Then", "p": 0.5, "cost_usd": 2, "time_days": 5, "skill": 3}]}},
        ],
        "controls": [{"id": "screening", "name": FORMULA, "description": HOSTILE, "counters": ["harvest"],
                      "effectiveness": 0.5, "cost_usd": 1000, "atlas": ["AML.M0004"]}],
        "scenarios": [{"id": "base", "name": HOSTILE, "asset": "asset", "actor": "crew", "tier": "api",
                       "controls": ["screening"]}],
    }


@pytest.fixture(scope="module")
def tiny():
    return load_data(tiny_data())


@pytest.fixture(scope="module")
def ecosystem():
    return load_model(ECOSYSTEM)


@pytest.fixture(scope="module")
def mythos():
    return load_model(resolve("example:mythos"))


# ---- navigator ------------------------------------------------------------------------------

def test_navigator_layer_has_the_format_and_scores_by_the_best_feasible_pathway(tiny):
    layer = json.loads(export(tiny, "navigator").data)
    assert layer["domain"] == "atlas-atlas" and layer["versions"] == {"layer": "4.3", "navigator": "4.6.4"}
    assert isinstance(layer["name"], str) and isinstance(layer["description"], str)
    for item in layer["legendItems"]:
        assert set(item) == {"label", "color"} and item["color"].startswith("#")
    assert layer["gradient"]["minValue"] == 0 and layer["gradient"]["maxValue"] == 100
    assert len(layer["gradient"]["colors"]) >= 2
    meta = {m["name"]: m["value"] for m in layer["metadata"]}
    assert meta["atlas_data_version"] == "5.6.0" and meta["model"] == HOSTILE      # hostile text kept as text
    pinned = atlas_ids()
    by_id = {t["techniqueID"]: t for t in layer["techniques"]}
    for t in layer["techniques"]:
        assert pinned[t["techniqueID"]]["kind"] == "technique"
        assert "score" not in t or (isinstance(t["score"], (int, float)) and 0 <= t["score"] <= 100)
        assert all(isinstance(m["name"], str) and isinstance(m["value"], str) for m in t.get("metadata", []))
    steal = 0.8 * (1 - (1 - 0.5 * 0.5) * (1 - 0.2))           # 0.32, by hand
    assert by_id["AML.T0024.002"]["score"] == pytest.approx(100 * steal)
    assert by_id["AML.T0040"]["score"] == pytest.approx(60.0)           # probe beats steal
    assert by_id["AML.T0025"]["score"] == 0 and "no feasible route" in by_id["AML.T0025"]["comment"]
    assert by_id["AML.T0024"]["showSubtechniques"] is True and "score" not in by_id["AML.T0024"]
    assert HOSTILE in by_id["AML.T0024.002"]["comment"] and FORMULA in by_id["AML.T0024.002"]["comment"]


def test_navigator_layer_for_one_pathway(tiny):
    layer = json.loads(export(tiny, "navigator", ("base",), "probe").data)
    assert [t["techniqueID"] for t in layer["techniques"]] == ["AML.T0040"]


# ---- STIX -----------------------------------------------------------------------------------

def test_stix_bundle_parses_and_carries_the_model(tiny):
    import stix2

    text = export(tiny, "stix").data
    assert text == export(tiny, "stix").data                       # deterministic
    bundle = stix2.parse(text, allow_custom=True)
    objects = json.loads(text)["objects"]
    kinds = [o["type"] for o in objects]
    assert kinds.count("report") == 1 and kinds.count("threat-actor") == 1
    assert kinds.count("course-of-action") == 1 and kinds.count("attack-pattern") == 3
    assert len(bundle.objects) == len(objects)

    actor = next(o for o in objects if o["type"] == "threat-actor")
    assert actor["name"] == HOSTILE and actor["threat_actor_types"] == ["nation-state"]
    assert actor["resource_level"] == "organization" and actor["x_threatkit_budget_usd"] == 1e6
    assert actor["x_threatkit_source"] == FORMULA and actor["confidence"] == 50

    pattern = next(o for o in objects if o["type"] == "attack-pattern"
                   and o["external_references"][0]["external_id"] == "AML.T0024.002")
    assert pattern["external_references"] == [{"source_name": "mitre-atlas", "external_id": "AML.T0024.002",
                                               "url": "https://atlas.mitre.org/techniques/AML.T0024.002"}]
    assert pattern["kill_chain_phases"] == [{"kill_chain_name": "mitre-atlas", "phase_name": "exfiltration"}]
    assert pattern["x_threatkit_probability"] == pytest.approx(0.32)
    # the id ATLAS's own STIX gives the technique (AML.T0000 in ATLAS's stix-atlas.json)
    assert technique_id("AML.T0000") == "attack-pattern--c02f812d-59cc-5366-b1aa-7eb05154b772"

    ids = {o["id"]: o for o in objects}
    uses = {(ids[o["source_ref"]]["type"], ids[o["target_ref"]]["external_references"][0]["external_id"])
            for o in objects if o["type"] == "relationship" and o["relationship_type"] == "uses"}
    assert uses == {("threat-actor", "AML.T0024.002"), ("threat-actor", "AML.T0040")}   # not the infeasible T0025
    mitigates = [o for o in objects if o["type"] == "relationship" and o["relationship_type"] == "mitigates"]
    assert [ids[o["target_ref"]]["external_references"][0]["external_id"] for o in mitigates] == ["AML.T0024.002"]
    assert mitigates[0]["x_threatkit_steps"] == ["harvest"]
    coa = next(o for o in objects if o["type"] == "course-of-action")
    assert coa["name"] == FORMULA and coa["description"] == HOSTILE and coa["x_threatkit_effectiveness"] == 0.5
    report = objects[0]
    assert report["type"] == "report" and set(report["object_refs"]) == {o["id"] for o in objects[1:]}
    for o in objects:
        uuid.UUID(o["id"].split("--")[1])
        assert o.get("created", "2026-01-01T00:00:00.000Z") == "2026-01-01T00:00:00.000Z"


def stix_objects(model, *scenarios: str) -> list[dict]:
    import stix2

    text = export(model, "stix", scenarios).data
    assert text == export(model, "stix", scenarios).data                     # deterministic
    objects = json.loads(text)["objects"]
    assert len(stix2.parse(text, allow_custom=True).objects) == len(objects)
    return objects


def tool_uses(objects: list[dict]) -> dict[tuple[str, str], list[str]]:
    """(actor id, substitute id) -> the scenarios of each `uses` relationship from an actor to a tool."""
    ids = {o["id"]: o for o in objects}
    return {(ids[o["source_ref"]]["x_threatkit_id"], ids[o["target_ref"]]["x_threatkit_id"]): o["x_threatkit_scenarios"]
            for o in objects if o["type"] == "relationship" and o["relationship_type"] == "uses"
            and ids[o["target_ref"]]["type"] == "tool"}


def test_stix_substitutes_are_tools_the_actors_use(mythos):
    objects = stix_objects(mythos)
    tools = {o["x_threatkit_id"]: o for o in objects if o["type"] == "tool"}
    assert set(tools) == {"open-weights", "domestic-frontier"}
    wide = tools["open-weights"]
    assert wide["name"] == "Best open-weight model" and wide["description"].startswith("The best openly released")
    assert wide["x_threatkit_kind"] == "substitute" and "x_threatkit_available_to" not in wide   # every actor
    assert wide["x_threatkit_share"][1] == {"months": 3.0, "low": 0.3, "mode": 0.5, "high": 1.0}
    assert [p["months"] for p in wide["x_threatkit_share"]] == [0.0, 3.0, 6.0, 10.0]
    assert wide["x_threatkit_source"].startswith("calibration.md Q3") and wide["confidence"] == 50
    assert tools["domestic-frontier"]["x_threatkit_available_to"] == ["state-linked", "state-priority"]
    uses = tool_uses(objects)
    assert set(uses) == {("state-linked", "open-weights"), ("state-linked", "domestic-frontier"),
                         ("competitor", "open-weights"), ("insider", "open-weights")}
    assert {"unilateral-restriction", "coordinated-restriction"} <= set(uses["state-linked", "domestic-frontier"])
    assert uses["competitor", "open-weights"] == ["competitor-public-api"]
    report = objects[0]
    assert "tool" in report["report_types"] and {t["id"] for t in tools.values()} <= set(report["object_refs"])
    summary = {s["id"]: s for s in report["x_threatkit_scenarios"]}
    (exposure,) = summary["coordinated-restriction"]["exposures"]
    assert exposure["asset"] == "rival-frontier" and exposure["tier"] == "intermediary-api"
    assert summary["coordinated-restriction"]["substitutes"] == ["open-weights", "domestic-frontier"]
    rows = summary["unilateral-restriction"]["pathways"]                  # own access, then the exposure's
    assert {r["asset"] for r in rows} == {"mythos-5", "rival-frontier"} and len(rows) == 2 * len(mythos.pathways)
    coas = {o["name"] for o in objects if o["type"] == "course-of-action"}
    exposure_controls = {mythos.control(c).title for s in mythos.scenarios for e in s.exposures for c in e.controls}
    assert exposure_controls <= coas                                      # an exposure's controls are there too


def test_stix_ecosystem_tools_follow_the_scenarios_substitutes(ecosystem):
    objects = stix_objects(ecosystem)
    tools = {o["x_threatkit_id"]: o for o in objects if o["type"] == "tool"}
    assert tools["domestic-frontier"]["x_threatkit_assets"] == ["frontier"]
    assert tools["open-weights"]["x_threatkit_share"][0] == {"months": 0.0, "low": 0.45, "mode": 0.45, "high": 0.45}
    assert "x_threatkit_source" not in tools["open-weights"] and "confidence" not in tools["open-weights"]
    assert tool_uses(objects) == {("state-linked", "open-weights"): ["coordinated", "unilateral"],
                                  ("state-linked", "domestic-frontier"): ["coordinated", "unilateral"],
                                  ("competitor", "open-weights"): ["competitor-evaluation"]}
    summary = {s["id"]: s for s in objects[0]["x_threatkit_scenarios"]}
    assert summary["unilateral"]["exposures"] == [
        {"asset": "rival", "tier": "public-api", "controls": [], "relative_capability": 0.9}]
    distil = {r["asset"]: r["probability"] for r in summary["unilateral"]["pathways"] if r["pathway"] == "distillation"}
    assert distil == {"frontier": pytest.approx(0.103846, abs=1e-6), "rival": pytest.approx(0.486)}
    # a scenario that counts no substitute (`substitutes: []`) brings no tool
    alone = stix_objects(ecosystem, "coordinated-no-substitutes")
    assert not [o for o in alone if o["type"] == "tool"] and alone[0]["report_types"] == ["threat-actor",
                                                                                         "attack-pattern"]
    assert alone[0]["x_threatkit_scenarios"][0]["substitutes"] == []


# ---- xlsx ------------------------------------------------------------------------------------

def test_xlsx_register_reads_back_with_colours_text_and_timeline(tiny):
    import openpyxl

    data = export(tiny, "xlsx").data
    assert data == export(tiny, "xlsx").data                     # byte-identical on a rerun
    wb = openpyxl.load_workbook(io.BytesIO(data))
    assert wb.sheetnames == ["Risk register", "Controls", "Substitutes"]
    ws = wb["Risk register"]
    assert ws.freeze_panes == "A2" and ws.auto_filter.ref.startswith("A1:")
    header = [c.value for c in ws[1]]
    rows = [dict(zip(header, (c.value for c in row))) for row in ws.iter_rows(min_row=2)]
    by = {r["pathway"]: r for r in rows}
    assert set(by) == {"steal", "probe", "blocked", "staged"}
    assert by["steal"]["probability"] == pytest.approx(0.32) and by["probe"]["probability"] == pytest.approx(0.6)
    assert by["steal"]["scenario_name"] == HOSTILE and by["steal"]["pathway_name"] == HOSTILE
    assert by["steal"]["controls_acting"] == "screening" and by["steal"]["source"] == FORMULA
    assert by["blocked"]["risk"] == "none" and by["blocked"]["likelihood"] == 0
    with np.errstate(invalid="ignore"):          # timeline's own inf - inf warning, not this test's subject
        expected = timeline(tiny, "base").to_dict()
    assert by["steal"]["days_to_durable"] == expected["days_to_durable"]
    assert by["steal"]["expected_capability_365"] == pytest.approx(expected["expected_capability"]["365"])

    matrix = RiskMatrix(tiny.scales, ())
    risk_col = header.index("risk") + 1
    for r, row in enumerate(rows, start=2):
        fill = ws.cell(row=r, column=risk_col).fill.fgColor.rgb[-6:]
        want = "EEEEEE" if row["risk"] == "none" else matrix.colour(row["risk"])[0].lstrip("#").upper()
        assert fill == want
    # a formula-looking label stays text: stored as a string, never a formula
    steal_row = rows.index(by["steal"]) + 2
    cell = ws.cell(row=steal_row, column=header.index("source") + 1)
    assert cell.data_type == "s" and cell.value == FORMULA and cell.quotePrefix
    controls = wb["Controls"]
    chead = [c.value for c in controls[1]]
    crows = [dict(zip(chead, (c.value for c in row))) for row in controls.iter_rows(min_row=2)]
    assert crows[0]["control"] == "screening" and crows[0]["name"] == FORMULA and crows[0]["cost_usd"] == 1000
    assert crows[0]["reduction_per_million_usd"] == pytest.approx(crows[0]["risk_reduction"] / 1000 * 1e6)
    with zip_of(data) as z:
        assert all(info.date_time == (1980, 1, 1, 0, 0, 0) for info in z.infolist())
        assert b"<f>" not in b"".join(z.read(n) for n in z.namelist() if n.startswith("xl/worksheets/"))


def sheet_rows(ws) -> list[dict]:
    header = [c.value for c in ws[1]]
    return [dict(zip(header, (c.value for c in row))) for row in ws.iter_rows(min_row=2)]


def test_xlsx_has_exposure_rows_and_a_substitutes_sheet(ecosystem):
    import openpyxl

    data = export(ecosystem, "xlsx").data
    assert data == export(ecosystem, "xlsx").data
    wb = openpyxl.load_workbook(io.BytesIO(data))
    register = wb["Risk register"]
    assert [c.value for c in register[1]][:5] == ["scenario", "scenario_name", "asset", "pathway", "pathway_name"]
    rows = {(r["scenario"], r["asset"], r["pathway"]): r for r in sheet_rows(register)}
    assert len(rows) == (4 * 2 + 1) * 3                   # four scenarios with an exposure, one without; 3 pathways
    # the ecosystem example's stated assess rows
    assert rows["unilateral", "rival", "distillation"]["probability"] == pytest.approx(0.486)
    assert rows["coordinated", "rival", "distillation"]["probability"] == pytest.approx(0.101779, abs=1e-6)
    assert rows["unilateral", "rival", "direct-use"]["fidelity"] == pytest.approx(0.81)
    assert rows["unilateral", "rival", "direct-use"]["risk"] == "very high"
    # each route shows its own controls: the unrestricted rival none, the restricted one both
    assert rows["unilateral", "frontier", "distillation"]["controls"] == "licensing, rate-limit"
    assert rows["unilateral", "rival", "distillation"]["controls"] is None
    assert rows["unilateral", "rival", "distillation"]["controls_acting"] is None
    assert rows["coordinated", "rival", "distillation"]["controls"] == "licensing, rate-limit"
    assert rows["coordinated", "rival", "distillation"]["controls_acting"] == "licensing, rate-limit"
    assert rows["unilateral", "rival", "distillation"]["days_to_durable"] == 37     # the scenario's, on every row

    subs = sheet_rows(wb["Substitutes"])
    assert [(r["substitute"], r["months"]) for r in subs] == [
        ("open-weights", 0), ("open-weights", 4), ("open-weights", 16),
        ("domestic-frontier", 3), ("domestic-frontier", 12)]
    assert subs[1]["share_low"] == subs[1]["share_mode"] == subs[1]["share_high"] == 0.6
    assert subs[0]["available_to"] == "(every actor)" and subs[0]["assets"] == "(every asset)"
    assert subs[0]["scenarios"] == "unilateral, coordinated, competitor-evaluation"
    assert subs[3]["available_to"] == "state-linked" and subs[3]["assets"] == "frontier"
    assert subs[3]["name"] == "A domestic lab's frontier model" and subs[3]["scenarios"] == "unilateral, coordinated"
    # only what the exported scenarios count
    wb = openpyxl.load_workbook(io.BytesIO(export(ecosystem, "xlsx", ("competitor-evaluation",)).data))
    assert [r["substitute"] for r in sheet_rows(wb["Substitutes"])] == ["open-weights"] * 3


def test_xlsx_substitutes_sheet_for_mythos(mythos):
    import openpyxl

    scenarios = ("unilateral-restriction", "coordinated-restriction")
    wb = openpyxl.load_workbook(io.BytesIO(export(mythos, "xlsx", scenarios).data))
    subs = {(r["substitute"], r["months"]): r for r in sheet_rows(wb["Substitutes"])}
    assert set(subs) == {("open-weights", m) for m in (0, 3, 6, 10)} | {("domestic-frontier", m) for m in (0, 4, 7, 14)}
    assert (subs["open-weights", 3]["share_low"], subs["open-weights", 3]["share_mode"],
            subs["open-weights", 3]["share_high"]) == (0.3, 0.5, 1.0)
    assert subs["domestic-frontier", 4]["available_to"] == "state-linked, state-priority"
    assert subs["domestic-frontier", 4]["confidence"] == "moderate"
    assert subs["domestic-frontier", 4]["source"].startswith("calibration.md Q3")
    assert subs["open-weights", 0]["scenarios"] == ", ".join(scenarios)
    register = sheet_rows(wb["Risk register"])
    assert {r["asset"] for r in register} == {"mythos-5", "rival-frontier"}
    assert len(register) == 2 * 2 * len(mythos.pathways)


def zip_of(data: bytes):
    import zipfile

    return zipfile.ZipFile(io.BytesIO(data))


# ---- ADTool export ---------------------------------------------------------------------------

def test_adtool_export_and_or_tree_with_defences(tiny):
    xml = export(tiny, "adtool", ("base",), "steal").data
    root = ET.fromstring(xml.encode())
    assert root.tag == "adtree"
    top = root.find("node")
    assert top.get("refinement") == "conjunctive" and top.findtext("label") == HOSTILE
    harvest = next(n for n in root.iter("node") if n.findtext("label") == FORMULA)
    params = {p.get("domainId"): p.text for p in harvest.findall("parameter")}
    assert params == {"ProbSucc1": "0.5", "MinCost2": "1000.0", "MinTimePar3": "10.0", "MinSkill4": "3"}
    defence = harvest.findall("node")[-1]                         # ADTool's countermeasure: the last child
    assert defence.get("switchRole") == "yes" and defence.findtext("label") == FORMULA
    assert defence.find("parameter").text == "0.5"
    domains = {d.get("id"): d.findtext("class") for d in root.findall("domain")}
    assert domains["ProbSucc1"] == "lu.uni.adtool.domains.adtpredefined.ProbSucc"
    assert "]]>" not in xml.replace("]]&gt;", "") and "<script>" not in xml


def test_adtool_export_sand_tree(tiny):
    root = ET.fromstring(export(tiny, "adtool", pathway="staged").data.encode())
    assert root.tag == "sandtree" and root.find("node").get("refinement") == "sequential"
    names = {d.findtext("name") or d.findtext("class").rpartition(".")[2] for d in root.findall("domain")}
    assert names == {"ProbSucc", "MinCost", "MinTime", "MinSkill"}
    assert all(p.get("category") == "basic" for p in root.iter("parameter"))   # ADTool2 requires it in a sandtree


def test_adtool_export_keeps_labels_xml_cannot_carry_readable(tiny):
    # The loader refuses control characters (issue 13), so the label goes in after loading:
    # a model built in code may still hold one, and the export must still be XML.
    model = load_data(tiny_data())
    probe = model.pathway("probe")
    probe = probe.model_copy(update={"tree": probe.tree.model_copy(update={"label": "bell\x07 and tab\t"})})
    fields = {k: getattr(model, k) for k in type(model).model_fields}
    model = type(model)(**fields | {"pathways": tuple(probe if p.id == "probe" else p for p in model.pathways)})
    root = ET.fromstring(export(model, "adtool", pathway="probe").data.encode())
    assert root.find("node").findtext("label") == "bell\ufffd and tab\t"


def test_adtool_export_needs_one_pathway(tiny):
    with pytest.raises(ExportError, match="--pathway"):
        export(tiny, "adtool")


# ---- ADTool round trip -----------------------------------------------------------------------

def shape(node) -> tuple:
    """A threatkit tree as (label, gate, values, children), ids left out."""
    values = None if node.gate else (node.p.mode, node.cost_usd.mode, node.time_days.mode, node.skill)
    return node.title, node.gate, values, tuple(shape(c) for c in node.children or ())


@pytest.mark.parametrize("pathway", ["steal", "staged"])
def test_adtool_round_trip_preserves_the_tree(tiny, tmp_path, pathway):
    scenarios = ("base",) if pathway == "steal" else ()
    first = tmp_path / "first.xml"
    first.write_text(export(tiny, "adtool", scenarios, pathway).data)
    out = tmp_path / "imported.yaml"
    assert main(["import", str(first), "-o", str(out)]) == 0
    model = load_model(out)
    imported = model.pathways[0]
    assert shape(imported.tree) == shape(tiny.pathway(pathway).tree)
    if pathway == "steal":
        (control,) = model.controls
        assert control.title == FORMULA and control.effectiveness.mode == 0.5 and control.description == HOSTILE
        assert [imported.nodes[c].title for c in control.counters] == [FORMULA]
        from threatkit.analysis.assess import assess

        assert assess(model, "imported")[imported.id].probability == pytest.approx(0.32)
    again = export(model, "adtool", ("imported",) if pathway == "steal" else (), imported.id).data
    assert again == first.read_text()                             # exporting it again gives the same tree


# ---- ADTool import ---------------------------------------------------------------------------

def test_import_defences_repeated_labels_missing_values_and_difficulty(tmp_path, capsys):
    out = tmp_path / "model.yaml"
    assert main(["import", str(FIXTURES / "defences.xml"), "-o", str(out)]) == 0
    err = capsys.readouterr().err
    model = load_model(out)
    pathway = model.pathways[0]
    nodes = pathway.nodes
    assert pathway.id == "steal-the-model" and pathway.tree.id == "steal-the-model-goal"
    assert pathway.tree.gate == "or" and nodes["insider-route"].gate == "and"
    assert [n.title for n in nodes["outsider-route"].children[:2]] == ["Phish", "Phish"]
    assert {"phish", "phish-2"} <= set(nodes)                       # repeated labels, unique ids
    assert nodes["recruit-insider"].skill == 5 and nodes["copy-weights"].skill == 1 and nodes["phish"].skill == 3
    hsm = nodes["break-the-hsm"]                                     # Infinity: infeasible
    assert hsm.p.mode == 0 and hsm.cost_usd.mode == float("inf") and "Infinity" in hsm.source
    phish = nodes["phish"]                                           # missing values: explicit placeholders
    assert phish.confidence == "low" and "no value given for cost_usd, time_days" in phish.source
    assert phish.cost_usd.mode == 0 and nodes["recruit-insider"].cost_usd.mode == 50000
    assert "step phish (line 36): cost_usd 0, time_days 0" in err

    controls = {c.id: c for c in model.controls}
    assert controls["background-checks"].counters == ("recruit-insider",)
    assert controls["background-checks"].effectiveness.mode == 0.3
    assert controls["egress-filtering"].counters == ("copy-weights",)      # an OR of defence leaves: one each
    assert controls["two-person-rule"].confidence == "low" and controls["two-person-rule"].effectiveness.mode == 0.5
    training = controls["security-training"]                        # AND of defences: 0.8 x 0.5
    assert training.effectiveness.mode == pytest.approx(0.4) and training.counters == ("outsider-route",)
    assert "Threaten the victim" in training.description and "cannot be expressed" in err
    assert "SatProp4" in err                                          # a domain with no threatkit meaning
    assert model.scenarios[0].controls == tuple(controls)
    assert main(["assess", str(out), "--format", "json"]) == 0
    row = json.loads(capsys.readouterr().out)[0]
    insider = 0.4 * 0.7 * 0.9 * 0.5 * 0.5                            # both insider steps, countered
    outsider = (0.2 * 0.6) ** 2 * 0.0                                 # the HSM step is infeasible
    assert row["probability"] == pytest.approx(1 - (1 - insider) * (1 - outsider))


def test_import_adtool1_file_without_categories(tmp_path):
    imported = read_adtool(FIXTURES / "adtool1.xml")
    tree = imported.data["pathways"][0]["tree"]
    eavesdrop = tree["children"][0]["children"][0]
    assert (eavesdrop["p"], eavesdrop["time_days"]) == (0.5, 10.0) and tree["gate"] == "and"
    load_data(imported.data)


def test_import_keeps_hostile_labels_as_text(tmp_path):
    label = HOSTILE.replace("\n", " ") + " " + FORMULA
    root = ET.Element("adtree")
    node = ET.SubElement(root, "node", refinement="disjunctive")
    ET.SubElement(node, "label").text = label
    ET.SubElement(ET.SubElement(node, "node", refinement="disjunctive"), "label").text = HOSTILE
    f = tmp_path / "hostile.xml"
    f.write_bytes(ET.tostring(root))
    out = tmp_path / "hostile.yaml"
    assert main(["import", str(f), "-o", str(out)]) == 0
    model = load_model(out)
    assert model.pathways[0].name == label and model.pathways[0].tree.children[0].title == HOSTILE


def error_line(tmp_path, capsys, content: str | bytes) -> str:
    f = tmp_path / "bad.xml"
    f.write_bytes(content.encode() if isinstance(content, str) else content)
    out = tmp_path / "out.yaml"
    assert main(["import", str(f), "-o", str(out)]) == 1
    assert not out.exists()
    err = capsys.readouterr().err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert err.startswith(f"{f}:")
    return err.strip().removeprefix(f"{f}:")


LEAF = '<node refinement="disjunctive"><label>a</label></node>'


@pytest.mark.parametrize("content, line, words", [
    ("<adtree>\n<node refinement='disjunctive'>\n<label>a</label>\n</adtree>", 4, "malformed XML"),
    ("<?xml version='1.0'?>\n<attacktree>" + LEAF + "</attacktree>", 2, "expected <adtree> or <sandtree>"),
    ("<adtree>\n<node refinement='disjunctive'><label>a</label>\n<node refinement='sequential'><label>b</label>"
     "</node></node></adtree>", 3, "refinement 'sequential'"),
    ("<sandtree>\n<node refinement='parallel'><label>a</label></node></sandtree>", 2, "refinement 'parallel'"),
    ("<adtree>\n<node refinement='disjunctive'>\n<label>a</label>\n<parameter domainId='P1'>2.5</parameter>"
     "</node><domain id='P1'><class>lu.uni.adtool.domains.adtpredefined.ProbSucc</class></domain></adtree>",
     4, "expected a probability"),
    ("<adtree>\n<node refinement='disjunctive' switchRole='yes'><label>a</label></node></adtree>", 2, "defence"),
    ('<?xml version="1.0"?>\n<!DOCTYPE adtree [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n'
     '<adtree><node refinement="disjunctive"><label>&xxe;</label></node></adtree>', 2, "refused"),
    ('<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]>\n'
     '<adtree><node refinement="disjunctive"><label>&lol2;</label></node></adtree>', 2, "refused"),
    ("<adtree>\n" + "<node refinement='conjunctive'><label>x</label>\n" * 300 + "</node>" * 300 + "</adtree>",
     200, "levels deep"),
])
def test_import_errors_are_one_line_with_file_and_line(tmp_path, capsys, content, line, words):
    message = error_line(tmp_path, capsys, content)
    assert message.startswith(f"{line}: ") and words in message


def test_export_errors_via_the_cli(tmp_path, capsys):
    model = tmp_path / "tiny.yaml"
    model.write_text(json.dumps(tiny_data()))
    out = tmp_path / "x.xml"
    assert main(["export", str(model), "--format", "adtool", "-o", str(out)]) == 1
    assert "--pathway" in capsys.readouterr().err and not out.exists()
    assert main(["export", str(model), "--format", "stix", "--scenario", "nope", "-o", str(out)]) == 1
    assert "unknown scenario 'nope'" in capsys.readouterr().err
    assert main(["export", str(model), "--format", "navigator", "-o", str(out)]) == 0
    assert json.loads(out.read_text())["domain"] == "atlas-atlas"


def test_import_threatkit_stays_light():
    code = ("import sys, threatkit, threatkit.cli; "
            "print(sorted(m for m in ('openpyxl', 'defusedxml', 'stix2', 'pandas', 'threatkit.interchange.xlsx') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
