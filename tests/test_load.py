"""The loader's good paths: small, independent models written to tmp_path.

Expected values are worked out by hand from the format (model-format.yaml) and
ICD 203 estimative bands, not read back from the implementation.
"""
from __future__ import annotations

import json
from pathlib import Path
from textwrap import dedent

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from threatkit.cli import main
from threatkit.model.load import ModelError, load_model, load_text
from threatkit.model.values import Quantity, ThreatModel


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(dedent(text).lstrip(), encoding="utf-8")
    return path


SMALL = """
    threatkit: 1
    name: Small model
    include: []
    assets:
      - {id: frontier, capability_value: 0.9}
    tiers:
      - {id: api, rank: 1, queries_per_day: 1000, exposes: [outputs]}
    actors:
      - {id: crew, kind: competitor, capacity: OC3, budget_usd: 100000, skill: 3}
    pathways:
      - id: distill
        fidelity: {low: 0.1, mode: 0.2, high: 0.4}
        tree:
          id: root
          gate: and
          children:
            - {id: harvest, p: 0.9, cost_usd: 5000, queries: 100000}
            - {id: train, p: likely, cost_usd: {low: 1000, mode: 2000, high: 8000}, skill: 3}
    controls:
      - {id: rate-limit, counters: [harvest], effectiveness: 0.3}
    scenarios:
      - {id: s, asset: frontier, actor: crew, tier: api, controls: [rate-limit]}
"""


# ---- include: [] ----------------------------------------------------------------------------

def test_file_with_empty_include_loads_only_its_own_entries(tmp_path):
    model = load_model(write(tmp_path / "m.yaml", SMALL))
    assert isinstance(model, ThreatModel)
    assert model.name == "Small model"
    assert [a.id for a in model.assets] == ["frontier"]
    assert [t.id for t in model.tiers] == ["api"]
    assert [a.id for a in model.actors] == ["crew"]
    assert [p.id for p in model.pathways] == ["distill"]
    assert [c.id for c in model.controls] == ["rate-limit"]
    assert [s.id for s in model.scenarios] == ["s"]
    tier = model.tier("api")
    assert tier.rank == 1 and tier.exposes == ("outputs",)
    assert float(tier.queries_per_day) == 1000.0
    assert model.scenario("s").controls == ("rate-limit",)


def test_empty_include_still_gets_default_scales(tmp_path):
    model = load_model(write(tmp_path / "m.yaml", "threatkit: 1\ninclude: []\n"))
    assert model.assets == model.tiers == model.actors == model.pathways == model.controls == model.scenarios == ()
    # The format's default five-level scales apply where a file gives none.
    assert [lv.level for lv in model.scales.likelihood] == [1, 2, 3, 4, 5]
    assert [lv.level for lv in model.scales.impact] == [1, 2, 3, 4, 5]
    assert len(model.scales.risk) == 5 and all(len(row) == 5 for row in model.scales.risk)


def test_own_scales_override_the_defaults(tmp_path):
    model = load_model(write(tmp_path / "m.yaml", """
        threatkit: 1
        include: []
        scales:
          likelihood:
            - {level: 1, name: low, below: 0.5}
            - {level: 2, name: high}
          impact:
            - {level: 1, name: small, below: 0.5}
            - {level: 2, name: big}
          risk:
            - [low, moderate]
            - [moderate, high]
    """))
    assert [lv.name for lv in model.scales.likelihood] == ["low", "high"]
    assert model.scales.likelihood[0].below == 0.5 and model.scales.likelihood[1].below is None
    assert model.scales.risk == (("low", "moderate"), ("moderate", "high"))


def test_validate_command_accepts_a_good_file(tmp_path, capsys):
    path = write(tmp_path / "m.yaml", SMALL)
    assert main(["validate", str(path)]) == 0
    out, err = capsys.readouterr()
    assert out.startswith(f"{path}: ok: ") and "1 pathways" in out
    assert err == ""


# ---- includes -------------------------------------------------------------------------------

