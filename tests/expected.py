"""The expected numbers a worked example states in its closing comments, read as data.

The examples in ../shared/examples (copied to tests/examples) end with blocks such as

    # default (adaptive harvest): assess rows (scenario, asset, pathway: probability, ...):
    #   state-api, frontier, direct-use: 0.9, 3.0, 0.9, null, 5, 5, very high
    # --harvest planned: timeline (days_to_durable, ...; expected_capability on days 30/90/180/365):
    #   state-api (threshold 0.5): 40, 3, 21, 214, null, 214, 19, 174; 0.194600 / 0.895934 / ...

The tests assert exactly these lines through the CLI, so a number changes in one place only.
"""
from __future__ import annotations

import re
from pathlib import Path

ASSESS_FIELDS = ("probability", "time_days", "fidelity", "transfer_samples", "likelihood", "impact", "risk")
TIMELINE_FIELDS = ("days_to_durable", "days_to_usable", "days_to_durable_without_controls", "days_independent",
                   "days_substitute", "days_without_access", "lead_days", "acceleration_days")
REPORT_DAYS = ("30", "90", "180", "365")

_HEADING = re.compile(r"^# (default \(adaptive harvest\)|--harvest planned): (assess rows|timeline) ")
_ROW = re.compile(r"^#   (\S.*)$")


def _value(text: str):
    text = text.strip()
    if text == "null":
        return None
    try:
        return float(text)
    except ValueError:
        return text


def expected(path: Path) -> dict[tuple[str, str], dict]:
    """{(harvest, "assess" | "timeline"): {key: {field: value}}}: assess keyed by (scenario, asset,
    pathway), timeline by scenario (with its `threshold` and `expected_capability`)."""
    out: dict[tuple[str, str], dict] = {}
    block = None
    for line in path.read_text(encoding="utf-8").splitlines():
        heading = _HEADING.match(line)
        if heading:
            harvest = "planned" if heading.group(1).startswith("--") else "adaptive"
            block = out.setdefault((harvest, "assess" if heading.group(2) == "assess rows" else "timeline"), {})
            continue
        row = _ROW.match(line)
        if block is None or not row or ":" not in row.group(1) or line.startswith("#   likelihood") \
                or line.startswith("#   days_substitute"):
            if not line.startswith("#"):
                block = None
            continue
        key, values = row.group(1).split(":", 1)
        kind = next(k for (h, k), b in out.items() if b is block)
        if kind == "assess":
            scenario, asset, pathway = (part.strip() for part in key.split(","))
            block[(scenario, asset, pathway)] = dict(zip(ASSESS_FIELDS, map(_value, values.split(","))))
        else:
            scenario, theta = re.match(r"(\S+) \(threshold ([0-9.]+)\)", key.strip()).groups()
            days, capability = values.split(";")
            row_values = dict(zip(TIMELINE_FIELDS, map(_value, days.split(","))))
            row_values["threshold"] = float(theta)
            row_values["expected_capability"] = dict(zip(REPORT_DAYS, map(float, capability.split("/"))))
            block[scenario] = row_values
    return out
