"""Model files -> a validated ThreatModel, or every problem with FILE:LINE.

Loading is a pipeline, one module per step, each a function of the previous step's value:

    read.py      text (or data) -> Document: YAML with lines (yamlsafe), header, printable text
    includes.py  Document -> Sources: it and the files it includes, read in merge order
    validate.py  Sources -> a Layer of typed entries per source, entry by entry (quantities.py:
                 each distinct quantity of a file parsed once, equal ones one object)
    merge.py     Layers -> one Layer, merged by id (later files override earlier ones)
    resolve.py   Layer -> ThreatModel: built-in scales, inherited counters, references checked

catalog.py reads the built-in catalog through the same steps, once per process; cache.py
keeps the result of the whole pipeline per user, keyed by every file that went in. This
module is the entry: it runs the steps and raises ModelError with every problem found.
"""
from __future__ import annotations

from pathlib import Path

from threatkit.model import cache, catalog, includes
from threatkit.model.merge import merge
from threatkit.model.read import Document, read_data, read_text
from threatkit.model.resolve import resolve, sorted_problems
from threatkit.model.validate import validate_sources
from threatkit.model.values import KINDS, ThreatModel
from threatkit.model.yamlsafe import Problem, gc_paused

# Names other modules and tests import from here, as before the pipeline had its own modules.
from threatkit.model.catalog import BUILTIN_FILES, atlas_ids, atlas_version  # noqa: F401,E402
from threatkit.model.read import BUILTIN  # noqa: F401,E402
from threatkit.model.validate import ENTRY_TYPES  # noqa: F401,E402
from threatkit.model.yamlsafe import read_yaml  # noqa: F401,E402
from threatkit.resources import resource_dir  # noqa: F401,E402


class ModelError(Exception):
    """A model that failed to load: every problem found, each with FILE:LINE."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("\n".join(map(str, problems)))


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
    with gc_paused(kept=True):
        resolved = path.resolve()
        model, files = _run(read_text(text, str(path), resolved.parent), stack=(resolved,))
        files = {**files, **catalog.builtin_files()}
        cache.put(path, text, files, model)
    return files, model


def load_text(text: str, name: str = "<model>", base_dir: str | Path = ".") -> ThreatModel:
    """Load a model from YAML text (a notebook cell, a test); includes resolve from `base_dir`."""
    return _run(read_text(text, name, Path(base_dir).resolve()), stack=())[0]


def load_data(data: dict, name: str = "<model>", base_dir: str | Path = ".") -> ThreatModel:
    """Load a model from Python data shaped like a model file (built in code);
    the same checks as for a file, with problems located by field path."""
    return _run(read_data(data, name, Path(base_dir).resolve()), stack=())[0]


def _run(document: Document, stack: tuple[Path, ...]) -> tuple[ThreatModel, dict[str, str]]:
    """The pipeline after reading: (the model, every included file read as {path: sha256})."""
    sources = includes.gather(document, stack)
    layers, problems = validate_sources(sources.documents, catalog.builtin())
    model, found = resolve(merge(layers), document.name)
    problems = [*sources.problems, *problems, *found]
    if problems:
        raise ModelError(sorted_problems(problems))
    return model, sources.files


def builtin_model() -> ThreatModel:
    """The built-in catalog alone, as a ThreatModel."""
    merged, problems = catalog.builtin()
    if problems:
        raise ModelError(list(problems))
    return ThreatModel(scales=merged.scales, **{k: tuple(merged.entries[k].values()) for k in KINDS})


__all__ = ["ModelError", "load_model", "load_text", "load_data", "builtin_model", "atlas_ids", "resource_dir"]
