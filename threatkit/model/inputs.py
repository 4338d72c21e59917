"""The model's uncertain inputs by name, and the model with one of them replaced.

An input is named `KIND:ID:FIELD`, e.g. `step:distill-harvest:p`,
`actor:state-linked:independent_months`, `control:rate-limit:effectiveness`,
`pathway:distillation:transfer.curve[2]`, `tier:public-api:queries_per_day`,
`substitute:open-weights:share[1]` (the share at its second point) and
`scenario:unilateral:exposures[rival].relative_capability` (an exposure's r).
A step is named by its own id when that id is unique among the model's
pathways, else as `PATHWAY/STEP` ('/' never occurs in an id).

`substitute(model, ref, value)` gives the model as if its file said `value`
(a plain number) at that place: the entry is validated again from its fields,
so the number passes the same checks as in a file, and every cache of the old
model is left behind. Sensitivity analysis is built on it, so that editing a
model file by hand and recomputing gives what a tornado row says.
"""
from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ValidationError

from threatkit.model.values import KINDS, Entry, Node, Pathway, Quantity, ThreatModel

# kind -> the quantity fields that analysis reads (a control's cost_usd only ranks controls)
FIELDS: dict[str, tuple[str, ...]] = {
    "asset": ("capability_value",),
    "tier": ("queries_per_day", "duration_days"),
    "actor": ("budget_usd", "accounts", "independent_months"),
    "scenario": ("independent_months",),  # and exposures[ASSET].relative_capability
    "pathway": ("fidelity",),          # and transfer.curve[i]
    "step": ("p", "cost_usd", "time_days", "queries"),
    "control": ("effectiveness", "detection_per_million_queries", "caps_queries_per_day", "caps_accounts"),
    "substitute": (),                  # share[i]
}
PLURAL = {"asset": "assets", "tier": "tiers", "actor": "actors", "scenario": "scenarios", "pathway": "pathways",
          "control": "controls", "substitute": "substitutes"}
CURVE = re.compile(r"^transfer\.curve\[(\d+)\]$")
SHARE = re.compile(r"^share\[(\d+)\]$")
EXPOSURE = re.compile(r"^exposures\[([^\]]+)\]\.relative_capability$")

# Plain words for fields, for text a reader sees
FIELD_WORDS = {
    "capability_value": "capability value", "queries_per_day": "queries per day", "duration_days": "access duration",
    "budget_usd": "budget", "accounts": "accounts", "independent_months": "months to build it alone",
    "fidelity": "share of capability transferred", "p": "success chance", "cost_usd": "cost",
    "time_days": "time", "queries": "queries needed", "effectiveness": "effectiveness",
    "detection_per_million_queries": "detection per million queries", "caps_queries_per_day": "query cap",
    "caps_accounts": "account cap",
}


class InputError(ValueError):
    """An input reference that names nothing in the model, or a value it cannot take."""


@dataclass(frozen=True)
class Input:
    """One uncertain number of the model, where it sits and what it is."""

    ref: str                      # KIND:ID:FIELD
    kind: str
    id: str                       # entry id (a step: its own id)
    field: str                    # as in the ref, e.g. p or transfer.curve[2]
    quantity: Quantity
    entry: Any                    # the Entry or Node that holds it (for source and confidence)
    pathway: Pathway | None = None  # a step's (or a curve point's) pathway

    @property
    def label(self) -> str:
        """The input for a reader: whose number, and what it is."""
        m, share, exposure = CURVE.match(self.field), SHARE.match(self.field), EXPOSURE.match(self.field)
        if m:
            what = f"share transferred at curve point {int(m.group(1)) + 1}"
        elif share:
            what = f"share at month {self.entry.share[int(share.group(1))][0]:g}"
        elif exposure:
            what = f"capability of {exposure.group(1)} relative to the asset"
        else:
            what = FIELD_WORDS.get(self.field, self.field)
        title = self.entry.title
        if self.kind == "step" and self.pathway is not None:
            title = f"{title} ({self.pathway.title})"
        return f"{title}: {what}"

    @property
    def uncertain(self) -> bool:
        return self.quantity.low < self.quantity.high


def _step_names(model: ThreatModel) -> dict[tuple[str, str], str]:
    """(pathway id, step id) -> the id part of its ref: the step id, or PATHWAY/STEP when ambiguous."""
    seen: dict[str, int] = {}
    for pw in model.pathways:
        for n in pw.tree.walk():
            if n.is_leaf:
                seen[n.id] = seen.get(n.id, 0) + 1
    return {(pw.id, n.id): (n.id if seen[n.id] == 1 else f"{pw.id}/{n.id}")
            for pw in model.pathways for n in pw.tree.walk() if n.is_leaf}


