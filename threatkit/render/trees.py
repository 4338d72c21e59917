"""Attack trees drawn with pydot: gates, leaves, controls, the cheapest attack.

Every label comes from user files, so every label is escaped (render.graphviz)
and nodes are named by position (n0, n1, ...), never by user text. SVG
elements carry classes (`gate`, `leaf`, `infeasible`, `countered`,
`cheapest`) so reports and tests can find them.
"""
from __future__ import annotations

import math
from functools import lru_cache
from html import escape

from threatkit.analysis.assess import EvaluatedTree
from threatkit.render.graphviz import RenderError, dot_string, dot_tooltip, render_dot

__all__ = ["RenderError", "tree_dot", "render_tree", "tree_svg", "drawn_or_why", "undrawn_html", "legend_svg"]

HIGHLIGHT = "#c0392b"
GATE_STYLE = {  # gate -> (caption, fill)
    "and": ("AND", "#fde9d9"),
    "or": ("OR", "#dceefb"),
    "sand": ("SEQUENCE (in order)", "#ece4f6"),
}
LEAF_FILL, INFEASIBLE_FILL, INFEASIBLE_INK = "#ffffff", "#eeeeee", "#888888"
COUNTER_INK = "#1e7b34"
LARGE = 1000         # nodes; above this, FAST_LAYOUT applies
FAST_LAYOUT = {"mclimit": "0.01", "nslimit": "0.1", "nslimit1": "0.1", "searchsize": "5", "splines": "line"}


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


def _figures(p: float, cost: float, time: float, skill: float) -> str:
    return f"p {fmt_p(p)} · {fmt_money(cost)} · {fmt_days(time)} · skill {fmt_skill(skill)}"


def _label(lines: list[str]) -> str:
    """A multi-line DOT label; each line is user text, escaped."""
    return '"' + "\\n".join(dot_string(line)[1:-1] for line in lines) + '"'


def tree_dot(tree: EvaluatedTree, *, rankdir: str = "TB", max_depth: int | None = None,
             legend: bool = True) -> str:
    """DOT source of the evaluated tree. `rankdir="LR"` lays it out left to right;
    `max_depth` collapses everything below that depth into a count.

    Plain (not HTML-like) labels: the WebAssembly Graphviz has no HTML labels."""
    import pydot

    if rankdir not in ("TB", "LR"):
        raise RenderError(f"rankdir must be 'TB' or 'LR', found {rankdir!r}")
    flat = tree.flat
    cheapest = tree.cheapest_nodes
    title = f"{tree.pathway.title} · scenario {tree.setting.id}"
    graph = pydot.Dot("attack_tree", graph_type="digraph", rankdir=rankdir, nodesep="0.25", ranksep="0.45",
                      fontname="Helvetica", label=dot_string(title), labelloc="t", fontsize="14", ordering="out")
    if len(flat.nodes) > LARGE:   # trade a little layout polish for speed on big trees
        for key, value in FAST_LAYOUT.items():
            graph.set(key, value)
    graph.set_node_defaults(shape="box", style="filled", fontname="Helvetica", fontsize="10", margin="0.12,0.06",
                            color="#555555", fillcolor=LEAF_FILL)
    figures = [_figures(*row) for row in zip(*(tree.values[a][:, 0].tolist()
                                               for a in ("probability", "cost_usd", "time_days", "skill")))]
    graph.set_edge_defaults(arrowhead="none", color="#555555")

    for i, node in enumerate(flat.nodes):
        depth = int(flat.depth[i])
        if max_depth is not None and depth > max_depth:
            continue
        on_path = node.id in cheapest
        classes = ["gate" if node.gate else "leaf"]
        attrs: dict[str, str] = {}
        if node.gate:
            caption, fill = GATE_STYLE[node.gate]
            lines = [caption, node.title, figures[i]]
            attrs.update(style='"rounded,filled"', fillcolor=fill)
            if max_depth is not None and depth == max_depth:
                lines.append(f"+ {sum(1 for _ in node.walk()) - 1} steps below, collapsed")
                classes.append("collapsed")
        else:
            reasons = tree.infeasible.get(node.id, ())
            controls = tree.countered.get(node.id, ())
            lines = [node.title, figures[i]]
            if node.atlas:
                lines.append("ATLAS " + ", ".join(node.atlas))
            if controls:
                classes.append("countered")
                lines.append("countered by " + ", ".join(controls))
                attrs["color"] = COUNTER_INK
            if reasons:
                classes.append("infeasible")
                lines.append("infeasible: " + "; ".join(reasons))
                attrs.update(fillcolor=INFEASIBLE_FILL, fontcolor=INFEASIBLE_INK, style='"filled,dashed"')
        if on_path:
            classes.append("cheapest")
            attrs.update(color=HIGHLIGHT, penwidth="3")
        attrs.update({"label": _label(lines), "class": dot_string(" ".join(classes)),
                      "id": dot_string(f"{tree.pathway.id}-node-{node.id}")})
        if node.description:
            attrs["tooltip"] = dot_tooltip(node.description)
        graph.add_node(pydot.Node(f"n{i}", **attrs))

        if i > 0:
            parent = int(flat.parent[i])
            edge = {"id": dot_string(f"{tree.pathway.id}-edge-{flat.ids[parent]}-{node.id}")}
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
    sub = pydot.Cluster("legend", label=dot_string("Legend"), color="#bbbbbb", fontsize="10", id="legend")
    items = [
        *((f"legend-{gate}", [caption, f"{gate} gate"], {"fillcolor": fill, "style": '"rounded,filled"'})
          for gate, (caption, fill) in GATE_STYLE.items()),
        ("legend-infeasible", ["infeasible step", "(greyed, with the reason)"],
         {"fillcolor": INFEASIBLE_FILL, "fontcolor": INFEASIBLE_INK, "style": '"filled,dashed"'}),
        ("legend-countered", ["countered step", "(controls named)"], {"fillcolor": LEAF_FILL, "color": COUNTER_INK}),
        ("legend-cheapest", ["cheapest attack"], {"fillcolor": LEAF_FILL, "color": HIGHLIGHT, "penwidth": "3"}),
        ("legend-figures", ["p probability · $ min cost", "d min days · skill needed (1-5)"],
         {"fillcolor": "#ffffff", "color": "#ffffff"}),
    ]
    for name, lines, attrs in items:   # no edges: the items line up in one row
        sub.add_node(pydot.Node(name, label=_label(lines), fontsize="9", **attrs))
    return sub


