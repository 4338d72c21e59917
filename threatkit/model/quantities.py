"""The quantities of one file: each distinct one parsed once, and held by one object.

A large tree repeats a few numbers thousands of times. Parsing each into a new Quantity is
most of the cost of validating the tree, and each new object is then pickled, unpickled and
garbage-collected in turn (validate.py, cache.py). So a file's entries are validated with a
FileQuantities as pydantic's context: each quantity field's validator (values._quantity) asks
it for the Quantity of a raw value, which it parses once per field and distinct value. A
value the field refuses raises as ever, and is not kept. Defaults are constants (values.py).

Quantities are immutable, so this changes nothing but identity. Equal means the same floats
bit for bit, the same word and the same fields set.
"""
from __future__ import annotations

from collections.abc import Callable
from struct import pack
from typing import Any

from threatkit.model.values import Quantity

_SCALARS = (int, float, str, bool)


class FileQuantities:
    """What one file's quantities parsed to, by field and raw value."""

    def __init__(self) -> None:
        self._parsed: dict[tuple, Quantity] = {}       # (field's parser, raw value) -> its Quantity
        self._shared: dict[tuple, Quantity] = {}       # the first of each equal quantity

    def quantity(self, parse: Callable[[Any], Quantity], raw: Any) -> Quantity:
        """parse(raw), the first time `parse` (a field's parser) is given a value like `raw`."""
        key = _key(parse, raw)
        if key is None:
            return parse(raw)
        q = self._parsed.get(key)
        if q is None:
            q = self._parsed[key] = self._one(parse(raw))
        return q

    def _one(self, q: Quantity) -> Quantity:
        """The first quantity of the file equal to `q` (two fields may parse values alike)."""
        key = (pack("3d", q.low, q.mode, q.high), q.word, "word" in q.__pydantic_fields_set__)
        return self._shared.setdefault(key, q)


def _key(parse: Callable, raw: Any) -> tuple | None:
    """A key equal only for values that parse alike (1 is not 1.0 nor True, -0.0 is not 0.0);
    None for a value not worth one (a list, a Quantity already)."""
    kind = type(raw)
    if kind is str or kind is int or (kind is float and raw):     # the common cases first
        return parse, kind, raw
    exact = _exact(raw)
    return None if exact is None else (parse, kind, exact)


def _exact(raw: Any) -> Any:
    kind = type(raw)
    if kind is float:
        return raw.hex()             # 0.0 and -0.0 (and NaN, which is refused)
    if kind in _SCALARS:
        return raw
    if kind is dict and all(type(v) in _SCALARS for v in raw.values()):
        return tuple((k, type(v), _exact(v)) for k, v in raw.items())
    return None