BASE = """
    threatkit: 1
    name: Base
    include: []
    tiers:
      - {id: api, rank: 1, queries_per_day: 1000}
      - {id: batch, rank: 1}
    actors:
      - {id: crew, kind: individual, capacity: OC1, budget_usd: 100, skill: 1}
"""


def test_later_file_overrides_entries_by_id(tmp_path):
    write(tmp_path / "base.yaml", BASE)
    model = load_model(write(tmp_path / "main.yaml", """
        threatkit: 1
        name: Main
        include: [base.yaml]
        tiers:
          - {id: api, rank: 3, exposes: [outputs, logprobs]}
          - {id: weights, rank: 5, exposes: [weights]}
    """))
    assert model.name == "Main"
    assert sorted(t.id for t in model.tiers) == ["api", "batch", "weights"]
    api = model.tier("api")
    # The whole entry is replaced, not merged field by field.
    assert api.rank == 3 and api.exposes == ("outputs", "logprobs") and api.queries_per_day is None
    assert model.tier("batch").rank == 1
    assert model.actor("crew").skill == 1          # untouched kinds come through


def test_of_two_includes_the_later_wins(tmp_path):
    write(tmp_path / "a.yaml", """
        threatkit: 1
        include: []
        actors:
          - {id: crew, kind: individual, capacity: OC1, budget_usd: 100, skill: 1}
          - {id: only-a, kind: lab, capacity: OC2, budget_usd: 1, skill: 2}
    """)
    write(tmp_path / "b.yaml", """
        threatkit: 1
        include: []
        actors:
          - {id: crew, kind: state, capacity: OC5, budget_usd: 1000000000, skill: 5}
    """)
    model = load_model(write(tmp_path / "main.yaml", "threatkit: 1\ninclude: [a.yaml, b.yaml]\n"))
    crew = model.actor("crew")
    assert (crew.kind, crew.capacity, crew.skill, float(crew.budget_usd)) == ("state", "OC5", 5, 1e9)
    assert model.actor("only-a").kind == "lab"


def test_including_file_overrides_its_includes(tmp_path):
    write(tmp_path / "a.yaml", BASE)
    model = load_model(write(tmp_path / "main.yaml", """
        threatkit: 1
        include: [a.yaml]
        actors:
          - {id: crew, kind: insider, capacity: OC2, budget_usd: 50, skill: 4}
    """))
    assert model.actor("crew").kind == "insider" and model.actor("crew").skill == 4


def test_include_paths_are_relative_to_the_including_file(tmp_path, monkeypatch):
    # main.yaml -> sub/mid.yaml -> leaf.yaml, which must resolve to sub/leaf.yaml,
    # not to the leaf.yaml beside main.yaml nor to one in the working directory.
    write(tmp_path / "leaf.yaml", "threatkit: 1\ninclude: []\ntiers:\n  - {id: leaf, rank: 9}\n")
    write(tmp_path / "sub" / "leaf.yaml", "threatkit: 1\ninclude: []\ntiers:\n  - {id: leaf, rank: 2}\n")
    write(tmp_path / "sub" / "mid.yaml", "threatkit: 1\ninclude: [leaf.yaml]\ntiers:\n  - {id: mid, rank: 1}\n")
    main_file = write(tmp_path / "main.yaml", "threatkit: 1\ninclude: [sub/mid.yaml]\n")
    elsewhere = tmp_path / "elsewhere"
    write(elsewhere / "leaf.yaml", "threatkit: 1\ninclude: []\ntiers:\n  - {id: leaf, rank: 7}\n")
    write(elsewhere / "sub" / "mid.yaml", "threatkit: 1\ninclude: []\n")
    monkeypatch.chdir(elsewhere)
    model = load_model(main_file)
    assert sorted(t.id for t in model.tiers) == ["leaf", "mid"]
    assert model.tier("leaf").rank == 2


def test_include_with_parent_directory(tmp_path):
    write(tmp_path / "shared" / "actors.yaml", BASE)
    model = load_model(write(tmp_path / "reviews" / "r1.yaml", "threatkit: 1\ninclude: [../shared/actors.yaml]\n"))
    assert model.actor("crew").capacity == "OC1"


