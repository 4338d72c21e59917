"""The two ways a YAML document becomes data (model/yamlsafe.py) agree.

Most documents are built straight from the parser's events; one with anchors, aliases,
merge keys or a problem is built from its node graph. For every document, the events
either give exactly the data the node graph gives (the same values of the same types, in
the same order) or hand the document to the node graph; never data where the node graph
finds a problem.
"""
from __future__ import annotations

import datetime
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from threatkit.model import yamlsafe
from threatkit.model.yamlsafe import YamlError, read_yaml

ROOT = Path(__file__).resolve().parents[1]

# Plain scalars whose tags differ (str, int, float, bool, null, timestamp, merge, value),
# some of them refused by their tag's constructor.
PLAIN = ["a", "b", "id", "x y", "yes", "No", "on", "~", "null", "", "1", "-0", "0.0", "-0.0", "1e3", "0x1F",
         "0o17", "017", "1_000", "1:20", ".inf", "-.Inf", ".nan", "2001-12-14", "2001-13-45", "2001-12-14t21:59:43.10-05:00",
         "<<", "=", "True", "3.", "+1", "é", "1.0"]
TAGS = [""] * 20 + ["!!str ", "!!int ", "!!float ", "!!bool ", "!!null ", "!!timestamp ", "!!binary ",
                    "!!python/none ", "!foo ", "! ", "!!set "]
# few enough that a mapping repeats one now and then; `<<` and `=` are merge and value keys
KEYS = ["a", "b", "c", "d", "e", "f", "g", "1", "1.0", "yes", "~", "'a'", '"b"', "<<", "="]


def _quoted(text: str, double: bool) -> str:
    if double:
        return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\t", "\\t") + '"'
    return "'" + text.replace("'", "''") + "'"


@st.composite
def flow_documents(draw) -> str:
    """A document in flow style, with every kind of scalar, tags, anchors, aliases and merge keys."""
    anchors: list[str] = []

    def scalar() -> str:
        text = draw(st.sampled_from(PLAIN))
        style = draw(st.sampled_from(["plain", "plain", "single", "double"]))
        tag = draw(st.sampled_from(TAGS))
        if style == "plain":
            return tag + text if text or tag else "''"
        return tag + _quoted(text, style == "double")

    def value(depth: int) -> str:
        kind = draw(st.sampled_from(["scalar", "scalar", "seq", "map", "alias"] if depth < 4 else ["scalar", "alias"]))
        if kind == "alias" and anchors and draw(st.integers(0, 4)) == 0:
            return "*" + draw(st.sampled_from(anchors))
        anchor = ""
        if draw(st.integers(0, 19)) == 0:
            anchor = f"&a{len(anchors)} "
            anchors.append(f"a{len(anchors)}")
        tag = draw(st.sampled_from([""] * 12 + ["!!map ", "!!seq ", "!foo "]))
        if kind == "seq":
            return anchor + (tag if tag != "!!map " else "") + "[" + ", ".join(
                value(depth + 1) for _ in range(draw(st.integers(0, 3)))) + "]"
        if kind == "map":
            pairs = []
            for _ in range(draw(st.integers(0, 3))):
                key = draw(st.sampled_from(KEYS)) if draw(st.integers(0, 3)) else scalar()
                pairs.append(f"{key}: {value(depth + 1)}")
            return anchor + (tag if tag != "!!seq " else "") + "{" + ", ".join(pairs) + "}"
        return anchor + scalar()

    return value(0) + "\n"


def _typed(data: object) -> object:
    """`data` with the type of every value beside it: 1, 1.0 and True differ, so do 0.0 and -0.0."""
    if isinstance(data, dict):
        return ("dict", [(k, _typed(v)) for k, v in data.items()])
    if isinstance(data, list):
        return ("list", [_typed(v) for v in data])
    if isinstance(data, float):
        return ("float", data.hex())
    if isinstance(data, set):
        return ("set", sorted(map(repr, data)))
    return (type(data).__name__, repr(data))


def _from_nodes(text: str):
    loader = yamlsafe._Loader(text)
    try:
        return _typed(yamlsafe._data_from_nodes(loader, "f.yaml"))
    except (YamlError, yaml.YAMLError, RecursionError) as exc:
        return ("problem", type(exc).__name__)
    finally:
        loader.dispose()


def _from_events(text: str):
    loader = yamlsafe._Loader(text)
    try:
        return _typed(yamlsafe._data_from_events(loader))
    except yamlsafe._NeedsNodes:
        return ("nodes",)
    except yaml.YAMLError as exc:
        return ("problem", type(exc).__name__)
    finally:
        loader.dispose()


def _agree(text: str) -> str:
    """Which way built `text` ('events' or 'nodes'), checking they agree."""
    nodes, events = _from_nodes(text), _from_events(text)
    if events == ("nodes",):
        return "nodes"
    if events[0] == "problem":             # a parse error: the parser's, the same for both
        assert nodes == events, text
        return "nodes"
    assert events == nodes, text
    return "events"


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(flow_documents())
@example("[1, !!float 1, !!str 1, 1, yes, !!str yes, ~, !!null '', 0.0, -0.0, !!float -0]\n")  # equal text, other tags
@example("{1: a, 1.0: b, yes: c, ~: d}\n")                                      # keys that are not strings
def test_events_give_the_node_graphs_data_or_hand_the_document_over(text):
    _agree(text)
    try:                               # and read_yaml gives what the node graph gives
        read = ("data", _typed(read_yaml(text, "f.yaml").data))
    except YamlError:
        read = ("problem",)
    nodes = _from_nodes(text)
    assert read == (("problem",) if nodes[0] == "problem" else ("data", nodes)), text


