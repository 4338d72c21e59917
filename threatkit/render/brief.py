"""Key judgments as Markdown (reports) and HTML (the explorer); model text escaped in both."""
from __future__ import annotations

import html
import re

from threatkit.analysis.judgments import DURABLE, Brief

_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+!|~>-])")


def md_escape(text: str) -> str:
    """Model text as literal Markdown: HTML escaped, Markdown punctuation backslashed."""
    return _MD_SPECIAL.sub(r"\\\1", html.escape(text, quote=False))


def brief_markdown(brief: Brief) -> str:
    lines = []
    if brief.premise:
        lines += [f"**{md_escape(brief.premise)}**", ""]
    lines += [f"*{md_escape(DURABLE)}*", ""]
    shared = brief.shared_confidence()
    if shared:
        lines += [f"*Confidence in every judgment below: {md_escape(shared[0])}, because {md_escape(shared[1])}.*", ""]
    for k, j in enumerate(brief.judgments, 1):
        said = "" if shared else (f" *Confidence: {md_escape(j.confidence)}, because "
                                  f"{md_escape(j.confidence_reason)}.*")
        lines.append(f"{k}. {md_escape(j.statement)}{said}")
    lines += ["", f"<small>{md_escape(brief.basis())}</small>"]
    return "\n".join(lines)


def brief_html(brief: Brief) -> str:
    e = html.escape
    items = "".join(
        f'<li data-judgment="{e(j.id)}" data-probability="{"" if j.probability is None else f"{j.probability:.6f}"}" '
        f'data-word="{e(j.word or "")}">{e(j.statement)} <i>Confidence: {e(j.confidence)}, because '
        f'{e(j.confidence_reason)}.</i></li>' for j in brief.judgments)
    premise = f"<p><b>{e(brief.premise)}</b></p>" if brief.premise else ""
    return (f'<div class="tk-brief">{premise}<p><i>{e(DURABLE)}</i></p><ol>{items}</ol>'
            f"<p><small>{e(brief.basis())}</small></p></div>")
