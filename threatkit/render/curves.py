"""Capability over time as a small hand-written SVG (as render.matrix draws the matrix).

Two panels share the time axis: above, the expected share of the asset's
capability the actor holds durably (with its 5-95% band, the threshold line
the substitutes' share and the days of independent parity and of the substitutes); below, the chance of holding at least the
threshold share durably and usably, with the 1/2 line whose crossings are the
"days to" answers.

Written by hand rather than with matplotlib: matplotlib's import, layout
(tight_layout) and SVG writer with glyph paths took about a third of a
report's time and most of an explorer update, and gave 100 kB per figure.
The layout is fixed, so the same curves give the same bytes on every run
(nbval compares SVG in full); every text is escaped, and each curve is a
`path` with class `curve` and its kind (`band`, `expected`, `durable`,
`usable`) for tests and stylesheets.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from xml.sax.saxutils import escape, quoteattr

import numpy as np

from threatkit.analysis.timeline import DAYS_PER_MONTH, Curves

COLOURS = ("#1f4e79", "#c0392b", "#2e7d32", "#8e44ad", "#d35400", "#555555")
SUBSTITUTE = "#b7791f"        # the substitutes' share and day
WIDTH, HEIGHT = 750, 520
LEFT, RIGHT, TOP, BOTTOM, GAP = 64, 736, 34, 474, 16      # the panels' box; GAP between them
DASH = {"-": None, "--": "7,3", ":": "1.5,2", "-.": "6,2,1.5,2"}
FONT = "DejaVu Sans, Helvetica, Arial, sans-serif"


def _when(days: float, months: bool) -> str:
    if not math.isfinite(days):
        return "beyond horizon"
    # the day too: two answers a day apart read the same in tenths of a month
    return f"day {days:,.0f} ({days / DAYS_PER_MONTH:.1f} months)" if months else f"day {days:,.0f}"


def nice_ticks(limit: float, target: int = 6, start: float = 0.0) -> list[float]:
    """The multiples of a round step (1, 2, 2.5 or 5 x 10^k) from `start` (0 unless given; it may be
    negative) to `limit`: the smallest such step that needs no more than about `target` of them."""
    raw = (limit - start) / target
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)
    return [i * step for i in range(math.ceil(start / step - 1e-9), math.floor(limit / step + 1e-9) + 1)]


def _num(x: float) -> str:
    return f"{x:.1f}"


@dataclass(frozen=True)
class _Panel:
    y0: float                 # top edge (px)
    y1: float                 # bottom edge
    x_max: float              # data units at the right edge

    def x(self, v):
        return LEFT + (RIGHT - LEFT) * np.asarray(v, float) / self.x_max

    def y(self, v):
        return self.y1 - (self.y1 - self.y0) * np.asarray(v, float) / 1.02


@dataclass(frozen=True, eq=False)
class CapabilityPlot:
    """One or more scenarios' capability curves (e.g. without and with controls), drawable as SVG.
    The first curve is drawn solid with its band; the others dashed."""

    curves: tuple[Curves, ...]
    title: str = "Capability the actor holds over time"

    def x_limit_days(self) -> float:
        """Far enough to show every crossing and the curves settling, at least two months."""
        horizon = float(self.curves[0].days[-1])
        marks = [1.0]
        for c in self.curves:
            marks += [x for x in (c.days_to_durable, c.days_to_usable, c.days_independent, c.days_substitute)
                      if math.isfinite(x)]
            peak = float(c.expected_high.max())
            if peak > 0:
                marks.append(float(c.days[np.argmax(c.expected_high >= 0.98 * peak)]))
        return min(horizon, max(60.0, 1.2 * max(marks)))

    def to_svg(self) -> str:
        limit = self.x_limit_days()
        months = limit > 90
        scale = DAYS_PER_MONTH if months else 1.0
        split = TOP + (BOTTOM - TOP - GAP) * 3 / 5
        top = _Panel(TOP, split, limit / scale)
        bottom = _Panel(split + GAP, BOTTOM, limit / scale)
        ticks = nice_ticks(limit / scale)
        out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
               f'viewBox="0 0 {WIDTH} {HEIGHT}" font-family={quoteattr(FONT)} font-size="10" class="tk-capability">',
               f"<title>{escape(self.title)}</title>",
               f'<rect width="{WIDTH}" height="{HEIGHT}" fill="#ffffff"/>',
               f'<text x="{(LEFT + RIGHT) / 2}" y="{TOP - 12}" text-anchor="middle" font-size="13">'
               f"{escape(self.title)}</text>"]
        legends: dict[str, list] = {"top": [], "bottom": []}
        for panel, name in ((top, "top"), (bottom, "bottom")):
            out += _axes(panel, ticks, label=name == "bottom")
        for k, c in enumerate(self.curves):
            colour, style = COLOURS[k % len(COLOURS)], "-" if k == 0 else "--"
            x = c.days / scale
            if k == 0:
                out.append(_band(top, x, c.expected_low, c.expected_high, colour))
                legends["top"].append(("band", colour, None, "5-95% band"))
            out.append(_line(top, x, c.expected, colour, 2, style, "expected"))
            legends["top"].append(("line", colour, (2, style), f"{c.label}: expected durable share"))
            out.append(_line(bottom, x, c.durable, colour, 2, style, "durable"))
            legends["bottom"].append(("line", colour, (2, style),
                                      f"{c.label}: durable (≥{c.threshold:g}) {_when(c.days_to_durable, months)}"))
            if k == 0:
                out.append(_line(bottom, x, c.usable, colour, 1, ":", "usable"))
                legends["bottom"].append(("line", colour, (1, ":"),
                                          f"{c.label}: usable {_when(c.days_to_usable, months)}"))
        first = self.curves[0]
        if first.substitute is not None:      # what the world offers without access: held for sure
            out.append(_line(top, first.days / scale, first.substitute, SUBSTITUTE, 1.5, "-.", "substitute"))
            legends["top"].append(("line", SUBSTITUTE, (1.5, "-."), "substitutes' share"))
        out.append(_hline(top, first.threshold, "#777777", 0.9, ":"))
        legends["top"].append(("line", "#777777", (0.9, ":"), f"threshold {first.threshold:g}"))
        out.append(_hline(bottom, 0.5, "#999999", 0.8, ":"))
        for day, kind, colour, text in ((first.days_independent, "own", "#555555", "own development"),
                                        (first.days_substitute, "substitute", SUBSTITUTE, "substitutes reach it")):
            if math.isfinite(day) and day <= limit:
                out += _vline(top, bottom, float(top.x(day / scale)), kind, colour, text)
        out += _legend(top, legends["top"]) + _legend(bottom, legends["bottom"])
        out.append(_ylabel(top, "share of capability"))
        out.append(_ylabel(bottom, "P(holding ≥ threshold)"))
        out.append(f'<text x="{(LEFT + RIGHT) / 2}" y="{BOTTOM + 34}" text-anchor="middle" font-size="11">'
                   f'{"months" if months else "days"} after access begins</text>')
        out.append("</svg>")
        return "\n".join(out) + "\n"

    def _repr_svg_(self) -> str:
        return self.to_svg()


def _vline(top: _Panel, bottom: _Panel, at: float, kind: str, colour: str, text: str) -> list[str]:
    """A day marked across both panels, named along the line."""
    out = [f'<line class="{kind}" x1="{_num(at)}" y1="{panel.y0}" x2="{_num(at)}" y2="{panel.y1}" '
           f'stroke="{colour}" stroke-dasharray="{DASH["-."]}"/>' for panel in (top, bottom)]
    # along the line from the panel's top down, clear of the legend in the lower right
    out.append(f'<text x="{_num(at - 3)}" y="{_num(top.y0 + 4)}" font-size="8" fill="{colour}" text-anchor="end" '
               f'transform="rotate(-90 {_num(at - 3)} {_num(top.y0 + 4)})">{escape(text)}</text>')
    return out


def _axes(panel: _Panel, ticks: list[float], label: bool) -> list[str]:
    """Frame, grid lines and tick labels (x labels only under the lower panel)."""
    out = [f'<rect x="{LEFT}" y="{_num(panel.y0)}" width="{RIGHT - LEFT}" height="{_num(panel.y1 - panel.y0)}" '
           f'fill="none" stroke="#000000" stroke-width="0.8"/>']
    for v in (0.0, 0.2, 0.4, 0.6, 0.8, 1.0):
        y = _num(panel.y(v))
        out.append(f'<line x1="{LEFT}" y1="{y}" x2="{RIGHT}" y2="{y}" stroke="#dddddd" stroke-width="0.8"/>')
        out.append(f'<text x="{LEFT - 5}" y="{_num(panel.y(v) + 3.5)}" text-anchor="end">{v:.1f}</text>')
    for v in ticks:
        x = _num(panel.x(v))
        out.append(f'<line x1="{x}" y1="{_num(panel.y0)}" x2="{x}" y2="{_num(panel.y1)}" stroke="#dddddd" '
                   f'stroke-width="0.8"/>')
        if label:
            out.append(f'<text x="{x}" y="{_num(panel.y1 + 14)}" text-anchor="middle">{v:g}</text>')
    return out


def _points(panel: _Panel, x: np.ndarray, y: np.ndarray) -> list[tuple[float, float]]:
    """Pixel points up to the right edge (the last one interpolated there), without the inner
    points of flat runs, which draw nothing."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    inside = x <= panel.x_max
    if not inside.all():
        cut = int(np.argmin(inside))
        if cut > 0:
            end = y[cut - 1] + (y[cut] - y[cut - 1]) * (panel.x_max - x[cut - 1]) / (x[cut] - x[cut - 1])
            x, y = np.append(x[:cut], panel.x_max), np.append(y[:cut], end)
        else:
            x, y = x[:1], y[:1]
    px = np.round(panel.x(x), 1)
    py = np.round(panel.y(y), 1)
    keep = np.ones(px.size, bool)
    if px.size > 2:
        keep[1:-1] = ~((py[1:-1] == py[:-2]) & (py[1:-1] == py[2:]))
    return list(zip(px[keep].tolist(), py[keep].tolist()))


