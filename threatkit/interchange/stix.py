"""A STIX 2.1 bundle: the scenarios' actors, the ATLAS techniques their
pathways use, the controls, the substitutes the actors hold without access
(as tools), who uses what and what mitigates it, and one report that refers
to them all (with each scenario's exposures: the other models its actor
reaches).

Plain JSON built here (the `stix2` library is an optional extra the tests
validate with). Deterministic: ids are uuid5 of the model's ids, timestamps
fixed. A technique's id is the one ATLAS's own STIX gives it (uuid5 in
ATLAS's namespace), so that a platform holding ATLAS merges the two.
threatkit's own numbers go in x_threatkit_* properties.
"""
from __future__ import annotations

import json
import math
import uuid

from threatkit.analysis.assess import assess
from threatkit.interchange import atlas
from threatkit.interchange.selection import ExportError, Exported, Selection, fixed_time
from threatkit.model.values import Actor, Control, Pathway, Quantity, Substitute

NAMESPACE = uuid.UUID("5b0f3c3e-7c51-4f7e-9a0e-1d6f4f1c2a77")        # threatkit's, fixed once
ATLAS_NAMESPACE = uuid.UUID("atlas.mitre.org.".encode().hex())       # ATLAS's STIX generator's

# actor kind -> threat-actor-type-ov; RAND operational capacity -> attack-resource-level-ov
ACTOR_TYPES = {"individual": ["hacker"], "intermediary": ["criminal"], "competitor": ["competitor"],
               "lab": ["competitor"], "insider": ["insider-disgruntled"], "state": ["nation-state"]}
RESOURCE_LEVELS = {"OC1": "individual", "OC2": "club", "OC3": "team", "OC4": "organization", "OC5": "government"}
# skill 1..5 -> threat-actor-sophistication-ov
SOPHISTICATION = {1: "minimal", 2: "intermediate", 3: "advanced", 4: "expert", 5: "innovator"}
# threatkit confidence -> STIX confidence (the low/med/high scale of STIX 2.1 appendix A)
CONFIDENCE = {"low": 15, "moderate": 50, "high": 85}


def stix_id(kind: str, *key: str) -> str:
    return f"{kind}--{uuid.uuid5(NAMESPACE, '/'.join((kind, *key)))}"


def technique_id(technique: str) -> str:
    return f"attack-pattern--{uuid.uuid5(ATLAS_NAMESPACE, technique)}"


def number(q: Quantity | None) -> float | None:
    """A quantity's most likely value; infinity (not JSON) as None."""
    if q is None:
        return None
    return q.mode if math.isfinite(q.mode) else None


def _common(kind: str, ident: str, when: str) -> dict:
    return {"type": kind, "spec_version": "2.1", "id": ident, "created": when, "modified": when}


def _provenance(entry) -> dict:
    out = {}
    if entry.confidence:
        out["confidence"] = CONFIDENCE[entry.confidence]
        out["x_threatkit_confidence"] = entry.confidence
    if entry.source:
        out["x_threatkit_source"] = entry.source
    return out


def _clean(obj: dict) -> dict:
    return {k: v for k, v in obj.items() if v is not None and v != [] and v != ""}


def threat_actor(actor: Actor, when: str) -> dict:
    return _clean({
        **_common("threat-actor", stix_id("threat-actor", actor.id), when),
        "name": actor.title, "description": actor.description,
        "threat_actor_types": ACTOR_TYPES[actor.kind],
        "resource_level": RESOURCE_LEVELS.get(actor.capacity),     # capacity is optional: then none
        "sophistication": SOPHISTICATION[actor.skill],
        "x_threatkit_id": actor.id, "x_threatkit_kind": actor.kind, "x_threatkit_capacity": actor.capacity,
        "x_threatkit_budget_usd": number(actor.budget_usd), "x_threatkit_skill": actor.skill,
        "x_threatkit_accounts": number(actor.accounts), **_provenance(actor),
    })


def attack_pattern(technique: str, uses: list[atlas.Use], when: str) -> dict:
    entry = atlas.entry(technique)
    return _clean({
        **_common("attack-pattern", technique_id(technique), when),
        "name": entry["name"],
        "external_references": [atlas.reference(technique)],
        "kill_chain_phases": [{"kill_chain_name": atlas.KILL_CHAIN, "phase_name": p} for p in atlas.phases(technique)],
        "x_threatkit_probability": atlas.best(uses),
        "x_threatkit_uses": [{
            "scenario": u.scenario, "actor": u.actor, "tier": u.tier, "pathway": u.pathway.id,
            "probability": u.probability,
            "steps": [{"id": s.id, "label": s.title, "gate": _parent_gate(u.pathway, s.id)} for s in u.steps],
        } for u in uses],
    })


def _parent_gate(pathway: Pathway, node_id: str) -> str | None:
    """The gate that combines this step with its siblings (None for the root)."""
    for node in pathway.tree.walk():
        if any(c.id == node_id for c in node.children or ()):
            return node.gate
    return None


def course_of_action(control: Control, when: str) -> dict:
    return _clean({
        **_common("course-of-action", stix_id("course-of-action", control.id), when),
        "name": control.title, "description": control.description,
        "external_references": [atlas.reference(m) for m in control.atlas],
        "x_threatkit_id": control.id, "x_threatkit_counters": list(control.counters),
        "x_threatkit_effectiveness": number(control.effectiveness),
        "x_threatkit_detection_per_million_queries": number(control.detection_per_million_queries),
        "x_threatkit_caps_queries_per_day": number(control.caps_queries_per_day),
        "x_threatkit_caps_accounts": number(control.caps_accounts),
        "x_threatkit_cost_usd": number(control.cost_usd), **_provenance(control),
    })


