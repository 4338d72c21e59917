"""Attack trees drawn with pydot: gates, leaves, controls, the cheapest attack.

Every label comes from user files, so every label is escaped (render.graphviz)
and nodes are named by position (n0, n1, ...), never by user text. SVG
elements carry classes (`gate`, `leaf`, `infeasible`, `countered`,
`cheapest`) so reports and tests can find them.
"""
from __future__ import annotations

import math

from threatkit.analysis.assess import EvaluatedTree
from threatkit.render.graphviz import RenderError, dot_string, html_text, render_dot

__all__ = ["RenderError", "tree_dot", "render_tree", "tree_svg"]

HIGHLIGHT = "#c0392b"
GATE_STYLE = {  # gate -> (caption, fill)
    "and": ("AND", "#fde9d9"),
    "or": ("OR", "#dceefb"),
    "sand": ("SEQUENCE (in order)", "#ece4f6"),
}
LEAF_FILL, INFEASIBLE_FILL, INFEASIBLE_INK = "#ffffff", "#eeeeee", "#888888"
COUNTER_INK = "#1e7b34"


def fmt_p(x: float) -> str:
    return f"{x:.3g}" if x >= 0.001 or x == 0 else f"{x:.1e}"


def fmt_money(x: float) -> str:
    if not math.isfinite(x):
        return "∞"
    for div, unit in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if abs(x) >= div:
            return f"${x / div:.3g}{unit}"
    return f"${x:.3g}"


def fmt_days(x: float) -> str:
    if not math.isfinite(x):
        return "∞"
    return f"{x:.3g} d"


def fmt_skill(x: float) -> str:
    return "∞" if not math.isfinite(x) else f"{x:.0f}"


def _figures(tree: EvaluatedTree, i: int) -> str:
    v = {a: float(tree.values[a][i, 0]) for a in ("probability", "cost_usd", "time_days", "skill")}
    return (f"p {fmt_p(v['probability'])} · {fmt_money(v['cost_usd'])} · "
            f"{fmt_days(v['time_days'])} · skill {fmt_skill(v['skill'])}")


def _row(text: str, *, bold: bool = False, color: str | None = None, size: int = 11) -> str:
    body = html_text(text)
    if bold:
        body = f"<B>{body}</B>"
    font = f'<FONT POINT-SIZE="{size}"' + (f' COLOR="{color}"' if color else "") + f">{body}</FONT>"
    return f"<TR><TD ALIGN=\"LEFT\" BALIGN=\"LEFT\">{font}</TD></TR>"


def _label(rows: list[str], fill: str, border: str, width: int) -> str:
    return (f'<<TABLE BORDER="{width}" CELLBORDER="0" CELLSPACING="0" CELLPADDING="3" '
            f'BGCOLOR="{fill}" COLOR="{border}" STYLE="ROUNDED">{"".join(rows)}</TABLE>>')


