"""The built-in catalog's calibration against shared/reference/calibration.md, and the Mythos example's answers.

The numbers below are transcribed from calibration.md (tables A, B and C, and the reported campaign sizes of
Q4), not read from the YAML, and the Mythos timeline is recomputed by hand from the rules of DESIGN.md
("Capability over time") with the catalog's step numbers, so a change to the catalog that moves an answer
shows up here with the reason.
"""
import json
import math
from pathlib import Path

import pytest
import yaml

from threatkit.cli import main
from threatkit.model.load import builtin_model

ROOT = Path(__file__).resolve().parents[1]
PATHWAYS = ROOT / "data" / "pathways.yaml"
ACTORS = ROOT / "data" / "actors.yaml"
EXAMPLE = ROOT / "data" / "examples" / "mythos.yaml"

# calibration.md, "Proposed calibration", table A: targeted, verifiable skills (samples -> low, mode, high)
TABLE_A = {1e3: (0.35, 0.60, 0.80), 1e6: (0.70, 0.88, 0.97), 1e7: (0.72, 0.90, 1.00)}
# table B: broad / holistic capability
TABLE_B = {1e3: (0.00, 0.02, 0.10), 1e4: (0.00, 0.05, 0.15), 1e5: (0.00, 0.08, 0.25),
           1e6: (0.02, 0.12, 0.35), 1e7: (0.05, 0.20, 0.50)}
# table C: months for a state-linked or competitor lab to reach a frontier capability on its own
TABLE_C = (3, 7, 14)
# Q4: reported campaigns (exchanges): DeepSeek > 150K, Moonshot > 3.4M, MiniMax > 13M, Alibaba-linked > 28.8M
CAMPAIGNS = {"deepseek": 150_000, "moonshot": 3_400_000, "minimax": 13_000_000, "alibaba": 28_800_000}


def points(pathway, which: int):
    """(samples, value) of a pathway's transfer curve, which = 0 low, 1 mode, 2 high."""
    return [(n, (q.low, q.mode, q.high)[which]) for n, q in pathway.transfer.curve]


def interp(curve, n):
    """DESIGN.md: linear in log10(n) between points, from (1, 0) to the first point, flat after the last."""
    if n < 1:
        return 0.0
    xs = [0.0] + [math.log10(x) for x, _ in curve]
    ys = [0.0] + [y for _, y in curve]
    x = math.log10(n)
    if x >= xs[-1]:
        return ys[-1]
    for (x0, y0), (x1, y1) in zip(zip(xs, ys), zip(xs[1:], ys[1:])):
        if x <= x1:
            return y0 + (y1 - y0) * (x - x0) / (x1 - x0)
    raise AssertionError


@pytest.fixture(scope="module")
def catalog():
    return builtin_model()


@pytest.fixture(scope="module")
def raw_pathways():
    return {p["id"]: p for p in yaml.safe_load(PATHWAYS.read_text())["pathways"]}


# ---------------------------------------------------------------------------------------------- transfer curves

def test_targeted_distillation_is_table_a(catalog):
    p = catalog.pathway("distillation")                      # the id scripts and the contract example override
    assert p.transfer is not None and p.transfer.samples_from == "distill-harvest"
    assert [n for n, _ in p.transfer.curve] == sorted(TABLE_A)
    for n, q in p.transfer.curve:
        assert (q.low, q.mode, q.high) == pytest.approx(TABLE_A[n]), n
    assert p.transfer.share(1e6) == pytest.approx(0.88)
    # between points: 1e4 samples is a third of the way from 1e3 to 1e6 in log10
    assert p.transfer.share(1e4) == pytest.approx(0.60 + (0.88 - 0.60) / 3)
    assert p.transfer.share(3e7) == pytest.approx(0.90)     # flat after the last point


def test_broad_imitation_is_table_b(catalog):
    p = catalog.pathway("broad-imitation")
    assert p.transfer is not None and p.transfer.samples_from == "imitate-harvest"
    assert [n for n, _ in p.transfer.curve] == sorted(TABLE_B)
    for n, q in p.transfer.curve:
        assert (q.low, q.mode, q.high) == pytest.approx(TABLE_B[n]), n
    # "little capability transfers": even a campaign-scale harvest stays below the default threshold of 0.5
    assert p.transfer.share(CAMPAIGNS["alibaba"]) == pytest.approx(0.20) and p.transfer.share(1e9) < 0.5


