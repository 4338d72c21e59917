"""Read YAML safely, remembering the line of every key and value.

libyaml (PyYAML's C bindings) parses the text. A document without anchors, aliases or
merge keys (nearly every model file) is built into plain Python data straight from the
parser's events, each dropped once placed. Any other document, and any document with a
problem, is composed into a node graph first (aliases stay shared, so this is linear in
the file; libyaml refuses nesting deeper than 1,000 levels itself, so its recursive
composer cannot exhaust the stack), and built from it. Both count every value they
build, so that an alias bomb stops at a fixed budget instead of exhausting memory, and
both take their tags from the same resolver and values from the same constructor. Only
the standard YAML tags are accepted: a Python tag is an error, never code.

Lines are needed only to report a problem, so the data is built without them and the
text is kept: the first time a line is asked for, the text is composed again and the map
of lines worked out.
"""
from __future__ import annotations

import gc
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache

import yaml
from yaml.events import (DocumentEndEvent, MappingEndEvent, MappingStartEvent, ScalarEvent,
                         SequenceEndEvent, SequenceStartEvent, StreamEndEvent)
from yaml.nodes import MappingNode, ScalarNode, SequenceNode

# The pure-Python parser is ten times slower; it stands in only where PyYAML was built without libyaml.
_Base = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_STR = "tag:yaml.org,2002:str"
_SEQ = "tag:yaml.org,2002:seq"
_MAP = "tag:yaml.org,2002:map"
# Scalars of these tags construct to immutable values (numbers, booleans, null), so equal text is built once.
_SHARED_TAGS = frozenset(f"tag:yaml.org,2002:{t}" for t in ("int", "float", "bool", "null"))
_UNBUILT = object()
_MERGE = "tag:yaml.org,2002:merge"
_FLATTENED = frozenset((_MERGE, "tag:yaml.org,2002:value"))     # the keys flatten_mapping acts on

MAX_BYTES = 10 * 1024 * 1024     # a model file is text written by people
MAX_NODES = 2_000_000            # values built in all
MAX_ALIASED = 100_000            # values built again through aliases: a model needs few
MAX_DEPTH = 200                  # nesting; deeper is hostile, not a model

Path = tuple  # a location in the data: keys and list indexes


class _Loader(_Base):
    """The safe loader, resolving each distinct scalar's tag once. The composer asks for the
    tag of every node, and a model repeats its keys and numbers thousands of times; with no
    path resolvers (none are registered for the safe loader) a tag depends only on the
    node's kind, text and whether it was quoted, so a cache (in C) answers all but the first."""

    def __init__(self, stream):
        super().__init__(stream)
        if not self.yaml_path_resolvers:
            self.resolve = lru_cache(maxsize=None)(super().resolve)
            # ...and the composer's calls to follow its path (twice per node) do nothing: made
            # calls of C functions that ignore them, not of Python methods that return at once
            self.descend_resolver = {}.get          # (parent, index) -> index, unused
            self.ascend_resolver = ().__len__       # () -> 0, unused

    def dispose(self) -> None:
        super().dispose()
        self.__dict__.pop("resolve", None)      # the cache refers back to the loader


@dataclass
class Problem:
    """One thing wrong with a model file, at a line."""

    file: str
    line: int | None
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.message}"


class Located:
    """Parsed YAML data with the line of each value and each mapping key.

    Read from text (read_yaml), the lines are worked out from the text when first asked
    for; data built in code (`Located(file, data)`) has none."""

    def __init__(self, file: str, data: object, value_lines: dict[Path, int] | None = None,
                 key_lines: dict[Path, int] | None = None):
        self.file = file
        self.data = data
        self._lines: tuple[dict[Path, int], dict[Path, int]] | None = (value_lines or {}, key_lines or {})
        self._text: str | bytes | None = None

    @classmethod
    def from_text(cls, file: str, data: object, text: str | bytes) -> Located:
        """`data` read from `text`, whose lines are worked out when first needed."""
        located = cls(file, data)
        located._lines, located._text = None, text
        return located

    @property
    def value_lines(self) -> dict[Path, int]:
        return self._line_maps()[0]

    @property
    def key_lines(self) -> dict[Path, int]:
        return self._line_maps()[1]

    def _line_maps(self) -> tuple[dict[Path, int], dict[Path, int]]:
        if self._lines is None:
            with gc_paused():
                self._lines = _line_maps(self._text)
            self._text = None
        return self._lines

    def line(self, path: Path, *, key: bool = False) -> int | None:
        """The line of `path`, or of its nearest enclosing value that has one."""
        value_lines, key_lines = self._line_maps()
        path = tuple(path)
        if key and path in key_lines:
            return key_lines[path]
        while path:
            if path in value_lines:
                return value_lines[path]
            if path in key_lines:
                return key_lines[path]
            path = path[:-1]
        return value_lines.get(())     # None for data that never was text

    def get(self, path: Path, default=None):
        """The raw value at `path`, or `default`."""
        node = self.data
        for part in path:
            try:
                node = node[part]
            except (KeyError, IndexError, TypeError):
                return default
        return node