def inputs_of(model: ThreatModel, entries: dict[str, tuple] | None = None, *, uncertain_only: bool = True) -> list[Input]:
    """Every input of the model (or of the given entries: kind -> entries), in a stable order:
    asset, actor, scenario (its exposures' r after its own fields), tier, controls, pathways with
    their steps, then substitutes."""
    if entries is None:
        entries = {k: getattr(model, PLURAL[k])
                   for k in ("asset", "actor", "scenario", "tier", "control", "pathway", "substitute")}
    names = _step_names(model)
    out: list[Input] = []

    def add(kind, ident, field, q, entry, pathway=None):
        if q is not None and (q.low < q.high or not uncertain_only):
            out.append(Input(f"{kind}:{ident}:{field}", kind, ident if kind != "step" else entry.id, field, q, entry,
                             pathway))

    for kind in ("asset", "actor", "scenario", "tier", "control"):
        for e in entries.get(kind, ()):
            for f in FIELDS[kind]:
                add(kind, e.id, f, getattr(e, f), e)
            for x in (e.exposures if kind == "scenario" else ()):
                add(kind, e.id, f"exposures[{x.asset}].relative_capability", x.relative_capability, e)
    for pw in entries.get("pathway", ()):
        if pw.transfer is None:
            add("pathway", pw.id, "fidelity", pw.fidelity, pw, pw)
        else:
            for i, (_, q) in enumerate(pw.transfer.curve):
                add("pathway", pw.id, f"transfer.curve[{i}]", q, pw, pw)
        for n in pw.tree.walk():
            if n.is_leaf:
                for f in FIELDS["step"]:
                    add("step", names.get((pw.id, n.id), n.id), f, getattr(n, f), n, pw)
    for x in entries.get("substitute", ()):
        for i, (_, q) in enumerate(x.share):
            add("substitute", x.id, f"share[{i}]", q, x)
    return out


def find(model: ThreatModel, ref: str) -> Input:
    """The input named `ref`; InputError with the closest name otherwise."""
    kind, ident, field = _split(ref)
    if kind == "step":
        pathway, step = _find_step(model, ident)
        if field not in FIELDS["step"]:
            raise InputError(_unknown_field(ref, FIELDS["step"]))
        return Input(ref, kind, step.id, field, _quantity(getattr(step, field), ref), step, pathway)
    entry = _entry(model, kind, ident, ref)
    m = CURVE.match(field)
    if kind == "pathway" and m:
        if entry.transfer is None or int(m.group(1)) >= len(entry.transfer.curve):
            n = 0 if entry.transfer is None else len(entry.transfer.curve)
            raise InputError(f"{ref}: pathway {ident!r} has {n} transfer curve point(s); "
                             f"expected transfer.curve[0] .. [{max(n - 1, 0)}]")
        return Input(ref, kind, ident, field, entry.transfer.curve[int(m.group(1))][1], entry, entry)
    if kind == "substitute":
        return Input(ref, kind, ident, field, entry.share[_share_index(entry, ref)][1], entry)
    if kind == "scenario" and EXPOSURE.match(field):
        return Input(ref, kind, ident, field, _exposure(entry, ref).relative_capability, entry)
    if field not in FIELDS[kind]:
        more = (("transfer.curve[0]",) if kind == "pathway" else
                tuple(f"exposures[{x.asset}].relative_capability" for x in entry.exposures) if kind == "scenario"
                else ())
        raise InputError(_unknown_field(ref, FIELDS[kind] + more))
    return Input(ref, kind, ident, field, _quantity(getattr(entry, field), ref), entry,
                 entry if kind == "pathway" else None)


def substitute(model: ThreatModel, ref: str, value: float) -> ThreatModel:
    """The model with the input `ref` set to the number `value`, validated as in a file."""
    kind, ident, field = _split(ref)
    value = float(value)
    try:
        if kind == "step":
            pathway, step = _find_step(model, ident)
            if field not in FIELDS["step"]:
                raise InputError(_unknown_field(ref, FIELDS["step"]))
            new_tree = _replace_node(pathway.tree, step.id, _rebuilt(step, **{field: value}))
            return _with_entry(model, "pathways", _rebuilt(pathway, tree=new_tree))
        entry = _entry(model, kind, ident, ref)
        m = CURVE.match(field)
        if kind == "pathway" and m:
            find(model, ref)       # checks the point exists
            i = int(m.group(1))
            curve = [list(pt) for pt in entry.transfer.curve]
            curve[i][1] = value
            transfer = _rebuilt(entry.transfer, curve=curve)
            return _with_entry(model, "pathways", _rebuilt(entry, transfer=transfer))
        if kind == "substitute":
            share = [list(pt) for pt in entry.share]
            share[_share_index(entry, ref)][1] = value
            return _with_entry(model, "substitutes", _rebuilt(entry, share=share))
        if kind == "scenario" and EXPOSURE.match(field):
            exposure = _exposure(entry, ref)
            exposures = tuple(_rebuilt(x, relative_capability=value) if x is exposure else x for x in entry.exposures)
            return _with_entry(model, "scenarios", _rebuilt(entry, exposures=exposures))
        if field not in FIELDS[kind]:
            find(model, ref)       # raises with the fields it has
        return _with_entry(model, PLURAL[kind], _rebuilt(entry, **{field: value}))
    except ValidationError as exc:
        detail = exc.errors()[0].get("ctx", {}).get("msg") or exc.errors()[0]["msg"]
        raise InputError(f"{ref}: cannot be {value:g}: {detail}") from None


