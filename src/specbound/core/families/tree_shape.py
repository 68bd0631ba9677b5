"""What every token-tree family shares: its shape, the proposal cut at the horizon and the
cost of a round.

A tree of branching ``(b_1, ..., b_D)`` (every node at depth d-1 gets ``b_d`` children)
is proposed as ``prod(b)`` root-to-leaf paths of ``min(D, remaining)`` tokens (cut at
the horizon, as gamma is), and one target call scores the pending token and every node
(the deepest level only when a bonus position follows), whichever verifier judges it:
:class:`~specbound.core.families.tree.TreeFamily` (walk down from the root, SpecInfer)
and :class:`~specbound.core.families.traversal.TraversalTreeFamily` (leaves first,
Weng et al. 2025).
"""

from __future__ import annotations

import math
from abc import abstractmethod

from specbound.core.families.base import (
    ProposalShape,
    RoundCost,
    VerificationFamily,
    draft_length,
)
from specbound.core.families.tree_layout import TreeLayout, tree_nodes

__all__ = ["TreeShapedFamily"]


class TreeShapedFamily(VerificationFamily):
    """A token-tree family: its ``branching`` gives the proposal, the layout and the cost."""

    cost_kind = "tree"

    @property
    @abstractmethod
    def branching(self) -> tuple[int, ...]:
        """Children per node at each depth, ``(b_1, ..., b_D)``."""

    @property
    def num_sequences(self) -> int:
        """Root-to-leaf paths of the whole tree."""
        return math.prod(self.branching)

    def proposal(self, gamma: int | None, remaining: int) -> ProposalShape:
        """The tree cut at the horizon: ``min(D, remaining)`` depths, as root-to-leaf paths."""
        depth = draft_length(len(self.branching), remaining)
        return ProposalShape(math.prod(self.branching[:depth]), depth)

    def layout(self, depth: int) -> TreeLayout:
        """The slots of this tree cut to ``depth`` levels (:mod:`.tree_layout`)."""
        return TreeLayout(self.branching[:depth])

    def round_cost(self, length: int, bonus: bool) -> RoundCost:
        """One call scores the pending token and every node (the deepest level only when
        a bonus position follows); the draft makes one batched forward per depth."""
        nodes = tree_nodes(self.branching, length)
        scored = 1 + sum(nodes) - (0 if bonus or not nodes else nodes[-1])
        return RoundCost(1, scored, length)
