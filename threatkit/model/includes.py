"""Loading, step 2 of 5: a document and, read in turn, everything it includes -> Sources.

Includes come before the file that names them, since later files override earlier ones:
`builtin` (the built-in catalog, validated once per process: step 3 puts it in), a shipped
example as `example:NAME`, or a path relative to the including file. An include that
loops back, is missing or names no example is a problem at its line, and is left out.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from threatkit import examples
from threatkit.model.cache import digest
from threatkit.model.read import BUILTIN, Document, read_text
from threatkit.model.yamlsafe import Problem


@dataclass(frozen=True)
class Sources:
    """Every source of a model, in merge order, and what went wrong finding them."""

    documents: tuple[Document | str, ...]   # BUILTIN where the built-in catalog goes
    files: dict[str, str]                   # every included file read: {path: sha256 of its bytes}
    problems: tuple[Problem, ...]           # the documents' own (step 1) and their includes'


def gather(document: Document, stack: tuple[Path, ...], allow_builtin: bool = True) -> Sources:
    """`document`'s sources; `stack`: the files that led to it, so that a cycle is found;
    `allow_builtin` False: the built-in catalog's own files, which leave `builtin` out."""
    found: list[Document | str] = []
    files: dict[str, str] = {}
    problems = list(document.problems)
    for i, inc in enumerate(document.includes):
        if inc == BUILTIN:
            if allow_builtin:
                found.append(BUILTIN)
            continue
        src = document.src
        try:
            target = (document.base_dir / examples.resolve(inc)).resolve()     # example:NAME: a shipped example
        except examples.UnknownExample as exc:
            problems.append(Problem(src.file, src.line(("include", i)), f"include: {exc}"))
            continue
        if target in stack:
            chain = " -> ".join(p.name for p in stack + (target,))
            problems.append(Problem(src.file, src.line(("include", i)),
                                    f"include: cycle {chain}; expected includes that do not loop back"))
            continue
        try:
            text = target.read_bytes()
        except OSError as exc:
            problems.append(Problem(src.file, src.line(("include", i)),
                                    f"include: cannot read {inc!r} ({exc.strerror or exc}); "
                                    f"expected 'builtin' or a path relative to {document.base_dir}"))
            continue
        shown = (str(target) if inc.startswith(examples.PREFIX)
                 else os.path.normpath(os.path.join(os.path.dirname(src.file), inc)))   # as the user would write it
        included = gather(read_text(text, shown, target.parent), stack + (target,), allow_builtin)
        found += included.documents
        files.update(included.files)
        files[str(target)] = digest(text)
        problems += included.problems
    found.append(document)
    return Sources(tuple(found), files, tuple(problems))
