"""The risk matrix: likelihood x impact, coloured by risk level, with each
assessed (scenario, pathway) placed in its cell.

As a pandas Styler table (fixed uuid, so the HTML is the same every run) and
as a small hand-written SVG for reports (every text escaped).
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from xml.sax.saxutils import escape, quoteattr

from threatkit.analysis.assess import NO_RISK, Assessment, risk_order
from threatkit.model.values import Scales

# Colours from least to most severe; a matrix with more risk names reuses the last.
PALETTE = ("#d9ead3", "#fff2cc", "#fce5cd", "#f4cccc", "#e06666", "#990000")
INK = ("#000000",) * 5 + ("#ffffff",)
NO_RISK_COLOUR = ("#eeeeee", "#555555")


@dataclass(frozen=True, eq=False)
class RiskMatrix:
    """Placements of assessed pathways on the model's risk matrix."""

    scales: Scales
    placements: tuple[tuple[str, str, int, int], ...]    # (scenario, pathway, likelihood, impact)
    uuid: str = "threatkit-risk-matrix"

    @classmethod
    def of(cls, assessments: Assessment | Iterable[Assessment], *, uuid: str = "threatkit-risk-matrix") -> RiskMatrix:
        items = [assessments] if isinstance(assessments, Assessment) else list(assessments)
        if not items:
            raise ValueError("a risk matrix needs at least one assessment")
        placements = tuple((p.scenario, p.pathway, p.likelihood, p.impact) for a in items for p in a.pathways)
        return cls(items[0].setting.scales, placements, uuid)

    def __repr__(self) -> str:
        return f"<RiskMatrix: {len(self.placements)} placements>"

    def colour(self, risk: str) -> tuple[str, str]:
        """(fill, ink) of a risk level; grey for "none" (an infeasible pathway, on no cell)."""
        if risk == NO_RISK:
            return NO_RISK_COLOUR
        order = [r for r in risk_order(self.scales) if r != NO_RISK]
        k = min(order.index(risk), len(PALETTE) - 1)
        return PALETTE[k], INK[k]

    def cell(self, scenario: str, pathway: str) -> tuple[int, int]:
        """(likelihood, impact) of one placement."""
        for s, p, li, im in self.placements:
            if (s, p) == (scenario, pathway):
                return li, im
        raise KeyError(f"no placement for scenario {scenario!r}, pathway {pathway!r}")

    def members(self, likelihood: int, impact: int) -> list[str]:
        scenarios = {s for s, *_ in self.placements}
        return [p if len(scenarios) == 1 else f"{s}: {p}"
                for s, p, li, im in self.placements if (li, im) == (likelihood, impact)]

    def frame(self):
        """DataFrame: rows likelihood (most likely first), columns impact; cells list members."""
        import pandas as pd

        rows = []
        for lv in reversed(self.scales.likelihood):
            rows.append([self._cell_text(lv.level, iv.level) for iv in self.scales.impact])
        index = pd.Index([f"{lv.level} {lv.name}" for lv in reversed(self.scales.likelihood)], name="likelihood")
        columns = pd.Index([f"{iv.level} {iv.name}" for iv in self.scales.impact], name="impact")
        return pd.DataFrame(rows, index=index, columns=columns)

    def _cell_text(self, li: int, im: int) -> str:
        members = self.members(li, im)
        risk = self.scales.risk[li - 1][im - 1]
        return risk + (f" ({len(members)}): " + ", ".join(members) if members else "")

    def styler(self):
        """A pandas Styler with a fixed uuid: identical HTML on every run."""
        import pandas as pd

        frame = self.frame()
        css = pd.DataFrame([[self._cell_css(lv.level, iv.level) for iv in self.scales.impact]
                            for lv in reversed(self.scales.likelihood)], index=frame.index, columns=frame.columns)
        return (frame.style.set_uuid(self.uuid)
                .apply(lambda _: css, axis=None)
                .format(escape="html")
                .format_index(escape="html", axis=0).format_index(escape="html", axis=1)
                .set_table_styles([{"selector": "td, th", "props": "border: 1px solid #999; padding: 4px 8px; "
                                                              "vertical-align: top; text-align: left; min-width: 7em"}])
                .set_caption("Risk matrix: likelihood (rows) x impact (columns); members per cell"))

    def _cell_css(self, li: int, im: int) -> str:
        fill, ink = self.colour(self.scales.risk[li - 1][im - 1])
        weight = "bold" if self.members(li, im) else "normal"
        return f"background-color: {fill}; color: {ink}; font-weight: {weight}"

    def to_html(self) -> str:
        return self.styler().to_html()

    def _repr_html_(self) -> str:
        return self.to_html()

    def to_svg(self, cell_w: int = 130, cell_h: int = 56) -> str:
        """The matrix as a standalone SVG, counts in cells, escaped labels."""
        like, imp = self.scales.likelihood, self.scales.impact
        left, top = 150, 40
        width, height = left + cell_w * len(imp) + 10, top + cell_h * len(like) + 50
        out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
               f'viewBox="0 0 {width} {height}" font-family="Helvetica, Arial, sans-serif" font-size="11" '
               f'role="img" aria-label="Risk matrix">',
               '<title>Risk matrix</title>']
        for r, lv in enumerate(reversed(like)):
            y = top + r * cell_h
            out.append(f'<text x="{left - 8}" y="{y + cell_h / 2 + 4}" text-anchor="end">{escape(f"{lv.level} {lv.name}")}</text>')
            for c, iv in enumerate(imp):
                x = left + c * cell_w
                risk = self.scales.risk[lv.level - 1][iv.level - 1]
                fill, ink = self.colour(risk)
                members = self.members(lv.level, iv.level)
                cls = "cell occupied" if members else "cell"
                tip = escape(", ".join(members)) if members else escape(risk)
                out.append(f'<g class={quoteattr(cls)} data-likelihood="{lv.level}" data-impact="{iv.level}" '
                           f'data-count="{len(members)}"><title>{tip}</title>'
                           f'<rect x="{x}" y="{y}" width="{cell_w}" height="{cell_h}" fill="{fill}" stroke="#888"/>'
                           f'<text x="{x + 6}" y="{y + 15}" fill="{ink}">{escape(risk)}</text>')
                if members:
                    out.append(f'<text x="{x + cell_w / 2}" y="{y + cell_h / 2 + 12}" text-anchor="middle" '
                               f'font-size="20" font-weight="bold" fill="{ink}">{len(members)}</text>')
                out.append("</g>")
        for c, iv in enumerate(imp):
            x = left + c * cell_w + cell_w / 2
            out.append(f'<text x="{x}" y="{top + cell_h * len(like) + 16}" text-anchor="middle">{escape(f"{iv.level} {iv.name}")}</text>')
        out.append(f'<text x="{left + cell_w * len(imp) / 2}" y="{height - 8}" text-anchor="middle" font-weight="bold">impact</text>')
        out.append(f'<text x="12" y="{top - 14}" font-weight="bold">likelihood</text>')
        out.append("</svg>")
        return "\n".join(out)
