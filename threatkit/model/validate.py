"""Loading, step 3 of 5: each source's entries -> typed values (pydantic), in a Layer per source.

Entries are validated one by one, so that one bad entry does not hide the problems of the
next; a bad entry's id (and a bad pathway's step ids) are remembered, so that references
to it are not reported as unknown too. Each source keeps its own layer: merging them by
id is the next step, and an entry that a later file overrides is still checked.

A file's equal quantities are parsed once and become one object (quantities.py): a third
of the time to validate a large tree, and to write and read its cache.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from pydantic import BaseModel, TypeAdapter, ValidationError

from threatkit.model import errors, values
from threatkit.model.quantities import FileQuantities
from threatkit.model.read import Document
from threatkit.model.values import KINDS, Scales
from threatkit.model.yamlsafe import Located, Problem

ENTRY_TYPES: dict[str, type[BaseModel]] = {
    "assets": values.Asset, "tiers": values.Tier, "actors": values.Actor, "pathways": values.Pathway,
    "controls": values.Control, "substitutes": values.Substitute, "scenarios": values.Scenario,
}


@dataclass
class Origin:
    source: Located
    path: tuple           # where the entry sits in its file, e.g. ("tiers", 2)


@dataclass
class Layer:
    """Validated entries of one file (or of several, merged), with where each came from."""

    scales: Scales = field(default_factory=Scales)
    entries: dict[str, dict[str, Any]] = field(default_factory=lambda: {k: {} for k in KINDS})
    origins: dict[tuple[str, str], Origin] = field(default_factory=dict)
    scales_origin: Origin | None = None
    invalid_ids: dict[str, set[str]] = field(default_factory=lambda: {k: set() for k in KINDS})
    invalid_steps: set[str] = field(default_factory=set)   # step ids of pathways that failed to validate
    name: str | None = None


def validate_sources(sources: tuple[Document | str, ...],
                     builtin: tuple[Layer, tuple[Problem, ...]] | None) -> tuple[list[Layer], list[Problem]]:
    """A layer per source, in order; `builtin`: the built-in catalog's layer and problems."""
    layers: list[Layer] = []
    problems: list[Problem] = []
    for source in sources:
        layer, found = builtin if isinstance(source, str) else validate(source)
        layers.append(layer)
        problems += found
    return layers, problems


def validate(document: Document) -> tuple[Layer, list[Problem]]:
    """The layer of one document (its header was validated when it was read)."""
    src, header = document.src, document.header
    layer = Layer(name=header.name if header else None)
    if src is None:
        return layer, []
    if header and header.scales:
        layer.scales = header.scales
        layer.scales_origin = Origin(src, ("scales",))
    problems: list[Problem] = []
    quantities = FileQuantities()
    for kind in KINDS:
        problems += _validate_entries(kind, src, layer, quantities)
    return layer, problems


def _validate_entries(kind: str, src: Located, into: Layer, quantities: FileQuantities) -> list[Problem]:
    raw = src.data.get(kind)
    if raw is None:
        return []
    if not isinstance(raw, list):
        return [Problem(src.file, src.line((kind,)), f"{kind}: expected a list of entries, found {errors.describe(raw)}")]
    problems: list[Problem] = []
    adapter = _adapter(kind)
    first_seen: dict[str, int] = {}
    for i, item in enumerate(raw):
        path = (kind, i)
        raw_id = item.get("id") if isinstance(item, dict) else None
        if isinstance(raw_id, str):
            if raw_id in first_seen:
                problems.append(Problem(src.file, src.line(path + ("id",)),
                                        f"{kind}[{raw_id}]: duplicate {kind[:-1]} id {raw_id!r} (first on line "
                                        f"{src.line((kind, first_seen[raw_id], 'id'))}); ids must be unique per kind in a file"))
                continue
            first_seen[raw_id] = i
        try:
            entry = adapter.validate_python(item, context=quantities)
        except ValidationError as exc:
            problems += errors.translate(exc, src, ENTRY_TYPES[kind], prefix=path)
            if isinstance(raw_id, str):
                into.invalid_ids[kind].add(raw_id)
            if kind == "pathways" and isinstance(item, dict):
                into.invalid_steps |= set(_raw_node_ids(item.get("tree")))
            continue
        into.entries[kind][entry.id] = entry
        into.origins[(kind, entry.id)] = Origin(src, path)
    return problems


def _raw_node_ids(node: Any):
    """Ids in an unvalidated tree, so that references to them are not reported as unknown."""
    stack = [node]
    while stack:
        n = stack.pop()
        if isinstance(n, dict):
            if isinstance(n.get("id"), str):
                yield n["id"]
            if isinstance(n.get("children"), list):
                stack.extend(n["children"])


@lru_cache(maxsize=None)
def _adapter(kind: str) -> TypeAdapter:
    return TypeAdapter(ENTRY_TYPES[kind])