# ---- quantities -----------------------------------------------------------------------------

def leaf_p(p_text: str) -> Quantity:
    model = load_text(dedent(f"""
        threatkit: 1
        include: []
        pathways:
          - id: way
            fidelity: 0.5
            tree: {{id: step, p: {p_text}}}
    """))
    return model.pathway("way").tree.p


# ICD 203 bands, with the mode at the middle of the band (worked out by hand).
ICD_203 = [
    ("almost no chance", 0.01, 0.03, 0.05),
    ("very unlikely", 0.05, 0.125, 0.20),
    ("unlikely", 0.20, 0.325, 0.45),
    ("roughly even chance", 0.45, 0.50, 0.55),
    ("likely", 0.55, 0.675, 0.80),
    ("very likely", 0.80, 0.875, 0.95),
    ("almost certain", 0.95, 0.97, 0.99),
]
SYNONYMS = [
    ("remote", "almost no chance"),
    ("highly improbable", "very unlikely"),
    ("improbable", "unlikely"),
    ("roughly even odds", "roughly even chance"),
    ("probable", "likely"),
    ("highly probable", "very likely"),
    ("nearly certain", "almost certain"),
]


def test_likely_maps_to_its_icd_203_band():
    q = leaf_p("likely")
    assert q.low == pytest.approx(0.55)
    assert q.high == pytest.approx(0.80)
    assert q.mode == pytest.approx(0.675)
    assert float(q) == pytest.approx(0.675)
    assert not q.is_scalar


def test_synonym_probable_is_the_same_band_as_likely():
    probable, likely = leaf_p("probable"), leaf_p("likely")
    assert (probable.low, probable.mode, probable.high) == pytest.approx((likely.low, likely.mode, likely.high))
    assert (probable.low, probable.mode, probable.high) == pytest.approx((0.55, 0.675, 0.80))


@pytest.mark.parametrize("word,low,mode,high", ICD_203, ids=[w for w, *_ in ICD_203])
def test_estimative_words(word, low, mode, high):
    q = leaf_p(word)
    assert (q.low, q.mode, q.high) == pytest.approx((low, mode, high))


@pytest.mark.parametrize("synonym,word", SYNONYMS, ids=[s for s, _ in SYNONYMS])
def test_estimative_synonyms(synonym, word):
    low, mode, high = next(band[1:] for band in ICD_203 if band[0] == word)
    q = leaf_p(synonym)
    assert (q.low, q.mode, q.high) == pytest.approx((low, mode, high))


def test_range_keeps_low_mode_high():
    model = load_text(dedent(SMALL))
    fidelity = model.pathway("distill").fidelity
    assert (fidelity.low, fidelity.mode, fidelity.high) == (0.1, 0.2, 0.4)
    assert not fidelity.is_scalar and float(fidelity) == 0.2
    cost = model.pathway("distill").nodes["train"].cost_usd
    assert (cost.low, cost.mode, cost.high) == (1000.0, 2000.0, 8000.0)


def test_scalar_is_a_degenerate_range():
    q = leaf_p("0.9")
    assert (q.low, q.mode, q.high) == (0.9, 0.9, 0.9)
    assert q.is_scalar and q.word is None


def test_defaults_of_a_leaf():
    model = load_text("threatkit: 1\ninclude: []\npathways:\n  - {id: way, fidelity: 1, tree: {id: step, p: 1}}\n")
    node = model.pathway("way").tree
    assert node.is_leaf and node.gate is None and node.children is None
    assert float(node.cost_usd) == 0.0 and float(node.time_days) == 0.0 and node.skill == 1
    assert model.pathway("way").persistent is False        # DESIGN.md: persistent defaults to false
    assert model.pathway("way").needs_access is False and model.pathway("way").transfer is None


# ---- immutability ---------------------------------------------------------------------------