def _path(points: list[tuple[float, float]]) -> str:
    return "M" + " L".join(f"{a:.1f} {b:.1f}" for a, b in points)


def _line(panel: _Panel, x, y, colour: str, width: float, style: str, kind: str) -> str:
    dash = f' stroke-dasharray="{DASH[style]}"' if DASH[style] else ""
    return (f'<path class="curve {kind}" d="{_path(_points(panel, x, y))}" fill="none" stroke="{colour}" '
            f'stroke-width="{width:g}"{dash}/>')


def _band(panel: _Panel, x, low, high, colour: str) -> str:
    upper, lower = _points(panel, x, high), _points(panel, x, low)
    return (f'<path class="curve band" d="{_path(upper + lower[::-1])} Z" fill="{colour}" fill-opacity="0.15" '
            f'stroke="none"/>')


def _hline(panel: _Panel, value: float, colour: str, width: float, style: str) -> str:
    y = _num(panel.y(value))
    return (f'<line x1="{LEFT}" y1="{y}" x2="{RIGHT}" y2="{y}" stroke="{colour}" stroke-width="{width:g}" '
            f'stroke-dasharray="{DASH[style]}"/>')


def _ylabel(panel: _Panel, text: str) -> str:
    x, y = LEFT - 40, (panel.y0 + panel.y1) / 2
    return (f'<text x="{x}" y="{_num(y)}" text-anchor="middle" font-size="11" '
            f'transform="rotate(-90 {x} {_num(y)})">{escape(text)}</text>')


