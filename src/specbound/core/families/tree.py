"""Token trees (SpecInfer, Sequoia) as a family: a multi-draft rule at every node.

A round drafts a tree rooted at the last emitted token: every node at depth d-1 gets
``b_d`` children drawn from the draft law at that node (i.i.d., or without replacement).
One target call scores every node. Verification walks down the accepted path: at each
node its children are the candidates of a multi-draft round start — recursive rejection
(paper Algorithm 4 at every node; SpecInfer's multi-step speculative sampling), its
without-replacement form (:mod:`specbound.core.without_replacement`), or the optimal
coupling (:mod:`specbound.core.multidraft`). All children refused: one token from the
final residual ends the round (a rejection); an accepted leaf: a bonus token from the
target. The tree is cut at the horizon as gamma is. A chain ``(1, ..., 1)`` is SD with
gamma = D; a star ``(M, 1, ..., 1)`` is batch SD.

**Why the exact theory is a recursion over (depth, state).** The subtrees under different
children are drawn independently, and which child a node's verifier keeps depends only on
the children's tokens, so given the kept child's token ``x`` its subtree is a fresh tree
of the remaining depths rooted at ``x``. A node at depth d therefore acts on the chain
exactly as a batch round start with ``b_{d+1}`` candidates: its split law
(``rule.split``) is all the chain theory needs (``tree_rounds`` of the backends).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
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
from specbound.core.multidraft import OptimalMultiDraftRule, check_coupling_size
from specbound.errors import InvalidAlgorithmError

__all__ = ["TreeFamily", "tree_nodes"]

R = TypeVar("R")


def tree_nodes(branching: tuple[int, ...], depth: int) -> list[int]:
    """Nodes at each depth 1..``depth`` of a tree with these ``branching`` factors."""
    return [math.prod(branching[:d]) for d in range(1, depth + 1)]


@dataclass(frozen=True)
class TreeFamily(VerificationFamily):
    """A tree with one multi-draft ``rules[d]`` per depth d (its ``num_drafts`` children
    per node); ``replacement``: children drawn i.i.d. (True) or without replacement."""

    rules: tuple[Any, ...]
    replacement: bool = True

    cost_kind = "tree"

    @property
    def branching(self) -> tuple[int, ...]:
        return tuple(int(rule.num_drafts) for rule in self.rules)

    @property
    def num_sequences(self) -> int:
        """Root-to-leaf paths of the whole tree."""
        return math.prod(self.branching)

    def proposal(self, gamma: int | None, remaining: int) -> ProposalShape:
        """The tree cut at the horizon: ``min(D, remaining)`` depths, as root-to-leaf paths."""
        depth = draft_length(len(self.rules), remaining)
        return ProposalShape(math.prod(self.branching[:depth]), depth)

    def round_cost(self, length: int, bonus: bool) -> RoundCost:
        """One call scores the pending token and every node (the deepest level only when
        a bonus position follows); the draft makes one batched forward per depth."""
        nodes = tree_nodes(self.branching, length)
        scored = 1 + sum(nodes) - (0 if bonus or not nodes else nodes[-1])
        return RoundCost(1, scored, length)

    def interpret(self, shapes: RoundShapes[R]) -> R:
        return shapes.tree_rounds(self.rules, self.replacement)

    def check_vocabulary(self, vocab_size: int) -> None:
        """The optimal coupling's sampler enumerates draft sets: refuse big vocabularies."""
        for rule in self.rules:
            if isinstance(rule, OptimalMultiDraftRule) and rule.num_drafts > 1:
                check_coupling_size(vocab_size, rule.num_drafts)

    def check_decoder(self) -> None:
        raise InvalidAlgorithmError(
            "token trees run on Markov chains (theory, simulate) for now; decoding a "
            "language model with a tree (tree attention) is not available yet"
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