class YamlError(Exception):
    def __init__(self, problem: Problem):
        super().__init__(str(problem))
        self.problem = problem


class _Builder:
    """Plain data from the node graph, within the budgets (nodes, aliased values, depth)."""

    def __init__(self, file: str, loader):
        self.file = file
        self.loader = loader
        self.visits = 0
        self.aliased = 0          # values built inside an alias expansion
        self.expanding = 0        # > 0 while building a node for the second time or more
        self.built: set[int] = set()
        self.shared: dict[tuple[str, str], object] = {}     # (tag, text) -> number, boolean or null

    def fail(self, node: yaml.Node, message: str) -> None:
        raise YamlError(Problem(self.file, node.start_mark.line + 1, message))

    def build(self, node: yaml.Node, depth: int) -> object:
        """The data of `node` at `depth`; each value built counts against the budgets."""
        if isinstance(node, ScalarNode):
            return self._scalar(node, depth)
        again = id(node) in self.built      # only collections expand again through an alias
        self.built.add(id(node))
        self.expanding += again
        self.visits += 1
        self.aliased += self.expanding > 0
        if self.aliased > MAX_ALIASED or self.visits > MAX_NODES or depth > MAX_DEPTH:
            self._over_budget(node, depth)
        if isinstance(node, SequenceNode):
            self._check_tag(node, _SEQ)
            result: object = [self._scalar(child, depth + 1) if isinstance(child, ScalarNode)
                              else self.build(child, depth + 1) for child in node.value]
        else:
            result = self._mapping(node, depth)
        self.expanding -= again
        return result

    def _over_budget(self, node: yaml.Node, depth: int) -> None:
        if self.aliased > MAX_ALIASED:
            self.fail(node, f"aliases expand to more than {MAX_ALIASED:,} values (an alias bomb?); "
                            "expected a model file that repeats little")
        if self.visits > MAX_NODES:
            self.fail(node, f"the document has more than {MAX_NODES:,} values; expected a model file of ordinary size")
        self.fail(node, f"nesting deeper than {MAX_DEPTH} levels (a recursive alias?); expected a model file")

    def _scalar(self, node: ScalarNode, depth: int) -> object:
        """build() for a scalar (most nodes), called directly where one is expected."""
        self.visits += 1
        self.aliased += self.expanding > 0
        if self.aliased > MAX_ALIASED or self.visits > MAX_NODES or depth > MAX_DEPTH:
            self._over_budget(node, depth)
        if node.tag == _STR:        # most scalars: the constructor would return node.value as is
            return node.value
        try:
            return _scalar_value(self.loader, self.shared, node.tag, node)
        except ValueError as exc:
            self.fail(node, str(exc))

    def _mapping(self, node: MappingNode, depth: int) -> dict:
        self._check_tag(node, _MAP)
        special = [k for k, _ in node.value if k.tag in _FLATTENED]
        if special:       # `<<` merge keys (removed from node.value) or `=` keys (made strings)
            merge = next((k for k in special if k.tag == _MERGE), node)
            try:
                self.loader.flatten_mapping(node)
            except yaml.constructor.ConstructorError as exc:
                self.fail(merge, f"invalid merge key '<<' ({exc.problem}); expected a mapping or a list of mappings")
        result: dict = {}
        # a plain string (most keys and many values) counted as `_scalar` counts it, without the call
        plain = depth + 1 <= MAX_DEPTH and not self.expanding
        for key_node, value_node in node.value:
            if type(key_node) is not ScalarNode:
                self.fail(key_node, "a mapping key must be a plain string")
            if plain and key_node.tag == _STR and self.visits < MAX_NODES:
                self.visits += 1
                key = key_node.value
            else:
                key = self._scalar(key_node, depth + 1)
                if not isinstance(key, str):
                    key = str(key)
            if key in result:
                first = next(k for k, _ in node.value if _key(k, self.loader) == key)
                self.fail(key_node, f"duplicate key {key!r} (first on line {first.start_mark.line + 1})")
            if type(value_node) is not ScalarNode:
                result[key] = self.build(value_node, depth + 1)
            elif plain and value_node.tag == _STR and self.visits < MAX_NODES:
                self.visits += 1
                result[key] = value_node.value
            else:
                result[key] = self._scalar(value_node, depth + 1)
        return result

    def _check_tag(self, node: yaml.Node, expected: str) -> None:
        if node.tag != expected:
            self.fail(node, f"unsupported YAML tag {node.tag!r}; expected plain lists and mappings")


