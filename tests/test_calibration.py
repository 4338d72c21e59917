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

from test_substitutes import share_by_hand       # DESIGN.md's substitute share, written out by hand
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
    "distillation": (True, False),         # the student outlives access and trains offline; the harvest's
    "broad-imitation": (True, False),      # attempts are bounded by the access window anyway
    "logit-distillation": (True, False),
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


@pytest.fixture(scope="module")
def timeline():
    return {row["scenario"]: row for row in _cli_json(["timeline", str(EXAMPLE), "--format", "json"])}


@pytest.fixture(scope="module")
def assess_rows():
    rows = _cli_json(["assess", str(EXAMPLE), "--format", "json"])
    return {(r["scenario"], r["pathway"]): r for r in rows if r["asset"] == "mythos-5"}     # own access


@pytest.fixture(scope="module")
def rival_rows():
    rows = _cli_json(["assess", str(EXAMPLE), "--format", "json"])
    return {(r["scenario"], r["pathway"]): r for r in rows if r["asset"] == "rival-frontier"}


def test_the_scenario_ids_notebooks_and_tests_use_are_kept(timeline):
    assert {"status-quo", "restricted-export", "state-evaluation", "competitor-public-api",
            "insider-internal-tooling", "restricted-export-sl4"} <= set(timeline)


# ---- a reference clock, written from DESIGN.md "The clock" alone: plain Python lists over days 0..H

H = 400             # every answer below falls well inside it


def leaf(p: float, tau: float, cap: float = math.inf) -> list[float]:
    """1 - (1 - p)^min(floor(t / tau), cap) on days 0..H."""
    return [1 - (1 - p) ** min(math.floor(t / tau), cap) if p > 0 else 0.0 for t in range(H + 1)]


def either(*fs):                       # or: the first child to succeed
    out = [1.0] * (H + 1)
    for f in fs:
        out = [o * (1 - x) for o, x in zip(out, f)]
    return [1 - o for o in out]


def then(*fs):                         # sand: each child started on the day the one before succeeded
    out = fs[-1]
    for f in reversed(fs[:-1]):
        daily = [f[0]] + [f[u] - f[u - 1] for u in range(1, H + 1)]
        out = [sum(daily[u] * out[t - u] for u in range(t + 1)) for t in range(H + 1)]
    return out


# ---- substitutes, from DESIGN.md "Substitutes" and calibration.md Q3 (lags transcribed, not read from the YAML)

OPEN_WEIGHT_LAG = (3, 6, 10)           # months: Epoch 3-4 (ECI); LessWrong 2026 public 4-6, private 8-10
CHINA_LAG = (4, 7, 14)                 # Epoch US-vs-China: mean 7, min 4, max 14


def first_substitute_day(threshold: float) -> int:
    catalog = builtin_model()
    modes = [[(m, q.mode) for m, q in catalog.substitute(x).share] for x in ("open-weights", "domestic-frontier")]
    return next(t for t in range(H + 1) if max(share_by_hand(p, t) for p in modes) >= threshold - 1e-12)


def test_substitutes_are_the_lags_of_calibration_md(catalog):
    for sid, lags, who in (("open-weights", OPEN_WEIGHT_LAG, None),
                           ("domestic-frontier", CHINA_LAG, ("state-linked", "state-priority"))):
        x = catalog.substitute(sid)
        assert x.available_to == who and x.assets is None and "calibration.md Q3" in x.source
        assert x.share[0][0] == 0 and x.share[0][1].mode == 0.0          # the gap unit: 0 at the start
        for months, q in x.share[1:]:
            # share = min(1, months / lag): the low share at the longest lag, the high at the shortest
            want = [min(1.0, months / lag) for lag in reversed(lags)]
            assert (q.low, q.mode, q.high) == pytest.approx(want, abs=0.005), (sid, months)
        assert x.share[-1][1].mode == 1.0
    # open weights close half the lead in month 3 (day 92), the domestic frontier in month 3.5 (day 107)
    assert first_substitute_day(0.5) == 92 and first_substitute_day(0.85) == 156


def first_half(*routes, own_day=INDEPENDENT_DAY, substitute_day=math.inf) -> float:
    """First day durable(t) = 1 - (1 - own(t)) x (1 - [sub(t) >= theta]) x prod(1 - P_k(t)) reaches 1/2."""
    for t in range(H + 1):
        miss = 0.0 if t >= own_day or t >= substitute_day else 1.0
        for P in routes:
            miss *= 1 - P[t]
        if 1 - miss >= 0.5:
            return t
    return math.inf


