"""An ATLAS Navigator layer: the ATLAS techniques the scenarios' pathways use,
each scored 100 x the highest probability of a feasible pathway that uses it.

The layer format is ATT&CK Navigator's (layer 4.3, Navigator 4.6.4), with the
domain "atlas-atlas", as ATLAS's own generated layers are. Written by hand:
mitreattack-python's layer classes reject the atlas-atlas domain.
"""
from __future__ import annotations

import json

from threatkit.interchange import atlas
from threatkit.interchange.selection import ExportError, Exported, Selection

VERSIONS = {"layer": "4.3", "navigator": "4.6.4"}
DOMAIN = "atlas-atlas"
GRADIENT = ["#ffffff", "#ffb74d", "#e53935"]     # score 0 (no feasible pathway) .. 100 (certain)


def score(probability: float) -> float:
    return round(100.0 * probability, 2)


def technique_entries(uses: dict[str, list[atlas.Use]]) -> list[dict]:
    entries: dict[str, dict] = {}
    for technique, its_uses in uses.items():
        feasible = [u for u in its_uses if u.feasible]
        lines = [u.describe() for u in sorted(feasible, key=lambda u: -u.probability)]
        if len(feasible) < len(its_uses):
            lines.append("no feasible route: " + "; ".join(u.describe() for u in its_uses if not u.feasible))
        entries[technique] = {
            "techniqueID": technique,
            "score": score(atlas.best(its_uses)),
            "comment": "\n".join(lines),
            "enabled": True,
            "metadata": [{"name": "pathways", "value": ", ".join(sorted({u.pathway.id for u in its_uses}))},
                         {"name": "scenarios", "value": ", ".join(sorted({u.scenario for u in its_uses}))}],
            "showSubtechniques": False,
        }
    for technique in list(entries):              # open a used sub-technique's parent, as ATLAS's layers do
        owner = atlas.parent(technique)
        if owner is None:
            continue
        entries.setdefault(owner, {"techniqueID": owner, "enabled": True})["showSubtechniques"] = True
    return [entries[k] for k in sorted(entries)]


def layer(sel: Selection) -> dict:
    model = sel.model
    uses = atlas.technique_uses(sel)
    name = model.name or "threat model"
    scenarios = ", ".join(s.id for s in sel.scenarios)
    return {
        "name": f"threatkit: {name}",
        "versions": dict(VERSIONS),
        "domain": DOMAIN,
        "description": (f"ATLAS techniques used by the transfer pathways of {scenarios}, each scored 100 x the "
                        "highest probability of a feasible pathway that uses it (threatkit assess)."),
        "filters": {"platforms": ["ATLAS"]},
        "sorting": 3,                     # by score, highest first
        "layout": {"layout": "side", "aggregateFunction": "max", "showID": True, "showName": True,
                   "showAggregateScores": True, "countUnscored": False},
        "hideDisabled": False,
        "techniques": technique_entries(uses),
        "gradient": {"colors": list(GRADIENT), "minValue": 0, "maxValue": 100},
        "legendItems": [
            {"label": "no feasible pathway (score 0)", "color": GRADIENT[0]},
            {"label": "probability 0.5 (score 50)", "color": GRADIENT[1]},
            {"label": "probability 1 (score 100)", "color": GRADIENT[2]},
        ],
        "metadata": [
            {"name": "atlas_data_version", "value": atlas.version()},
            {"name": "model", "value": name},
            {"name": "scenarios", "value": scenarios},
        ],
        "showTacticRowBackground": False,
        "tacticRowBackground": "#dddddd",
        "selectTechniquesAcrossTactics": True,
        "selectSubtechniquesWithParent": False,
    }


def export(sel: Selection) -> Exported:
    if not sel.scenarios:
        raise ExportError("the model has no scenarios; a layer scores techniques by a scenario's assessment")
    out = layer(sel)
    warnings = () if out["techniques"] else ("no selected pathway names an ATLAS technique: the layer is empty",)
    return Exported(json.dumps(out, indent=2, ensure_ascii=False) + "\n", warnings)
