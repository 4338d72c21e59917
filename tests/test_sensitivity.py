"""Sensitivity: inputs by KIND:ID:FIELD, their percentiles, the substituted model, the tornado
through the CLI (checked by editing a copy of the model file by hand), and Sobol' indices."""
import copy
import json
import math
import re
import struct
from pathlib import Path

import numpy as np
import pytest
import yaml

from threatkit import load_model
from threatkit.analysis.assess import Setting
from threatkit.analysis.judgments import JUDGED_OUTPUTS
from threatkit.analysis.sensitivity import outputs_of, sweep, swing, tornado
from threatkit.analysis.simulate import Sampler, quantile
from threatkit.analysis.timeline import Answer, timeline
from threatkit.cli import main
from threatkit.model.inputs import FIELDS, InputError, find, inputs_of, substitute
from threatkit.model.values import Quantity

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "tests" / "examples" / "sensitivity.yaml"
MYTHOS = ROOT / "data" / "examples" / "mythos.yaml"
SCENARIO = "plain"


@pytest.fixture(scope="module")
def model():
    return load_model(EXAMPLE)


def run_json(capsys, argv):
    assert main(argv) == 0
    return json.loads(capsys.readouterr().out)


# ---- an independent way to set a number in a model file: edit its YAML data ---------------------

def set_in_yaml(data: dict, ref: str, value: float) -> None:
    """Set the number that `ref` names in raw model-file data (what a person would edit)."""
    kind, ident, field = ref.split(":")
    if kind == "step":
        for pw in data["pathways"]:
            node = _node(pw["tree"], ident.rpartition("/")[2])
            if node is not None:
                node[field] = value
                return
        raise AssertionError(f"no step {ident}")
    entry = next(e for e in data[kind + "s"] if e["id"] == ident)
    m = re.fullmatch(r"transfer\.curve\[(\d+)\]", field)
    if m:
        entry["transfer"]["curve"][int(m.group(1))][1] = value
    else:
        entry[field] = value


def _node(node: dict, ident: str):
    if node["id"] == ident:
        return node
    for child in node.get("children", []):
        hit = _node(child, ident)
        if hit is not None:
            return hit
    return None


def edited(tmp_path: Path, data: dict, ref: str, value: float, name: str) -> Path:
    data = copy.deepcopy(data)
    set_in_yaml(data, ref, value)
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def recompute(capsys, path: Path, scenario: str, output: str):
    """The output, recomputed from a model file through the CLI (timeline, or assess for a probability)."""
    if output.startswith("probability:"):
        rows = run_json(capsys, ["assess", str(path), "--scenario", scenario, "--format", "json"])
        return next(r["probability"] for r in rows if r["pathway"] == output.split(":", 1)[1])
    return run_json(capsys, ["timeline", str(path), "--scenario", scenario, "--format", "json"])[0][output]


# ---- percentiles ------------------------------------------------------------------------------

def test_word_percentiles_are_uniform_over_the_band():
    q = Quantity(low=0.55, mode=0.675, high=0.8, word="likely")
    assert quantile(q, 0.05) == pytest.approx(0.55 + 0.05 * 0.25)
    assert quantile(q, 0.95) == pytest.approx(0.55 + 0.95 * 0.25)


@pytest.mark.parametrize("low,mode,high", [(0.0, 0.3, 1.0), (20, 40, 90), (5000, 20000, 40000), (1, 1, 9)])
def test_range_percentiles_are_pert_percentiles(low, mode, high):
    q = Quantity(low=low, mode=mode, high=high)
    # independently: many PERT draws from the sampler, their empirical percentiles
    draws = Sampler(400_000, 3).draw([q], "test", "q")[0]
    for prob in (0.05, 0.5, 0.95):
        assert quantile(q, prob) == pytest.approx(np.percentile(draws, prob * 100), rel=0.01, abs=1e-3 * (high - low))
    scipy = pytest.importorskip("scipy.stats")
    a, b = 1 + 4 * (mode - low) / (high - low), 1 + 4 * (high - mode) / (high - low)
    assert quantile(q, 0.05) == pytest.approx(low + (high - low) * scipy.beta.ppf(0.05, a, b), rel=1e-12)


