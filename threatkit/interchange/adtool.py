"""One pathway as ADTool2 XML: `<adtree>` for and/or trees, `<sandtree>` (with
refinement="sequential") when the tree has a sand gate.

A leaf's probability, cost, time and skill become ADTool domain parameters.
The domains are chosen so that ADTool computes the root as threatkit does:
ProbSucc, MinCost, MinTimePar (threatkit's `and` takes the longest child,
which is ADTool's parallel time; MinTimeSeq would add them) and MinSkill on an
adtree; on a sandtree, whose only predefined domain is MinTime, custom domains
with threatkit's rules for the other three. With --scenario, the scenario's
controls that lower a step's p become defence nodes (switchRole="yes") with
their effectiveness as ProbSucc: ADTool's countermeasure rule p x (1 - e) is
threatkit's. A sandtree has no defence nodes.

ADTool keys a node's values by its label, so two steps with one label but
different values get their id appended to the label.
"""
from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass

from threatkit.interchange.selection import ExportError, Exported, Selection
from threatkit.model.values import Control, Node, Pathway

REFINEMENTS = {"or": "disjunctive", "and": "conjunctive", "sand": "sequential"}
ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")     # not allowed in XML 1.0


@dataclass(frozen=True)
class Domain:
    """An ADTool domain the export writes: its XML id, class and (for a custom domain) its rules."""

    attribute: str                     # the threatkit leaf attribute it carries
    xml_id: str
    cls: str
    custom: dict[str, str] | None = None
    range: str | None = None


ADTREE_DOMAINS = (
    Domain("p", "ProbSucc1", "lu.uni.adtool.domains.adtpredefined.ProbSucc"),
    Domain("cost_usd", "MinCost2", "lu.uni.adtool.domains.adtpredefined.MinCost"),
    Domain("time_days", "MinTimePar3", "lu.uni.adtool.domains.adtpredefined.MinTimePar"),
    Domain("skill", "MinSkill4", "lu.uni.adtool.domains.adtpredefined.MinSkill", range="5"),
)
SANDTREE_DOMAINS = (
    Domain("p", "SandRealDomain1", "lu.uni.adtool.domains.custom.SandRealDomain",
           {"name": "ProbSucc", "description": "Probability of success (threatkit p)",
            "or": "x + y - x * y", "and": "x * y", "sand": "x * y", "defaultValue": "0.0"}),
    Domain("cost_usd", "SandRealDomain2", "lu.uni.adtool.domains.custom.SandRealDomain",
           {"name": "MinCost", "description": "Minimal cost in USD (threatkit cost_usd)",
            "or": "min(x, y)", "and": "x + y", "sand": "x + y", "defaultValue": "Infinity"}),
    Domain("time_days", "MinTime3", "lu.uni.adtool.domains.sandpredefined.MinTime"),
    Domain("skill", "SandIntDomain4", "lu.uni.adtool.domains.custom.SandIntDomain",
           {"name": "MinSkill", "description": "Minimal skill needed, 1..5 (threatkit skill)",
            "or": "min(x, y)", "and": "max(x, y)", "sand": "max(x, y)", "defaultValue": "1"}),
)


def text(value: str) -> str:
    """A label as XML 1.0 can carry it (characters it forbids become U+FFFD); escaping is ElementTree's."""
    return ILLEGAL.sub("\ufffd", value)


def java_number(x: float, integer: bool = False) -> str:
    """As ADTool writes and reads numbers (Java's Double.toString / parseDouble)."""
    if math.isinf(x):
        return "Infinity"
    return str(int(x)) if integer else repr(float(x))


def leaf_values(node: Node) -> dict[str, str]:
    return {"p": java_number(node.p.mode), "cost_usd": java_number(node.cost_usd.mode),
            "time_days": java_number(node.time_days.mode), "skill": java_number(node.skill, integer=True)}


def is_sand(pathway: Pathway) -> bool:
    return any(n.gate == "sand" for n in pathway.tree.walk())


def defences(pathway: Pathway, controls: tuple[Control, ...]) -> tuple[dict[str, list[Control]], list[str]]:
    """Leaf id -> the controls that lower its p (a control on a gate or the pathway acts on every
    leaf below, as in threatkit, so it goes on each of them); and warnings for what ADTool cannot show."""
    on: dict[str, list[Control]] = {}
    warnings = []
    for control in controls:
        leaves = []
        for target in control.counters:
            if target == pathway.id:
                leaves += [n for n in pathway.tree.walk() if n.is_leaf]
            elif target in pathway.nodes:
                leaves += [n for n in pathway.nodes[target].walk() if n.is_leaf]
        if not leaves:
            continue
        if control.effectiveness.mode > 0:
            for leaf in dict.fromkeys(leaves):
                on.setdefault(leaf.id, []).append(control)
        if control.detection_per_million_queries or control.caps_queries_per_day or control.caps_accounts:
            warnings.append(f"control {control.id}: its detection or caps act through queries and accounts, "
                            "which ADTool has no domain for; only its effectiveness is exported")
    return on, warnings


