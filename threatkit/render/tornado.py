"""A tornado chart of one-at-a-time swings, drawn with matplotlib as stable SVG.

Each bar runs from the output with the input at its low percentile to the
output at its high percentile, around the value with every input at its mode
(the vertical line). An end that is never reached within the horizon (or is
undefined) is drawn to the edge with an arrow. The same fixed hash salt and
no date as render.curves, so the bytes are the same on every run.
"""
from __future__ import annotations

import io
import math
import re

from threatkit.analysis.sensitivity import Tornado
from threatkit.analysis.timeline import DAYS_PER_MONTH

LOW, HIGH = "#1f4e79", "#c0392b"
TITLES = {"days_to_durable": "Days to durable capability", "lead_days": "Lead the controls buy (days)",
          "acceleration_days": "Acceleration over own development (days)"}


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


def tornado_figure(t: Tornado, top: int = 10):
    from matplotlib.figure import Figure

    rows = [r for r in t.top(top) if r.swing > 0][::-1]     # largest at the top; inputs that do not move it left out
    fig = Figure(figsize=(8.5, 0.42 * max(len(rows), 1) + 1.6), dpi=100)
    ax = fig.subplots()
    finite = [v for r in rows for v in (r.output_low, r.output_high) if math.isfinite(v)] + [t.base]
    finite = [v for v in finite if math.isfinite(v)]
    lo, hi = (min(finite), max(finite)) if finite else (0.0, 1.0)
    pad = (hi - lo) * 0.08 or 1.0
    edge_lo, edge_hi = lo - pad, hi + pad
    base = t.base if math.isfinite(t.base) else edge_hi
    for y, r in enumerate(rows):
        ends = ((r.output_low, LOW), (r.output_high, HIGH))
        # the longer bar first, so a shorter one on the same side stays visible on top of it
        for value, colour in sorted(ends, key=lambda e: -abs(e[0] - base) if math.isfinite(e[0]) else -math.inf):
            end = value if math.isfinite(value) else edge_hi if (math.isnan(value) or value > 0) else edge_lo
            ax.barh(y, end - base, left=base, color=colour, height=0.6, alpha=0.85 if math.isfinite(value) else 0.4)
            if not math.isfinite(value):
                ax.annotate("never" if not math.isnan(value) else "undefined", (end, y), fontsize=7, va="center",
                            ha="right" if end > base else "left", color="#333333")
    ax.axvline(base, color="#333333", linewidth=1)
    ax.set_yticks(range(len(rows)), [_short(r.input.label) for r in rows], fontsize=8)
    ax.set_xlim(edge_lo, edge_hi)
    ax.set_xlabel(f"{output_title(t.output)} (line: all inputs at their modes)", fontsize=9)
    ax.set_title(f"Each input at the {t.percentiles[0]}th (blue) and {t.percentiles[1]}th (red) percentile of its "
                 "own distribution,\nall others at their modes", fontsize=9)
    if not rows:
        ax.text(0.5, 0.5, "no input moves this output", transform=ax.transAxes, ha="center", fontsize=9)
    ax.grid(axis="x", alpha=0.3)
    if t.output == "days_to_durable" and finite and hi > 90:
        secondary = ax.secondary_xaxis("top", functions=(lambda d: d / DAYS_PER_MONTH, lambda m: m * DAYS_PER_MONTH))
        secondary.set_xlabel("months", fontsize=8)
    fig.tight_layout()
    return fig


def tornado_svg(t: Tornado, top: int = 10) -> str:
    import matplotlib

    buf = io.StringIO()
    with matplotlib.rc_context({"svg.hashsalt": "threatkit", "svg.fonttype": "path"}):
        tornado_figure(t, top).savefig(buf, format="svg", metadata={"Date": None, "Creator": "threatkit"})
    return buf.getvalue()
