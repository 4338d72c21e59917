"""Properties of substitutes and exposures (issue 21), on the random models of test_clock_properties.

More that the world offers the actor never makes durable capability later: a substitute added, an
exposure added (another model it reaches). Taking every substitute away (`substitutes: []`) never
makes it earlier. An exposure with relative_capability r transfers r times what the same pathway
transfers on the scenario's own asset, when the actor reaches both alike.
"""
from __future__ import annotations

import copy

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

import threatkit
from threatkit.analysis.assess import assess
from test_clock_properties import SETTINGS, durable_day, models

months = st.sets(st.sampled_from([0, 1, 2, 3, 6, 12, 24]), min_size=1, max_size=4).map(sorted)
share = st.sampled_from([0.0, 0.2, 0.4, 0.5, 0.6, 0.9, 1.0]) | st.floats(0.0, 1.0)


@st.composite
def substitutes(draw, k: int) -> dict:
    points = draw(months)
    return {"id": f"sub{k}", "share": [[m, draw(share)] for m in points]}   # shares may fall: not required to rise


@st.composite
def relative(draw):
    return draw(st.sampled_from([0.1, 0.5, 0.9, 1.0]) | st.floats(0.01, 1.0))


def with_other_model(doc: dict, data, *, controls: list[str] | None = None, r=None) -> dict:
    """`doc` with a second asset the actor also reaches (an exposure) through a tier of its own."""
    more = copy.deepcopy(doc)
    more["assets"].append({"id": "other", "capability_value": 0.7})
    tier = dict(more["tiers"][0], id="other-tier",
                duration_days=data.draw(st.integers(1, 400)),
                queries_per_day=data.draw(st.sampled_from([100, 5000, 100_000])))
    more["tiers"].append(tier)
    ids = [c["id"] for c in more["controls"]]
    exposure = {"asset": "other", "tier": "other-tier",
                "controls": controls if controls is not None else (
                    data.draw(st.lists(st.sampled_from(ids), unique=True)) if ids else []),
                "relative_capability": r if r is not None else data.draw(relative())}
    more["scenarios"][0].setdefault("exposures", []).append(exposure)
    return more


@SETTINGS
@given(doc=models(), data=st.data())
def test_a_substitute_added_never_makes_durable_capability_later(doc, data):
    subs = [data.draw(substitutes(k)) for k in range(data.draw(st.integers(0, 2)))]
    doc["substitutes"] = subs + [data.draw(substitutes(9))]
    doc["scenarios"][0]["substitutes"] = [x["id"] for x in subs]
    more = copy.deepcopy(doc)
    more["scenarios"][0]["substitutes"].append("sub9")
    assert durable_day(more) <= durable_day(doc)


@SETTINGS
@given(doc=models(), data=st.data())
def test_an_exposure_added_never_makes_durable_capability_later(doc, data):
    if data.draw(st.booleans()):
        doc["substitutes"] = [data.draw(substitutes(0))]
    more = with_other_model(doc, data)
    assert durable_day(more) <= durable_day(doc)


@SETTINGS
@given(doc=models(), data=st.data())
def test_no_substitutes_never_makes_durable_capability_earlier(doc, data):
    doc["substitutes"] = [data.draw(substitutes(k)) for k in range(data.draw(st.integers(1, 3)))]
    if data.draw(st.booleans()):
        doc = with_other_model(doc, data)
    none = copy.deepcopy(doc)
    none["scenarios"][0]["substitutes"] = []
    assert durable_day(none) >= durable_day(doc)


@SETTINGS
@given(doc=models(), data=st.data())
def test_an_exposure_transfers_r_times_the_same_pathway_on_the_asset(doc, data):
    # the same tier and controls as the scenario's own access, and a planned harvest (the adaptive
    # actor harvests less where r x the curve clears the threshold with fewer samples)
    scenario = doc["scenarios"][0]
    scenario["harvest"] = "planned"
    r = data.draw(relative())
    doc["assets"].append({"id": "other", "capability_value": 0.7})
    scenario["exposures"] = [{"asset": "other", "tier": scenario["tier"], "controls": list(scenario["controls"]),
                              "relative_capability": r}]
    model = threatkit.load_text(yaml.safe_dump(doc, sort_keys=False))
    result = assess(model, "s")
    assert [p.pathway for p in result.exposures] == [p.pathway for p in result.pathways]
    for own, other in zip(result.pathways, result.exposures):
        assert other.asset == "other" and own.asset == "asset"
        assert other.fidelity == pytest.approx(r * own.fidelity, rel=1e-12, abs=1e-15)
        assert (other.probability, other.time_days, other.transfer_samples) == (
            own.probability, own.time_days, own.transfer_samples)
