"""Traversal verification of token trees (Weng et al. 2025) as a family.

The tree is drafted as for :class:`~specbound.core.families.tree.TreeFamily` (every node
at depth d-1 gets ``b_d`` i.i.d. children from the draft law at that node; one target
call scores every node; the tree is cut at the horizon) but judged by
:class:`~specbound.core.traversal.TraversalVerificationRule`: leaves first, each node's
whole path at once. A chain ``(1, ..., 1)`` is block verification with gamma = D.

The round's law is not a product of per-depth split laws (a node's verdict depends on its
subtree), so backends interpret it as its own round shape,
:meth:`~specbound.core.families.RoundShapes.traversal_rounds`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, TypeVar

import numpy as np

from specbound.core.families.base import (
    ProposalShape,
    RoundCost,
    RoundShapes,
    RoundVerdict,
    VerificationFamily,
    draft_length,
)
from specbound.core.families.tree_layout import tree_nodes
from specbound.core.traversal import TraversalVerificationRule
from specbound.errors import InvalidAlgorithmError

__all__ = ["TraversalTreeFamily"]

R = TypeVar("R")


@dataclass(frozen=True)
class TraversalTreeFamily(VerificationFamily):
    """A token tree of this ``branching`` (i.i.d. children) judged by ``rule``."""

    branching: tuple[int, ...]
    rule: TraversalVerificationRule = field(default_factory=TraversalVerificationRule)

    cost_kind = "tree"

    @property
    def num_sequences(self) -> int:
        """Root-to-leaf paths of the whole tree."""
        return math.prod(self.branching)

    def proposal(self, gamma: int | None, remaining: int) -> ProposalShape:
        """The tree cut at the horizon: ``min(D, remaining)`` depths, as root-to-leaf paths."""
        depth = draft_length(len(self.branching), remaining)
        return ProposalShape(math.prod(self.branching[:depth]), depth)

    def round_cost(self, length: int, bonus: bool) -> RoundCost:
        """As a token tree's: one call scores the pending token and every node."""
        nodes = tree_nodes(self.branching, length)
        scored = 1 + sum(nodes) - (0 if bonus or not nodes else nodes[-1])
        return RoundCost(1, scored, length)

    def interpret(self, shapes: RoundShapes[R]) -> R:
        return shapes.traversal_rounds(self.rule, self.branching)

    def check_decoder(self) -> None:
        raise InvalidAlgorithmError(
            "verifier='traversal' runs on Markov chains only (specbound.theory and "
            "specbound.simulate; `specbound theory` and `specbound simulate`); decoding a "
            "language model with traversal verification is not available — its "
            "single-chain form, BlockSpeculative (-a block), decodes language models"
        )

    def verify_round(
        self,
        draft_probs: Any,
        target_probs: Any,
        tokens: Any,
        rng: np.random.Generator,
        stop_token: int | None = None,
    ) -> RoundVerdict:
        self.check_decoder()
        raise AssertionError("unreachable")  # pragma: no cover