def test_beta_quantiles_match_scipy_over_every_pert_shape():
    # PERT shapes have a, b in [1, 5]; the sweep asks for the 5th and 95th percentiles, the
    # tests and users for others. Independently: scipy's inverse incomplete beta (Boost's).
    special = pytest.importorskip("scipy.special")
    from threatkit.analysis.simulate import beta_ppf
    shapes = np.linspace(1.0, 5.0, 9)
    for a in shapes:
        for b in shapes:
            for prob in (0.001, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.999):
                assert beta_ppf(prob, a, b) == pytest.approx(float(special.betaincinv(a, b, prob)), abs=1e-13)
    assert beta_ppf(0.0, 2.0, 3.0) == 0.0 and beta_ppf(1.0, 2.0, 3.0) == 1.0


def test_scalar_has_no_swing():
    assert quantile(Quantity.scalar(7.0), 0.05) == 7.0


# ---- inputs and substitution ---------------------------------------------------------------------

def test_inputs_are_named_kind_id_field(model):
    refs = {i.ref for i in inputs_of(model)}
    assert {"step:harvest:p", "step:accounts:p", "step:train:time_days", "actor:sl:independent_months",
            "actor:sl:accounts", "control:rl:effectiveness", "control:rl:caps_queries_per_day",
            "pathway:distil:transfer.curve[1]", "tier:api:queries_per_day"} <= refs
    # scalars are not uncertain inputs
    assert "step:harvest:cost_usd" not in refs and "pathway:distil:transfer.curve[0]" not in refs


@pytest.mark.parametrize("ref,message", [
    ("step:harvst:p", "did you mean 'harvest'"),
    ("control:rl:efectiveness", "did you mean 'effectiveness'"),
    ("actr:sl:budget_usd", "did you mean 'actor'"),
    ("pathway:distil:transfer.curve[5]", "2 transfer curve point"),
    ("step:harvest", "KIND:ID:FIELD"),
])
def test_unknown_inputs_are_clear_errors(model, ref, message):
    with pytest.raises(InputError, match=re.escape(message)):
        find(model, ref)


def test_substitute_checks_the_value_as_a_file_would(model):
    with pytest.raises(InputError, match="between 0 and 1"):
        substitute(model, "step:harvest:p", 1.5)


@pytest.mark.parametrize("ref,value", [
    ("step:harvest:p", 0.77), ("step:accounts:p", 0.6), ("step:train:time_days", 75.5),
    ("actor:sl:independent_months", 9.25), ("control:rl:effectiveness", 0.55),
    ("control:rl:caps_queries_per_day", 2500.0), ("pathway:distil:transfer.curve[1]", 0.48),
    ("tier:api:queries_per_day", 7000.0), ("actor:sl:accounts", 12.0)])
def test_substitute_gives_the_model_an_edited_file_gives(model, tmp_path, ref, value):
    data = yaml.safe_load(EXAMPLE.read_text())
    by_hand = load_model(edited(tmp_path, data, ref, value, "edited"))
    by_substitution = substitute(model, ref, value)
    assert timeline(by_substitution, SCENARIO).to_dict() == timeline(by_hand, SCENARIO).to_dict()
    assert float(find(by_substitution, ref).quantity) == value
    assert float(find(model, ref).quantity) != value            # the original is untouched


# ---- the tornado through the CLI ----------------------------------------------------------------

@pytest.mark.parametrize("output", ["days_to_durable", "lead_days", "acceleration_days", "probability:distil"])
def test_setting_an_input_to_a_rows_end_in_the_file_gives_that_rows_output(capsys, tmp_path, output):
    rows = run_json(capsys, ["sensitivity", str(EXAMPLE), "--scenario", SCENARIO, "--output", output,
                             "--format", "json"])
    assert [r["swing"] for r in rows] == sorted((r["swing"] for r in rows), reverse=True)
    assert set(rows[0]) >= {"input", "low_value", "high_value", "output_low", "output_high", "swing"}
    moving = [r for r in rows if r["swing"]]
    assert len(moving) >= 3, "the example must exercise several inputs"
    data = yaml.safe_load(EXAMPLE.read_text())
    for r in moving[:4] + rows[-1:]:       # the largest swings, and one that does not move it
        for end in ("low", "high"):
            path = edited(tmp_path, data, r["input"], r[f"{end}_value"], f"{end}")
            assert recompute(capsys, path, SCENARIO, output) == pytest.approx(r[f"output_{end}"], abs=1e-12), \
                (r["input"], end)


