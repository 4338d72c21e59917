"""Loading, step 5 of 5: the merged layer -> a ThreatModel, or the problems of its references.

The built-in scales go under the model's own. A control from an included file (the
built-in catalog too) may counter a step that a later file removed, e.g. by overriding the
step's pathway: that counter is dropped with a warning, and counters nothing; the same
mistake in the file being loaded stays an error. Then every reference is checked: to
assets, actors, tiers, controls, substitutes, steps and MITRE ATLAS ids.
"""
from __future__ import annotations

import difflib
from typing import Iterable

from threatkit.model import catalog, errors
from threatkit.model.validate import Layer
from threatkit.model.values import KINDS, Node, Scales, ThreatModel
from threatkit.model.yamlsafe import Problem


def resolve(merged: Layer, top: str) -> tuple[ThreatModel | None, list[Problem]]:
    """The model (None if its references have problems) and those problems; `top` is the
    name of the file being loaded. The model's `warnings` are its dropped counters."""
    scales = merged.scales.merged_over(catalog.builtin()[0].scales)
    steps = {p.id: list(p.tree.walk()) for p in merged.entries["pathways"].values()}
    targets = _counter_targets(merged, steps)
    controls, warnings = _drop_inherited_counters(merged, top, targets)
    problems = _check_references(merged, controls, targets, scales, steps)
    if problems:
        return None, problems
    entries = {**merged.entries, "controls": controls}
    # Every value is validated already: checking them again would only walk each tree again.
    model = ThreatModel.model_construct(name=merged.name, scales=scales,
                                        **{kind: tuple(entries[kind].values()) for kind in KINDS})
    model._warnings = tuple(sorted_problems(warnings))
    return model, []


def sorted_problems(problems: list[Problem]) -> list[Problem]:
    """By file and line (in the order found where those are equal), each once."""
    unique = {(p.file, p.line or 0, p.message): p for p in problems}
    return [unique[k] for k in sorted(unique, key=lambda k: (k[0], k[1]))]


def _counter_targets(m: Layer, steps: dict[str, list[Node]]) -> set[str]:
    """What a control may counter: any step id, the id of a pathway that failed to validate, a pathway id."""
    node_ids = {n.id for nodes in steps.values() for n in nodes}
    return node_ids | m.invalid_steps | set(m.entries["pathways"]) | m.invalid_ids["pathways"]


def _drop_inherited_counters(m: Layer, top: str, targets: set[str]) -> tuple[dict[str, object], list[Problem]]:
    """The controls, those from included files without the counters that target nothing."""
    controls = dict(m.entries["controls"])
    warnings = []
    for c in controls.values():
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
        controls[c.id] = c.model_copy(update={"counters": kept})
    return controls, warnings


def _check_references(m: Layer, controls: dict[str, object], targets: set[str], scales: Scales,
                      steps: dict[str, list[Node]]) -> list[Problem]:
    problems: list[Problem] = []
    atlas = catalog.atlas_ids()
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

    for c in controls.values():
        for i, ref in enumerate(c.counters):
            if ref not in targets:
                unknown(at("controls", c.id, "counters", i), "step or pathway", ref, targets,
                        "a step id of some pathway's tree, or a pathway id")

    def check_atlas(where_path: tuple, kind: str, entry_id: str, ids: tuple[str, ...]) -> None:
        for i, a in enumerate(ids):
            if a not in atlas:
                unknown(at(kind, entry_id, *where_path, "atlas", i), "MITRE ATLAS id", a, atlas,
                        f"an id of the pinned ATLAS {catalog.atlas_version()} list (threatkit catalog atlas)")

    for kind in ("tiers", "controls", "pathways"):
        for e in (controls if kind == "controls" else m.entries[kind]).values():
            check_atlas((), kind, e.id, e.atlas)
    for p in m.entries["pathways"].values():
        if all(a in atlas for n in steps[p.id] for a in n.atlas):
            continue                     # the common case, without working out every node's path
        for node_path, node in _node_paths(p.tree, ("tree",)):
            check_atlas(node_path, "pathways", p.id, node.atlas)

    if scales.risk is not None and scales.likelihood and scales.impact:
        rows, cols = len(scales.likelihood), len(scales.impact)
        if len(scales.risk) != rows or any(len(r) != cols for r in scales.risk):
            origin = m.scales_origin
            problems.append(Problem(origin.source.file if origin else "<scales>",
                                    origin.source.line(("scales",)) if origin else None,
                                    f"scales: the risk matrix must have {rows} rows (likelihood levels) of {cols} "
                                    "names (impact levels) after merging with the built-in scales"))
    return problems


def _node_paths(node: Node, path: tuple):
    yield path, node
    for i, child in enumerate(node.children or ()):
        yield from _node_paths(child, path + ("children", i))
