"""The example models shipped with threatkit, reachable by name as `example:NAME`.

Every command that takes a model FILE passes it through `resolve`, so an
installed wheel (no checkout, no data/ folder in sight) can still run
`threatkit batch example:mythos -o out/`.
"""
from __future__ import annotations

import re
from pathlib import Path

from threatkit.resources import resource_dir

PREFIX = "example:"


class UnknownExample(ValueError):
    """`example:NAME` where no such example is shipped."""


def examples() -> dict[str, Path]:
    """Name -> path of every shipped example model, sorted by name."""
    folder = resource_dir("data") / "examples"
    return {p.stem: p for p in sorted(folder.glob("*.yaml"))}


def resolve(file: str | Path) -> Path:
    """A model FILE as given by a user: `example:NAME` becomes the shipped file, any other
    text is a path (left for the loader to report if it is missing)."""
    text = str(file)
    if not text.startswith(PREFIX):
        return Path(text)
    name = text[len(PREFIX):]
    known = examples()
    if name not in known:
        choices = ", ".join(PREFIX + n for n in known) or "none"
        raise UnknownExample(f"no shipped example {name!r}; expected one of: {choices} "
                             f"(`threatkit catalog examples` lists them)")
    return known[name]


def describe(path: Path) -> dict[str, str]:
    """An example's catalog row: its name, title and the first sentence of its description,
    read from the file's top-level keys without loading the whole model."""
    import yaml

    head = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    words = " ".join(str(head.get("description") or "").split())
    first = re.split(r"(?<=[.!?])\s", words, maxsplit=1)[0]
    return {"id": PREFIX + path.stem, "name": str(head.get("name") or path.stem), "description": first,
            "scenarios": ",".join(s.get("id", "?") for s in head.get("scenarios") or [] if isinstance(s, dict))}
