"""Drawing computational graphs with matplotlib.

A graph is a set of named nodes placed on a grid and a list of edges. Each
edge may carry two labels: the forward value flowing along it (drawn above,
in green) and the gradient flowing back (drawn below, in red), the way the
computational-graph chapter of "Deep Learning from Scratch" draws them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import matplotlib.pyplot as plt
from matplotlib.axes import Axes
from matplotlib.patches import Circle, FancyArrowPatch

__all__ = ["Node", "Edge", "draw_graph", "recorded_graph"]

FORWARD_COLOR = "#1a7f37"
BACKWARD_COLOR = "#cf222e"


@dataclass(frozen=True)
class Node:
    """A node of a drawn graph.

    Attributes
    ----------
    name : str
        Key used by edges.
    x, y : float
        Position in data coordinates.
    label : str
        Text inside the node (an operation like ``"×"``), or beside an input.
    is_operation : bool
        Operations are drawn as circles; inputs and outputs as bare text.
    """

    name: str
    x: float
    y: float
    label: str
    is_operation: bool = True


@dataclass(frozen=True)
class Edge:
    """A directed edge, with optional forward and backward labels."""

    source: str
    target: str
    forward: str = ""
    backward: str = ""


def draw_graph(
    nodes: list[Node],
    edges: list[Edge],
    title: str = "",
    ax: Axes | None = None,
    radius: float = 0.32,
) -> Axes:
    """Draw a computational graph.

    Parameters
    ----------
    nodes : list of Node
        Every node the edges mention.
    edges : list of Edge
        Drawn as arrows from source to target; ``forward`` text above the
        arrow in green, ``backward`` text below it in red.
    title : str
        Axes title.
    ax : matplotlib Axes, optional
        Where to draw; a new figure is made when omitted.
    radius : float
        Radius of the operation circles, in data units.

    Returns
    -------
    matplotlib Axes
    """
    by_name = {node.name: node for node in nodes}
    missing = {e.source for e in edges} | {e.target for e in edges}
    missing -= by_name.keys()
    if missing:
        raise KeyError(f"edges mention nodes that were not given: {sorted(missing)}")
    if ax is None:
        width = max(n.x for n in nodes) - min(n.x for n in nodes) + 2
        height = max(n.y for n in nodes) - min(n.y for n in nodes) + 1.5
        _, ax = plt.subplots(figsize=(1.3 * width, 1.1 * height))
    for node in nodes:
        if node.is_operation:
            ax.add_patch(Circle((node.x, node.y), radius, fill=False, lw=1.5))
            ax.text(node.x, node.y, node.label, ha="center", va="center", fontsize=14)
        else:
            ax.text(node.x, node.y, node.label, ha="center", va="center", fontsize=11)
    for edge in edges:
        start, end = by_name[edge.source], by_name[edge.target]
        shrink_a = 22 if start.is_operation else 18
        shrink_b = 22 if end.is_operation else 18
        ax.add_patch(
            FancyArrowPatch(
                (start.x, start.y),
                (end.x, end.y),
                arrowstyle="-|>",
                mutation_scale=14,
                shrinkA=shrink_a,
                shrinkB=shrink_b,
                lw=1.2,
                color="black",
            )
        )
        # Labels sit 45 % of the way from the source, on either side of the
        # arrow, so that the labels of arrows converging on one node stay apart.
        dx, dy = end.x - start.x, end.y - start.y
        length = max((dx**2 + dy**2) ** 0.5, 1e-9)
        normal_x, normal_y = -dy / length, dx / length
        if normal_y < 0:
            normal_x, normal_y = -normal_x, -normal_y
        at_x, at_y = start.x + 0.45 * dx, start.y + 0.45 * dy
        offset = 0.17
        if edge.forward:
            ax.text(at_x + offset * normal_x, at_y + offset * normal_y, edge.forward,
                    color=FORWARD_COLOR, ha="center", va="center", fontsize=11)
        if edge.backward:
            ax.text(at_x - offset * normal_x, at_y - offset * normal_y, edge.backward,
                    color=BACKWARD_COLOR, ha="center", va="center", fontsize=11)
    xs = [n.x for n in nodes]
    ys = [n.y for n in nodes]
    ax.set_xlim(min(xs) - 1, max(xs) + 1)
    ax.set_ylim(min(ys) - 0.8, max(ys) + 0.8)
    ax.set_aspect("equal")
    ax.axis("off")
    if title:
        ax.set_title(title)
    return ax


def recorded_graph(
    output: Any,
    names: dict[int, str] | None = None,
    spacing: float = 1.6,
    digits: int = 3,
) -> tuple[list[Node], list[Edge]]:
    """Lay out the graph an autograd scalar recorded, for :func:`draw_graph`.

    Works with any node object that has ``data``, ``grad``, ``_parents`` (a
    tuple of nodes) and ``_op`` (a short string such as ``"*"``), like
    notebook 01's ``Value`` and micrograd's. Operations become circles; leaves
    (inputs, parameters, constants) become text. Each edge carries the
    source's ``data`` (forward, green) and ``grad`` (backward, red).

    Operations stand in the column of their longest path from the leaves;
    leaves, and constants computed from unnamed leaves only, one column left
    of their first user. The red number on an edge is the source's whole gradient
    (summed over all its uses), not the share that flows along that edge.

    Parameters
    ----------
    output : node
        The node the graph ends at (the one ``backward()`` was called on).
    names : dict of int to str, optional
        Labels for leaves, keyed by ``id(node)``; other leaves show their value.
    spacing : float
        Horizontal distance between columns, in data units.
    digits : int
        Significant digits of the numbers on the edges.

    Returns
    -------
    nodes : list of Node
    edges : list of Edge
        Ready for ``draw_graph(nodes, edges)``; the output gets an extra text
        node ``"out"`` after it.
    """
    names = names or {}
    order: list[Any] = []
    seen: set[int] = set()

    def visit(node: Any) -> None:
        # Parents first (post-order): the same order a topological sort gives.
        if id(node) in seen:
            return
        seen.add(id(node))
        for parent in node._parents:
            visit(parent)
        order.append(node)

    visit(output)
    column: dict[int, int] = {}
    for node in order:
        column[id(node)] = 1 + max((column[id(p)] for p in node._parents), default=-1)
    users: dict[int, list[Any]] = {}
    for node in order:
        for parent in node._parents:
            users.setdefault(id(parent), []).append(node)
    # A leaf stands one column before its first user, and so does a constant
    # (a part computed from unnamed leaves only, such as -target), so that it
    # is drawn next to where it is used, not at the far left.
    constant: dict[int, bool] = {}
    for node in order:
        constant[id(node)] = (id(node) not in names if not node._parents
                              else all(constant[id(p)] for p in node._parents))
    for node in reversed(order):
        if id(node) in users and (constant[id(node)] or not node._parents):
            column[id(node)] = min(column[id(u)] for u in users[id(node)]) - 1

    # Leaves take rows in the order the search met them; an operation sits at
    # the mean height of its parents, pushed apart from its column neighbours.
    row: dict[int, float] = {}
    leaves = [n for n in order if not n._parents]
    for position, leaf in enumerate(leaves):
        row[id(leaf)] = -float(position)
    for node in order:
        if node._parents:
            row[id(node)] = sum(row[id(p)] for p in node._parents) / len(node._parents)
    by_column: dict[int, list[Any]] = {}
    for node in order:
        by_column.setdefault(column[id(node)], []).append(node)
    for members in by_column.values():
        members.sort(key=lambda n: -row[id(n)])
        for upper, lower in zip(members, members[1:]):
            row[id(lower)] = min(row[id(lower)], row[id(upper)] - 1.0)

    def number(value: float) -> str:
        return f"{value:.{digits}g}"

    nodes = []
    for node in order:
        if node._parents:
            label = node._op or "?"
            nodes.append(Node(str(id(node)), spacing * column[id(node)], row[id(node)], label))
        else:
            label = names.get(id(node), number(node.data))
            nodes.append(Node(str(id(node)), spacing * column[id(node)], row[id(node)], label,
                              is_operation=False))
    edges = [Edge(str(id(parent)), str(id(node)), number(parent.data), number(parent.grad))
             for node in order for parent in dict.fromkeys(node._parents)]
    end = Node("out", spacing * (column[id(output)] + 1), row[id(output)], "out", is_operation=False)
    nodes.append(end)
    edges.append(Edge(str(id(output)), "out", number(output.data), number(output.grad)))
    return nodes, edges