def test_broad_stays_below_targeted_everywhere(catalog):
    targeted, broad = catalog.pathway("distillation"), catalog.pathway("broad-imitation")
    grid = [10 ** (k / 8) for k in range(0, 8 * 8 + 1)]       # 1 .. 1e8, eight points a decade
    for which in range(3):                                     # low, mode and high curves
        t, b = points(targeted, which), points(broad, which)
        for n in grid[1:]:
            assert interp(b, n) < interp(t, n), (which, n)
    for n in grid[1:]:
        assert broad.transfer.share(n) < targeted.transfer.share(n)
    # the library's interpolation agrees with the one written here
    for n in (1, 2, 500, 1e3, 28_000, 1e6, 5e6, 1e7, 1e8):
        assert targeted.transfer.share(n) == pytest.approx(interp(points(targeted, 1), n))
        assert broad.transfer.share(n) == pytest.approx(interp(points(broad, 1), n))


def test_logit_distillation_is_table_a_at_a_third_of_the_samples(catalog):
    p = catalog.pathway("logit-distillation")
    assert p.transfer.samples_from == "distill-logit-harvest"
    for (n, q), (a, values) in zip(p.transfer.curve, sorted(TABLE_A.items())):
        assert n == pytest.approx(a / 3, rel=0.15)
        assert (q.low, q.mode, q.high) == pytest.approx(values)
    assert "thin" in p.source.lower() and p.confidence == "low"


def test_harvest_sizes_follow_the_reported_campaigns(catalog):
    def step(pathway, sid):
        return next(n for n in catalog.pathway(pathway).tree.walk() if n.id == sid)

    harvest = step("distillation", "distill-harvest")
    assert harvest.queries.low == CAMPAIGNS["deepseek"]        # reasoning / chain-of-thought campaign
    assert harvest.queries.high == CAMPAIGNS["moonshot"]       # agentic, tool-use, coding campaign
    assert harvest.queries.mode == pytest.approx(1e6)          # R1-Distill ~800K, OpenThinker3 1.2M
    broad = step("broad-imitation", "imitate-harvest")
    assert broad.queries.low == 52_000                         # Alpaca
    assert broad.queries.mode == pytest.approx(6e6)            # Orca 5M + 1M
    assert broad.queries.high == CAMPAIGNS["alibaba"]


def _minimal_success_sets(node) -> list[frozenset]:
    """Minimal sets of leaves whose success makes `node` succeed (or: any child; and/sand: every child)."""
    if "gate" not in node:
        return [frozenset([node["id"]])]
    children = [_minimal_success_sets(c) for c in node["children"]]
    if node["gate"] == "or":
        sets = [s for c in children for s in c]
    else:
        sets = [frozenset()]
        for c in children:
            sets = [a | b for a in sets for b in c]
    return [s for s in sets if not any(o < s for o in sets)]


def test_minimal_success_sets_helper():
    tree = {"id": "r", "gate": "sand", "children": [
        {"id": "a", "gate": "or", "children": [{"id": "x"}, {"id": "y"}]},
        {"id": "h"}, {"id": "o", "gate": "or", "children": [{"id": "h"}, {"id": "z"}]}]}
    assert sorted(map(sorted, _minimal_success_sets(tree))) == [["h", "x"], ["h", "y"]]


def test_every_transfer_step_lies_on_every_route(raw_pathways):
    with_transfer = [p for p in raw_pathways.values() if "transfer" in p]
    assert {p["id"] for p in with_transfer} >= {"distillation", "broad-imitation", "logit-distillation"}
    for p in with_transfer:
        step = p["transfer"]["samples_from"]
        sets = _minimal_success_sets(p["tree"])
        assert sets and all(step in s for s in sets), f"{p['id']}: {step} is not on every route"


def _decade(n: float) -> str:
    """300 -> '3e2', 1000000 -> '1e6': how the sources name a curve point."""
    exponent = int(math.floor(math.log10(n) + 1e-9))
    return f"{round(n / 10 ** exponent):d}e{exponent}"


def test_every_transfer_point_is_sourced(raw_pathways):
    for p in raw_pathways.values():
        if "transfer" not in p:
            continue
        assert p.get("source") and p.get("confidence"), p["id"]
        for n, _ in p["transfer"]["curve"]:
            assert _decade(n) in p["source"], f"{p['id']}: the source says nothing about the point at {n:g} samples"
        assert "calibration.md table" in p["source"]
        assert "thin" in p["source"].lower()                  # the 1e7 point has no controlled study


