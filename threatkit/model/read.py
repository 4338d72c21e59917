"""Loading, step 1 of 5: a model file's text (or data built in code) -> a Document.

A document is the file's data with the line of every value (yamlsafe), its text checked
for control characters and its header (version, name, includes, scales) validated. The
header is read here, before the entries, because it says which other files to read next
(step 2, includes). Nothing here fails: every problem is part of the document.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError

from threatkit.model import errors, text as model_text
from threatkit.model.values import KINDS, ModelFile
from threatkit.model.yamlsafe import Located, Problem, YamlError, read_yaml

BUILTIN = "builtin"

# What in a text may put a control character in a string value. libyaml refuses raw control
# characters other than tab, LF, CR and NEL, so one can only come from a raw CR or NEL or
# from an escape in a double-quoted string (a backslash); text with none of these needs no
# check (UTF-16 text holds NUL bytes, so it is checked).
_CONTROL_BYTES = bytes([*range(0x00, 0x09), *range(0x0b, 0x20), 0x7f, ord("\\")])
_C1_UTF8 = re.compile(rb"\xc2[\x80-\x9f]")                   # U+0080..U+009F in UTF-8
_CONTROL_TEXT = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\\]")


def _may_hold_control(text: str | bytes) -> bool:
    if isinstance(text, str):
        return _CONTROL_TEXT.search(text) is not None
    # bytes.translate drops them in one pass (a regular expression takes ten times as long on a
    # 2.7 MB model); the two-byte ones only where their first byte is
    return len(text.translate(None, _CONTROL_BYTES)) != len(text) or (b"\xc2" in text and bool(_C1_UTF8.search(text)))


@dataclass(frozen=True)
class Document:
    """One model file as read."""

    name: str                     # as problems name it
    src: Located | None           # None: the file holds no model (bad YAML, not a mapping)
    header: ModelFile | None      # None where the header has a problem
    base_dir: Path                # where its includes are found
    problems: tuple[Problem, ...]

    @property
    def includes(self) -> tuple[str, ...]:
        """What the file includes, in order (the built-in catalog unless it says otherwise)."""
        if self.src is None:
            return ()
        if self.header is not None:
            return self.header.include
        inc = self.src.data.get("include", (BUILTIN,))
        return tuple(x for x in inc if isinstance(x, str)) if isinstance(inc, list) else (BUILTIN,)


def read_text(text: str | bytes, name: str, base_dir: Path) -> Document:
    """A document from YAML text; `name` is how problems name the file."""
    try:
        src = read_yaml(text, name)
    except YamlError as exc:
        return Document(name, None, None, base_dir, (exc.problem,))
    return _document(src, base_dir, printable=isinstance(text, (str, bytes)) and not _may_hold_control(text))


def read_data(data: object, name: str, base_dir: Path) -> Document:
    """A document from Python data shaped like a model file (its problems have no lines)."""
    return _document(Located(name, data), base_dir, printable=False)


def _document(src: Located, base_dir: Path, printable: bool) -> Document:
    """`printable`: the text is known to hold no control character (the check is skipped)."""
    if not isinstance(src.data, dict):
        found = "an empty file" if src.data is None else f"a {type(src.data).__name__}"
        return Document(src.file, None, None, base_dir, (
            Problem(src.file, src.line(()), f"expected a mapping with 'threatkit: 1' and lists of entries, found {found}"),))
    problems = [] if printable else model_text.control_problems(src)
    header = None
    try:
        header = ModelFile.model_validate({k: v for k, v in src.data.items() if k not in KINDS})
    except ValidationError as exc:
        problems += errors.translate(exc, src, ModelFile)
    return Document(src.file, src, header, base_dir, tuple(problems))