BUDGET = 10_000_000                    # the state-linked group's, per attempt of each step


def targeted_distillation(own_factor: float, reseller_factor: float, harvest_factor: float, train_factor: float,
                          harvest_days: float = 1.0):
    """The distillation tree with the catalog's numbers (ICD words at the middle of their bands), every step
    retried within budget; the harvest's attempts within the year of access."""
    access = either(leaf(ICD["very likely"] * own_factor, 7, BUDGET // 500),
                    leaf(ICD["likely"] * reseller_factor, 3, BUDGET // 5000))
    prompts = leaf(ICD["almost certain"], 14, BUDGET // 5000)
    harvest = leaf(ICD["very likely"] * harvest_factor, harvest_days,
                   min(BUDGET // 30000, math.ceil(365 / harvest_days)))
    train = leaf(0.8 * train_factor, 30, BUDGET // 500_000)
    return then(access, prompts, harvest, train)


def weight_theft(exfiltrate_factor: float = 1.0, insider_copy_factor: float = 1 - 0.7):
    """Intrusion (initial access, then escalation, then one copy out: retry false) or an insider (recruited,
    then one copy: retry false); the supply chain costs more than the budget, the licensee needs weights."""
    intrusion = then(leaf(0.875, 90, BUDGET // 2_000_000), leaf(0.675, 120, BUDGET // 1_000_000),
                     leaf(0.875 * exfiltrate_factor, 30, 1))
    insider = then(leaf(0.325, 180, BUDGET // 2_000_000), leaf(0.5 * insider_copy_factor, 7, 1))
    return either(intrusion, insider)


# the adaptive harvest: the least samples whose share reaches 0.5 on table A's first segment (1 -> 1,000
# samples: 0 -> 0.60, linear in log10): 10^(3 x 0.5 / 0.6) = 316.2 -> 317, a day's work for any account
SAMPLES = math.ceil(10 ** (3 * 0.5 / 0.6))


def test_status_quo_by_hand(timeline, assess_rows):
    # rate limit (x0.9, and 0.85 per million of anomaly detection) on the harvest, KYC (x0.5) on own accounts,
    # terms (x0.9) on training; the adaptive actor harvests 317 samples (share 0.5002) in under a day
    assert SAMPLES == 317
    row = assess_rows[("status-quo", "distillation")]
    assert row["transfer_samples"] == SAMPLES and row["fidelity"] == pytest.approx(0.6 * math.log10(317) / 3)
    assert row["time_days"] == 3 + 14 + 1 + 30
    distil = targeted_distillation(0.5, 1.0, 0.9 * 0.85 ** (SAMPLES / 1e6), 0.9)
    bare = targeted_distillation(1.0, 1.0, 1.0, 1.0)
    t = timeline["status-quo"]
    assert t["days_independent"] == INDEPENDENT_DAY == 214
    assert t["days_to_durable"] == first_half(distil, weight_theft()) == 51
    assert t["days_to_durable_without_controls"] == first_half(bare, weight_theft(insider_copy_factor=1.0)) == 49
    assert t["days_substitute"] == first_substitute_day(0.5) == t["days_without_access"] == 92
    assert (t["lead_days"], t["acceleration_days"]) == (2, 92 - 51)


def test_what_the_restriction_buys_against_the_state_linked_group(timeline, assess_rows):
    quo, restricted, sl4 = timeline["status-quo"], timeline["restricted-export"], timeline["restricted-export-sl4"]
    screening = timeline["intermediary-screening-only"]
    # the licence cuts own accounts to 0.15 of their chance (and 20 accounts), screening cuts resellers to 0.4:
    # each try at access is far less likely, but a failed try is tried again a week (or three days) later, and
    # 317 samples need no volume: the restriction delays durable capability by a week, not months
    row = assess_rows[("restricted-export", "distillation")]
    assert row["transfer_samples"] == SAMPLES and row["time_days"] == 3 + 14 + 1 + 30
    distil = targeted_distillation(0.5 * 0.15, 0.4, 0.9 * 0.85 ** (SAMPLES / 1e6), 0.9)
    assert restricted["days_to_durable"] == first_half(distil, weight_theft()) == 58
    assert restricted["days_to_durable"] - quo["days_to_durable"] == 7
    assert quo["days_to_durable"] < screening["days_to_durable"] < restricted["days_to_durable"]
    # SL4 makes weight theft slower still, but the student comes first: the same day
    assert sl4["days_to_durable"] == first_half(distil, weight_theft(exfiltrate_factor=0.25)) == 58
    # planned harvests are what volume controls reach: 1M samples over 20 accounts take 10 days an attempt
    planned = {}
    for scenario in ("status-quo", "restricted-export"):
        out = _cli_json(["timeline", str(EXAMPLE), "--format", "json", "--harvest", "planned", "--scenario", scenario])
        planned[scenario] = out[0]["days_to_durable"]
    assert planned["restricted-export"] - planned["status-quo"] > restricted["days_to_durable"] - quo["days_to_durable"]


def test_a_two_week_evaluation_gives_a_useful_but_not_a_near_parity_student(timeline, assess_rows):
    allowed = 2_000 * 1 * 14                                    # rate x one named account x the window
    row = assess_rows[("state-evaluation", "distillation")]
    assert row["transfer_samples"] == SAMPLES < allowed         # the adaptive actor needs a fraction of it
    t = timeline["state-evaluation"]
    assert t["days_to_durable"] == 49 and t["acceleration_days"] == 92 - 49
    # near parity (0.85) is beyond even the whole window's 28,000 samples (0.74): open weights decide
    parity = timeline["state-evaluation-parity"]
    share = 0.60 + (math.log10(allowed) - 3) / 3 * (0.88 - 0.60)
    assert parity["threshold"] == 0.85 and share < 0.85
    assert assess_rows[("state-evaluation-parity", "distillation")]["transfer_samples"] == allowed
    assert parity["days_to_durable"] == parity["days_substitute"] == first_substitute_day(0.85) == 156 < INDEPENDENT_DAY


def test_unilateral_and_coordinated_restrictions(timeline, rival_rows):
    # the rival model is 0.9 of Mythos 5: a 0.5 share of Mythos needs 0.9 x 0.6 log10(n) / 3 >= 0.5, n = 600
    rival_samples = math.ceil(10 ** (3 * 0.5 / (0.9 * 0.6)))
    assert rival_samples == 600
    for scenario in ("two-labs-status-quo", "unilateral-restriction", "coordinated-restriction"):
        row = rival_rows[(scenario, "distillation")]
        assert row["transfer_samples"] == rival_samples and row["fidelity"] == pytest.approx(0.9 * 0.6 * math.log10(600) / 3)
        assert rival_rows[(scenario, "weight-exfiltration")]["fidelity"] == pytest.approx(0.9)
    detection = 0.85 ** (SAMPLES / 1e6)
    rival_detection = 0.85 ** (rival_samples / 1e6)
    open_, restricted = (0.5, 1.0), (0.5 * 0.15, 0.4)          # (own accounts, resellers) factors
    mythos = {k: targeted_distillation(*f, 0.9 * detection, 0.9) for k, f in (("open", open_), ("restricted", restricted))}
    rival = {k: targeted_distillation(*f, 0.9 * rival_detection, 0.9) for k, f in (("open", open_), ("restricted", restricted))}
    theft = weight_theft()                                      # SL3 on both models
    by_hand = {
        "two-labs-status-quo": first_half(mythos["open"], theft, rival["open"], theft, substitute_day=92),
        "unilateral-restriction": first_half(mythos["restricted"], theft, rival["open"], theft, substitute_day=92),
        "coordinated-restriction": first_half(mythos["restricted"], theft, rival["restricted"], theft, substitute_day=92),
    }
    assert by_hand == {"two-labs-status-quo": 48, "unilateral-restriction": 49, "coordinated-restriction": 51}
    for scenario, day in by_hand.items():
        assert timeline[scenario]["days_to_durable"] == day
        assert timeline[scenario]["acceleration_days"] == 92 - day
    # the restriction on Mythos alone buys a week with no rival in view, a day with one
    assert timeline["restricted-export"]["days_to_durable"] - timeline["status-quo"]["days_to_durable"] == 7


def _cli_json(argv):
    import contextlib
    import io
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(argv) == 0
    return json.loads(out.getvalue())


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
    assert quo["acceleration_days_p50"] > 14                     # access gets the group there weeks sooner
