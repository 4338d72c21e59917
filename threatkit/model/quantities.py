"""The quantities of one file: each distinct one parsed once, and held by one object.

A large tree repeats a few numbers thousands of times. Parsing each into a new Quantity is
most of the cost of validating the tree, and each new object is then pickled, unpickled and
garbage-collected in turn (validate.py, cache.py). So, within a file:

- before an entry is validated, each raw value of a quantity field is parsed by that field's
  own validator, once per distinct value, and the data given to pydantic holds the result,
  which the field's validator takes as it is (a value it refuses is left for pydantic to
  report, as ever);
- after, the quantities pydantic built itself (defaults) become the equal one seen before.

Quantities are immutable, so this changes nothing but identity. Equal means the same floats
bit for bit, the same word and the same fields set.
"""
from __future__ import annotations

import typing
from functools import lru_cache
from struct import pack
from typing import Annotated, Any

from pydantic import BaseModel, TypeAdapter, ValidationError

from threatkit.model.values import Quantity

_UNSEEN = object()
_SCALARS = (int, float, str, bool)


class FileQuantities:
    """What one file's quantities parsed to, by field and raw value."""

    def __init__(self) -> None:
        self._parsed: dict[tuple, Quantity | None] = {}     # (field's validator, raw value) -> None if refused
        self._shared: dict[tuple, Quantity] = {}            # the first of each equal quantity
        self._held: set[int] = set()                        # ids of those

    def parsed(self, cls: type[BaseModel], raw: Any) -> Any:
        """`raw`, data for a `cls`, with its quantities (and its nested models') parsed: a
        copy where one was, else `raw` itself."""
        if not isinstance(raw, dict):
            return raw
        quantities, nested = _plan(cls)
        out = raw
        for name, adapter in quantities:
            value = raw.get(name)
            if value is None:
                continue
            key = _key(adapter, value)
            if key is None:
                continue
            q = self._parsed.get(key, _UNSEEN)
            if q is _UNSEEN:
                q = self._parsed[key] = self._parse(adapter, value)
            if q is not None:
                out = out if out is not raw else dict(raw)
                out[name] = q
        for name, sub in nested:
            value = raw.get(name)
            if isinstance(value, dict):
                new: Any = self.parsed(sub, value)
            elif isinstance(value, list):
                new = [self.parsed(sub, v) for v in value]
                new = value if all(a is b for a, b in zip(new, value)) else new
            else:
                continue
            if new is not value:
                out = out if out is not raw else dict(raw)
                out[name] = new
        return out

    def share(self, entry: BaseModel) -> None:
        """Make every quantity of `entry` (just validated: nothing else refers to it yet)
        the first equal one of the file."""
        stack = [entry]
        while stack:
            model = stack.pop()
            quantities, models = _fields(type(model))
            fields = model.__dict__
            for name in quantities:
                q = fields[name]
                if type(q) is Quantity and id(q) not in self._held:
                    fields[name] = self._one(q)
            for name in models:
                value = fields[name]
                if isinstance(value, BaseModel):
                    stack.append(value)
                elif isinstance(value, tuple):
                    stack.extend(v for v in value if isinstance(v, BaseModel))

    def _parse(self, adapter: TypeAdapter, raw: Any) -> Quantity | None:
        """The Quantity the field's validator makes of `raw`, or None if it refuses it."""
        try:
            q = adapter.validate_python(raw)
        except ValidationError:
            return None
        return self._one(q) if type(q) is Quantity else None

    def _one(self, q: Quantity) -> Quantity:
        key = (pack("3d", q.low, q.mode, q.high), q.word, "word" in q.__pydantic_fields_set__)
        first = self._shared.setdefault(key, q)
        self._held.add(id(first))
        return first


def _key(adapter: TypeAdapter, raw: Any) -> tuple | None:
    """A key equal only for values that parse alike (1 is not 1.0 nor True, -0.0 is not 0.0);
    None for a value not worth one (a list)."""
    kind = type(raw)
    if kind is str or kind is int or (kind is float and raw):     # the common cases first
        return adapter, kind, raw
    exact = _exact(raw)
    return None if exact is None else (adapter, kind, exact)


def _exact(raw: Any) -> Any:
    kind = type(raw)
    if kind is float:
        return raw.hex()             # 0.0 and -0.0 (and NaN, which is refused)
    if kind in _SCALARS:
        return raw
    if kind is dict and all(type(v) in _SCALARS for v in raw.values()):
        return tuple((k, type(v), _exact(v)) for k, v in raw.items())
    return None


@lru_cache(maxsize=None)
def _plan(cls: type[BaseModel]) -> tuple[tuple[tuple[str, TypeAdapter], ...], tuple[tuple[str, type], ...]]:
    """((quantity field, its validator), ...), ((field holding one kind of model, that model), ...)."""
    quantities, models = _fields(cls)
    nested = []
    for name in models:
        found = [c for c in _classes_in(cls.model_fields[name].annotation)
                 if issubclass(c, BaseModel) and c is not Quantity]
        if len(found) == 1:
            nested.append((name, found[0]))
    return (tuple((name, TypeAdapter(Annotated[cls.model_fields[name].annotation, cls.model_fields[name]]))
                  for name in quantities), tuple(nested))


@lru_cache(maxsize=None)
def _fields(cls: type[BaseModel]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(the fields that may hold a Quantity, those that may hold other models) of a model class."""
    classes = {name: _classes_in(f.annotation) for name, f in cls.model_fields.items()}
    return (tuple(name for name, found in classes.items() if Quantity in found),
            tuple(name for name, found in classes.items()
                  if any(issubclass(c, BaseModel) and c is not Quantity for c in found)))


def _classes_in(annotation: Any) -> set[type]:
    found = {annotation} if isinstance(annotation, type) and typing.get_origin(annotation) is None else set()
    return found.union(*(_classes_in(a) for a in typing.get_args(annotation)))
