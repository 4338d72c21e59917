"""MITRE ATLAS techniques as the exports show them, and which pathways of the
selected scenarios use each one, with what probability."""
from __future__ import annotations

from dataclasses import dataclass

from threatkit.analysis.assess import assess
from threatkit.interchange.selection import Selection
from threatkit.model.load import atlas_ids, atlas_version
from threatkit.model.values import Node, Pathway

SOURCE_NAME = KILL_CHAIN = "mitre-atlas"     # as ATLAS's own STIX names its references and kill chain
URL = "https://atlas.mitre.org/{section}/{id}"
SECTIONS = {"technique": "techniques", "mitigation": "mitigations", "tactic": "tactics", "case-study": "studies"}


def version() -> str:
    return atlas_version()


def entry(atlas_id: str) -> dict:
    return atlas_ids()[atlas_id]


def url(atlas_id: str) -> str:
    return URL.format(section=SECTIONS[entry(atlas_id)["kind"]], id=atlas_id)


def is_technique(atlas_id: str) -> bool:
    return entry(atlas_id)["kind"] == "technique"


def parent(technique_id: str) -> str | None:
    """AML.T0024.002 -> AML.T0024; None for a technique that is not a sub-technique."""
    head, _, tail = technique_id.rpartition(".")
    return head if tail.isdigit() and head.count(".") == 1 else None


def phases(technique_id: str) -> list[str]:
    """The tactic shortnames (kill-chain phases) of a technique."""
    return [entry(t)["shortname"] for t in entry(technique_id).get("tactics", ())]


def reference(atlas_id: str) -> dict:
    return {"source_name": SOURCE_NAME, "url": url(atlas_id), "external_id": atlas_id}


@dataclass(frozen=True)
class Use:
    """One pathway of one scenario using a technique, at some of its steps."""

    scenario: str
    actor: str
    tier: str
    pathway: Pathway
    steps: tuple[Node, ...]          # empty when only the pathway as a whole names the technique
    probability: float

    @property
    def feasible(self) -> bool:
        return self.probability > 0

    def describe(self) -> str:
        where = f"steps {', '.join(f'{s.title} ({s.id})' for s in self.steps)}" if self.steps else "the pathway as a whole"
        return (f"{self.scenario}: {self.pathway.title} ({self.pathway.id}), p = {self.probability:.3g}, "
                f"at {where}")


def techniques_of(pathway: Pathway) -> dict[str, tuple[Node, ...]]:
    """Technique id -> the steps of the pathway that name it (the pathway's own ids with no steps)."""
    found: dict[str, list[Node]] = {t: [] for t in pathway.atlas if is_technique(t)}
    for node in pathway.tree.walk():
        for t in node.atlas:
            if is_technique(t):
                found.setdefault(t, []).append(node)
    return {t: tuple(nodes) for t, nodes in found.items()}


def technique_uses(sel: Selection) -> dict[str, list[Use]]:
    """Technique id -> every use by a selected pathway in a selected scenario (sorted by id)."""
    uses: dict[str, list[Use]] = {}
    ids = tuple(p.id for p in sel.pathways)
    for scenario in sel.scenarios:
        assessment = assess(sel.model, scenario, pathways=ids)
        for pa in assessment.pathways:
            pathway = sel.model.pathway(pa.pathway)
            for technique, steps in techniques_of(pathway).items():
                uses.setdefault(technique, []).append(
                    Use(scenario.id, pa.actor, pa.tier, pathway, steps, pa.probability))
    return dict(sorted(uses.items()))


def best(uses: list[Use]) -> float:
    """The highest probability of a feasible pathway among the uses (0 when none is feasible)."""
    return max((u.probability for u in uses if u.feasible), default=0.0)
