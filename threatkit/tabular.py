"""The assessment's columns and their CSV form, shared by `threatkit assess` and batch."""
from __future__ import annotations

import csv
import io
from collections.abc import Sequence

# `asset` came with exposures (a row per scenario, asset and pathway): appended, so that scripts that
# read the columns by position keep working
ASSESS_COLUMNS = ("scenario", "pathway", "actor", "tier", "probability", "cost_usd", "time_days", "skill",
                  "fidelity", "likelihood", "impact", "risk", "cheapest_attack", "transfer_samples", "asset")
TIMELINE_COLUMNS = ("scenario", "threshold", "horizon_days", "days_to_durable", "days_to_usable",
                    "days_to_durable_without_controls", "days_independent", "days_substitute",
                    "days_without_access", "lead_days", "acceleration_days",
                    "expected_capability_30", "expected_capability_90", "expected_capability_180",
                    "expected_capability_365", "harvest")
STAT_SUFFIXES = ("_mean", "_p5", "_p50", "_p95")      # Monte Carlo columns, e.g. probability_p5


def is_stat_column(name: str) -> bool:
    return name.endswith(STAT_SUFFIXES)


def timeline_row(row: dict) -> dict:
    """A timeline's JSON object as one flat row: expected_capability's days become columns."""
    flat = {k: v for k, v in row.items() if k != "expected_capability"}
    for day, value in row["expected_capability"].items():
        flat[f"expected_capability_{day}"] = value
    return flat


def to_csv(rows: list[dict], columns: Sequence[str]) -> str:
    """Rows as CSV: lists joined by spaces, None (infinity) as an empty cell."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(columns), extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: (" ".join(v) if isinstance(v, list) else "" if v is None else v) for k, v in row.items()})
    return buf.getvalue()
