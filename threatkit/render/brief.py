"""Key judgments as Markdown (reports) and HTML (the explorer); model text escaped in both."""
from __future__ import annotations

import html

from threatkit.analysis.judgments import DURABLE, Brief
from threatkit.render.safe import md_text


def brief_markdown(brief: Brief) -> str:
    """Paragraphs of plain text with bold numbers only (no lists, links, code or raw HTML), so that
    whatever the model's names hold renders as text (tests/test_hostile.py)."""
    paragraphs = []
    if brief.premise:
        paragraphs.append(f"**{md_text(brief.premise)}**")
    paragraphs.append(md_text(DURABLE))
    shared = brief.shared_confidence()
    if shared:
        paragraphs.append(f"**Confidence in every judgment below: {md_text(shared[0])}**, because "
                          f"{md_text(shared[1])}.")
    for k, j in enumerate(brief.judgments, 1):
        said = "" if shared else f" Confidence: **{md_text(j.confidence)}**, because {md_text(j.confidence_reason)}."
        paragraphs.append(f"**{k}.** {md_text(j.statement)}{said}")
    paragraphs.append(md_text(brief.basis()))
    return "\n\n".join(paragraphs)


def brief_html(brief: Brief) -> str:
    e = html.escape
    items = "".join(
        f'<li data-judgment="{e(j.id)}" data-probability="{"" if j.probability is None else f"{j.probability:.6f}"}" '
        f'data-word="{e(j.word or "")}">{e(j.statement)} <i>Confidence: {e(j.confidence)}, because '
        f'{e(j.confidence_reason)}.</i></li>' for j in brief.judgments)
    premise = f"<p><b>{e(brief.premise)}</b></p>" if brief.premise else ""
    return (f'<div class="tk-brief">{premise}<p><i>{e(DURABLE)}</i></p><ol>{items}</ol>'
            f"<p><small>{e(brief.basis())}</small></p></div>")
