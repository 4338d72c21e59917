"""An Excel risk register: one row per scenario, asset and pathway (the
scenario's own asset, then each exposure's; the assess and timeline columns,
the controls, sources and confidence, the risk cell coloured as in the risk
matrix), a sheet of the controls' value per dollar, and a sheet of the
substitutes the scenarios count (one row per share point).

Every text cell is stored as text, never as a formula (a label such as
`=HYPERLINK(...)` stays a label), and the workbook is byte-identical on a
rerun: fixed document dates and fixed times inside the zip.
"""
from __future__ import annotations

import io
import math
import re
import zipfile
from pathlib import Path

import numpy as np

from threatkit.analysis.assess import NO_RISK, assess
from threatkit.analysis.controls import control_values
from threatkit.analysis.timeline import timeline
from threatkit.interchange.selection import ExportError, Exported, Selection, fixed_time
from threatkit.tabular import ASSESS_COLUMNS, TIMELINE_COLUMNS, timeline_row

REGISTER_COLUMNS = (("scenario", "scenario_name", "asset", "pathway", "pathway_name")
                    + tuple(c for c in ASSESS_COLUMNS[2:] if c != "asset") + TIMELINE_COLUMNS[1:]
                    + ("controls", "controls_acting", "source", "confidence", "step_sources"))
CONTROL_COLUMNS = ("scenario", "control", "name", "in_scenario", "risk_reduction", "cost_usd",
                   "reduction_per_million_usd", "counters", "effectiveness", "source", "confidence")
SUBSTITUTE_COLUMNS = ("substitute", "name", "months", "share_low", "share_mode", "share_high", "available_to",
                      "assets", "scenarios", "source", "confidence")
NO_RISK_FILL = ("#eeeeee", "#000000")          # an infeasible pathway sits on no matrix cell: neutral
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")  # what a spreadsheet may read as the start of a formula
ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")   # not allowed in the XML inside an xlsx
ZIP_TIME = (1980, 1, 1, 0, 0, 0)


def register_rows(sel: Selection) -> list[dict]:
    model = sel.model
    rows = []
    for scenario in sel.scenarios:
        result = assess(model, scenario, pathways=tuple(p.id for p in sel.pathways))
        with np.errstate(invalid="ignore"):      # timeline's acceleration subtracts two infinities before masking them
            times = timeline_row(timeline(model, scenario.id).to_dict())
        controls = {scenario.asset: scenario.controls, **{e.asset: e.controls for e in scenario.exposures}}
        for pa, row in zip(result.routes, result.rows()):
            pathway = model.pathway(pa.pathway)
            leaves = [n for n in pathway.tree.walk() if n.is_leaf and n.source]
            acting = pa.tree.countered if pa.tree else {}
            rows.append({
                **row, **{k: v for k, v in times.items() if k != "scenario"},
                "scenario_name": scenario.title, "pathway_name": pathway.title,
                "controls": list(controls[pa.asset]),
                "controls_acting": sorted({c for cs in acting.values() for c in cs}),
                "source": pathway.source, "confidence": pathway.confidence,
                "step_sources": "\n".join(f"{n.id}: {n.source}" + (f" ({n.confidence})" if n.confidence else "")
                                          for n in leaves),
            })
    return rows


def control_rows(sel: Selection) -> list[dict]:
    rows = []
    for scenario in sel.scenarios:
        for value in control_values(sel.model, scenario.id):
            control = sel.model.control(value.control)
            rows.append({"scenario": scenario.id, **value.to_dict(), "name": control.title,
                         "counters": list(control.counters), "effectiveness": control.effectiveness.mode,
                         "source": control.source, "confidence": control.confidence})
    return rows


def substitute_rows(sel: Selection) -> list[dict]:
    """One row per share point of every substitute the selected scenarios count."""
    used: dict[str, list[str]] = {}
    for scenario in sel.scenarios:
        for x in sel.model.substitutes_of(scenario):
            used.setdefault(x.id, []).append(scenario.id)
    rows = []
    for x in sel.model.substitutes:
        if x.id not in used:
            continue
        for months, share in x.share:
            rows.append({"substitute": x.id, "name": x.title, "months": months,
                         "share_low": share.low, "share_mode": share.mode, "share_high": share.high,
                         "available_to": "(every actor)" if x.available_to is None else list(x.available_to),
                         "assets": "(every asset)" if x.assets is None else list(x.assets),
                         "scenarios": used[x.id], "source": x.source, "confidence": x.confidence})
    return rows


