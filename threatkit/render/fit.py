"""Fit a drawing to its box: scaled down (never up) to the box's width and a height, top centre.

A Graphviz tree is often wider than the explorer's view; at full size the box
opened scrolled away from the root. Fitted, the whole tree shows at once, root
at the top; full size (with scrolling) stays one toggle away.
"""
from __future__ import annotations

import re

_SIZE = re.compile(r'\s(width|height)="([\d.]+)(pt|px)?"')
PX_PER = {"pt": 4 / 3, "px": 1.0, None: 1.0}


def fit_to_box(svg: str, max_height_px: float) -> str:
    """The root <svg> with width 100% and a height of at most `max_height_px`; its viewBox
    keeps the aspect ratio (xMidYMin meet: centred, top-aligned). Unchanged without a viewBox."""
    start = svg.find("<svg")
    end = svg.find(">", start) + 1
    head = svg[start:end]
    if start < 0 or "viewBox" not in head:
        return svg
    sizes = {name: float(value) * PX_PER[unit] for name, value, unit in _SIZE.findall(head)}
    height = min(sizes.get("height", max_height_px), max_height_px)
    head = _SIZE.sub("", head)
    head = head.replace("<svg", f'<svg width="100%" height="{height:.0f}px" preserveAspectRatio="xMidYMin meet"', 1)
    return svg[:start] + head + svg[end:]