def test_mythos_top_row_holds_for_a_catalog_input(capsys, tmp_path):
    """The same, for an input defined in the built-in catalog: the edited pathway overrides it by id."""
    model = load_model(MYTHOS)
    rows = run_json(capsys, ["sensitivity", str(MYTHOS), "--scenario", "restricted-export-sl4", "--format", "json"])
    top = next(r for r in rows if r["input"].startswith("step:"))
    step = top["input"].split(":")[1]
    pathway = next(p for p in model.pathways if step in p.nodes)
    for end in ("low", "high"):
        data = yaml.safe_load(MYTHOS.read_text())
        entry = pathway.model_dump(mode="json")
        data["pathways"] = [entry]
        set_in_yaml(data, top["input"], top[f"{end}_value"])
        path = tmp_path / "mythos.yaml"
        path.write_text(yaml.safe_dump(data, sort_keys=False))
        assert recompute(capsys, path, "restricted-export-sl4", "days_to_durable") == top[f"output_{end}"]


def test_table_states_the_percentiles_and_the_value_at_the_modes(capsys):
    assert main(["sensitivity", str(EXAMPLE), "--scenario", SCENARIO, "--top", "3"]) == 0
    out = capsys.readouterr().out
    base = timeline(load_model(EXAMPLE), SCENARIO).days_to_durable
    assert f"days_to_durable with every input at its mode: {base:g}" in out
    assert "5th and 95th percentile" in out
    assert len(out.strip().splitlines()) == 2 + 3


@pytest.mark.parametrize("argv,message", [
    (["--scenario", "plian"], "unknown scenario 'plian' (did you mean 'plain'?)"),
    (["--scenario", SCENARIO, "--output", "probability:distill"], "did you mean 'probability:distil'?"),
    (["--scenario", SCENARIO, "--output", "days"], "unknown output 'days'"),
])
def test_user_mistakes_are_one_line_errors(capsys, argv, message):
    assert main(["sensitivity", str(EXAMPLE), *argv]) == 1
    err = capsys.readouterr().err
    assert err.startswith("threatkit: error: ") and message in err and "Traceback" not in err


def test_swing_of_unreached_ends():
    assert swing(10.0, 4.0) == 6.0
    assert swing(float("inf"), 100.0) == float("inf")
    assert swing(float("inf"), float("inf")) == 0.0
    assert swing(float("nan"), float("nan")) == 0.0


def test_an_input_of_another_actor_is_not_swept():
    model = load_model(MYTHOS)
    refs = {i.ref for i in sweep(model, "status-quo").inputs}
    assert any(r.startswith("actor:state-linked:") for r in refs) or not any(
        i.uncertain for i in inputs_of(model, {"actor": (model.actor("state-linked"),)}))
    assert not any(r.startswith("actor:insider:") for r in refs)


# ---- the sweep is the substituted model, recomputed, bit for bit -----------------------------------

def every_kind_uncertain(tmp_path: Path) -> Path:
    """The example with a range on every kind of number the sweep can move (the asset, the actor's
    budget, the tier's duration, the scenario's own months, a control's detection and account cap,
    a step's cost and queries, a pathway's fidelity), besides the ones it already has."""
    data = yaml.safe_load(EXAMPLE.read_text())
    data["assets"][0]["capability_value"] = {"low": 0.5, "mode": 0.9, "high": 1.0}
    data["actors"][0]["budget_usd"] = {"low": 200000, "mode": 10000000, "high": 20000000}
    data["tiers"][0]["duration_days"] = {"low": 30, "mode": 365, "high": 700}
    rl = data["controls"][0]
    rl.update(detection_per_million_queries={"low": 0.01, "mode": 0.05, "high": 0.3},
              caps_accounts={"low": 5, "mode": 20, "high": 100})
    harvest = data["pathways"][0]["tree"]["children"][1]
    harvest.update(cost_usd={"low": 20000, "mode": 50000, "high": 400000},
                   queries={"low": 100000, "mode": 2000000, "high": 9000000})
    data["pathways"][2]["fidelity"] = {"low": 0.6, "mode": 0.9, "high": 1.0}
    data["scenarios"][1]["independent_months"] = {"low": 4, "mode": 12, "high": 40}
    path = tmp_path / "every-kind.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def exactly(outputs: dict) -> dict:
    """Outputs by their bits: nan equals nan, 0.0 differs from -0.0."""
    return {k: struct.pack("<d", v) for k, v in outputs.items()}


