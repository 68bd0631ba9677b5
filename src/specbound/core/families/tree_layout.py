"""Where each node of a token tree lives in a round's flat arrays (SpecInfer's layout).

A round's tree is cut to ``depth`` levels (the horizon cuts it as gamma is). Its nodes are
numbered by **slot**, depth by depth: slot 0 is the root (the last emitted token), then
the ``n_1 = b_1`` nodes of depth 1, the ``n_2 = b_1 b_2`` nodes of depth 2, and so on.
Node ``j`` of depth ``d`` is child ``j mod b_d`` of node ``j // b_d`` of depth ``d - 1``.

The arrays of a round in this *node layout*: ``tokens`` (N,) the tokens of slots
1..N; the draft laws of the slots that have children (the root and depths 1..D-1); the
target laws of the same slots, plus the deepest level when a bonus position is scored.
A root-to-leaf **path** ``m`` (0 <= m < n_D) passes through node ``m // (b_{d+1} ...
b_D)`` of depth d, so the path layout ``(M, k, V)`` of the other multi-draft families is
the node layout with shared prefixes repeated (a star ``(M, 1, ..., 1)`` is batch SD's
layout exactly).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property

import numpy as np
from numpy.typing import NDArray

__all__ = ["TreeLayout", "cut_depth", "node_arrays", "tree_nodes"]


def tree_nodes(branching: tuple[int, ...], depth: int) -> list[int]:
    """Nodes at each depth 1..``depth`` of a tree with these ``branching`` factors."""
    return [math.prod(branching[:d]) for d in range(1, depth + 1)]


def cut_depth(branching: tuple[int, ...], size: int) -> int:
    """The depth whose cut tree has ``size`` nodes (below the root)."""
    for depth in range(len(branching) + 1):
        if sum(tree_nodes(branching, depth)) == size:
            return depth
    raise ValueError(f"{size} nodes is no cut of the tree {branching}")


@dataclass(frozen=True)
class TreeLayout:
    """The slots of a tree with ``branching`` factors (already cut to the round's depth)."""

    branching: tuple[int, ...]

    @property
    def depth(self) -> int:
        return len(self.branching)

    @cached_property
    def nodes(self) -> list[int]:
        """Nodes at depths 1..D."""
        return tree_nodes(self.branching, self.depth)

    @property
    def size(self) -> int:
        """Nodes below the root (the tokens a round drafts)."""
        return sum(self.nodes)

    @property
    def paths(self) -> int:
        """Root-to-leaf paths (``n_D``; 1 for an empty tree)."""
        return self.nodes[-1] if self.nodes else 1

    @property
    def inner(self) -> int:
        """Slots with children: the root and depths 1..D-1 (the draft laws a round needs)."""
        return 1 + self.size - (self.nodes[-1] if self.nodes else 0)

    def slot(self, depth: int, index: int) -> int:
        """The slot of node ``index`` of ``depth`` (depth 0: the root)."""
        return 0 if depth == 0 else 1 + sum(self.nodes[: depth - 1]) + index

    def slots_at(self, depth: int) -> range:
        """The slots of every node of ``depth``."""
        first = self.slot(depth, 0)
        return range(first, first + (1 if depth == 0 else self.nodes[depth - 1]))

    def children(self, depth: int, index: int) -> range:
        """Slots of the children of node ``index`` of ``depth`` (``depth < D``)."""
        b = self.branching[depth]
        first = self.slot(depth + 1, index * b)
        return range(first, first + b)

    @cached_property
    def depths(self) -> NDArray[np.int64]:
        """The depth of every slot: (1 + N,)."""
        return np.repeat(np.arange(self.depth + 1), [1, *self.nodes]).astype(np.int64)

    @cached_property
    def parents(self) -> NDArray[np.int64]:
        """The parent slot of every slot (-1 for the root): (1 + N,)."""
        out = np.full(1 + self.size, -1, dtype=np.int64)
        for d in range(1, self.depth + 1):
            for j in range(self.nodes[d - 1]):
                out[self.slot(d, j)] = self.slot(d - 1, j // self.branching[d - 1])
        return out

    @cached_property
    def ancestors(self) -> NDArray[np.bool_]:
        """``[i, j]``: slot j is slot i or one of its ancestors (tree attention: what a
        node may attend to among the round's slots): (1 + N, 1 + N) boolean."""
        out = np.eye(1 + self.size, dtype=bool)
        for i in range(1, 1 + self.size):
            out[i] |= out[self.parents[i]]
        return out

    def row_of(self, depth: int, index: int) -> int:
        """The first root-to-leaf path through node ``index`` of ``depth``."""
        return index * math.prod(self.branching[depth:])

    def node_on(self, row: int, depth: int) -> int:
        """The index at ``depth`` of the node path ``row`` passes through."""
        return row // math.prod(self.branching[depth:])

    def path_slots(self, row: int, accepted: int) -> list[int]:
        """Slots of the nodes at depths 1..``accepted`` on path ``row``."""
        return [self.slot(d, self.node_on(row, d)) for d in range(1, accepted + 1)]

    @cached_property
    def pre_order(self) -> NDArray[np.int64]:
        """Every slot in pre-order (the root, then each child's subtree in drafting
        order): (1 + N,). Entry i is the slot of node i of
        :class:`specbound.core.traversal.TreeLayout` of the same branching."""
        out: list[int] = []

        def walk(depth: int, index: int) -> None:
            out.append(self.slot(depth, index))
            if depth < self.depth:
                b = self.branching[depth]
                for c in range(index * b, (index + 1) * b):
                    walk(depth + 1, c)

        walk(0, 0)
        return np.asarray(out, dtype=np.int64)

    def path_rows(self, depth: int) -> NDArray[np.int64]:
        """For every node of ``depth``, the first path through it: (n_depth,)."""
        count = 1 if depth == 0 else self.nodes[depth - 1]
        return np.arange(count, dtype=np.int64) * math.prod(self.branching[depth:])


def node_arrays(
    layout: TreeLayout, draft: np.ndarray, target: np.ndarray, drafts: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A tree's round from the path layout to the node layout: ``drafts`` (M, k) the
    ``M = n_D`` root-to-leaf paths (shared prefixes repeated), ``draft`` (M, k, V),
    ``target`` (M, k or k+1, V) -> tokens (N,), draft laws (inner, V), target laws
    (inner or 1 + N, V), each node read from the first path through it."""
    if drafts.shape[0] != layout.paths:
        raise ValueError(
            f"a tree {layout.branching} has {layout.paths} paths, got {drafts.shape[0]}"
        )
    levels = range(layout.depth + 1)
    rows = [layout.path_rows(d) for d in levels]  # the first path through each node
    node_tokens = np.concatenate([drafts[rows[d], d - 1] for d in levels[1:]])
    scored = min(int(target.shape[1]), layout.depth + 1)
    node_draft = np.concatenate([draft[rows[d], d] for d in range(layout.depth)])
    node_target = np.concatenate([target[rows[d], d] for d in range(scored)])
    return node_tokens, node_draft, node_target