def _scalar_value(loader: _Loader, shared: dict, tag: str, scalar: ScalarNode | ScalarEvent) -> object:
    """The value of a scalar (a node, or the parser's event: its text, marks and style) of a tag
    other than str, as the safe constructor builds it, equal numbers, booleans and nulls once
    (`shared`: (tag, text) -> value); ValueError saying why where it cannot be built (a tag the
    constructor does not know, or text its tag refuses: `2001-13-45` reads as a date, with no month 13)."""
    key = (tag, scalar.value)
    value = shared.get(key, _UNBUILT)
    if value is not _UNBUILT:
        return value
    node = ScalarNode(tag, scalar.value, scalar.start_mark, scalar.end_mark, scalar.style)
    try:
        value = loader.construct_object(node)
    except yaml.constructor.ConstructorError as exc:
        raise ValueError(f"unsupported YAML value ({exc.problem}); expected plain strings, numbers, "
                         "booleans, lists and mappings") from None
    except Exception as exc:         # the constructor checks text by failing on it, in any way (`!!int ''`)
        kind = node.tag.rpartition(":")[2]
        why = f" ({exc})" if type(exc) is ValueError else ""       # the others say nothing to a reader
        raise ValueError(f"{node.value!r} is not a valid YAML {kind}{why}; expected a valid {kind}, "
                         "or quotes to make it a string") from None
    if tag in _SHARED_TAGS:
        shared[key] = value
    return value


class _NeedsNodes(Exception):
    """The document is not one that `_data_from_events` builds: the node graph builds it, or says what is wrong."""


_NO_KEY = object()


def _data_from_events(loader: _Loader) -> object:
    """The document's data, built straight from the parser's events, for a document with
    no anchors, aliases, merge keys (`<<`) or `=` keys: nearly every model file.

    Composing the node graph first makes two marks and a node for every value, then frees
    them all. Here each event is dropped once its value is placed: a 2.7 MB model reads in
    0.45 s instead of 0.7 s, in 60 MB at the peak instead of 170 MB (measured).
    Values, tags and their construction are the node graph's, since both come from the same
    parser and the same resolver and constructor. For anything else (an anchor, an alias, a
    merge key, a duplicate key, a tag that is not allowed, a value that does not construct, a
    budget exceeded, a second document) this raises _NeedsNodes, and the node graph builds
    the document or reports its problem as before. It raises at the first such event, so a
    document that defines its anchors at the top, as most do, is read twice only that far."""
    get = loader.get_event
    resolve = loader.resolve
    shared: dict[tuple[str, str], object] = {}
    visits = 0
    stack: list = []                 # the open collections that enclose `into`
    into: dict | list | None = None  # the collection being filled
    key = _NO_KEY                    # in a mapping, the key waiting for its value
    root = None
    get()                            # the stream's start
    if get().__class__ is StreamEndEvent:
        return None                  # no document
    while True:
        event = get()
        kind = event.__class__
        if kind is ScalarEvent:
            if event.anchor is not None:
                raise _NeedsNodes
            value = event.value
            tag = event.tag
            if tag is None or tag == "!":
                tag = resolve(ScalarNode, value, event.implicit)
            if tag != _STR:
                if tag in _FLATTENED:
                    raise _NeedsNodes
                try:
                    value = _scalar_value(loader, shared, tag, event)
                except ValueError:
                    raise _NeedsNodes from None
                if key is _NO_KEY and into.__class__ is dict and not isinstance(value, str):
                    value = str(value)             # a key, as the data holds it
        elif kind is MappingStartEvent or kind is SequenceStartEvent:
            if event.anchor is not None or event.tag not in (None, "!", _MAP if kind is MappingStartEvent else _SEQ):
                raise _NeedsNodes
            value = {} if kind is MappingStartEvent else []
        elif kind is MappingEndEvent or kind is SequenceEndEvent:
            into, key = stack.pop()
            if into is None:         # the root's end
                break
            continue
        else:                        # an alias
            raise _NeedsNodes
        visits += 1
        if visits > MAX_NODES or len(stack) > MAX_DEPTH:
            raise _NeedsNodes
        if into is None:             # the document's root
            root = value
            if kind is ScalarEvent:
                break
        elif into.__class__ is list:
            into.append(value)
        elif key is _NO_KEY:         # a mapping's key
            if value.__class__ is not str or value in into:
                raise _NeedsNodes    # a collection as a key, or a duplicate key
            key = value
            continue
        else:
            into[key] = value
            key = _NO_KEY
        if kind is not ScalarEvent:  # a collection: filled next
            stack.append((into, key))
            into, key = value, _NO_KEY
    if get().__class__ is not DocumentEndEvent or get().__class__ is not StreamEndEvent:
        raise _NeedsNodes            # a second document
    return root