@pytest.mark.parametrize("which,scenario,controls", [
    ("every-kind", "plain", None), ("every-kind", "reported", None), ("every-kind", "plain", ()),
    ("mythos", "restricted-export-sl4", None), ("mythos", "status-quo", None)])
def test_sweep_is_the_substituted_model_recomputed(tmp_path, which, scenario, controls):
    """Every row of the sweep (evaluated as columns of one computation) against its definition:
    the model with that input set to that end (`substitute`, as in an edited file), recomputed."""
    model = load_model(every_kind_uncertain(tmp_path) if which == "every-kind" else MYTHOS)
    setting = None if controls is None else Setting.of(model, scenario, controls=controls)
    sw = sweep(model, scenario, setting=setting, outputs=JUDGED_OUTPUTS)
    extra = tuple(o for o in JUDGED_OUTPUTS if ":" in o)

    def recomputed(m):
        s = None if controls is None else Setting.of(m, scenario, controls=controls)
        return exactly(outputs_of(Answer.of(m, scenario, Sampler(), setting=s), extra)[0])

    assert exactly(sw.base) == recomputed(model)
    kinds = set()
    for inp, lv, hv, low, high in zip(sw.inputs, sw.low_values, sw.high_values, sw.low, sw.high):
        assert (lv, hv) == (quantile(inp.quantity, 0.05), quantile(inp.quantity, 0.95))
        assert exactly(low) == recomputed(substitute(model, inp.ref, lv)), (inp.ref, "low")
        assert exactly(high) == recomputed(substitute(model, inp.ref, hv)), (inp.ref, "high")
        kinds.add(inp.ref.split(":")[0] + ":" + re.sub(r"\[\d+\]", "", inp.field))
    if which == "every-kind" and controls is None:           # every field of every kind was checked
        expected = {f"{k}:{f}" for k, fields in FIELDS.items() for f in fields} | {"pathway:transfer.curve"}
        assert kinds == expected - ({"scenario:independent_months"} if scenario == "reported" else set())



SVG = "{http://www.w3.org/2000/svg}"


def _svg_tree(svg: str):
    import xml.etree.ElementTree as ET

    return ET.fromstring(svg.encode("utf-8"))


def _of_class(root, tag: str, cls: str) -> list:
    return [e for e in root.iter(SVG + tag) if cls in e.get("class", "").split()]


def _hand_made(base: float, ends: list[tuple[float, float]]):
    """A tornado of the example's first inputs with the given (output_low, output_high), largest swing first."""
    from dataclasses import replace

    from threatkit.analysis.sensitivity import Row

    t = tornado(load_model(EXAMPLE), SCENARIO)
    rows = [Row(r.input, r.low_value, r.high_value, lo, hi) for r, (lo, hi) in zip(t.rows, ends)]
    return replace(t, base=base, rows=tuple(sorted(rows, key=lambda r: -r.swing)))


