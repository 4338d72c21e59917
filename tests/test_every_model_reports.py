"""Every model that validates gives a report, an explorer and every export (issue 22).

Small valid models, the kind a first sketch is: no controls at all, one leaf, every pathway
infeasible, no independent development, a single scenario, transfer curves or none, a substitute
or another model the actor reaches. Each goes
through `threatkit report`, the explorer and `threatkit export` in every format, as a user runs them.
"""
from __future__ import annotations

import contextlib
import io

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import threatkit
from threatkit.cli import main
from test_clock_properties import models

SKETCHES = settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                            HealthCheck.function_scoped_fixture])


@st.composite
def sketches(draw) -> dict:
    doc = draw(models())
    if draw(st.booleans()):                      # no controls defined at all
        doc["controls"] = []
        doc["scenarios"][0]["controls"] = []
    if draw(st.booleans()):                      # every step beyond the actor's skill: nothing feasible
        doc["actors"][0]["skill"] = 1
        for pathway in doc["pathways"]:
            for node in _walk(pathway["tree"]):
                if "gate" not in node:
                    node["skill"] = 5
    if draw(st.booleans()):                      # what the world offers: a substitute, sometimes none of it used
        doc["substitutes"] = [{"id": "sub", "share": [[0, draw(st.sampled_from([0.0, 0.4]))],
                                                      [draw(st.sampled_from([1, 6])), draw(st.sampled_from([0.6, 1.0]))]]}]
        if draw(st.booleans()):
            doc["scenarios"][0]["substitutes"] = []
    if draw(st.booleans()):                      # another model the actor reaches, with or without controls
        doc["assets"].append({"id": "other", "capability_value": 0.5})
        ids = [c["id"] for c in doc["controls"]]
        doc["scenarios"][0]["exposures"] = [{"asset": "other", "tier": "tier",
                                             "controls": draw(st.lists(st.sampled_from(ids), unique=True)) if ids else [],
                                             "relative_capability": draw(st.sampled_from([0.3, 1.0]))}]
    return doc


def _walk(node):
    yield node
    for child in node.get("children", ()):
        yield from _walk(child)


@pytest.mark.slow
@SKETCHES
@given(doc=sketches())
def test_every_valid_model_gives_a_report_an_explorer_and_its_exports(doc, tmp_path_factory):
    folder = tmp_path_factory.mktemp("sketch")
    path = folder / "sketch.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    assert main(["validate", str(path)]) == 0
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        code = main(["report", str(path), "--scenario", "s", "-o", str(folder / "s.html"), "--samples", "40"])
    assert code == 0, err.getvalue()
    assert (folder / "s.html").stat().st_size > 0
    for fmt, name, extra in (("navigator", "layer.json", []), ("stix", "bundle.json", []),
                             ("xlsx", "register.xlsx", []), ("adtool", "tree.xml", ["--pathway", "pw0"])):
        with contextlib.redirect_stderr(io.StringIO()) as err, contextlib.redirect_stdout(io.StringIO()):
            code = main(["export", str(path), "--format", fmt, "-o", str(folder / name), *extra])
        assert code == 0, (fmt, err.getvalue())
    from threatkit.widgets import Explorer

    with contextlib.redirect_stdout(io.StringIO()):
        explorer = Explorer(threatkit.load_model(path), scenario="s", samples=40)
        assert explorer.status.value and explorer.curve_view.value
        for box in explorer.controls.values():
            box.value = not box.value
        explorer.substitutes.value = False
        for choice in explorer.exposures.values():
            choice.value = "coordinated"
        explorer.views.selected_index = 2                   # the capability curves, computed when shown
        assert "curves" in explorer.state
