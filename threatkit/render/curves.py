"""Diffusion curves drawn with matplotlib, as stable SVG.

Figures are made with `matplotlib.figure.Figure` (no pyplot, no global state),
and saved with a fixed hash salt and without a date, so the same curves give
the same bytes on every run (nbval compares SVG in full).
"""
from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np

from threatkit.analysis.diffusion import DAYS_PER_MONTH, Diffusion

COLOURS = ("#1f4e79", "#c0392b", "#2e7d32", "#8e44ad", "#d35400", "#555555")


@dataclass(frozen=True, eq=False)
class DiffusionPlot:
    """One or more diffusion curves (e.g. without and with controls), drawable as SVG."""

    curves: tuple[tuple[str, Diffusion], ...]     # (legend label, curve)
    title: str = "Probability that the actor holds the replicated capability"
    months: bool = True

    def x_limit_days(self) -> float:
        """Where the curves have settled: 1.3x the last day any reaches 98% of its peak."""
        horizon = float(self.curves[0][1].days[-1])
        settled = 1.0
        for _, d in self.curves:
            peak = float(d.high.max())
            if peak > 0:
                settled = max(settled, float(d.days[np.argmax(d.high >= 0.98 * peak)]))
                settled = max(settled, float(d.days[np.argmax(d.combined >= 0.98 * d.combined.max())]))
        return min(horizon, max(30.0, 1.3 * settled))

    def figure(self):
        from matplotlib.figure import Figure

        fig = Figure(figsize=(7.5, 3.6), dpi=100)
        ax = fig.add_subplot()
        limit = self.x_limit_days()
        months = self.months and limit > 90
        scale = DAYS_PER_MONTH if months else 1.0
        for k, (label, d) in enumerate(self.curves):
            colour = COLOURS[k % len(COLOURS)]
            x = d.days / scale
            ax.fill_between(x, d.low, d.high, color=colour, alpha=0.15, linewidth=0)
            median = d.median_days
            unit = "months" if months else "days"
            when = f"median {median / scale:.1f} {unit}" if np.isfinite(median) else "median beyond horizon"
            ax.plot(x, d.combined, color=colour, linewidth=2, label=f"{label} ({when})")
        ax.axhline(0.5, color="#999999", linewidth=0.8, linestyle=":")
        ax.set_ylim(0, 1.02)
        ax.set_xlim(0, limit / scale)
        ax.set_xlabel(f"{'months' if months else 'days'} after access begins")
        ax.set_ylabel("P(capability held)")
        ax.set_title(self.title, fontsize=11)
        ax.grid(alpha=0.3)
        ax.legend(loc="lower right", fontsize=8, frameon=False)
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