def test_tornado_svg_is_stable_and_drawn():
    from threatkit.render.tornado import _short, tornado_svg

    t = tornado(load_model(EXAMPLE), SCENARIO)
    first = tornado_svg(t)
    assert first == tornado_svg(t) and first.startswith("<svg")
    root = _svg_tree(first)
    moving = [r for r in t.rows if r.swing > 0]
    # train p and time, curve[1], accounts p, the actor's accounts, the rate limit's effectiveness and cap,
    # harvest p: each moves the day some draw of the clock first crosses 1/2
    assert len(moving) == 8 and all(np.isfinite([r.output_low, r.output_high]).all() for r in moving)
    assert len(_of_class(root, "rect", "bar")) == 2 * len(moving)
    assert len(_of_class(root, "rect", "low")) == len(_of_class(root, "rect", "high")) == len(moving)
    assert not _of_class(root, "rect", "unreached") and not _of_class(root, "text", "end")
    assert [e.text for e in _of_class(root, "text", "label")] == [_short(r.input.label) for r in moving]
    assert len(_of_class(root, "line", "base")) == 1
    assert root.find(SVG + "title").text.startswith("Tornado chart of the days to durable capability")
    assert "line: all inputs at their modes" in first and "5th (blue) and 95th (red) percentile" in first
    ends = [v for r in moving for v in (r.output_low, r.output_high)]
    assert bool(_of_class(root, "g", "months")) == (max(ends) > 90)   # a months axis past 90 days only
    far = _svg_tree(tornado_svg(_hand_made(60.0, [(50.0, 140.0), (55.0, 70.0)])))
    assert _of_class(far, "g", "months")                   # days to durable beyond 90 days: a months axis
    assert len(_svg_tree(tornado_svg(t, top=3)).findall(f"{SVG}rect[@class='bar low']")) == 3
    assert float(root.get("height")) > float(_svg_tree(tornado_svg(t, top=3)).get("height"))   # grows with the rows
    lead = _svg_tree(tornado_svg(tornado(load_model(EXAMPLE), SCENARIO, "lead_days")))
    assert not _of_class(lead, "g", "months")


def test_tornado_svg_unreached_ends_and_no_rows():
    from threatkit.render.tornado import tornado_svg

    inf, nan = float("inf"), float("nan")
    t = _hand_made(100.0, [(40.0, inf), (nan, 130.0), (-inf, 120.0), (100.0, 100.0)])
    root = _svg_tree(tornado_svg(t))
    assert len(_of_class(root, "rect", "bar")) == 2 * 3            # the row that does not move is left out
    unreached = _of_class(root, "rect", "unreached")
    assert len(unreached) == 3 and all(e.get("fill-opacity") == "0.4" for e in unreached)
    assert sorted(e.text for e in _of_class(root, "text", "end")) == ["never", "never", "undefined"]
    frame = next(e for e in root.iter(SVG + "rect") if e.get("fill") == "none")
    left, right = float(frame.get("x")), float(frame.get("x")) + float(frame.get("width"))
    ends = sorted((float(e.get("x")), float(e.get("x")) + float(e.get("width"))) for e in unreached)
    assert ends[0][0] == left and ends[1][1] == ends[2][1] == right      # -inf to the left edge, inf and nan right
    empty = _svg_tree(tornado_svg(_hand_made(100.0, [(100.0, 100.0)])))
    assert not _of_class(empty, "rect", "bar")
    assert _of_class(empty, "text", "empty")[0].text == "no input moves this output"


def test_tornado_svg_bars_where_the_numbers_put_them():
    """Pixel extents from the layout the module states: the plot runs from the left margin (the longest
    label's estimated width plus a gap, at least MIN_LEFT) to RIGHT, over the values' range padded 8%."""
    from threatkit.render import tornado as tr

    t = _hand_made(10.0, [(-10.0, 40.0), (5.0, 25.0), (12.0, 0.0)])
    root = _svg_tree(tr.tornado_svg(t))
    labels = [tr._short(r.input.label) for r in t.rows if r.swing > 0]
    left = max(tr.MIN_LEFT, math.ceil(tr.LABEL_GAP + max(len(s) for s in labels) * tr.CHAR_WIDTH * tr.LABEL_SIZE))
    lo, hi = -10.0 - 0.08 * 50, 40.0 + 0.08 * 50

    def x(v):
        return left + (tr.RIGHT - left) * (v - lo) / (hi - lo)

    bars = _of_class(root, "rect", "bar")
    got = [(e.get("class"), float(e.get("x")), float(e.get("x")) + float(e.get("width")), float(e.get("y")))
           for e in bars]
    # rows largest first, top down; in each, the longer bar first
    expected = [("bar high", x(10), x(40)), ("bar low", x(-10), x(10)),
                ("bar high", x(10), x(25)), ("bar low", x(5), x(10)),
                ("bar high", x(0), x(10)), ("bar low", x(10), x(12))]
    assert [g[0] for g in got] == [e[0] for e in expected]
    for (_, a, b, _y), (_, ea, eb) in zip(got, expected):
        # x and width are each written to 0.1 px: the right edge x + width is within 0.05 + 0.05
        assert a == pytest.approx(ea, abs=0.051) and b == pytest.approx(eb, abs=0.101)
    ys = [g[3] for g in got]
    assert ys[0] == ys[1] < ys[2] == ys[3] < ys[4] == ys[5] and ys[2] - ys[0] == tr.ROW
    base = _of_class(root, "line", "base")[0]
    assert float(base.get("x1")) == pytest.approx(x(10), abs=0.06)
    fills = {e.get("class"): e.get("fill") for e in bars}
    assert fills == {"bar low": tr.LOW, "bar high": tr.HIGH} == {"bar low": "#1f4e79", "bar high": "#c0392b"}
    frame = next(e for e in root.iter(SVG + "rect") if e.get("fill") == "none")
    assert float(frame.get("x")) == left and float(frame.get("x")) + float(frame.get("width")) == tr.RIGHT
    assert [e.text for e in root.find(f"{SVG}g[@class='grid']").iter(SVG + "text")] == [
        "-10", "0", "10", "20", "30", "40"]


