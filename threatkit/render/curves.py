"""Capability over time drawn with matplotlib, as stable SVG.

Two panels share the time axis: above, the expected share of the asset's
capability the actor holds durably (with its 5-95% band, the threshold line
and the day of independent parity); below, the chance of holding at least the
threshold share durably and usably, with the 1/2 line whose crossings are the
"days to" answers.

Figures are made with `matplotlib.figure.Figure` (no pyplot, no global state),
and saved with a fixed hash salt and without a date, so the same curves give
the same bytes on every run (nbval compares SVG in full).
"""
from __future__ import annotations

import io
import math
from dataclasses import dataclass

import numpy as np

from threatkit.analysis.timeline import DAYS_PER_MONTH, Curves

COLOURS = ("#1f4e79", "#c0392b", "#2e7d32", "#8e44ad", "#d35400", "#555555")


def _when(days: float, months: bool) -> str:
    if not math.isfinite(days):
        return "beyond horizon"
    return f"{days / DAYS_PER_MONTH:.1f} months" if months else f"day {days:,.0f}"


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
            marks += [x for x in (c.days_to_durable, c.days_to_usable, c.days_independent) if math.isfinite(x)]
            peak = float(c.expected_high.max())
            if peak > 0:
                marks.append(float(c.days[np.argmax(c.expected_high >= 0.98 * peak)]))
        return min(horizon, max(60.0, 1.2 * max(marks)))

    def figure(self):
        from matplotlib.figure import Figure

        fig = Figure(figsize=(7.5, 5.2), dpi=100)
        top, bottom = fig.subplots(2, 1, sharex=True, height_ratios=(3, 2))
        limit = self.x_limit_days()
        months = limit > 90
        scale = DAYS_PER_MONTH if months else 1.0
        for k, c in enumerate(self.curves):
            colour, style = COLOURS[k % len(COLOURS)], "-" if k == 0 else "--"
            x = c.days / scale
            if k == 0:
                top.fill_between(x, c.expected_low, c.expected_high, color=colour, alpha=0.15, linewidth=0,
                                 label="5-95% band")
            top.plot(x, c.expected, color=colour, linewidth=2, linestyle=style,
                     label=f"{c.label}: expected durable share")
            bottom.plot(x, c.durable, color=colour, linewidth=2, linestyle=style,
                        label=f"{c.label}: durable (≥{c.threshold:g}) {_when(c.days_to_durable, months)}")
            if k == 0:
                bottom.plot(x, c.usable, color=colour, linewidth=1, linestyle=":",
                            label=f"{c.label}: usable {_when(c.days_to_usable, months)}")
        first = self.curves[0]
        top.axhline(first.threshold, color="#777777", linewidth=0.9, linestyle=":",
                    label=f"threshold {first.threshold:g}")
        if math.isfinite(first.days_independent) and first.days_independent <= limit:
            for ax in (top, bottom):
                ax.axvline(first.days_independent / scale, color="#555555", linewidth=1, linestyle="-.")
            top.annotate("own development", (first.days_independent / scale, 0.03), fontsize=8, color="#555555",
                         ha="right", rotation=90, va="bottom")
        bottom.axhline(0.5, color="#999999", linewidth=0.8, linestyle=":")
        for ax in (top, bottom):
            ax.set_ylim(0, 1.02)
            ax.set_xlim(0, limit / scale)
            ax.grid(alpha=0.3)
            ax.legend(loc="lower right", fontsize=7, frameon=False)
        top.set_ylabel("share of capability")
        bottom.set_ylabel("P(holding ≥ threshold)")
        bottom.set_xlabel(f"{'months' if months else 'days'} after access begins")
        top.set_title(self.title, fontsize=11)
        fig.tight_layout()
        return fig

    def to_svg(self) -> str:
        import matplotlib

        buf = io.StringIO()
        with matplotlib.rc_context({"svg.hashsalt": "threatkit", "svg.fonttype": "path"}):
            self.figure().savefig(buf, format="svg", metadata={"Date": None, "Creator": "threatkit"})
        return buf.getvalue()

    def _repr_svg_(self) -> str:
        return self.to_svg()
