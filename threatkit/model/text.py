"""Model text is printable text: control characters are refused where a model is read.

A name holding ESC (`"\\x1b[2J"` in a double-quoted YAML string) would otherwise reach
terminals raw. Tab and newline are ordinary in descriptions; every other C0 control,
DEL and the C1 controls (which some terminals also obey) are refused.
"""
from __future__ import annotations

import re

from threatkit.model.errors import describe, field_path
from threatkit.model.yamlsafe import Located, Problem

CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def control_problems(src: Located) -> list[Problem]:
    """One problem per string value of the file that holds a control character."""
    problems = []
    stack: list[tuple[tuple, object]] = [((), src.data)]
    while stack:
        path, value = stack.pop()
        if isinstance(value, str):
            found = CONTROL.search(value)
            if found:
                problems.append(Problem(src.file, src.line(path), f"{field_path(path, src)}: found {describe(value)}, "
                                        f"which holds control character U+{ord(found.group()):04X}; expected text "
                                        "without control characters (tab and newline are allowed)"))
        elif isinstance(value, dict):
            stack.extend((path + (k,), v) for k, v in value.items())
        elif isinstance(value, list):
            stack.extend((path + (i,), v) for i, v in enumerate(value))
    return problems