def test_nice_ticks_from_any_start():
    from threatkit.render.curves import nice_ticks

    assert nice_ticks(6.0) == [0, 1, 2, 3, 4, 5, 6]
    assert nice_ticks(44.8, 7, start=-24.8) == [-20, -10, 0, 10, 20, 30, 40]
    assert nice_ticks(-5.0, start=-40.0) == [-40, -30, -20, -10]
    assert nice_ticks(-5.0, 7, start=-40.0) == [-40, -35, -30, -25, -20, -15, -10, -5]
    assert [round(v, 9) for v in nice_ticks(1.03, 7, start=0.64)] == [0.7, 0.8, 0.9, 1.0]
    assert [round(v, 9) for v in nice_ticks(1.03, 8, start=0.64)] == [0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95, 1.0]


# ---- Sobol' ---------------------------------------------------------------------------------

def test_sobol_columns_agree_with_the_one_at_a_time_model(model):
    """The vectorised evaluation Sobol' uses gives, at a tornado row's ends, that row's outputs."""
    from threatkit.analysis.sobol import evaluate_columns

    sw = sweep(model, SCENARIO)
    rows = [r for r in sw.rows("days_to_durable") if r.swing][:4]
    values = np.array([[float(i.quantity)] * 2 for i in sw.inputs])
    for r in rows:
        k = sw.inputs.index(r.input)
        cols = values.copy()
        cols[k] = [r.low_value, r.high_value]
        got = evaluate_columns(model, SCENARIO, list(sw.inputs), cols, "days_to_durable")
        assert list(got) == [r.output_low, r.output_high]


def test_sobol_total_indices_find_the_only_input_that_matters(tmp_path, capsys):
    pytest.importorskip("SALib")
    data = yaml.safe_load(EXAMPLE.read_text())
    # only the theft pathway, and only its time varies: every other input is fixed or cannot move the days
    data["pathways"] = [p for p in data["pathways"] if p["id"] == "theft"]
    data["controls"] = [c for c in data["controls"] if c["id"] == "sec"]
    for s in data["scenarios"]:
        s["controls"] = ["sec"]
    data["actors"][0].pop("independent_months")
    path = tmp_path / "one.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    rows = run_json(capsys, ["sensitivity", str(path), "--scenario", SCENARIO, "--method", "sobol", "--samples", "256",
                             "--format", "json"])
    by = {r["input"]: r for r in rows}
    assert rows[0]["input"] in {"step:intrude:time_days", "step:intrude:p", "control:sec:effectiveness"}
    assert by["step:intrude:time_days"]["ST"] > 0.05
    assert abs(by["actor:sl:accounts"]["ST"]) < 1e-9       # accounts cannot move a pathway without queries


# ---- substitute shares and an exposure's relative_capability as inputs ------------------------------

ECOSYSTEM = ROOT / "tests" / "examples" / "ecosystem.yaml"
SHARE_REF = "substitute:open-weights:share[1]"
R_REF = "scenario:unilateral:exposures[rival].relative_capability"


