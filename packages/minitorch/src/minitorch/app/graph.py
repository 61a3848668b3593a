"""A `Scalar` expression's computation graph as Graphviz DOT text (no graphviz binary needed)."""

from __future__ import annotations

from dataclasses import dataclass

from mt_autodiff import Scalar


@dataclass(frozen=True)
class Node:
    """One value in the graph: how it was made, its data, and the Scalar itself."""

    key: int
    label: str
    kind: str
    scalar: Scalar


def collect(out: Scalar) -> tuple[list[Node], list[tuple[int, int]]]:
    """Every value ``out`` depends on (inputs first) and the edges input → result.

    Call it before ``backward()``, which frees the graph's saved inputs.
    """
    nodes: dict[int, Node] = {}
    edges: list[tuple[int, int]] = []
    stack = [out]
    while stack:
        s = stack.pop()
        if s.unique_id in nodes:
            continue
        h = s.history
        if h is None:
            nodes[s.unique_id] = Node(s.unique_id, s.name or f"{s.data:g}", "constant", s)
        elif h.last_fn is None:
            nodes[s.unique_id] = Node(s.unique_id, s.name or f"x{s.unique_id}", "leaf", s)
        else:
            nodes[s.unique_id] = Node(s.unique_id, h.last_fn.__name__, "op", s)
            for parent in h.inputs:
                edges.append((parent.unique_id, s.unique_id))
                stack.append(parent)
    order = sorted(nodes.values(), key=lambda n: n.key)
    return order, sorted(set(edges))


STYLE = {
    "leaf": 'shape=box, style="rounded,filled", fillcolor="#d6eaf8"',
    "constant": 'shape=box, style="rounded,filled", fillcolor="#eeeeee"',
    "op": 'shape=ellipse, style=filled, fillcolor="#fdebd0"',
}


def to_dot(nodes: list[Node], edges: list[tuple[int, int]], output: int | None = None) -> str:
    """DOT text: leaves show value and derivative (once backward has run), ops their result."""
    lines = ["digraph {", "  rankdir=LR;", '  node [fontname="Helvetica", fontsize=11];']
    for n in nodes:
        text = f"{n.label}\\n= {n.scalar.data:.4g}"
        if n.kind == "leaf" and n.scalar.derivative is not None:
            text += f"\\nd = {n.scalar.derivative:.4g}"
        style = STYLE[n.kind] + (", penwidth=2.5" if n.key == output else "")
        lines.append(f'  n{n.key} [label="{text}", {style}];')
    lines += [f"  n{a} -> n{b};" for a, b in edges]
    lines.append("}")
    return "\n".join(lines)
