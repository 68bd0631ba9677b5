"""Tree shapes under a node budget: the candidates a best-tree search compares.

A shape is the branching tuple ``(b_1, ..., b_D)``; it has ``sum_d prod(b_1..b_d)`` nodes
(every node is scored by the one target call of a round). A chain ``(1,)*D`` has D nodes.
"""

from __future__ import annotations

from collections.abc import Iterator

from specbound.core.families.tree_layout import tree_nodes

__all__ = ["node_count", "shapes_within"]


def node_count(branching: tuple[int, ...]) -> int:
    """Nodes of a whole tree of this shape."""
    return sum(tree_nodes(branching, len(branching)))


def shapes_within(budget: int, max_depth: int) -> Iterator[tuple[int, ...]]:
    """Every shape of depth 1..``max_depth`` with at most ``budget`` nodes, shallow first."""

    def grow(prefix: tuple[int, ...], width: int, used: int) -> Iterator[tuple[int, ...]]:
        if prefix:
            yield prefix
        if len(prefix) == max_depth:
            return
        b = 1
        while used + width * b <= budget:
            yield from grow((*prefix, b), width * b, used + width * b)
            b += 1

    yield from sorted(grow((), 1, 0), key=lambda s: (len(s), s))