def tool(substitute: Substitute, when: str) -> dict:
    """A substitute (an open-weight release, a domestic lab's model): software the actor uses."""
    return _clean({
        **_common("tool", stix_id("tool", substitute.id), when),
        "name": substitute.title, "description": substitute.description,
        "x_threatkit_id": substitute.id, "x_threatkit_kind": "substitute",
        "x_threatkit_share": [{"months": months, "low": q.low, "mode": q.mode, "high": q.high}
                              for months, q in substitute.share],
        "x_threatkit_available_to": None if substitute.available_to is None else list(substitute.available_to),
        "x_threatkit_assets": None if substitute.assets is None else list(substitute.assets),
        **_provenance(substitute),
    })


def mitigated(control: Control, pathways: tuple[Pathway, ...]) -> dict[str, list[str]]:
    """Technique id -> the steps it names that the control counters (a pathway id: all its steps)."""
    found: dict[str, list[str]] = {}
    for pathway in pathways:
        for target in control.counters:
            if target == pathway.id:
                nodes = list(pathway.tree.walk())
            elif target in pathway.nodes:
                nodes = list(pathway.nodes[target].walk())
            else:
                continue
            for node in nodes:
                for t in node.atlas:
                    if atlas.is_technique(t) and node.id not in found.setdefault(t, []):
                        found[t].append(node.id)
    return found


def relationship(kind: str, source: str, target: str, when: str, key: tuple[str, ...], **extra) -> dict:
    return {**_common("relationship", stix_id("relationship", kind, *key), when), "relationship_type": kind,
            "source_ref": source, "target_ref": target, **extra}


def bundle(sel: Selection) -> dict:
    model = sel.model
    when = fixed_time().strftime("%Y-%m-%dT%H:%M:%S.000Z")
    uses = atlas.technique_uses(sel)
    actors = {s.actor: model.actor(s.actor) for s in sel.scenarios}
    controls = {c: model.control(c) for s in sel.scenarios
                for c in (*s.controls, *(c for e in s.exposures for c in e.controls))}
    held: dict[tuple[str, str], list[str]] = {}        # (actor, substitute) -> the scenarios it applies in
    for s in sel.scenarios:
        for x in model.substitutes_of(s):
            held.setdefault((s.actor, x.id), []).append(s.id)
    substitutes = {x: model.substitute(x) for _, x in held}

    objects = [threat_actor(a, when) for a in sorted(actors.values(), key=lambda a: a.id)]
    objects += [attack_pattern(t, u, when) for t, u in uses.items()]
    objects += [course_of_action(c, when) for c in sorted(controls.values(), key=lambda c: c.id)]
    objects += [tool(x, when) for x in sorted(substitutes.values(), key=lambda x: x.id)]

    relations = []
    for technique, its_uses in uses.items():
        for actor_id in sorted({u.actor for u in its_uses if u.feasible}):
            mine = [u for u in its_uses if u.feasible and u.actor == actor_id]
            relations.append(relationship(
                "uses", stix_id("threat-actor", actor_id), technique_id(technique), when, (actor_id, technique),
                x_threatkit_probability=max(u.probability for u in mine),
                x_threatkit_scenarios=sorted({u.scenario for u in mine}),
                x_threatkit_tiers=sorted({u.tier for u in mine}),
                x_threatkit_pathways=sorted({u.pathway.id for u in mine})))
    for control in sorted(controls.values(), key=lambda c: c.id):
        for technique, steps in sorted(mitigated(control, sel.pathways).items()):
            if technique in uses:
                relations.append(relationship(
                    "mitigates", stix_id("course-of-action", control.id), technique_id(technique), when,
                    (control.id, technique), x_threatkit_steps=steps))
    for (actor_id, substitute_id), scenarios in sorted(held.items()):
        relations.append(relationship(
            "uses", stix_id("threat-actor", actor_id), stix_id("tool", substitute_id), when,
            (actor_id, "tool", substitute_id), x_threatkit_scenarios=sorted(scenarios)))
    objects += relations

    scenario_ids = tuple(s.id for s in sel.scenarios)
    report = _clean({
        **_common("report", stix_id("report", *scenario_ids), when),
        "name": f"threatkit: {model.name or 'threat model'}",
        "description": f"Capability-transfer threat model, scenarios {', '.join(scenario_ids)} (threatkit assess).",
        "report_types": ["threat-actor", "attack-pattern"] + (["tool"] if substitutes else []),
        "published": when,
        "object_refs": [o["id"] for o in objects],
        "x_threatkit_scenarios": [_scenario_summary(sel, s) for s in sel.scenarios],
    })
    return {"type": "bundle", "id": stix_id("bundle", *scenario_ids), "objects": [report, *objects]}


def _scenario_summary(sel: Selection, scenario) -> dict:
    assessment = assess(sel.model, scenario, pathways=tuple(p.id for p in sel.pathways))
    return {"id": scenario.id, "asset": scenario.asset, "actor": scenario.actor, "tier": scenario.tier,
            "controls": list(scenario.controls),
            "exposures": [{"asset": e.asset, "tier": e.tier, "controls": list(e.controls),
                           "relative_capability": number(e.relative_capability)} for e in scenario.exposures],
            "substitutes": [x.id for x in sel.model.substitutes_of(scenario)],
            # one row per route: the scenario's own asset, then each exposure's
            "pathways": [{k: row[k] for k in ("asset", "pathway", "probability", "cost_usd", "time_days",
                                              "likelihood", "impact", "risk")} for row in assessment.rows()]}


def export(sel: Selection) -> Exported:
    if not sel.scenarios:
        raise ExportError("the model has no scenarios; a bundle describes scenarios' actors and pathways")
    return Exported(json.dumps(bundle(sel), indent=2, ensure_ascii=False) + "\n")
