"""ADTool and ADTool2 XML (`<adtree>` and `<sandtree>`, as ADTool writes them)
-> a model file with one pathway, ready to validate and assess.

- Gates from refinements (disjunctive -> or, conjunctive -> and, sequential
  -> sand); labels kept; ids made from the labels, unique (real trees repeat
  labels).
- Defence nodes (switchRole="yes") become controls that counter their parent
  step, with their ProbSucc as effectiveness (ADTool's countermeasure rule
  p x (1 - e) is threatkit's). An OR of defence leaves becomes one control per
  leaf (threatkit multiplies their (1 - e)). Attack nodes under a defence
  cannot be expressed: they are kept in the control's description, with a
  warning.
- Parameters map where the domain says what they are: probability, cost, time,
  skill (ADTool's L/M/H difficulty too); "Infinity" makes a step infeasible.
- A leaf without a value gets an explicit placeholder, `confidence: low`, and a
  `source` that says it was not given; the import lists them.

The file is parsed with defusedxml (no DTD, no entities), and bad input is one
`FILE:LINE: message`, never a traceback.
"""
from __future__ import annotations

import math
import re
import unicodedata
import xml.sax
from dataclasses import dataclass, field
from pathlib import Path

from threatkit.model.yamlsafe import Problem

MAX_DEPTH = 200                 # XML nesting; an attack tree a person reads is far shallower
MAX_ELEMENTS = 200_000
FEATURES = ["outputs", "logprobs", "fine_tuning", "internals", "weights"]
REFINEMENTS = {
    "adtree": {"disjunctive": "or", "conjunctive": "and", "or": "or", "and": "and"},
    "sandtree": {"disjunctive": "or", "conjunctive": "and", "sequential": "sand"},
}
# ADTool domain (predefined class's simple name, or a custom domain's name) -> threatkit leaf attribute
DOMAIN_ATTRIBUTES = {
    "probsucc": "p", "probability": "p",
    "mincost": "cost_usd", "cost": "cost_usd",
    "mintimeseq": "time_days", "mintimepar": "time_days", "mintime": "time_days", "time": "time_days",
    "minskill": "skill", "skill": "skill", "difflmh": "skill", "difflmhe": "skill",
}
# ADTool's difficulty levels -> threatkit skill 1..5 (Infinity: nobody can)
DIFFICULTY = {"difflmh": {"L": 1, "M": 3, "H": 5}, "difflmhe": {"L": 1, "M": 2, "H": 4, "E": 5}}
INFINITY = ("Infinity", "\u221e", "inf")
PLACEHOLDERS = {"p": 0.5, "cost_usd": 0.0, "time_days": 0.0, "skill": 1}
DEFENCE_PLACEHOLDER = 0.5


class AdtoolError(Exception):
    """Input that is not an ADTool tree threatkit can import: FILE:LINE: message."""

    def __init__(self, file: str, line: int | None, message: str):
        self.problem = Problem(file, line, message)
        super().__init__(str(self.problem))


@dataclass
class Element:
    tag: str
    attrs: dict[str, str]
    line: int
    children: list[Element] = field(default_factory=list)
    text: str = ""

    def child(self, tag: str) -> Element | None:
        return next((c for c in self.children if c.tag == tag), None)

    def all(self, tag: str) -> list[Element]:
        return [c for c in self.children if c.tag == tag]


# ---- reading the XML --------------------------------------------------------------------------