_DATA = st.recursive(
    st.none() | st.booleans() | st.integers(-10**6, 10**6) | st.floats(allow_nan=False, width=32)
    | st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), max_size=12)
    | st.dates(min_value=datetime.date(1900, 1, 1)),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=6), children, max_size=4),
    max_leaves=25)


@settings(max_examples=200, deadline=None)
@given(_DATA, st.booleans(), st.sampled_from([None, "'", '"']))
def test_block_documents_as_people_write_them_are_built_from_events(data, flow, style):
    """Documents as a YAML writer emits them (block or flow, plain or quoted) take the events
    way and give the node graph's data, which is what PyYAML's safe loader gives."""
    text = yaml.safe_dump(data, default_flow_style=flow, default_style=style, allow_unicode=True)
    assert _agree(text) == "events", text
    assert _typed(read_yaml(text, "f.yaml").data) == _typed(yaml.safe_load(text))


@pytest.mark.parametrize("text", [
    "a: &x 1\nb: *x\n",                               # an alias
    "a: {x: 1}\nb: {<<: {y: 2}}\n",                   # a merge key
    "=: 1\n",                                         # a value key
    "a: 1\na: 2\n",                                   # a duplicate key
    "? [1]\n: 2\n",                                   # a collection as a key
    "a: !foo 1\n",                                    # a tag that is not allowed
    "a: 2001-13-45\n",                                # a value its tag refuses
    "a: 1\n---\nb: 2\n",                              # a second document
])
def test_what_the_events_hand_over(text):
    assert _from_events(text) == ("nodes",)


def test_equal_text_of_other_tags_is_built_apart():
    text = "[1, !!float 1, !!str 1, 1, yes, !!str yes, ~, !!null '', 0.0, -0.0, !!float -0]\n"
    assert _agree(text) == "events"
    assert _typed(read_yaml(text, "f.yaml").data) == _typed([1, 1.0, "1", 1, True, "yes", None, None, 0.0, -0.0, -0.0])


def test_budgets_are_kept_on_both_ways(monkeypatch):
    deep = "[" * (yamlsafe.MAX_DEPTH + 2) + "]" * (yamlsafe.MAX_DEPTH + 2) + "\n"
    with pytest.raises(YamlError, match=f"nesting deeper than {yamlsafe.MAX_DEPTH} levels"):
        read_yaml(deep, "f.yaml")
    assert _from_events(deep) == ("nodes",)
    monkeypatch.setattr(yamlsafe, "MAX_NODES", 5)
    many = "[1, 2, 3, 4, 5, 6]\n"
    with pytest.raises(YamlError, match="more than 5 values"):
        read_yaml(many, "f.yaml")
    assert _from_events(many) == ("nodes",)
    assert read_yaml("[1, 2, 3, 4]\n", "f.yaml").data == [1, 2, 3, 4]


def test_a_value_its_tag_refuses_is_a_problem_at_its_line_not_a_traceback():
    """It was: a date with month 13 (or `!!int x`) raised ValueError out of the loader."""
    for text, line, expected in [
        ("a: 1\nb: 2001-13-45\n", 2, "'2001-13-45' is not a valid YAML timestamp (month must be in 1..12); "
                                     "expected a valid timestamp, or quotes to make it a string"),
        ("a: !!int x\n", 1, "'x' is not a valid YAML int"),
        ("a:\n  - !!bool maybe\n", 2, "'maybe' is not a valid YAML bool; expected a valid bool"),
        ("a: !!timestamp x\n", 1, "'x' is not a valid YAML timestamp; expected"),
        ("a: !!int ''\n", 1, "'' is not a valid YAML int; expected"),
    ]:
        with pytest.raises(YamlError) as caught:
            read_yaml(text, "f.yaml")
        assert caught.value.problem.line == line
        assert expected in caught.value.problem.message


def test_the_cli_reports_a_refused_value_with_file_and_line(tmp_path):
    import subprocess
    import sys

    model = tmp_path / "model.yaml"
    model.write_text("threatkit: 1\nname: x\ndate: 2001-13-45\n")
    result = subprocess.run([sys.executable, "-m", "threatkit.cli", "validate", str(model)],
                            capture_output=True, text=True)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert f"{model}:3: '2001-13-45' is not a valid YAML timestamp" in result.stderr + result.stdout


SHIPPED = sorted((ROOT / "data").rglob("*.yaml")) + sorted((ROOT / "tests" / "examples").glob("*.yaml"))


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_shipped_model_files_are_built_from_events(path):
    assert _agree(path.read_bytes()) == "events"


def test_the_large_benchmark_model_is_built_from_events(monkeypatch):
    import sys

    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        from load import large_model
    finally:
        sys.path.pop(0)
    text = large_model(depth=5, scenarios=5)
    monkeypatch.setattr(yamlsafe, "_data_from_nodes", lambda *a: pytest.fail("built from the node graph"))
    data = read_yaml(text, "large.yaml").data
    assert len(data["scenarios"]) == 5
    assert _typed(data) == _typed(yaml.safe_load(text))


def test_a_refused_value_is_shown_inertly_in_the_terminal(tmp_path):
    """The refused text is the model's: its control characters reach the terminal escaped."""
    import subprocess
    import sys

    model = tmp_path / "model.yaml"
    model.write_text('threatkit: 1\nname: x\ndate: !!timestamp "\\e[2J<b>x</b>"\n')
    result = subprocess.run([sys.executable, "-m", "threatkit.cli", "validate", str(model)], capture_output=True)
    assert result.returncode == 1
    assert b"\x1b" not in result.stdout + result.stderr
    assert (f"{model}:3: '\\x1b[2J<b>x</b>' is not a valid YAML timestamp; expected a valid timestamp, "
            "or quotes to make it a string").encode() in result.stderr