def tree_dot(tree: EvaluatedTree, *, rankdir: str = "TB", max_depth: int | None = None,
             legend: bool = True) -> str:
    """DOT source of the evaluated tree. `rankdir="LR"` lays it out left to right;
    `max_depth` collapses everything below that depth into a count."""
    import pydot

    if rankdir not in ("TB", "LR"):
        raise RenderError(f"rankdir must be 'TB' or 'LR', found {rankdir!r}")
    flat = tree.flat
    cheapest = tree.cheapest_nodes
    title = f"{tree.pathway.title} · scenario {tree.setting.id}"
    graph = pydot.Dot("attack_tree", graph_type="digraph", rankdir=rankdir, nodesep="0.25", ranksep="0.45",
                      fontname="Helvetica", label=f"<{html_text(title)}>", labelloc="t", fontsize="14")
    graph.set_node_defaults(shape="plain", fontname="Helvetica")
    graph.set_edge_defaults(arrowhead="none", color="#555555")

    for i, node in enumerate(flat.nodes):
        depth = int(flat.depth[i])
        if max_depth is not None and depth > max_depth:
            continue
        on_path = node.id in cheapest
        classes = ["gate" if node.gate else "leaf"]
        border, width = ("#555555", 1)
        if on_path:
            classes.append("cheapest")
            border, width = HIGHLIGHT, 3
        rows: list[str] = []
        if node.gate:
            caption, fill = GATE_STYLE[node.gate]
            rows.append(_row(caption, bold=True, size=9, color="#444444"))
            rows.append(_row(node.title, bold=True))
            rows.append(_row(_figures(tree, i), size=10))
            hidden = max_depth is not None and depth == max_depth
            if hidden:
                count = sum(1 for _ in node.walk()) - 1
                rows.append(_row(f"+ {count} steps below, collapsed", size=9, color="#666666"))
                classes.append("collapsed")
        else:
            reasons = tree.infeasible.get(node.id, ())
            controls = tree.countered.get(node.id, ())
            fill = INFEASIBLE_FILL if reasons else LEAF_FILL
            ink = INFEASIBLE_INK if reasons else None
            rows.append(_row(node.title, bold=True, color=ink))
            rows.append(_row(_figures(tree, i), size=10, color=ink))
            if node.atlas:
                rows.append(_row("ATLAS " + ", ".join(node.atlas), size=9, color="#555555"))
            if controls:
                classes.append("countered")
                rows.append(_row("countered by " + ", ".join(controls), size=9, color=COUNTER_INK))
            if reasons:
                classes.append("infeasible")
                rows.append(_row("infeasible: " + "; ".join(reasons), size=9, color=INFEASIBLE_INK))
        attrs = {"label": _label(rows, fill, border, width), "class": " ".join(classes),
                 "id": f"{tree.pathway.id}-node-{node.id}", "tooltip": dot_string(node.description or node.title)}
        graph.add_node(pydot.Node(f"n{i}", **attrs))

        if i > 0:
            parent = int(flat.parent[i])
            edge = {"id": f"{tree.pathway.id}-edge-{flat.ids[parent]}-{node.id}"}
            if on_path and flat.ids[parent] in cheapest:
                edge.update({"color": HIGHLIGHT, "penwidth": "3", "class": "cheapest"})
            if flat.nodes[parent].gate == "sand":
                edge.update({"label": str(i - int(flat.first_child[parent]) + 1), "fontsize": "10",
                             "arrowhead": "normal"})
            graph.add_edge(pydot.Edge(f"n{parent}", f"n{i}", **edge))

    if legend:
        graph.add_subgraph(_legend(pydot))
    return graph.to_string()


def _legend(pydot) -> object:
    rows = [
        f'<TR><TD COLSPAN="2"><B>Legend</B></TD></TR>',
        *(f'<TR><TD BGCOLOR="{fill}">{html_text(caption)}</TD><TD ALIGN="LEFT">{gate} gate</TD></TR>'
          for gate, (caption, fill) in GATE_STYLE.items()),
        f'<TR><TD BGCOLOR="{INFEASIBLE_FILL}"><FONT COLOR="{INFEASIBLE_INK}">step</FONT></TD>'
        f'<TD ALIGN="LEFT">infeasible for this actor and tier</TD></TR>',
        f'<TR><TD><FONT COLOR="{COUNTER_INK}">countered by</FONT></TD><TD ALIGN="LEFT">controls acting on the step</TD></TR>',
        f'<TR><TD BORDER="2" COLOR="{HIGHLIGHT}">step</TD><TD ALIGN="LEFT">cheapest attack</TD></TR>',
        '<TR><TD COLSPAN="2" ALIGN="LEFT"><FONT POINT-SIZE="9">p probability · $ min cost · d min days · '
        'skill needed (1-5)</FONT></TD></TR>',
    ]
    table = f'<<TABLE BORDER="0" CELLBORDER="1" CELLSPACING="0" CELLPADDING="3">{"".join(rows)}</TABLE>>'
    sub = pydot.Cluster("legend", label="", color="#bbbbbb", fontsize="10")
    sub.add_node(pydot.Node("legend", label=table, shape="plain", fontsize="10", id="legend"))
    return sub


def render_tree(tree: EvaluatedTree, fmt: str = "svg", **options) -> bytes:
    """The tree as svg, png or dot (bytes); `options` go to tree_dot."""
    return render_dot(tree_dot(tree, **options), fmt)


def tree_svg(tree: EvaluatedTree, **options) -> str:
    return render_tree(tree, "svg", **options).decode("utf-8")