def _cell_value(value):
    if isinstance(value, (list, tuple)):
        return ", ".join(map(str, value)) or None
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _put(ws, row: int, col: int, value):
    from openpyxl.cell.cell import TYPE_STRING

    value = _cell_value(value)
    cell = ws.cell(row=row, column=col)
    if isinstance(value, str):
        cell.value = ILLEGAL.sub("\ufffd", value)
        cell.data_type = TYPE_STRING               # openpyxl would take a leading "=" for a formula
        if value.startswith(FORMULA_START):
            cell.quotePrefix = True                # and the spreadsheet keeps it text when edited
    else:
        cell.value = value
    return cell


def _sheet(ws, columns: tuple[str, ...], rows: list[dict]):
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    for c, name in enumerate(columns, start=1):
        _put(ws, 1, c, name).font = Font(bold=True)
    for r, row in enumerate(rows, start=2):
        for c, name in enumerate(columns, start=1):
            _put(ws, r, c, row.get(name))
    for c, name in enumerate(columns, start=1):
        longest = max([len(name)] + [len(str(_cell_value(row.get(name)) or "")) for row in rows])
        ws.column_dimensions[get_column_letter(c)].width = min(60, longest + 2)
    ws.freeze_panes = "A2"
    ws.auto_filter.ref = f"A1:{get_column_letter(len(columns))}{len(rows) + 1}"


def _colour_risks(ws, rows: list[dict], sel: Selection) -> None:
    from openpyxl.styles import Font, PatternFill

    from threatkit.render.matrix import RiskMatrix

    matrix = RiskMatrix(sel.model.scales, ())
    col = REGISTER_COLUMNS.index("risk") + 1
    for r, row in enumerate(rows, start=2):
        fill, ink = NO_RISK_FILL if row["risk"] == NO_RISK else matrix.colour(row["risk"])
        cell = ws.cell(row=r, column=col)
        cell.fill = PatternFill(fill_type="solid", fgColor=fill.lstrip("#").upper())
        cell.font = Font(color=ink.lstrip("#").upper())


class _FixedTimeZip(zipfile.ZipFile):
    """A zip whose entries all carry one fixed time, so the same workbook gives the same bytes."""

    def _fixed(self, name) -> zipfile.ZipInfo:
        if isinstance(name, zipfile.ZipInfo):
            return name
        info = zipfile.ZipInfo(name, date_time=ZIP_TIME)
        info.compress_type = self.compression
        info.external_attr = 0o600 << 16
        return info

    def writestr(self, zinfo_or_arcname, data, compress_type=None, compresslevel=None):
        return super().writestr(self._fixed(zinfo_or_arcname), data, compress_type, compresslevel)

    def write(self, filename, arcname=None, compress_type=None, compresslevel=None):
        # openpyxl writes each worksheet from a temporary file, whose time would be the entry's
        with open(filename, "rb") as f:
            self.writestr(self._fixed(arcname or Path(filename).name), f.read(), compress_type, compresslevel)


def workbook_bytes(sel: Selection) -> bytes:
    from openpyxl import Workbook
    from openpyxl.writer.excel import ExcelWriter

    wb = Workbook()
    register = wb.active
    register.title = "Risk register"
    rows = register_rows(sel)
    _sheet(register, REGISTER_COLUMNS, rows)
    _colour_risks(register, rows, sel)
    _sheet(wb.create_sheet("Controls"), CONTROL_COLUMNS, control_rows(sel))
    _sheet(wb.create_sheet("Substitutes"), SUBSTITUTE_COLUMNS, substitute_rows(sel))
    when = fixed_time()
    wb.properties.creator = "threatkit"
    wb.properties.title = sel.model.name or "threatkit risk register"
    wb.properties.created = wb.properties.modified = when
    buf = io.BytesIO()
    # ExcelWriter directly: openpyxl's save_workbook would stamp the current time as "modified"
    with _FixedTimeZip(buf, "w", zipfile.ZIP_DEFLATED) as archive:
        ExcelWriter(wb, archive).write_data()
    return buf.getvalue()


def export(sel: Selection) -> Exported:
    if not sel.scenarios:
        raise ExportError("the model has no scenarios; a risk register has one row per scenario and pathway")
    return Exported(workbook_bytes(sel))