def known_refs(model: ThreatModel) -> list[str]:
    return [i.ref for i in inputs_of(model, uncertain_only=False)]


# ---- helpers ----------------------------------------------------------------------------------

def _split(ref: str) -> tuple[str, str, str]:
    parts = ref.split(":")
    if len(parts) != 3 or not all(parts):
        raise InputError(f"{ref!r}: expected an input as KIND:ID:FIELD, e.g. step:distill-harvest:p")
    kind = parts[0]
    if kind not in FIELDS:
        hint = difflib.get_close_matches(kind, list(FIELDS), n=1)
        raise InputError(f"{ref}: unknown kind {kind!r}{_did_you_mean(hint)}; expected one of: {', '.join(FIELDS)}")
    return kind, parts[1], parts[2]


def _did_you_mean(match: list[str]) -> str:
    return f" (did you mean {match[0]!r}?)" if match else ""


def _unknown_field(ref: str, fields) -> str:
    field = ref.split(":")[2]
    hint = difflib.get_close_matches(field, list(fields), n=1)
    return f"{ref}: unknown field {field!r}{_did_you_mean(hint)}; expected one of: {', '.join(fields)}"


def _quantity(q: Quantity | None, ref: str) -> Quantity:
    if q is None:
        raise InputError(f"{ref}: this entry does not set it (absent), so there is no number to vary")
    return q


def _entry(model: ThreatModel, kind: str, ident: str, ref: str) -> Any:
    try:
        return model.get(PLURAL[kind], ident)
    except KeyError as exc:
        raise InputError(f"{ref}: {exc.args[0]}") from None


def _share_index(entry: Any, ref: str) -> int:
    """The point a substitute's `share[i]` names; InputError when it has no such point."""
    m = SHARE.match(ref.split(":")[2])
    n = len(entry.share)
    if m is None:
        raise InputError(_unknown_field(ref, tuple(f"share[{i}]" for i in range(n))))
    if int(m.group(1)) >= n:
        raise InputError(f"{ref}: substitute {entry.id!r} has {n} share point(s); expected share[0] .. [{n - 1}]")
    return int(m.group(1))


def _exposure(scenario: Any, ref: str) -> Any:
    """The exposure of the scenario that `exposures[ASSET].relative_capability` names."""
    asset = EXPOSURE.match(ref.split(":")[2]).group(1)
    hit = next((x for x in scenario.exposures if x.asset == asset), None)
    if hit is None:
        exposed = [x.asset for x in scenario.exposures]
        raise InputError(f"{ref}: scenario {scenario.id!r} has no exposure to asset {asset!r}"
                         f"{_did_you_mean(difflib.get_close_matches(asset, exposed, n=1))}; "
                         f"exposed assets: {', '.join(exposed) or 'none'}")
    return hit


def _find_step(model: ThreatModel, ident: str) -> tuple[Pathway, Node]:
    pathway_id, _, step_id = ident.rpartition("/")
    hits = [(pw, pw.nodes[step_id]) for pw in model.pathways
            if (not pathway_id or pw.id == pathway_id) and step_id in pw.nodes and pw.nodes[step_id].is_leaf]
    if len(hits) == 1:
        return hits[0]
    if hits:
        raise InputError(f"step {step_id!r} is in several pathways ({', '.join(pw.id for pw, _ in hits)}); "
                         f"name it as PATHWAY/STEP, e.g. {hits[0][0].id}/{step_id}")
    names = sorted(set(_step_names(model).values()))
    hint = difflib.get_close_matches(ident, names, n=1)
    raise InputError(f"unknown step {ident!r}{_did_you_mean(hint)}; expected the id of a leaf step of a pathway")


def _rebuilt(obj: BaseModel, **update: Any) -> Any:
    """`obj` validated again with some fields replaced: values as a file would give them."""
    data = {k: getattr(obj, k) for k in obj.model_fields_set}
    data.update(update)
    return type(obj).model_validate(data)


def _replace_node(node: Node, node_id: str, new: Node) -> Node:
    if node.id == node_id:
        return new
    if not node.children:
        return node
    kids = tuple(_replace_node(c, node_id, new) for c in node.children)
    return node if all(a is b for a, b in zip(kids, node.children)) else _rebuilt(node, children=kids)


def _with_entry(model: ThreatModel, kind: str, entry: Entry) -> ThreatModel:
    """A new model (fresh caches) with the entry of that id replaced."""
    fields = {k: getattr(model, k) for k in ThreatModel.model_fields}
    fields[kind] = tuple(entry if e.id == entry.id else e for e in getattr(model, kind))
    return ThreatModel.model_validate(fields)


__all__ = ["Input", "InputError", "inputs_of", "find", "substitute", "known_refs", "KINDS"]
