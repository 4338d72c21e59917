"""Model text as data in every output.

Names, labels, descriptions and sources come from model files that teams share, so they
may hold markup meant to run in a reader's browser or to move a terminal's cursor. Each
output keeps such text literal: HTML through `html.escape` (pandas tables with
`escape="html"`, SVG through `xml.sax.saxutils`, Graphviz labels through
render.graphviz.dot_string); Markdown, terminals and widget labels through this module.
"""
from __future__ import annotations

import re
import string

from threatkit.model.text import CONTROL

_ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
# Markdown gives meaning to ASCII punctuation only; a backslash before any of it is a literal.
# These few mean nothing once brackets, parentheses and line starts are escaped: kept as they are.
_INERT = ",;?%'\""
_MARKDOWN = {c: _ENTITIES.get(c, "\\" + c) for c in string.punctuation if c not in _INERT}
_SPACES = re.compile(r"\s+")
_BIDI = re.compile(r"[\u202a-\u202e\u2066-\u2069]")      # overrides that reorder what a terminal shows


def terminal_safe(text: str) -> str:
    """Multi-line text for a terminal: control characters (escape sequences) and bidi overrides
    shown as \\x.. escapes, newlines and tabs kept."""
    def shown(m: re.Match) -> str:
        return f"\\x{ord(m.group()):02x}"
    return _BIDI.sub(shown, CONTROL.sub(shown, text))


def one_line(text: object, limit: int | None = None) -> str:
    """`text` on one line: control characters dropped, runs of whitespace (newlines, tabs)
    as one space; cut to `limit` characters with an ellipsis."""
    # the loader refuses control characters; text built in code may still hold them
    flat = _SPACES.sub(" ", CONTROL.sub("", str(text))).strip()
    if limit is not None and len(flat) > limit:
        flat = flat[: limit - 1].rstrip() + "…"
    return flat


def md_text(text: object) -> str:
    """`text` as literal Markdown inline text: on one line, its Markdown punctuation escaped
    (no emphasis, links, images, autolinks, headings or tables), '<', '>' and '&' as entities
    (no raw HTML). It renders as the text itself, in JupyterLab and through nbconvert."""
    return "".join(_MARKDOWN.get(c, c) for c in one_line(text))