def _data_from_nodes(loader: _Loader, file: str) -> object:
    """The document's data, from its node graph: any document, or the YamlError it raises."""
    root = loader.get_single_node()
    return None if root is None else _Builder(file, loader).build(root, 0)


def _key(node: ScalarNode, constructor) -> str:
    """A mapping key as the data holds it (built again: keys are scalars, so this is cheap and the same)."""
    key = node.value if node.tag == _STR else constructor.construct_object(node)
    return key if isinstance(key, str) else str(key)


def _line_maps(text: str | bytes) -> tuple[dict[Path, int], dict[Path, int]]:
    """{path: line} of every value and of every mapping key, from text that read without error."""
    value_lines: dict[Path, int] = {}
    key_lines: dict[Path, int] = {}
    loader = _Loader(text)
    try:
        root = loader.get_single_node()
        if root is None:
            return {(): 1}, key_lines     # an empty document is "at" line 1
        stack: list[tuple[yaml.Node, Path]] = [(root, ())]
        while stack:
            node, path = stack.pop()
            value_lines.setdefault(path, node.start_mark.line + 1)
            if isinstance(node, SequenceNode):
                stack.extend((child, path + (i,)) for i, child in enumerate(node.value))
            elif isinstance(node, MappingNode):
                loader.flatten_mapping(node)     # as when the data was built
                for key_node, value_node in node.value:
                    value_lines.setdefault(path + ("<key>",), key_node.start_mark.line + 1)
                    key = path + (_key(key_node, loader),)
                    key_lines[key] = key_node.start_mark.line + 1
                    stack.append((value_node, key))
        return value_lines, key_lines
    finally:
        loader.dispose()


def read_yaml(text: str | bytes, file: str) -> Located:
    """Parse one YAML document; raise YamlError naming the file and line on any problem."""
    if len(text) > MAX_BYTES:
        raise YamlError(Problem(file, None, f"file is {len(text):,} bytes; a model file may be at most {MAX_BYTES:,}"))
    loader = None
    try:
        with gc_paused():
            try:
                loader = _Loader(text)
                data = _data_from_events(loader)
            except _NeedsNodes:
                loader.dispose()
                loader = _Loader(text)
                data = _data_from_nodes(loader, file)
        return Located.from_text(file, data, text)
    except yaml.reader.ReaderError as exc:
        # libyaml reads UTF-8: its position counts bytes, and its value is a byte only for bad UTF-8
        line = _line_at(text.encode("utf-8") if _Base is not yaml.SafeLoader and isinstance(text, str) else text,
                        exc.position)
        char = exc.character if isinstance(exc.character, int) else ord(exc.character)
        byte = isinstance(exc.character, int) and exc.encoding and "octet" in str(exc.reason)
        what = f"byte 0x{char:02X}" if byte else f"character U+{char:04X}"
        raise YamlError(Problem(file, line, f"invalid YAML text: {exc.reason} ({what}); "
                                            "expected UTF-8 text without control characters")) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        raise YamlError(Problem(file, line, f"invalid YAML: {exc.problem or exc.context}")) from None
    except yaml.YAMLError as exc:
        raise YamlError(Problem(file, None, f"invalid YAML: {exc}")) from None
    except RecursionError:
        line = loader.get_mark().line + 1 if loader is not None else None
        raise YamlError(Problem(file, line, f"nesting too deep; expected at most {MAX_DEPTH} levels")) from None
    finally:
        if loader is not None:
            loader.dispose()


_frozen = False


def freeze() -> None:
    """gc.freeze(), remembered: `gc_paused` then leaves the frozen objects where they are. (It
    does not ask gc.get_freeze_count, which walks every frozen object: 30 ms in each of a batch's
    children.)"""
    global _frozen
    gc.freeze()
    _frozen = True


@contextmanager
def gc_paused(kept: bool = False):
    """Pause the cyclic garbage collector while building a large object graph.

    Building hundreds of thousands of nodes (or unpickling a cached model) triggers
    full collections over and over; they find nothing to free and cost more than the
    work itself (2.2 s instead of 0.4 s to compose a 2.7 MB model).

    `kept`: what is built is kept (a loaded model). When the collector resumes, its first
    pass would scan every object built (0.1 s for a 2.7 MB model), and so would the next
    generation's: instead they go straight to the oldest generation, scanned only by the
    rare full collections. Not once `freeze` has run (as a batch does before it forks), since
    that would unfreeze what it froze."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            if kept and not _frozen:
                gc.freeze()        # every tracked object, into the permanent generation...
                gc.unfreeze()      # ...and back, into the oldest
            gc.enable()


def _line_at(text: str | bytes, position: int) -> int:
    """1-based line of a character (or byte) position."""
    newline = b"\n" if isinstance(text, bytes) else "\n"
    return text[:position].count(newline) + 1