def ecosystem_data() -> dict:
    """The ecosystem example with the open-weights share at month 4 and the unilateral exposure's r
    uncertain, and a scenario whose exposure has a tier and a control of its own, both uncertain."""
    data = yaml.safe_load(ECOSYSTEM.read_text())
    data["substitutes"][0]["share"][1][1] = {"low": 0.5, "mode": 0.6, "high": 0.7}
    data["scenarios"][0]["exposures"][0]["relative_capability"] = {"low": 0.8, "mode": 0.9, "high": 1.0}
    data["tiers"][1]["queries_per_day"] = {"low": 500, "mode": 2000, "high": 20000}
    data["controls"][1]["effectiveness"] = {"low": 0.05, "mode": 0.2, "high": 0.6}
    data["scenarios"].append({
        "id": "split", "name": "Own access licensed; the rival's evaluation rate-limited", "asset": "frontier",
        "actor": "state-linked", "tier": "public-api", "controls": ["licensing"], "substitutes": ["domestic-frontier"],
        "exposures": [{"asset": "rival", "tier": "evaluation", "controls": ["rate-limit"],
                       "relative_capability": {"low": 0.2, "mode": 0.9, "high": 1.0}}]})   # at low r,
    # neither weight theft nor distillation on the rival clears the threshold
    return data


@pytest.fixture(scope="module")
def ecosystem():
    from threatkit import load_text

    return load_text(yaml.safe_dump(ecosystem_data(), sort_keys=False))


def test_substitute_shares_and_relative_capability_are_inputs(ecosystem):
    by = {i.ref: i for i in inputs_of(ecosystem)}
    assert by[SHARE_REF].label == "Best open-weight model: share at month 4"
    assert by[R_REF].label == ("The frontier lab restricts; the rival lab does not: capability of rival "
                               "relative to the asset")
    assert by[SHARE_REF].quantity == find(ecosystem, SHARE_REF).quantity == Quantity(low=0.5, mode=0.6, high=0.7)
    assert find(ecosystem, R_REF).quantity == Quantity(low=0.8, mode=0.9, high=1.0)
    assert "substitute:open-weights:share[0]" not in by                 # a scalar is not uncertain
    assert "substitute:open-weights:share[0]" in {i.ref for i in inputs_of(ecosystem, uncertain_only=False)}
    assert "scenario:coordinated:exposures[rival].relative_capability" not in by


@pytest.mark.parametrize("ref,message", [
    ("substitute:open-weights:share[3]", "3 share point(s); expected share[0] .. [2]"),
    ("substitute:open-weights:shares[1]", "did you mean 'share[1]'"),
    ("substitute:open-weight:share[1]", "did you mean 'open-weights'"),
    ("scenario:unilateral:exposures[rivl].relative_capability", "no exposure to asset 'rivl' (did you mean 'rival'?)"),
    ("scenario:competitor-evaluation:exposures[rival].relative_capability", "exposed assets: none"),
])
def test_unknown_substitute_and_exposure_inputs_are_clear_errors(ecosystem, ref, message):
    for call in (lambda: find(ecosystem, ref), lambda: substitute(ecosystem, ref, 0.5)):
        with pytest.raises(InputError, match=re.escape(message)):
            call()


@pytest.mark.parametrize("ref,value,message", [(SHARE_REF, 1.5, "between 0 and 1"), (R_REF, 0.0, "above 0")])
def test_substitute_checks_shares_and_relative_capability_as_a_file_would(ecosystem, ref, value, message):
    with pytest.raises(InputError, match=re.escape(message)):
        substitute(ecosystem, ref, value)


@pytest.mark.parametrize("ref,value", [(SHARE_REF, 0.52), (R_REF, 0.85)])
def test_substitute_gives_the_ecosystem_an_edited_file_gives(ecosystem, ref, value):
    from threatkit import load_text

    data = ecosystem_data()
    if ref == SHARE_REF:
        data["substitutes"][0]["share"][1][1] = value
    else:
        data["scenarios"][0]["exposures"][0]["relative_capability"] = value
    by_hand = load_text(yaml.safe_dump(data, sort_keys=False))
    by_substitution = substitute(ecosystem, ref, value)
    for s in ("unilateral", "split"):
        assert timeline(by_substitution, s).to_dict() == timeline(by_hand, s).to_dict()
    assert float(find(by_substitution, ref).quantity) == value
    assert float(find(ecosystem, ref).quantity) != value


