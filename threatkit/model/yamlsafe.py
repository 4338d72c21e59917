"""Read YAML safely, remembering the line of every key and value.

libyaml (PyYAML's C bindings) composes the document into a node graph that
keeps each node's line (aliases stay shared, so this is linear in the file;
libyaml refuses nesting deeper than 1,000 levels itself, so its recursive
composer cannot exhaust the stack); we then build plain Python data ourselves, counting
every node we visit, so that an alias bomb stops at a fixed budget instead of
exhausting memory. Only the standard YAML tags are accepted: a Python tag is
an error, never code.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import gc
from contextlib import contextmanager

import yaml

# The pure-Python parser is ten times slower; it stands in only where PyYAML was built without libyaml.
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_STR = "tag:yaml.org,2002:str"

MAX_BYTES = 10 * 1024 * 1024     # a model file is text written by people
MAX_NODES = 2_000_000            # values built in all
MAX_ALIASED = 100_000            # values built again through aliases: a model needs few
MAX_DEPTH = 200                  # nesting; deeper is hostile, not a model

Path = tuple  # a location in the data: keys and list indexes


@dataclass
class Problem:
    """One thing wrong with a model file, at a line."""

    file: str
    line: int | None
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.message}"


@dataclass
class Located:
    """Parsed YAML data with the line of each value and each mapping key."""

    file: str
    data: object
    value_lines: dict[Path, int] = field(default_factory=dict)
    key_lines: dict[Path, int] = field(default_factory=dict)

    def line(self, path: Path, *, key: bool = False) -> int | None:
        """The line of `path`, or of its nearest enclosing value that has one."""
        path = tuple(path)
        if key and path in self.key_lines:
            return self.key_lines[path]
        while path:
            if path in self.value_lines:
                return self.value_lines[path]
            if path in self.key_lines:
                return self.key_lines[path]
            path = path[:-1]
        return self.value_lines.get(())     # None for data that never was text

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
    def __init__(self, file: str, loader):
        self.file = file
        self.loader = loader
        self.visits = 0
        self.aliased = 0          # values built inside an alias expansion
        self.expanding = 0        # > 0 while building a node for the second time or more
        self.built: set[int] = set()
        self.out = Located(file, None)

    def fail(self, node: yaml.Node, message: str) -> None:
        raise YamlError(Problem(self.file, node.start_mark.line + 1, message))

    def build(self, node: yaml.Node, path: Path, depth: int) -> object:
        if isinstance(node, yaml.ScalarNode):     # only collections expand again through an alias
            return self._build(node, path, depth)
        again = id(node) in self.built
        self.built.add(id(node))
        self.expanding += again
        try:
            return self._build(node, path, depth)
        finally:
            self.expanding -= again

    def _build(self, node: yaml.Node, path: Path, depth: int) -> object:
        self.visits += 1
        self.aliased += self.expanding > 0
        if self.aliased > MAX_ALIASED:
            self.fail(node, f"aliases expand to more than {MAX_ALIASED:,} values (an alias bomb?); "
                            "expected a model file that repeats little")
        if self.visits > MAX_NODES:
            self.fail(node, f"the document has more than {MAX_NODES:,} values; expected a model file of ordinary size")
        if depth > MAX_DEPTH:
            self.fail(node, f"nesting deeper than {MAX_DEPTH} levels (a recursive alias?); expected a model file")
        self.out.value_lines.setdefault(path, node.start_mark.line + 1)
        if isinstance(node, yaml.ScalarNode):
            if node.tag == _STR:        # most scalars: the constructor would return node.value as is
                return node.value
            try:
                return self.loader.construct_object(node)
            except yaml.constructor.ConstructorError as exc:
                self.fail(node, f"unsupported YAML value ({exc.problem}); expected plain strings, numbers, "
                                "booleans, lists and mappings")
        if isinstance(node, yaml.SequenceNode):
            self._check_tag(node, "tag:yaml.org,2002:seq")
            return [self.build(child, path + (i,), depth + 1) for i, child in enumerate(node.value)]
        self._check_tag(node, "tag:yaml.org,2002:map")
        merge = next((k for k, _ in node.value if k.tag == "tag:yaml.org,2002:merge"), node)
        try:
            self.loader.flatten_mapping(node)      # `<<` merge keys (removes them from node.value)
        except yaml.constructor.ConstructorError as exc:
            self.fail(merge, f"invalid merge key '<<' ({exc.problem}); expected a mapping or a list of mappings")
        result: dict = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                self.fail(key_node, "a mapping key must be a plain string")
            key = self.build(key_node, path + ("<key>",), depth + 1)
            if not isinstance(key, str):
                key = str(key)
            if key in result:
                self.fail(key_node, f"duplicate key {key!r} (first on line {self.out.key_lines[path + (key,)]})")
            self.out.key_lines[path + (key,)] = key_node.start_mark.line + 1
            result[key] = self.build(value_node, path + (key,), depth + 1)
        return result

    def _check_tag(self, node: yaml.Node, expected: str) -> None:
        if node.tag != expected:
            self.fail(node, f"unsupported YAML tag {node.tag!r}; expected plain lists and mappings")


def read_yaml(text: str | bytes, file: str) -> Located:
    """Parse one YAML document; raise YamlError naming the file and line on any problem."""
    if len(text) > MAX_BYTES:
        raise YamlError(Problem(file, None, f"file is {len(text):,} bytes; a model file may be at most {MAX_BYTES:,}"))
    loader = None
    try:
        loader = _Loader(text)
        with gc_paused():
            root = loader.get_single_node()
            builder = _Builder(file, loader)
            builder.out.data = None if root is None else builder.build(root, (), 0)
        builder.out.value_lines.setdefault((), 1)    # an empty document is "at" line 1
        return builder.out
    except yaml.reader.ReaderError as exc:
        # libyaml reads UTF-8: its position counts bytes, and its value is a byte only for bad UTF-8
        line = _line_at(text.encode("utf-8") if _Loader is not yaml.SafeLoader and isinstance(text, str) else text,
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


@contextmanager
def gc_paused():
    """Pause the cyclic garbage collector while building a large object graph.

    Building hundreds of thousands of nodes (or unpickling a cached model) triggers
    full collections over and over; they find nothing to free and cost more than the
    work itself (2.2 s instead of 0.4 s to compose a 2.7 MB model)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _line_at(text: str | bytes, position: int) -> int:
    """1-based line of a character (or byte) position."""
    newline = b"\n" if isinstance(text, bytes) else "\n"
    return text[:position].count(newline) + 1