# ---------------------------------------------------------------------------------------------- access and persistence

# (persistent, needs_access) for every built-in pathway, as the domain says, not as the YAML says
EXPECTED_ACCESS = {
    "direct-use": (False, True),           # use ends with access; every use goes through the tier
    "distillation": (True, True),          # the student outlives access; every harvest goes through the tier
    "broad-imitation": (True, True),
    "logit-distillation": (True, True),
    "failure-mode-probing": (True, True),  # the map is kept; probing goes through the tier
    "fine-tuning-abuse": (False, True),    # the tuned variant lives on the provider's side
    "router-training": (True, False),      # one route buys logs an intermediary holds
    "weight-exfiltration": (True, False),  # intrusion or an insider, not the tier
}


def test_every_builtin_pathway_states_persistence_and_access(raw_pathways, catalog):
    assert set(raw_pathways) == set(EXPECTED_ACCESS)
    for pid, raw in raw_pathways.items():
        assert "persistent" in raw and "needs_access" in raw, f"{pid}: say it, the defaults are false"
        p = catalog.pathway(pid)
        assert (p.persistent, p.needs_access) == EXPECTED_ACCESS[pid], pid


# ---------------------------------------------------------------------------------------------- independent development

def test_independent_months_where_a_source_supports_it(catalog):
    raw = {a["id"]: a for a in yaml.safe_load(ACTORS.read_text())["actors"]}
    for aid in ("state-linked", "well-resourced-lab", "state-priority"):
        months = catalog.actor(aid).independent_months
        assert (months.low, months.mode, months.high) == TABLE_C, aid
        assert "table C" in raw[aid]["source"] and "Epoch" in raw[aid]["source"], aid
    for aid in ("individual", "intermediary", "competitor", "insider"):
        assert catalog.actor(aid).independent_months is None, aid
        assert "independent_months" in raw[aid]["source"], f"{aid}: say why there is none"


# ---------------------------------------------------------------------------------------------- the Mythos example

ICD = {"likely": 0.675, "very likely": 0.875, "almost certain": 0.97}   # middle of the ICD 203 bands
INDEPENDENT_DAY = math.ceil(7 * 365.25 / 12)                           # 214


def first_day(p: float, attempt_days: int, max_attempts: int | None = None) -> float:
    """First day on which 1 - (1 - p)^floor(t / T) >= 1/2 (attempts capped by access when needs_access)."""
    k = math.ceil(math.log(0.5) / math.log(1 - p))
    if max_attempts is not None and k > max_attempts:
        return math.inf
    return k * attempt_days


def distillation_attempt(own_factor: float, reseller_factor: float, harvest_factor: float, train_factor: float):
    access = 1 - (1 - ICD["very likely"] * own_factor) * (1 - ICD["likely"] * reseller_factor)
    return access * ICD["almost certain"] * ICD["very likely"] * harvest_factor * 0.8 * train_factor


@pytest.fixture(scope="module")
def timeline():
    import contextlib
    import io
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["timeline", str(EXAMPLE), "--format", "json"]) == 0
    return {row["scenario"]: row for row in json.loads(out.getvalue())}


@pytest.fixture(scope="module")
def assess_rows():
    import contextlib
    import io
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["assess", str(EXAMPLE), "--format", "json"]) == 0
    return {(r["scenario"], r["pathway"]): r for r in json.loads(out.getvalue())}


def test_the_scenario_ids_notebooks_and_tests_use_are_kept(timeline):
    assert {"status-quo", "restricted-export", "state-evaluation", "competitor-public-api",
            "insider-internal-tooling", "restricted-export-sl4"} <= set(timeline)


def test_status_quo_by_hand(timeline, assess_rows):
    # rate limit (x0.9, and 0.85 per million of anomaly detection) on the harvest, KYC (x0.5) on own accounts,
    # terms (x0.9) on training; 24,000 accounts x 5,000 queries a day harvest 1M samples in a day
    p = distillation_attempt(0.5, 1.0, 0.9 * 0.85 ** 1.0, 0.9)
    row = assess_rows[("status-quo", "distillation")]
    assert row["probability"] == pytest.approx(p, rel=1e-3) and row["transfer_samples"] == 1e6
    assert row["time_days"] == 3 + 14 + 1 + 30 and row["fidelity"] == pytest.approx(0.88)
    assert first_day(p, 48, math.ceil(365 / 48)) == 96
    p0 = distillation_attempt(1.0, 1.0, 1.0, 1.0)                # none of the scenario's controls
    assert p0 >= 0.5
    t = timeline["status-quo"]
    assert t["days_independent"] == INDEPENDENT_DAY == 214
    assert (t["days_to_durable"], t["days_to_durable_without_controls"]) == (96, 48)
    assert (t["lead_days"], t["acceleration_days"]) == (48, 214 - 96)