def test_scenario_inputs_follow_its_exposures_and_substitutes(ecosystem):
    from threatkit.analysis.sensitivity import scenario_inputs

    unilateral = {i.ref for i in scenario_inputs(ecosystem, "unilateral")}
    assert {SHARE_REF, R_REF, "control:rate-limit:effectiveness"} <= unilateral
    assert "tier:evaluation:queries_per_day" not in unilateral          # neither its tier nor an exposure's
    split = {i.ref for i in scenario_inputs(ecosystem, "split")}
    assert {"scenario:split:exposures[rival].relative_capability", "tier:evaluation:queries_per_day",
            "control:rate-limit:effectiveness"} <= split                 # the exposure's tier and control
    assert SHARE_REF not in split                                        # open weights do not apply to it
    assert R_REF not in split


@pytest.mark.parametrize("scenario", ["unilateral", "split"])
def test_ecosystem_sweep_is_the_substituted_model_recomputed(ecosystem, scenario):
    """As test_sweep_is_the_substituted_model_recomputed, for substitute shares, an exposure's r and
    an exposure's tier and control: every row, every output, bit for bit."""
    sw = sweep(ecosystem, scenario, outputs=JUDGED_OUTPUTS)
    extra = tuple(o for o in JUDGED_OUTPUTS if ":" in o)

    def recomputed(m):
        return exactly(outputs_of(Answer.of(m, scenario, Sampler()), extra)[0])

    assert exactly(sw.base) == recomputed(ecosystem)
    for inp, lv, hv, low, high in zip(sw.inputs, sw.low_values, sw.high_values, sw.low, sw.high):
        assert exactly(low) == recomputed(substitute(ecosystem, inp.ref, lv)), (inp.ref, "low")
        assert exactly(high) == recomputed(substitute(ecosystem, inp.ref, hv)), (inp.ref, "high")
    refs = {i.ref for i in sw.inputs}
    assert ({SHARE_REF, R_REF} if scenario == "unilateral" else
            {"scenario:split:exposures[rival].relative_capability", "tier:evaluation:queries_per_day"}) <= refs
    moving = {r.input.ref for r in sw.rows("days_to_durable") if r.swing}
    assert ({SHARE_REF} if scenario == "unilateral" else
            {"scenario:split:exposures[rival].relative_capability", "control:rate-limit:effectiveness"}) <= moving


def test_ecosystem_tornado_rows_are_the_timeline_of_the_substituted_model(ecosystem):
    t = tornado(ecosystem, "unilateral")
    rows = {r.input.ref: r for r in t.rows}
    assert {SHARE_REF, R_REF} <= set(rows)
    assert rows[SHARE_REF].swing > 0                     # open weights decide the day here
    for r in t.rows:
        for value, out in ((r.low_value, r.output_low), (r.high_value, r.output_high)):
            got = timeline(substitute(ecosystem, r.input.ref, value), "unilateral").days_to_durable
            assert (got if got is not None else math.inf) == out, (r.input.ref, value)


def test_sobol_takes_substitute_shares_and_relative_capability(ecosystem):
    pytest.importorskip("SALib")
    from threatkit.analysis.sobol import evaluate_columns, sobol_indices

    rows = sobol_indices(ecosystem, "unilateral", samples=64)
    by = {r.input.ref: r for r in rows}
    assert {SHARE_REF, R_REF} <= set(by)
    assert all(math.isfinite(r.total) for r in rows)
    assert by[SHARE_REF].total > 0.05
    # the columns it evaluates are the substituted models
    inputs = [by[SHARE_REF].input, by[R_REF].input]
    values = np.array([[0.55, 0.6, 0.68], [0.9, 0.82, 1.0]])
    got = evaluate_columns(ecosystem, "unilateral", inputs, values, "days_to_durable")
    for j in range(values.shape[1]):
        m = substitute(substitute(ecosystem, SHARE_REF, values[0, j]), R_REF, values[1, j])
        assert got[j] == timeline(m, "unilateral").days_to_durable
