"""A tornado chart of one-at-a-time swings, as a small hand-written SVG (as render.curves).

Each input is a row, the largest swing at the top. Its bars run from the
output with every input at its mode (the vertical line) to the output with
this input at its low percentile (blue) and at its high percentile (red); the
longer bar is drawn first, so a shorter one on the same side stays visible.
An end never reached within the horizon (or undefined) is drawn, paler, to
the plot's edge and says so.

Written by hand rather than with matplotlib, whose import and layout cost a
report more than everything else in this chart. The layout is fixed (the left
margin fits the longest label, estimated from its length), so the same
tornado gives the same bytes on every run; every text is escaped. Elements
carry classes for tests and stylesheets: `rect.bar` with `low` or `high` (and
`unreached` for an end drawn to the edge), `line.base`, `text.label` (the
inputs), `text.end` ("never", "undefined"), `g.months` (the months axis).
"""
from __future__ import annotations

import math
import re
from xml.sax.saxutils import escape, quoteattr

from threatkit.analysis.sensitivity import Row, Tornado
from threatkit.analysis.timeline import DAYS_PER_MONTH
from threatkit.render.curves import FONT, nice_ticks

LOW, HIGH = "#1f4e79", "#c0392b"
TITLES = {"days_to_durable": "Days to durable capability", "lead_days": "Lead the controls buy (days)",
          "acceleration_days": "Acceleration over own development (days)"}

# Layout (px). The plot's left edge is LABEL_GAP plus the longest label's estimated width
# (CHAR_WIDTH x LABEL_SIZE per character), at least MIN_LEFT; its right edge is RIGHT.
WIDTH, RIGHT = 750, 726
MIN_LEFT, LABEL_GAP, CHAR_WIDTH = 120, 14, 0.56
LABEL_SIZE, TICK_SIZE, AXIS_SIZE, TITLE_SIZE = 10, 10, 11, 11
TITLE_HEIGHT, MONTHS_HEIGHT = 46, 30   # above the plot: the title's two lines; the months axis, when drawn
ROW, BAR, PLOT_PAD = 26, 16, 6         # one row's height, a bar's thickness, space above the first and below the last
BOTTOM_MARGIN = 46                     # below the plot: tick labels and the axis label
PAD = 0.08                             # the x range: the values' span and this share of it either side
TICKS = 8                              # about this many steps between tick labels (nice_ticks)
MONTHS_OVER_DAYS = 90                  # days_to_durable gets a months axis when a value passes this many days


def output_title(output: str) -> str:
    if output.startswith("probability:"):
        return f"Probability of pathway {output.split(':', 1)[1]}"
    if output.startswith("durable:"):
        return f"Chance of durable capability by day {output.split(':', 1)[1]}"
    return TITLES.get(output, output)


def _short(label: str, width: int = 58) -> str:
    """Fit a label, keeping what the number is (after the last ': ') and cutting the name instead."""
    if len(label) <= width:
        return label
    head, sep, field = label.rpartition(": ")
    if not sep:
        return label[: width - 1] + "…"
    head = re.sub(r" \([^()]*\)$", "", head)          # the step's pathway, in brackets, goes first
    room = width - len(field) - 2
    return (head if len(head) <= room else head[: max(room - 1, 8)] + "…") + ": " + field


def _num(x: float) -> str:
    return f"{x:.1f}"


def _text_width(text: str, size: float) -> float:
    return CHAR_WIDTH * size * len(text)


def _centred(text: str, size: float, lo: float, hi: float) -> str:
    """The x of a middle-anchored text: centred between lo and hi, moved in to stay inside the figure."""
    half = _text_width(text, size) / 2
    x = (lo + hi) / 2
    return _num(min(max(x, 4 + half), WIDTH - 4 - half) if 2 * half < WIDTH - 8 else WIDTH / 2)


def _decimals(step: float) -> int:
    """Decimal places that show every multiple of `step`."""
    for d in range(13):
        scaled = step * 10 ** d
        if abs(scaled - round(scaled)) < 1e-6 * max(scaled, 1):
            return d
    return 12


def _tick_label(v: float, decimals: int) -> str:
    text = f"{v:,.{decimals}f}"
    return text[1:] if text.startswith("-") and not text.strip("-0.,") else text     # no "-0.00"


def _x_range(t: Tornado, rows: list[Row]) -> tuple[float, float, float, list[float]]:
    """The plot's left and right edges, where the base line goes, and the finite values."""
    finite = [v for r in rows for v in (r.output_low, r.output_high)] + [t.base]
    finite = [v for v in finite if math.isfinite(v)]
    lo, hi = (min(finite), max(finite)) if finite else (0.0, 1.0)
    pad = (hi - lo) * PAD or 1.0
    edge_lo, edge_hi = lo - pad, hi + pad
    return edge_lo, edge_hi, (t.base if math.isfinite(t.base) else edge_hi), finite