def _legend(panel: _Panel, items: list) -> list[str]:
    """Entries stacked in the lower right corner, on a pale backing so curves under them stay legible."""
    size, step = 8, 11
    width = 30 + max(0.56 * size * len(label) for *_, label in items)
    x0, y0 = RIGHT - 8 - width, panel.y1 - 8 - step * len(items)
    out = [f'<g class="legend" font-size="{size}">',
           f'<rect x="{_num(x0 - 4)}" y="{_num(y0 - 2)}" width="{_num(width + 8)}" height="{step * len(items) + 4}" '
           f'fill="#ffffff" fill-opacity="0.8"/>']
    for i, (kind, colour, line, label) in enumerate(items):
        y = y0 + step * i + step / 2
        if kind == "band":
            out.append(f'<rect x="{_num(x0)}" y="{_num(y - 4)}" width="22" height="8" fill="{colour}" '
                       f'fill-opacity="0.15"/>')
        else:
            lw, style = line
            dash = f' stroke-dasharray="{DASH[style]}"' if DASH[style] else ""
            out.append(f'<line x1="{_num(x0)}" y1="{_num(y)}" x2="{_num(x0 + 22)}" y2="{_num(y)}" stroke="{colour}" '
                       f'stroke-width="{lw:g}"{dash}/>')
        out.append(f'<text x="{_num(x0 + 28)}" y="{_num(y + 3)}">{escape(label)}</text>')
    out.append("</g>")
    return out
