"""The built-in catalog (data/*.yaml) and the pinned MITRE ATLAS list, each read once per process.

The catalog's files go through the same steps as a model file (read, includes, validate,
merge); `include: [builtin]` puts the resulting layer under a model's own files, and its
scales go under every model's. Every model thus depends on these files, so they are among
the input files that the cache (threatkit.model.cache) checks.
"""
from __future__ import annotations

from functools import lru_cache

from threatkit.model import cache
from threatkit.model.includes import gather
from threatkit.model.merge import merge
from threatkit.model.read import read_text
from threatkit.model.validate import Layer, validate_sources
from threatkit.model.yamlsafe import Problem, read_yaml
from threatkit.resources import data_path

BUILTIN_FILES = ("scales.yaml", "assets.yaml", "tiers.yaml", "actors.yaml", "pathways.yaml", "controls.yaml",
                 "substitutes.yaml")
ATLAS_FILE = "atlas/atlas.yaml"


@lru_cache(maxsize=1)
def builtin() -> tuple[Layer, tuple[Problem, ...]]:
    """The catalog's entries, merged, and any problems its files have."""
    layers: list[Layer] = []
    problems: list[Problem] = []
    for name in BUILTIN_FILES:
        path = data_path(name)
        sources = gather(read_text(path.read_bytes(), str(path), path.parent), stack=(path,), allow_builtin=False)
        found, found_problems = validate_sources(sources.documents, builtin=None)
        layers += found
        problems += [*sources.problems, *found_problems]
    return merge(layers), tuple(problems)


@lru_cache(maxsize=1)
def builtin_files() -> dict[str, str]:
    """{path: sha256} of the catalog's files and the ATLAS list: every model depends on them."""
    paths = [data_path(name) for name in BUILTIN_FILES] + [data_path(ATLAS_FILE)]
    return {str(p): cache.digest(p.read_bytes()) for p in paths}


@lru_cache(maxsize=1)
def _atlas() -> dict:
    return read_yaml(data_path(ATLAS_FILE).read_bytes(), "atlas.yaml").data


def atlas_ids() -> dict[str, dict]:
    """The pinned MITRE ATLAS entries by id: {id: {id, name, kind}}."""
    return {e["id"]: e for e in _atlas()["entries"]}


def atlas_version() -> str:
    return str(_atlas()["version"])