class _Builder(xml.sax.handler.ContentHandler):
    def __init__(self, name: str):
        super().__init__()
        self.name = name
        self.stack: list[Element] = []
        self.root: Element | None = None
        self.count = 0
        self.locator = None

    def setDocumentLocator(self, locator):
        self.locator = locator

    @property
    def line(self) -> int | None:
        return self.locator.getLineNumber() if self.locator else None

    def startElement(self, tag, attrs):
        self.count += 1
        if len(self.stack) >= MAX_DEPTH:
            raise AdtoolError(self.name, self.line, f"the tree nests more than {MAX_DEPTH} levels deep; "
                                                    "expected an attack tree of sensible depth")
        if self.count > MAX_ELEMENTS:
            raise AdtoolError(self.name, self.line, f"more than {MAX_ELEMENTS} elements; expected an attack tree "
                                                    "of sensible size")
        el = Element(tag, dict(attrs), self.line or 0)
        if self.stack:
            self.stack[-1].children.append(el)
        else:
            self.root = el
        self.stack.append(el)

    def endElement(self, tag):
        self.stack.pop()

    def characters(self, content):
        if self.stack:
            self.stack[-1].text += content


def parse(data: bytes, name: str) -> Element:
    """The XML as Elements with line numbers; DTDs and entities refused."""
    from defusedxml import DefusedXmlException
    from defusedxml.sax import parseString

    builder = _Builder(name)
    try:
        parseString(data, builder, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except xml.sax.SAXParseException as exc:
        raise AdtoolError(name, exc.getLineNumber(), f"malformed XML: {exc.getMessage()}; "
                                                     "expected an ADTool .xml file") from None
    except DefusedXmlException:
        raise AdtoolError(name, builder.line, "refused: the file declares a DTD or entities; ADTool files have "
                                              "none, and entities can read other files or expand without end") from None
    except RecursionError:
        raise AdtoolError(name, builder.line, "the file nests too deeply to read") from None
    return builder.root


# ---- ids ------------------------------------------------------------------------------------

class Ids:
    """Unique ids made from labels: 'Get PIN!' -> 'get-pin', then 'get-pin-2', ..."""

    def __init__(self):
        self.used: set[str] = set()

    def make(self, label: str, fallback: str = "step") -> str:
        ascii_ = unicodedata.normalize("NFKD", label).encode("ascii", "ignore").decode()
        base = re.sub(r"[^a-z0-9._-]+", "-", ascii_.lower()).strip("-._")[:56].rstrip("-._") or fallback
        ident, k = base, 1
        while ident in self.used:
            k += 1
            ident = f"{base}-{k}"
        self.used.add(ident)
        return ident


def _quote(label: str) -> str:
    text = repr(label)
    return text if len(text) <= 60 else text[:57] + "..."


# ---- domains and values ---------------------------------------------------------------------

@dataclass(frozen=True)
class Domain:
    xml_id: str
    kind: str          # the key of DOMAIN_ATTRIBUTES it matched, e.g. "probsucc", "difflmh"
    attribute: str


def domains(root: Element, name: str, warnings: list[str]) -> dict[str, Domain | None]:
    """domainId -> what it means for threatkit (None: nothing threatkit has)."""
    out: dict[str, Domain | None] = {}
    taken: set[str] = set()
    for d in root.all("domain"):
        xml_id = d.attrs.get("id")
        cls = (d.child("class").text.strip() if d.child("class") is not None else "")
        custom = d.child("name")
        label = (custom.text.strip() if custom is not None else "") or cls.rpartition(".")[2]
        kind = label.lower() if label.lower() in DOMAIN_ATTRIBUTES else cls.rpartition(".")[2].lower()
        attribute = DOMAIN_ATTRIBUTES.get(kind)
        if not xml_id:
            raise AdtoolError(name, d.line, "a <domain> without an id; expected <domain id=\"...\">")
        if attribute is None:
            warnings.append(f"domain {xml_id} ({label or 'no class'}) has no threatkit meaning: its values are left out")
            out[xml_id] = None
        elif attribute in taken:
            warnings.append(f"domain {xml_id} ({label}) gives {attribute} a second time: the first domain's values are used")
            out[xml_id] = None
        else:
            taken.add(attribute)
            out[xml_id] = Domain(xml_id, kind, attribute)
    return out


def value(domain: Domain, raw: str, where: tuple[str, int], node_label: str) -> float | int:
    """A parameter's value as threatkit's attribute; math.inf for "Infinity" (infeasible)."""
    raw = raw.strip()
    name, line = where

    def bad(expected: str):
        return AdtoolError(name, line, f"node {_quote(node_label)}: {domain.xml_id} value {raw!r}; expected {expected}")

    if raw in INFINITY:
        if domain.attribute == "p":
            raise bad("a probability from 0 to 1")
        return math.inf
    if domain.kind in DIFFICULTY:
        levels = DIFFICULTY[domain.kind]
        if raw.upper() not in levels:
            raise bad(f"one of {', '.join(levels)} or Infinity")
        return levels[raw.upper()]
    try:
        number = float(raw)
    except ValueError:
        raise bad("a number") from None
    if domain.attribute == "p" and not 0 <= number <= 1:
        raise bad("a probability from 0 to 1")
    if number < 0 or number != number:
        raise bad("a number of at least 0")
    if domain.attribute == "skill":
        return min(5, max(1, round(number)))
    return number


# ---- the tree --------------------------------------------------------------------------------

@dataclass
class Imported:
    """The imported model file, and what the user must know."""

    data: dict
    placeholders: list[str]
    warnings: list[str]

    def to_yaml(self, source: str) -> str:
        import yaml

        head = [f"# Imported by threatkit from the ADTool file {source!r}.",
                "# Placeholders (confidence: low, source says so) stand where the file gave no value."]
        head += [f"# - {p}" for p in self.placeholders]
        body = yaml.safe_dump(self.data, sort_keys=False, allow_unicode=True, width=100)
        return "\n".join(head) + "\n" + body


class _Converter:
    def __init__(self, name: str, kind: str, doms: dict[str, Domain | None]):
        self.name, self.kind, self.domains = name, kind, doms
        self.node_ids, self.control_ids = Ids(), Ids()
        self.controls: dict[tuple, dict] = {}         # (label, effectiveness, description) -> control
        self.placeholders: list[str] = []
        self.warnings: list[str] = []
        self.source = f"ADTool import from {Path(name).name}"

    def label(self, el: Element) -> str:
        label = el.child("label")
        if label is None:
            raise AdtoolError(self.name, el.line, "a <node> without a <label>; expected <label>text</label> first")
        return label.text

    def gate(self, el: Element, label: str) -> str:
        refinement = el.attrs.get("refinement")
        allowed = REFINEMENTS[self.kind]
        if refinement not in allowed:
            expected = "disjunctive, conjunctive or sequential" if self.kind == "sandtree" else \
                "disjunctive or conjunctive (sequential only in a <sandtree>)"
            found = "none" if refinement is None else repr(refinement)
            raise AdtoolError(self.name, el.line, f"node {_quote(label)}: refinement {found}; expected {expected}")
        return allowed[refinement]

    def switches(self, el: Element) -> bool:
        return self.kind == "adtree" and el.attrs.get("switchRole", "").lower() in ("yes", "true")

    def values(self, el: Element, label: str) -> dict[str, float | int]:
        out = {}
        for param in el.all("parameter"):
            if param.attrs.get("category", "basic") != "basic":
                continue                       # derived and default values are ADTool's own results
            dom_id = param.attrs.get("domainId")
            if dom_id not in self.domains:
                self.warnings.append(f"line {param.line}: parameter of undeclared domain {dom_id!r} left out")
                continue
            domain = self.domains[dom_id]
            if domain is not None:
                out[domain.attribute] = value(domain, param.text, (self.name, param.line), label)
        return out

    def attack(self, el: Element, suffix: str = "") -> dict:
        label = self.label(el)
        gate = self.gate(el, label)
        node: dict = {"id": self.node_ids.make(label + suffix), "label": label}
        comment = el.child("comment")
        if comment is not None and comment.text.strip():
            node["description"] = comment.text
        kids = el.all("node")
        attacks = [k for k in kids if not self.switches(k)]
        if attacks:
            node["gate"] = gate
            node["children"] = [self.attack(k) for k in attacks]
        else:
            node.update(self.leaf(el, node["id"], label))
        for defence in (k for k in kids if self.switches(k)):
            self.defence(defence, node)
        return node

    def leaf(self, el: Element, ident: str, label: str) -> dict:
        given = self.values(el, label)
        infeasible = [a for a, v in given.items() if math.isinf(v) and a != "p"]
        out: dict = {}
        missing = [a for a in PLACEHOLDERS if a not in given and not (infeasible and a == "p")]
        for attr in PLACEHOLDERS:
            if attr in given:
                out[attr] = given[attr]
            elif attr in missing:
                out[attr] = PLACEHOLDERS[attr]
        notes = [f"{self.source}, line {el.line}"]
        if infeasible:
            out["p"] = 0.0
            out["cost_usd"] = math.inf      # never the cheapest attack, as threatkit treats an infeasible step
            if out.get("skill") == math.inf:
                out["skill"] = 5
            notes.append(f"ADTool gave Infinity for {', '.join(infeasible)}: infeasible (p 0)")
        if missing:
            shown = ", ".join(f"{a} {PLACEHOLDERS[a]:g}" for a in missing)
            notes.append(f"no value given for {', '.join(missing)}; placeholders {shown}")
            out["confidence"] = "low"
            self.placeholders.append(f"step {ident} (line {el.line}): {shown}")
        out["source"] = "; ".join(notes)
        return out

    def defence(self, el: Element, parent: dict) -> None:
        """Controls for a defence node countering `parent`."""
        label = self.label(el)
        gate = self.gate(el, label)
        kids = el.all("node")
        if gate == "or" and kids and all(not self.switches(k) and not k.all("node") for k in kids):
            for k in kids:                   # an OR of defence leaves: one control each
                self.control(k, parent, self.own_effectiveness(k, self.label(k)), [])
            return
        self.control(el, parent, self.effectiveness(el), self.counter_attacks(el))

    def own_effectiveness(self, el: Element, label: str) -> tuple[float, bool]:
        given = self.values(el, label)
        if "p" in given:
            return given["p"], False
        return DEFENCE_PLACEHOLDER, True

    def effectiveness(self, el: Element) -> tuple[float, bool]:
        """ProbSucc of a defence subtree by ADTool's rules (or: 1 - prod(1 - e); and: prod e)."""
        label = self.label(el)
        same = [k for k in el.all("node") if not self.switches(k)]
        if not same:
            return self.own_effectiveness(el, label)
        parts = [self.effectiveness(k) for k in same]
        placeholder = any(p for _, p in parts)
        if self.gate(el, label) == "or":
            return 1 - math.prod(1 - e for e, _ in parts), placeholder
        return math.prod(e for e, _ in parts), placeholder

    def counter_attacks(self, el: Element) -> list[tuple[str, int]]:
        found = []
        for k in el.all("node"):
            if self.switches(k):
                found.append((self.label(k), k.line))
            else:
                found += self.counter_attacks(k)
        return found

    def control(self, el: Element, parent: dict, eff: tuple[float, bool], attacks: list[tuple[str, int]]) -> None:
        label = self.label(el)
        comment = el.child("comment")
        description = comment.text if comment is not None and comment.text.strip() else None
        if attacks:
            listed = "; ".join(f"{a} (line {line})" for a, line in attacks)
            description = (description + "\n" if description else "") + \
                f"Attacks on this defence in the ADTool tree, not modelled by threatkit: {listed}"
            self.warnings.append(f"line {el.line}: the attack nodes under defence {_quote(label)} cannot be expressed; "
                                 "they are kept in the control's description")
        key = (label, eff[0], description)
        if key in self.controls:
            self.controls[key]["counters"].append(parent["id"])
            return
        control: dict = {"id": self.control_ids.make(label, "control"), "name": label}
        if description:
            control["description"] = description
        control["counters"] = [parent["id"]]
        control["effectiveness"] = eff[0]
        control["source"] = f"{self.source}, line {el.line}"
        if eff[1]:
            control["source"] += f"; no ProbSucc given; placeholder effectiveness {DEFENCE_PLACEHOLDER:g}"
            control["confidence"] = "low"
            self.placeholders.append(f"control {control['id']} (line {el.line}): effectiveness {DEFENCE_PLACEHOLDER:g}")
        if "gate" in parent:
            self.warnings.append(f"line {el.line}: defence {_quote(label)} counters a gate; threatkit lowers the p "
                                 "of every step below it")
        self.controls[key] = control


def convert(root: Element, name: str) -> Imported:
    if root.tag not in REFINEMENTS:
        raise AdtoolError(name, root.line, f"root element <{root.tag}>; expected <adtree> or <sandtree> (an ADTool file)")
    tops = root.all("node")
    if len(tops) != 1:
        raise AdtoolError(name, root.line, f"<{root.tag}> has {len(tops)} <node> elements; expected exactly one, the root")
    warnings: list[str] = []
    conv = _Converter(name, root.tag, domains(root, name, warnings))
    if conv.switches(tops[0]):
        raise AdtoolError(name, tops[0].line, "the root is a defence (switchRole=\"yes\"); expected an attacker's "
                                              "goal, as threatkit's pathways are attacks")
    pathway_id = conv.node_ids.make(conv.label(tops[0]), "pathway")
    tree = conv.attack(tops[0], suffix=" goal")      # the root's id differs from the pathway's
    controls = list(conv.controls.values())
    pathway = {"id": pathway_id, "name": tree["label"], "fidelity": 1.0, "persistent": True,
               "source": f"{conv.source}; fidelity 1 is a placeholder (ADTool trees carry none)",
               "confidence": "low", "tree": tree}
    data = {
        "threatkit": 1,
        "name": f"{tree['label']} (from ADTool)",
        "include": [],
        "assets": [{"id": "imported-asset", "name": "The asset the tree attacks", "capability_value": 1.0,
                    "source": "placeholder from the ADTool import; replace with your asset", "confidence": "low"}],
        "tiers": [{"id": "imported-access", "name": "Access as the tree assumes it", "rank": 0,
                   "exposes": FEATURES,
                   "source": "placeholder from the ADTool import: unmetered, exposes everything", "confidence": "low"}],
        "actors": [{"id": "imported-actor", "name": "An attacker able to do every step", "kind": "individual",
                    "capacity": "OC5", "budget_usd": math.inf, "skill": 5,
                    "source": "placeholder from the ADTool import: no budget or skill limit, so the tree's own "
                              "numbers decide", "confidence": "low"}],
        "pathways": [pathway],
        "controls": controls,
        "scenarios": [{"id": "imported", "name": f"{tree['label']} as drawn in ADTool", "asset": "imported-asset",
                       "actor": "imported-actor", "tier": "imported-access", "controls": [c["id"] for c in controls]}],
    }
    return Imported(data, [f"pathway {pathway_id}: fidelity 1"] + conv.placeholders, warnings + conv.warnings)


def read_adtool(path: str | Path) -> Imported:
    """An ADTool XML file -> Imported (raises AdtoolError with FILE:LINE)."""
    from threatkit.model.load import ModelError, load_data

    name = str(path)
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise AdtoolError(name, None, f"cannot read file: {exc.strerror or exc}") from None
    imported = convert(parse(data, name), name)
    try:
        load_data(imported.data, name)
    except ModelError as exc:        # e.g. a value out of threatkit's range
        raise AdtoolError(name, None, f"the imported model does not validate: {exc.problems[0].message}") from None
    return imported
