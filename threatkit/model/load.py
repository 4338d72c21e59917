"""Model files -> a validated ThreatModel, or every problem with FILE:LINE.

A file is read safely (yamlsafe), its includes are loaded first (the built-in
catalog unless it says `include: []`), entries are validated one by one so
that one bad entry does not hide the problems of the next, then merged by id
(later files override earlier ones) and every reference is checked.
"""
from __future__ import annotations

import difflib
import os
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable

from pydantic import BaseModel, TypeAdapter, ValidationError

from threatkit import examples
from threatkit.model import cache, errors, text as model_text
from threatkit.model.values import (
    KINDS,
    Actor,
    Asset,
    Control,
    ModelFile,
    Pathway,
    Scales,
    Scenario,
    Substitute,
    ThreatModel,
    Tier,
)
from threatkit.model.yamlsafe import Located, Problem, YamlError, gc_paused, read_yaml
from threatkit.resources import data_path, resource_dir

ENTRY_TYPES: dict[str, type[BaseModel]] = {
    "assets": Asset, "tiers": Tier, "actors": Actor,
    "pathways": Pathway, "controls": Control, "substitutes": Substitute, "scenarios": Scenario,
}
BUILTIN = "builtin"
BUILTIN_FILES = ("scales.yaml", "assets.yaml", "tiers.yaml", "actors.yaml", "pathways.yaml", "controls.yaml",
                 "substitutes.yaml")


