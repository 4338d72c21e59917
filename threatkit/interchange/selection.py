"""What an export covers (scenarios and pathways), and what it returns."""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import datetime, timezone

from threatkit.model.values import Pathway, Scenario, ThreatModel


class ExportError(Exception):
    """An export the format cannot make from what was asked (one line, for the CLI)."""


@dataclass(frozen=True)
class Selection:
    """The model and the scenarios and pathways to export."""

    model: ThreatModel
    scenarios: tuple[Scenario, ...]
    pathways: tuple[Pathway, ...]
    pathway_named: bool = False        # True when the user named one pathway
    scenarios_named: bool = False      # True when the user named the scenarios


@dataclass(frozen=True)
class Exported:
    """An export's bytes (or text) and what the user should know about it."""

    data: str | bytes
    warnings: tuple[str, ...] = field(default=())


def select(model: ThreatModel, scenarios: tuple[str, ...] = (), pathway: str | None = None) -> Selection:
    """The named scenarios (default: all) and pathway (default: all); KeyError names an unknown id."""
    chosen = tuple(model.scenario(s) for s in dict.fromkeys(scenarios)) if scenarios else model.scenarios
    pathways = (model.pathway(pathway),) if pathway else model.pathways
    return Selection(model, chosen, pathways, pathway_named=pathway is not None, scenarios_named=bool(scenarios))


def fixed_time() -> datetime:
    """The one timestamp every export carries, so that a rerun gives the same bytes.
    SOURCE_DATE_EPOCH (the reproducible-builds convention) overrides it."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH", "")
    if epoch.isdigit():
        return datetime.fromtimestamp(int(epoch), tz=timezone.utc).replace(tzinfo=None)
    return datetime(2026, 1, 1)