def test_values_are_immutable():
    model = load_text(dedent(SMALL))
    tier = model.tier("api")
    with pytest.raises(ValidationError):
        tier.rank = 5
    with pytest.raises(ValidationError):
        model.pathway("distill").fidelity.mode = 0.3
    with pytest.raises(ValidationError):
        model.name = "changed"
    with pytest.raises(ValidationError):
        model.pathway("distill").tree.children[0].p = Quantity.scalar(0.1)
    with pytest.raises(AttributeError):
        model.tiers.append(tier)  # collections are tuples
    assert tier.rank == 1 and model.name == "Small model"


# ---- load_text ------------------------------------------------------------------------------

def test_load_text():
    model = load_text("threatkit: 1\nname: Inline\ninclude: []\nassets:\n  - {id: m, capability_value: 0.25}\n")
    assert model.name == "Inline"
    assert float(model.asset("m").capability_value) == 0.25


def test_load_text_resolves_includes_from_base_dir(tmp_path):
    write(tmp_path / "base.yaml", BASE)
    model = load_text("threatkit: 1\ninclude: [base.yaml]\n", base_dir=tmp_path)
    assert sorted(t.id for t in model.tiers) == ["api", "batch"]


def test_load_text_reports_problems_under_its_name():
    with pytest.raises(ModelError) as info:
        load_text("threatkit: 1\ninclude: []\ntiers:\n  - {id: api, rank: -1}\n", name="cell-3")
    [problem] = info.value.problems
    assert (problem.file, problem.line) == ("cell-3", 4)
    assert str(problem).startswith("cell-3:4: tiers[api].rank")


# ---- JSON ------------------------------------------------------------------------------------

def test_model_dumps_to_json():
    model = load_text(dedent(SMALL))
    data = model.model_dump(mode="json")
    text = json.dumps(data)                  # plain JSON types only
    again = json.loads(text)
    assert again["name"] == "Small model"
    [pathway] = again["pathways"]
    harvest, train = pathway["tree"]["children"]
    # Quantities serialise as written: a number, a word or a {low, mode, high} range.
    assert harvest["p"] == 0.9
    assert train["p"] == "likely"
    assert train["cost_usd"] == {"low": 1000.0, "mode": 2000.0, "high": 8000.0}
    assert pathway["fidelity"] == {"low": 0.1, "mode": 0.2, "high": 0.4}
    assert again["tiers"][0]["exposes"] == ["outputs"]
    assert again["scenarios"][0] == {**again["scenarios"][0], "asset": "frontier", "actor": "crew",
                                     "tier": "api", "controls": ["rate-limit"]}
    assert [lv["level"] for lv in again["scales"]["likelihood"]] == [1, 2, 3, 4, 5]


def test_json_dump_loads_back_to_the_same_model():
    model = load_text(dedent(SMALL))
    data = model.model_dump(mode="json", exclude_none=True, exclude_defaults=True)
    again = load_text(yaml.safe_dump({"threatkit": 1, "include": [], **data}, sort_keys=False))
    assert again == model


# ---- the loading pipeline (read -> includes -> validate -> merge -> resolve) ------------------

def test_the_steps_each_take_the_previous_steps_value(tmp_path):
    from threatkit.model.includes import gather
    from threatkit.model.merge import merge
    from threatkit.model.read import read_text
    from threatkit.model.resolve import resolve
    from threatkit.model.validate import validate_sources

    write(tmp_path / "base.yaml", BASE)
    document = read_text(b"threatkit: 1\ninclude: [base.yaml]\nname: Steps\n", "main.yaml", tmp_path)
    sources = gather(document, stack=())
    assert [d.name for d in sources.documents] == ["base.yaml", "main.yaml"]
    assert set(sources.files) == {str((tmp_path / "base.yaml").resolve())} and not sources.problems
    layers, problems = validate_sources(sources.documents, builtin=None)
    model, problems = resolve(merge(layers), "main.yaml")
    assert not problems and model.name == "Steps" and sorted(t.id for t in model.tiers) == ["api", "batch"]
    assert model == load_text("threatkit: 1\ninclude: [base.yaml]\nname: Steps\n", "main.yaml", tmp_path)