def tornado_svg(t: Tornado, top: int = 10) -> str:
    """The `top` rows that move the output (swing > 0), largest at the top, as SVG."""
    rows = [r for r in t.top(top) if r.swing > 0]
    labels = [_short(r.input.label) for r in rows]
    edge_lo, edge_hi, base, finite = _x_range(t, rows)
    months = t.output == "days_to_durable" and bool(finite) and max(finite) > MONTHS_OVER_DAYS
    left = max(MIN_LEFT, math.ceil(LABEL_GAP + max((_text_width(s, LABEL_SIZE) for s in labels), default=0)))
    y0 = TITLE_HEIGHT + (MONTHS_HEIGHT if months else 0)
    y1 = y0 + 2 * PLOT_PAD + ROW * max(len(rows), 1)
    height = y1 + BOTTOM_MARGIN

    def x(v: float) -> float:
        return left + (RIGHT - left) * (v - edge_lo) / (edge_hi - edge_lo)

    low, high = t.percentiles
    what = output_title(t.output)
    title = (f"Each input at the {low}th (blue) and {high}th (red) percentile of its own distribution,",
             "all others at their modes")
    alt = (f"Tornado chart of the {what.lower()} in scenario {t.scenario}: each input at its {low}th and "
           f"{high}th percentile")
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" '
           f'viewBox="0 0 {WIDTH} {height}" font-family={quoteattr(FONT)} font-size="{TICK_SIZE}" class="tk-tornado">',
           f"<title>{escape(alt)}</title>",
           f'<rect width="{WIDTH}" height="{height}" fill="#ffffff"/>']
    for k, line in enumerate(title):
        out.append(f'<text class="title" x="{_centred(line, TITLE_SIZE, left, RIGHT)}" y="{16 + 15 * k}" '
                   f'text-anchor="middle" font-size="{TITLE_SIZE}">{escape(line)}</text>')
    ticks = nice_ticks(edge_hi, TICKS, start=edge_lo)
    decimals = _decimals(ticks[1] - ticks[0]) if len(ticks) > 1 else 0
    out.append('<g class="grid">')
    for v in ticks:
        px = _num(x(v))
        out.append(f'<line x1="{px}" y1="{y0}" x2="{px}" y2="{y1}" stroke="#dddddd" stroke-width="0.8"/>')
        out.append(f'<text x="{px}" y="{y1 + 14}" text-anchor="middle">{escape(_tick_label(v, decimals))}</text>')
    out.append("</g>")
    for i, (r, label) in enumerate(zip(rows, labels)):
        mid = y0 + PLOT_PAD + ROW * (i + 0.5)
        out.append(f'<text class="label" x="{left - 6}" y="{_num(mid + 3.5)}" text-anchor="end" '
                   f'font-size="{LABEL_SIZE}">{escape(label)}</text>')
        out += _bars(r, base, edge_lo, edge_hi, x, mid)
    out.append(f'<line class="base" x1="{_num(x(base))}" y1="{y0}" x2="{_num(x(base))}" y2="{y1}" '
               'stroke="#333333" stroke-width="1"/>')
    out.append(f'<rect x="{left}" y="{y0}" width="{RIGHT - left}" height="{y1 - y0}" fill="none" stroke="#000000" '
               'stroke-width="0.8"/>')
    if not rows:                       # on a white backing: the base line runs through the middle
        empty, mid = "no input moves this output", (y0 + y1) / 2
        half = _text_width(empty, TICK_SIZE) / 2 + 4
        out.append(f'<rect x="{_num((left + RIGHT) / 2 - half)}" y="{_num(mid - 8)}" width="{_num(2 * half)}" '
                   'height="16" fill="#ffffff"/>')
        out.append(f'<text class="empty" x="{(left + RIGHT) / 2}" y="{_num(mid + 3.5)}" '
                   f'text-anchor="middle">{empty}</text>')
    if months:
        out += _months_axis(edge_lo, edge_hi, x, y0, left)
    xlabel = f"{what} (line: all inputs at their modes)"
    out.append(f'<text class="xlabel" x="{_centred(xlabel, AXIS_SIZE, left, RIGHT)}" y="{y1 + 34}" '
               f'text-anchor="middle" font-size="{AXIS_SIZE}">{escape(xlabel)}</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


def _bars(r: Row, base: float, edge_lo: float, edge_hi: float, x, mid: float) -> list[str]:
    """A row's two bars, the longer first; an unreached end to the edge, paler, with a word at its end."""
    ends = ((r.output_low, LOW, "low"), (r.output_high, HIGH, "high"))
    out = []
    for value, colour, kind in sorted(ends, key=lambda e: -abs(e[0] - base) if math.isfinite(e[0]) else -math.inf):
        reached = math.isfinite(value)
        end = value if reached else edge_hi if (math.isnan(value) or value > 0) else edge_lo
        a, b = sorted((x(base), x(end)))
        out.append(f'<rect class="bar {kind}{"" if reached else " unreached"}" x="{_num(a)}" y="{_num(mid - BAR / 2)}" '
                   f'width="{_num(b - a)}" height="{BAR}" fill="{colour}" '
                   f'fill-opacity="{0.85 if reached else 0.4}"/>')
        if not reached:
            right = end > base
            out.append(f'<text class="end" x="{_num(x(end) + (-3 if right else 3))}" y="{_num(mid + 3)}" '
                       f'text-anchor="{"end" if right else "start"}" font-size="8" fill="#333333">'
                       f'{"undefined" if math.isnan(value) else "never"}</text>')
    return out


def _months_axis(edge_lo: float, edge_hi: float, x, y0: float, left: float) -> list[str]:
    """A second axis above the plot, in months (tick marks and labels; no grid lines of its own)."""
    ticks = nice_ticks(edge_hi / DAYS_PER_MONTH, TICKS, start=edge_lo / DAYS_PER_MONTH)
    decimals = _decimals(ticks[1] - ticks[0]) if len(ticks) > 1 else 0
    out = ['<g class="months">']
    for m in ticks:
        px = _num(x(m * DAYS_PER_MONTH))
        out.append(f'<line x1="{px}" y1="{y0 - 4}" x2="{px}" y2="{y0}" stroke="#000000" stroke-width="0.8"/>')
        out.append(f'<text x="{px}" y="{y0 - 7}" text-anchor="middle">{escape(_tick_label(m, decimals))}</text>')
    out.append(f'<text x="{(left + RIGHT) / 2}" y="{y0 - 20}" text-anchor="middle" font-size="9">months</text>')
    out.append("</g>")
    return out