class ModelError(Exception):
    """A model that failed to load: every problem found, each with FILE:LINE."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("\n".join(map(str, problems)))


@dataclass
class _Origin:
    source: Located
    path: tuple           # where the entry sits in its file, e.g. ("tiers", 2)


@dataclass
class _Merged:
    """Entries merged so far, with where each came from."""

    scales: Scales = field(default_factory=Scales)
    entries: dict[str, dict[str, Any]] = field(default_factory=lambda: {k: {} for k in KINDS})
    origins: dict[tuple[str, str], _Origin] = field(default_factory=dict)
    scales_origin: _Origin | None = None
    invalid_ids: dict[str, set[str]] = field(default_factory=lambda: {k: set() for k in KINDS})
    invalid_steps: set[str] = field(default_factory=set)   # step ids of pathways that failed to validate
    name: str | None = None
    files: dict[str, str] = field(default_factory=dict)    # included file -> sha256 of its bytes (for the cache)

    def update(self, other: _Merged) -> None:
        self.scales = other.scales.merged_over(self.scales)
        self.scales_origin = other.scales_origin or self.scales_origin
        for kind in KINDS:
            self.entries[kind].update(other.entries[kind])
            self.invalid_ids[kind] |= other.invalid_ids[kind]
        self.invalid_steps |= other.invalid_steps
        self.origins.update(other.origins)
        self.name = other.name or self.name
        self.files.update(other.files)


def load_model(path: str | Path) -> ThreatModel:
    """Load a model file (and its includes) into a validated ThreatModel.

    Raises ModelError listing every problem, each as FILE:LINE: message. A model loaded
    before from the same files comes from the per-user cache (threatkit.model.cache), or is
    the very object `keep_model` kept in this process.
    """
    path = Path(path)
    text = _read(path)
    return _kept(path, text) or _load_bytes(path, text)[1]


def keep_model(path: str | Path) -> ThreatModel:
    """Load a model and keep it in this process: while its files are unchanged, load_model
    gives this same object, with everything built from it (leaf tables, drawn leaves). A
    batch keeps its model before it forks the reports, so that they share all that instead
    of each building it again."""
    path = Path(path)
    text = _read(path)
    model = _kept(path, text)
    if model is None:
        files, model = _load_bytes(path, text)
        _KEPT[str(path.resolve())] = (text, files, model)
    return model


_KEPT: dict[str, tuple[bytes, dict[str, str], ThreatModel]] = {}   # resolved path -> (bytes, other files, model)


def _kept(path: Path, text: bytes) -> ThreatModel | None:
    """The model kept for this file, if it and every file it read are unchanged."""
    kept = _KEPT.get(str(path.resolve()))
    return kept[2] if kept is not None and kept[0] == text and cache.unchanged(kept[1]) else None


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise ModelError([Problem(str(path), None, f"cannot read file: {exc.strerror or exc}")]) from None


def _load_bytes(path: Path, text: bytes) -> tuple[dict[str, str], ThreatModel]:
    """(every other file the model read, {path: sha256}; the model), from the cache if it can."""
    hit = cache.lookup(path, text)
    if hit is not None:
        return hit
    with gc_paused():
        merged, problems = _load_file(text, str(path), path.resolve().parent, stack=(path.resolve(),))
        model = _finish((merged, problems), str(path))
        files = {**merged.files, **_builtin_files()}
        cache.put(path, text, files, model)
    return files, model


def load_text(text: str, name: str = "<model>", base_dir: str | Path = ".") -> ThreatModel:
    """Load a model from YAML text (a notebook cell, a test); includes resolve from `base_dir`."""
    return _finish(_load_file(text, name, Path(base_dir).resolve(), stack=()), name)


def load_data(data: dict, name: str = "<model>", base_dir: str | Path = ".") -> ThreatModel:
    """Load a model from Python data shaped like a model file (built in code);
    the same checks as for a file, with problems located by field path."""
    return _finish(_load_located(Located(name, data), Path(base_dir).resolve(), stack=()), name)


def _finish(state: tuple[_Merged, list[Problem]], top: str) -> ThreatModel:
    """Check references across the merged files (`top` is the file being loaded) and build the model."""
    merged, problems = state
    merged.scales = merged.scales.merged_over(_builtin()[0].scales)
    warnings = _drop_inherited_counters(merged, top)
    problems += _check_references(merged)
    if problems:
        raise ModelError(_sorted(problems))
    model = ThreatModel(name=merged.name, scales=merged.scales,
                        **{kind: tuple(merged.entries[kind].values()) for kind in KINDS})
    model._warnings = tuple(_sorted(warnings))
    return model


def _sorted(problems: list[Problem]) -> list[Problem]:
    unique = {(p.file, p.line or 0, p.message): p for p in problems}
    return [unique[k] for k in sorted(unique, key=lambda k: (k[0], k[1]))]


@lru_cache(maxsize=1)
def _builtin_files() -> dict[str, str]:
    """The built-in catalog and the ATLAS list: every model depends on them (scales, ATLAS ids)."""
    paths = [data_path(name) for name in BUILTIN_FILES] + [data_path("atlas/atlas.yaml")]
    return {str(p): cache.digest(p.read_bytes()) for p in paths}


@lru_cache(maxsize=1)
def _builtin() -> tuple[_Merged, tuple[Problem, ...]]:
    merged = _Merged()
    problems: list[Problem] = []
    for name in BUILTIN_FILES:
        path = data_path(name)
        part, found = _load_file(path.read_bytes(), str(path), path.parent, stack=(path,), allow_builtin=False)
        merged.update(part)
        problems += found
    return merged, tuple(problems)


def _load_file(text: str | bytes, name: str, base_dir: Path, stack: tuple[Path, ...],
               allow_builtin: bool = True) -> tuple[_Merged, list[Problem]]:
    try:
        src = read_yaml(text, name)
    except YamlError as exc:
        return _Merged(), [exc.problem]
    return _load_located(src, base_dir, stack, allow_builtin)


def _load_located(src: Located, base_dir: Path, stack: tuple[Path, ...],
                  allow_builtin: bool = True) -> tuple[_Merged, list[Problem]]:
    name = src.file
    if not isinstance(src.data, dict):
        found = "an empty file" if src.data is None else f"a {type(src.data).__name__}"
        return _Merged(), [Problem(name, src.line(()), f"expected a mapping with 'threatkit: 1' and lists of entries, found {found}")]

    problems: list[Problem] = model_text.control_problems(src)
    head = {k: v for k, v in src.data.items() if k not in KINDS}
    header: ModelFile | None = None
    try:
        header = ModelFile.model_validate(head)
    except ValidationError as exc:
        problems += errors.translate(exc, src, ModelFile)

    merged = _Merged()
    includes = header.include if header else _raw_includes(src)
    for i, inc in enumerate(includes):
        if inc == BUILTIN:
            if allow_builtin:
                builtin, found = _builtin()
                merged.update(builtin)
                problems += found
            continue
        line = src.line(("include", i))
        try:
            target = (base_dir / examples.resolve(inc)).resolve()     # example:NAME: a shipped example
        except examples.UnknownExample as exc:
            problems.append(Problem(name, line, f"include: {exc}"))
            continue
        if target in stack:
            chain = " -> ".join(p.name for p in stack + (target,))
            problems.append(Problem(name, line, f"include: cycle {chain}; expected includes that do not loop back"))
            continue
        try:
            inc_text = target.read_bytes()
        except OSError as exc:
            problems.append(Problem(name, line, f"include: cannot read {inc!r} ({exc.strerror or exc}); "
                                                f"expected 'builtin' or a path relative to {base_dir}"))
            continue
        shown = (str(target) if inc.startswith(examples.PREFIX)
                 else os.path.normpath(os.path.join(os.path.dirname(name), inc)))   # as the user would write it
        part, found = _load_file(inc_text, shown, target.parent, stack + (target,))
        part.files[str(target)] = cache.digest(inc_text)
        merged.update(part)
        problems += found

    own = _Merged(name=header.name if header else None)
    if header and header.scales:
        own.scales = header.scales
        own.scales_origin = _Origin(src, ("scales",))
    for kind in KINDS:
        problems += _load_entries(kind, src, own)
    merged.update(own)
    return merged, problems


def _raw_includes(src: Located) -> tuple[str, ...]:
    inc = src.data.get("include", (BUILTIN,))
    return tuple(x for x in inc if isinstance(x, str)) if isinstance(inc, list) else (BUILTIN,)


def _load_entries(kind: str, src: Located, into: _Merged) -> list[Problem]:
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
            entry = adapter.validate_python(item)
        except ValidationError as exc:
            problems += errors.translate(exc, src, ENTRY_TYPES[kind], prefix=path)
            if isinstance(raw_id, str):
                into.invalid_ids[kind].add(raw_id)
            if kind == "pathways" and isinstance(item, dict):
                into.invalid_steps |= set(_raw_node_ids(item.get("tree")))
            continue
        into.entries[kind][entry.id] = entry
        into.origins[(kind, entry.id)] = _Origin(src, path)
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


# ---- references ---------------------------------------------------------------------------

def _counter_targets(m: _Merged) -> set[str]:
    """What a control may counter: any step id, the id of a pathway that failed to validate, a pathway id."""
    node_ids = {n.id for p in m.entries["pathways"].values() for n in p.tree.walk()}
    return node_ids | m.invalid_steps | set(m.entries["pathways"]) | m.invalid_ids["pathways"]


def _drop_inherited_counters(m: _Merged, top: str) -> list[Problem]:
    """A control from an included file (the built-in catalog too) may counter a step that a
    later file removed, e.g. by overriding the step's pathway: that counter is dropped with a
    warning, and counters nothing. The same mistake in the file being loaded stays an error."""
    targets = _counter_targets(m)
    warnings = []
    for c in list(m.entries["controls"].values()):
        origin = m.origins[("controls", c.id)]
        stale = [(i, ref) for i, ref in enumerate(c.counters) if ref not in targets]
        if origin.source.file == top or not stale:
            continue
        for i, ref in stale:
            path = origin.path + ("counters", i)
            warnings.append(Problem(origin.source.file, origin.source.line(path),
                                    f"warning: {errors.field_path(path, origin.source)}: {ref!r} is no step or "
                                    "pathway of the merged model (a file loaded later replaced or removed it); "
                                    "this inherited counter counters nothing"))
        kept = tuple(ref for ref in c.counters if ref in targets)
        m.entries["controls"][c.id] = c.model_copy(update={"counters": kept})
    return warnings


def _check_references(m: _Merged) -> list[Problem]:
    problems: list[Problem] = []
    atlas = atlas_ids()
    known = {kind: set(m.entries[kind]) | m.invalid_ids[kind] for kind in KINDS}

    def at(kind: str, entry_id: str, *rest) -> tuple[str, int | None, str]:
        origin = m.origins[(kind, entry_id)]
        path = origin.path + rest
        return origin.source.file, origin.source.line(path), errors.field_path(path, origin.source)

    def unknown(where, what: str, value: str, choices: Iterable[str], expected: str) -> None:
        file, line, fpath = where
        match = difflib.get_close_matches(value, sorted(choices), n=1)
        hint = f" (did you mean {match[0]!r}?)" if match else ""
        problems.append(Problem(file, line, f"{fpath}: unknown {what} {value!r}{hint}; expected {expected}"))

    for s in m.entries["scenarios"].values():
        for ref, kind in (("asset", "assets"), ("actor", "actors"), ("tier", "tiers")):
            value = getattr(s, ref)
            if value not in known[kind]:
                unknown(at("scenarios", s.id, ref), ref, value, known[kind], f"the id of one of the model's {kind}")
        for i, c in enumerate(s.controls):
            if c not in known["controls"]:
                unknown(at("scenarios", s.id, "controls", i), "control", c, known["controls"], "the id of one of the model's controls")
        for i, x in enumerate(s.substitutes or ()):
            if x not in known["substitutes"]:
                unknown(at("scenarios", s.id, "substitutes", i), "substitute", x, known["substitutes"],
                        "the id of one of the model's substitutes")
        for i, e in enumerate(s.exposures):
            for ref, kind in (("asset", "assets"), ("tier", "tiers")):
                value = getattr(e, ref)
                if value not in known[kind]:
                    unknown(at("scenarios", s.id, "exposures", i, ref), ref, value, known[kind],
                            f"the id of one of the model's {kind}")
            for j, c in enumerate(e.controls):
                if c not in known["controls"]:
                    unknown(at("scenarios", s.id, "exposures", i, "controls", j), "control", c, known["controls"],
                            "the id of one of the model's controls")

    for x in m.entries["substitutes"].values():
        for field_name, kind in (("available_to", "actors"), ("assets", "assets")):
            for i, ref in enumerate(getattr(x, field_name) or ()):
                if ref not in known[kind]:
                    unknown(at("substitutes", x.id, field_name, i), kind[:-1], ref, known[kind],
                            f"the id of one of the model's {kind}")

    targets = _counter_targets(m)
    for c in m.entries["controls"].values():
        for i, ref in enumerate(c.counters):
            if ref not in targets:
                unknown(at("controls", c.id, "counters", i), "step or pathway", ref, targets,
                        "a step id of some pathway's tree, or a pathway id")

    def check_atlas(where_path: tuple, kind: str, entry_id: str, ids: tuple[str, ...]) -> None:
        for i, a in enumerate(ids):
            if a not in atlas:
                unknown(at(kind, entry_id, *where_path, "atlas", i), "MITRE ATLAS id", a, atlas,
                        f"an id of the pinned ATLAS {atlas_version()} list (threatkit catalog atlas)")

    for kind in ("tiers", "controls", "pathways"):
        for e in m.entries[kind].values():
            check_atlas((), kind, e.id, e.atlas)
    for p in m.entries["pathways"].values():
        for node_path, node in _node_paths(p.tree, ("tree",)):
            check_atlas(node_path, "pathways", p.id, node.atlas)

    if m.scales.risk is not None and m.scales.likelihood and m.scales.impact:
        rows, cols = len(m.scales.likelihood), len(m.scales.impact)
        if len(m.scales.risk) != rows or any(len(r) != cols for r in m.scales.risk):
            origin = m.scales_origin
            problems.append(Problem(origin.source.file if origin else "<scales>",
                                    origin.source.line(("scales",)) if origin else None,
                                    f"scales: the risk matrix must have {rows} rows (likelihood levels) of {cols} "
                                    "names (impact levels) after merging with the built-in scales"))
    return problems


def _node_paths(node, path: tuple):
    yield path, node
    for i, child in enumerate(node.children or ()):
        yield from _node_paths(child, path + ("children", i))


@lru_cache(maxsize=1)
def _atlas() -> dict:
    src = read_yaml(data_path("atlas/atlas.yaml").read_bytes(), "atlas.yaml")
    return src.data


def atlas_ids() -> dict[str, dict]:
    """The pinned MITRE ATLAS entries by id: {id: {id, name, kind}}."""
    return {e["id"]: e for e in _atlas()["entries"]}


def atlas_version() -> str:
    return str(_atlas()["version"])


def builtin_model() -> ThreatModel:
    """The built-in catalog alone, as a ThreatModel."""
    merged, problems = _builtin()
    if problems:
        raise ModelError(list(problems))
    return ThreatModel(scales=merged.scales, **{k: tuple(merged.entries[k].values()) for k in KINDS})


__all__ = ["ModelError", "load_model", "load_text", "load_data", "builtin_model", "atlas_ids", "resource_dir"]