def test_the_restriction_buys_months_against_the_state_linked_group(timeline, assess_rows):
    quo, restricted, sl4 = timeline["status-quo"], timeline["restricted-export"], timeline["restricted-export-sl4"]
    screening = timeline["intermediary-screening-only"]
    # 20 accounts (the licence's cap) x 5,000 a day: the 1M-sample harvest takes 10 days, the student is as strong
    p = distillation_attempt(0.5 * 0.15, 0.4, 0.9 * 0.85 ** 1.0, 0.9)
    row = assess_rows[("restricted-export", "distillation")]
    assert row["probability"] == pytest.approx(p, rel=1e-3) and row["time_days"] == 3 + 14 + 10 + 30
    assert row["transfer_samples"] == 1e6 and row["fidelity"] == pytest.approx(0.88)
    assert first_day(p, 57, math.ceil(365 / 57)) == 5 * 57 > INDEPENDENT_DAY
    # weight theft comes first: p of both routes (intrusion 0.875 x 0.675 x 0.875; insider 0.325 x 0.5 x 0.3),
    # time of the faster (insider recruitment, 180 + 7 days)
    wx = 1 - (1 - 0.875 * 0.675 * 0.875) * (1 - 0.325 * 0.5 * (1 - 0.7))
    assert assess_rows[("restricted-export", "weight-exfiltration")]["probability"] == pytest.approx(wx, rel=1e-3)
    assert restricted["days_to_durable"] == 187
    # the policy answers the example's comments claim
    assert restricted["days_to_durable"] - quo["days_to_durable"] == 91           # ~3 months of lead over status quo
    assert quo["days_to_durable"] < screening["days_to_durable"] < restricted["days_to_durable"]
    assert restricted["acceleration_days"] == 214 - 187 < quo["acceleration_days"]
    assert sl4["days_to_durable"] == INDEPENDENT_DAY and sl4["acceleration_days"] == 0
    # not an artefact of the threshold: the student the group would get is strong, only later and less likely
    assert assess_rows[("restricted-export", "distillation")]["fidelity"] >= 0.5


def test_a_two_week_evaluation_gives_a_useful_but_not_a_near_parity_student(timeline, assess_rows):
    samples = 2_000 * 1 * 14                                    # rate x one named account x the window
    share = 0.60 + (math.log10(samples) - 3) / 3 * (0.88 - 0.60)
    row = assess_rows[("state-evaluation", "distillation")]
    assert row["transfer_samples"] == samples and row["fidelity"] == pytest.approx(share, rel=1e-4)
    p = distillation_attempt(1.0, 1.0, 0.85 ** (samples / 1e6), 1.0)
    assert row["probability"] == pytest.approx(p, rel=1e-3) and p >= 0.5
    assert row["time_days"] == 3 + 14 + 14 + 30                # one attempt only: 61 days > 14 of access
    t = timeline["state-evaluation"]
    assert t["days_to_durable"] == 61 and t["acceleration_days"] == 214 - 61
    parity = timeline["state-evaluation-parity"]
    assert parity["threshold"] == 0.85 and share < 0.85
    assert parity["days_to_durable"] > t["days_to_durable"]


def test_broad_imitation_never_counts_as_holding_the_capability(assess_rows):
    for (scenario, pathway), row in assess_rows.items():
        if pathway == "broad-imitation":
            assert row["fidelity"] < 0.5, scenario


def test_the_restriction_holds_under_uncertainty(capsys):
    assert main(["timeline", str(EXAMPLE), "--scenario", "status-quo", "--samples", "300", "--seed", "1",
                 "--format", "json"]) == 0
    [quo] = json.loads(capsys.readouterr().out)
    assert main(["timeline", str(EXAMPLE), "--scenario", "restricted-export", "--samples", "300", "--seed", "1",
                 "--format", "json"]) == 0
    [restricted] = json.loads(capsys.readouterr().out)
    assert restricted["days_to_durable_p50"] > quo["days_to_durable_p50"]
    assert restricted["lead_days_p50"] > quo["lead_days_p50"] > 0
    assert quo["acceleration_days_p50"] > 60                     # access gets the group there months sooner