@lru_cache(maxsize=1)
def legend_svg() -> str:
    """The trees' legend alone, for a page of trees that shows it once rather than beside each."""
    import pydot

    graph = pydot.Dot("legend", graph_type="digraph", fontname="Helvetica")
    graph.set_node_defaults(shape="box", style="filled", fontname="Helvetica", margin="0.12,0.06", color="#555555")
    graph.add_subgraph(_legend(pydot))
    return render_dot(graph.to_string(), "svg").decode("utf-8")


def render_tree(tree: EvaluatedTree, fmt: str = "svg", **options) -> bytes:
    """The tree as svg, png or dot (bytes); `options` go to tree_dot."""
    return render_dot(tree_dot(tree, **options), fmt)


def tree_svg(tree: EvaluatedTree, **options) -> str:
    return render_tree(tree, "svg", **options).decode("utf-8")


MAX_DRAWN_NODES = 2_000     # in a report or the explorer: a bigger tree cannot be read as a drawing


def drawn_or_why(tree: EvaluatedTree, **options) -> tuple[str | None, str]:
    """(the tree's SVG, "") for a report or the explorer; (None, why) when it is not drawn:
    more steps than a drawing can show, or a layout that failed. A report goes on either way.
    `options` go to tree_dot."""
    nodes = len(tree.flat.nodes)
    if nodes > MAX_DRAWN_NODES:
        return None, f"its {nodes:,} steps are more than a drawing can show ({MAX_DRAWN_NODES:,} at most)"
    try:
        return tree_svg(tree, **options), ""
    except RenderError as exc:
        return None, str(exc)


def undrawn_html(pathway_id: str, why: str) -> str:
    """What a report or the explorer shows in place of a tree it does not draw."""
    return (f'<p class="tk-undrawn">The attack tree is not drawn: {escape(why)}. '
            f"<code>threatkit tree MODEL --pathway {escape(pathway_id)} --format dot</code> writes it whole "
            "(or --format json, every step with its figures).</p>")
