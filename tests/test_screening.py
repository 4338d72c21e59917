"""Screening a big model's inputs (issue 22): the sweep moves one at a time only the inputs that
can matter, and those rows are the full sweep's.

Random models whose steps have ranges on p, cost and time, screened with the threshold lowered
so that every model is screened: for every output that moves one way with a step's inputs (all
but the lead, which is a difference of two such outputs), each input whose full-sweep swing is
clearly above the k-th largest is kept, and every kept input's row is the full sweep's row.
"""
from __future__ import annotations

import json
import math

import numpy as np
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import threatkit
from threatkit.analysis import screening
from threatkit.analysis.assess import Setting
from threatkit.analysis.sensitivity import JUDGED_DAYS, pair_swings, sweep

KEEP = 3


@st.composite
def ranged(draw, low: float, high: float, whole: bool = False):
    a, b = sorted(draw(st.lists(st.floats(low, high), min_size=2, max_size=2)))
    if b - a < (high - low) / 20:
        return a
    mode = a + (b - a) * draw(st.floats(0.1, 0.9))
    if whole:
        a, mode, b = math.floor(a), round(mode), math.ceil(b)
        if not a < b:
            return a
    return {"low": a, "mode": mode, "high": b}


@st.composite
def tree(draw, prefix: str, depth: int, counter: list) -> dict:
    counter[0] += 1
    ident = f"{prefix}{counter[0]}"
    if depth == 0 or draw(st.integers(0, 4)) == 0:
        return {"id": ident, "p": draw(ranged(0.05, 0.95)), "time_days": draw(ranged(1, 40, whole=True)),
                "cost_usd": draw(ranged(100, 50_000))}
    kids = [draw(tree(prefix, depth - 1, counter)) for _ in range(draw(st.integers(2, 3)))]
    return {"id": ident, "gate": draw(st.sampled_from(["and", "or", "sand"])), "children": kids}


@st.composite
def big_models(draw) -> dict:
    pathways = [{"id": f"pw{k}", "fidelity": draw(st.sampled_from([0.3, 0.6, 1.0])), "persistent": draw(st.booleans()),
                 "tree": draw(tree(f"w{k}-", draw(st.integers(2, 4)), [0]))} for k in range(draw(st.integers(1, 2)))]
    return {"threatkit": 1, "include": [], "assets": [{"id": "asset", "capability_value": 1.0}],
            "tiers": [{"id": "tier", "rank": 2, "exposes": ["outputs"], "queries_per_day": 5000,
                       "duration_days": draw(st.sampled_from([30, 200, 1000]))}],
            "actors": [{"id": "actor", "kind": "state", "skill": 5, "budget_usd": draw(st.sampled_from([2e4, 1e6, 1e9])),
                        "accounts": 20, "independent_months": draw(st.sampled_from([3, 12, 60]))}],
            "pathways": pathways, "controls": [],
            "scenarios": [{"id": "s", "asset": "asset", "actor": "actor", "tier": "tier", "controls": [],
                           "capability_threshold": draw(st.sampled_from([0.3, 0.5, 0.9]))}]}


def one_way(output: str) -> bool:
    return output != "lead_days"


def tolerance(output: str) -> float:
    """How far above the k-th largest swing an input must be to count as clearly above it: a day
    (days come whole, and the screen ranks in single precision), or 1e-4 of a probability."""
    return 1.5 if output.endswith("days") or output.startswith("days") else 1e-4


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(doc=big_models())
def test_a_screen_keeps_every_input_that_can_enter_the_top_rows(doc, tmp_path_factory):
    path = tmp_path_factory.mktemp("big") / "big.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    model = threatkit.load_model(path)
    full = sweep(model, "s", screen=False)
    setting = Setting.of(model, model.scenario("s"))
    measure = pair_swings(model, "s", setting=setting, horizon=full.horizon)
    screen = screening.screen(list(full.inputs), measure, percentiles=full.percentiles, keep=KEEP, above=0)
    kept = {i.ref for i in screen.inputs}
    assert screen.total == len(full.inputs)
    assert not any(i.kind == "step" for i in full.inputs) or screen.columns > 0
    for output in full.base:
        if not one_way(output) or screen.budget_spent:
            continue
        rows = full.rows(output)
        swings = [r.swing for r in rows]
        kth = sorted(swings, reverse=True)[KEEP - 1] if len(swings) >= KEEP else 0.0
        for r in rows:
            if r.swing > kth + tolerance(output) and np.isfinite(r.swing) or (np.isinf(r.swing) and np.isfinite(kth)):
                assert r.input.ref in kept, (output, r.input.ref, r.swing, kth)
    # the kept inputs' rows, swept after the screen, are the full sweep's
    again = sweep(model, "s", inputs=list(screen.inputs))
    for output in full.base:
        by_ref = {r.input.ref: r for r in full.rows(output)}
        for r in again.rows(output):
            expected = by_ref[r.input.ref]
            assert np.array_equal([r.output_low, r.output_high], [expected.output_low, expected.output_high],
                                  equal_nan=True), (output, r.input.ref)


def test_a_small_model_is_swept_whole():
    from threatkit.report import example_path

    model = threatkit.load_model(example_path())
    swept = sweep(model, "status-quo")
    assert swept.screened is not None and not swept.screened.screened
    assert swept.screened.sentence() == ""
    assert len(swept.inputs) == swept.screened.total <= screening.SCREEN_ABOVE


def test_the_screen_is_said_in_the_report_and_bounds_what_it_left(tmp_path):
    """A model over the threshold: the sentence names how many inputs were swept, and the
    subtrees left whole move days to durable no more than it says."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    from load import large_model

    path = tmp_path / "large.yaml"
    path.write_text(large_model(7, scenarios=3))
    model = threatkit.load_model(path)
    swept = sweep(model, "s2", outputs=tuple(f"durable:{d}" for d in JUDGED_DAYS))
    screen = swept.screened
    assert screen.screened and screen.total > screening.SCREEN_ABOVE
    text = screen.sentence()
    assert f"Of {screen.total:,} uncertain inputs, {len(screen.inputs):,} were swept one at a time" in text
    assert len(swept.inputs) == len(screen.inputs)


def test_the_command_line_says_it_screened_and_sweeps_all_when_asked(tmp_path, capsys):
    import sys
    from pathlib import Path

    from threatkit.cli import main

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    from load import large_model

    path = tmp_path / "large.yaml"
    path.write_text(large_model(7, scenarios=3))
    assert main(["sensitivity", str(path), "--scenario", "s2", "--format", "json", "--top", "3"]) == 0
    out, err = capsys.readouterr()
    assert "were swept one at a time" in err and "(--all sweeps every input)" in err
    screened = json.loads(out)
    assert main(["sensitivity", str(path), "--scenario", "s2", "--format", "json", "--top", "3", "--all"]) == 0
    out, err = capsys.readouterr()
    assert "swept one at a time" not in err
    assert json.loads(out) == screened              # the same top rows, to the bit
    assert f"over {screening.SCREEN_ABOVE} inputs" in " ".join(_help(capsys, main).split())


def _help(capsys, main) -> str:
    try:
        main(["sensitivity", "--help"])
    except SystemExit:
        pass
    return capsys.readouterr().out