def _labels(pathway: Pathway) -> dict[str, str]:
    """Node id -> label; a label shared by steps with different values gets the id appended,
    since ADTool keeps one value per label."""
    seen: dict[str, set] = {}
    for node in pathway.tree.walk():
        seen.setdefault(node.title, set()).add(tuple(leaf_values(node).items()) if node.is_leaf else node.gate)
    return {n.id: n.title if len(seen[n.title]) == 1 else f"{n.title} ({n.id})" for n in pathway.tree.walk()}


def _node(parent: ET.Element | None, refinement: str, label: str, comment: str | None = None,
          switch: bool = False) -> ET.Element:
    attrs = {"refinement": refinement, **({"switchRole": "yes"} if switch else {})}
    el = ET.Element("node", attrs) if parent is None else ET.SubElement(parent, "node", attrs)
    ET.SubElement(el, "label").text = text(label)
    if comment:
        ET.SubElement(el, "comment").text = text(comment)
    return el


def _parameter(el: ET.Element, domain: Domain, value: str) -> None:
    param = ET.SubElement(el, "parameter", {"domainId": domain.xml_id, "category": "basic"})
    param.text = value


def tree_xml(pathway: Pathway, controls: tuple[Control, ...] = ()) -> tuple[ET.Element, list[str]]:
    sand = is_sand(pathway)
    domains = SANDTREE_DOMAINS if sand else ADTREE_DOMAINS
    prob = domains[0]
    on, warnings = defences(pathway, controls)
    if sand and (on or warnings):
        on, warnings = {}, ["a sandtree has no defence nodes: the scenario's controls are left out of it"]
    labels = _labels(pathway)

    def build(node: Node, parent: ET.Element | None) -> ET.Element:
        el = _node(parent, REFINEMENTS[node.gate or "or"], labels[node.id], node.description)
        if node.is_leaf:
            for domain in domains:
                _parameter(el, domain, leaf_values(node)[domain.attribute])
        for child in node.children or ():
            build(child, el)
        counters = on.get(node.id, [])
        if len(counters) == 1:        # ADTool's countermeasure is the node's last child
            _defence(el, counters[0])
        elif counters:                # several controls multiply p by each (1 - e): an OR of defences
            group = _node(el, "disjunctive", f"Controls on {labels[node.id]}", switch=True)
            for control in counters:
                _defence(group, control, switch=False)
        return el

    def _defence(parent: ET.Element, control: Control, switch: bool = True) -> None:
        el = _node(parent, "disjunctive", control.title, control.description, switch=switch)
        _parameter(el, prob, java_number(control.effectiveness.mode))

    root = ET.Element("sandtree" if sand else "adtree")
    root.append(build(pathway.tree, None))
    for domain in domains:
        d = ET.SubElement(root, "domain", {"id": domain.xml_id})
        ET.SubElement(d, "class").text = domain.cls
        ET.SubElement(d, "tool").text = "ADTool2"
        for key, value in (domain.custom or {}).items():
            ET.SubElement(d, key).text = value
        if domain.range is not None:
            ET.SubElement(d, "range").text = domain.range
    if any(labels[i] != n.title for i, n in pathway.nodes.items()):
        warnings.append("steps that share a label but not their values have their id appended to the label "
                        "(ADTool keeps one value per label)")
    return root, warnings


def to_xml(root: ET.Element) -> str:
    ET.indent(root, space="  ")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def export(sel: Selection) -> Exported:
    if not sel.pathway_named:
        raise ExportError("an ADTool file holds one attack tree: name the pathway with --pathway ID")
    if sel.scenarios_named and len(sel.scenarios) > 1:
        raise ExportError("an ADTool tree shows the controls of at most one scenario: give one --scenario")
    scenario = sel.scenarios[0] if sel.scenarios_named else None
    controls = tuple(sel.model.control(c) for c in scenario.controls) if scenario else ()
    root, warnings = tree_xml(sel.pathways[0], controls)
    return Exported(to_xml(root), tuple(warnings))