def test_an_entry_a_later_file_overrides_is_still_checked(tmp_path):
    write(tmp_path / "base.yaml", "threatkit: 1\ninclude: []\ntiers:\n  - {id: api, rank: -1}\n")
    with pytest.raises(ModelError) as info:
        load_model(write(tmp_path / "main.yaml", "threatkit: 1\ninclude: [base.yaml]\ntiers:\n  - {id: api, rank: 1}\n"))
    [problem] = info.value.problems
    assert (Path(problem.file).name, problem.line) == ("base.yaml", 4) and "rank" in problem.message


def test_load_data_leaves_the_data_it_is_given_as_it_was():
    from threatkit.model.load import load_data

    tree = {"id": "root", "gate": "and", "children": [{"id": "a", "p": 0.5, "cost_usd": 3}, {"id": "b", "p": 0.5}]}
    data = {"threatkit": 1, "include": [], "pathways": [{"id": "way", "fidelity": 0.5, "tree": tree}]}
    before = json.dumps(data)
    model = load_data(data)
    assert json.dumps(data) == before
    assert float(model.pathway("way").nodes["a"].cost_usd) == 3.0


def test_equal_quantities_are_one_object_and_unequal_ones_stay_apart():
    leaves = ", ".join(f"{{id: s{i}, p: {p}}}" for i, p in enumerate(["0.5", "0.5", "0.50", "likely", "likely",
                                                                       "probable", "-0.0", "0.0", "1", "1.0"]))
    model = load_text(f"threatkit: 1\ninclude: []\npathways:\n  - {{id: w, fidelity: 1, tree: {{id: r, gate: or, "
                      f"children: [{leaves}]}}}}\n")
    p = [n.p for n in model.pathway("w").tree.children]
    assert p[0] is p[1] is p[2] and p[3] is p[4]
    assert p[5] == p[3] and p[5].word == p[3].word == "likely"          # a synonym stands for its word
    assert repr(p[6].low) == "-0.0" and repr(p[7].low) == "0.0"          # equal to ==, but not the same value
    assert p[8] is p[9] and p[8].mode == 1.0
    gates = [n for n in model.pathway("w").tree.walk() if not n.is_leaf]
    assert gates[0].cost_usd is model.pathway("w").tree.children[0].cost_usd     # the defaults too


def test_a_problem_in_a_large_file_has_its_line():
    body = "\n".join(f"  - {{id: t{i}, rank: {i}}}" for i in range(3000))
    with pytest.raises(ModelError) as info:
        load_text(f"threatkit: 1\ninclude: []\ntiers:\n{body}\n  - {{id: bad, rank: -1}}\n", "big.yaml")
    [problem] = info.value.problems
    assert problem.line == 3004 and problem.message.startswith("tiers[bad].rank")


def test_loading_unfreezes_nothing_a_batch_froze(tmp_path):
    import gc

    from threatkit.model import yamlsafe

    yamlsafe.freeze()                  # as a batch does before it forks
    try:
        frozen = gc.get_freeze_count()
        load_model(write(tmp_path / "m.yaml", SMALL))
        assert gc.get_freeze_count() == frozen
    finally:
        gc.unfreeze()
        yamlsafe._frozen = False


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=40) | st.lists(st.sampled_from([b"a", b"\\", b"\x01", b"\x09", b"\x0a", b"\x0d", b"\x7f",
                                                          b"\xc2", b"\x85", b"\x9f", b"\xa0", b"\xc3"])).map(b"".join))
def test_the_quick_check_for_control_characters_finds_what_the_pattern_finds(text):
    # Model text that may hold a control character (raw, or through a backslash escape) is
    # checked value by value; the quick check must find every text the plain pattern finds.
    import re

    from threatkit.model.read import _may_hold_control

    pattern = re.compile(rb"[\x00-\x08\x0b-\x1f\x7f\\]|\xc2[\x80-\x9f]")
    assert _may_hold_control(text) == bool(pattern.search(text))
