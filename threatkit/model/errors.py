"""Turn pydantic validation errors into FILE:LINE messages an analyst can act on.

Each message names the field path (with entry ids where the data has them),
what was found and what was expected.
"""
from __future__ import annotations

import difflib
import types
import typing
from typing import Any

from pydantic import BaseModel, ValidationError

from threatkit.model.values import ATLAS_PATTERN
from threatkit.model.yamlsafe import Located, Problem

_ID_RULE = "lower-case letters, digits, '.', '_' or '-', starting with a letter or digit, at most 64 characters"


def describe(value: Any) -> str:
    """A short description of a found value, for messages."""
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if value is None:
        return "nothing (null)"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def translate(exc: ValidationError, src: Located, model: type[BaseModel], prefix: tuple = ()) -> list[Problem]:
    problems = []
    for err in exc.errors(include_url=False):
        loc = prefix + tuple(err["loc"])
        at = tuple(err.get("ctx", {}).get("at", ()))   # a custom error may point below its value
        where = loc + at
        key = err["type"] == "extra_forbidden" or bool(at and isinstance(at[-1], str))
        problems.append(Problem(src.file, src.line(where, key=key),
                                f"{field_path(where, src)}: {_message(err, loc[len(prefix):], model)}"))
    return problems


def field_path(loc: tuple, src: Located) -> str:
    """('pathways', 0, 'tree', 'p') -> 'pathways[distillation].tree.p'."""
    out = ""
    for i, part in enumerate(loc):
        if isinstance(part, int):
            raw = src.get(loc[: i + 1])
            ident = raw.get("id") if isinstance(raw, dict) else None
            out += f"[{ident}]" if isinstance(ident, str) else f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out or "(top level)"


def _message(err: dict, loc: tuple, model: type[BaseModel]) -> str:
    kind, found = err["type"], err.get("input")
    if kind == "extra_forbidden":
        allowed = _allowed_keys(model, loc[:-1])
        key = str(loc[-1])
        match = difflib.get_close_matches(key, allowed, n=1)
        hint = f" (did you mean {match[0]!r}?)" if match else ""
        return f"unknown key {key!r}{hint}; expected one of: {', '.join(allowed)}"
    if kind == "missing":
        return f"missing required key {loc[-1]!r}"
    if kind == "string_pattern_mismatch":
        if err.get("ctx", {}).get("pattern") == ATLAS_PATTERN:
            return f"found {describe(found)}; expected a MITRE ATLAS id such as AML.T0024.002"
        return f"invalid id {describe(found)}; expected {_ID_RULE}"
    if "msg" in err.get("ctx", {}):       # our own errors carry a finished message
        return err["ctx"]["msg"]
    msg = err["msg"]
    if msg.startswith("Value error, "):
        return msg[len("Value error, "):]
    msg = msg.replace("Input should be", "expected").replace("Input should have", "expected")
    msg = msg.replace("a valid tuple", "a list").replace("a valid dictionary", "a mapping")
    msg = msg[0].lower() + msg[1:]
    return f"found {describe(found)}; {msg}"


def _allowed_keys(model: Any, loc: tuple) -> list[str]:
    """The keys the model accepts at `loc` (walking fields, tuples and optionals)."""
    current: Any = model
    for part in loc:
        current = _unwrap(current)
        if isinstance(part, int):
            continue
        if isinstance(current, type) and issubclass(current, BaseModel) and part in current.model_fields:
            current = current.model_fields[part].annotation
        else:
            return []
    current = _unwrap(current)
    if isinstance(current, type) and issubclass(current, BaseModel):
        return list(current.model_fields)
    return []


def _unwrap(tp: Any) -> Any:
    """Strip Optional[...] and tuple[X, ...] down to X."""
    while True:
        origin = typing.get_origin(tp)
        if origin in (typing.Union, types.UnionType):
            args = [a for a in typing.get_args(tp) if a is not type(None)]
            tp = args[0] if len(args) == 1 else tp
            if len(args) != 1:
                return tp
        elif origin is tuple:
            tp = typing.get_args(tp)[0]
        elif origin is typing.Annotated:
            tp = typing.get_args(tp)[0]
        else:
            return tp
