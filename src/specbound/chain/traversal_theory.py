"""Exact theory of traversal verification of token trees on a first-order chain.

Traversal verification (Weng et al. 2025, :mod:`specbound.core.traversal`) judges a
round's tree leaves first, so neither the per-depth split laws of
:mod:`specbound.chain.recursion` nor block verification's enumeration of one block apply
as they are. A round's outcome law is computed instead by a **recursion over (node,
state)**, down the tree:

* a node at depth d with token ``s``, weight ``w`` and current law ``Q`` tries its
  ``b_{d+1}`` children in turn; child j's token ranges over all S states ``x`` (draft
  probability ``p(x)``) with weight ``min(w Q(x) / p(x), 1)``, and its subtree's outcome
  law is the same recursion one level down;
* children are i.i.d. and a refusal updates ``(w, Q)`` the same way whichever token the
  refused child had, so the node's state before child j is one deterministic value on the
  event "children 1..j-1 refused", whose probability is the product of the children's
  refusal probabilities;
* all refused: the node is kept with probability ``w`` (the next token from ``Q``).

The root is the round's previous token ``s`` (all S at once, vectorised), with ``w = 1``
and ``Q`` the target's row. The result is the round's
:class:`~specbound.chain.block_theory.RoundOutcomes` (kept path and next token), so the
forward recursion over round starts and the sequence enumeration of block verification
(:func:`~specbound.chain.block_theory.round_recursion`,
:func:`~specbound.chain.block_theory.round_sequence_law`) serve traversal unchanged.

Cost: every node of the tree is visited once with a batch of ``S^(d+1)`` (state, path)
rows and outcome arrays up to ``S^(k+2)``; refused with the size named beyond
:data:`~specbound.chain.block_theory.MAX_ENUMERATED_ENTRIES` (the simulator has no such
limit). The number of paths is exponential in the depth: unavoidable for exact
path-resolved laws, as for block verification.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import numpy as np
from numpy.typing import NDArray

from specbound.chain.block_theory import (
    MAX_ENUMERATED_ENTRIES,
    RoundOutcomes,
    round_recursion,
    round_sequence_law,
)
from specbound.chain.model import MarkovChain
from specbound.core.families import tree_nodes
from specbound.core.traversal import TraversalVerificationRule
from specbound.errors import InvalidInputError

__all__ = [
    "check_traversal_size",
    "traversal_outcomes",
    "traversal_recursion",
    "traversal_sequence_law",
]

Array = NDArray[np.float64]


def check_traversal_size(num_states: int, branching: tuple[int, ...], depth: int) -> None:
    """Refuse a (tree, S) whose exact traversal theory would hold too many numbers."""
    nodes = 1 + sum(tree_nodes(branching, depth))
    entries = nodes * num_states ** (depth + 2) * (depth + 1)
    if entries > MAX_ENUMERATED_ENTRIES:
        shape = ",".join(str(b) for b in branching[:depth])
        raise InvalidInputError(
            f"traversal verification's exact theory follows every token at each of the "
            f"{nodes} nodes of the tree ({shape}) with S = {num_states} states (about "
            f"{entries:.2e} numbers per round start), more than "
            f"{MAX_ENUMERATED_ENTRIES:.2e}; use a smaller tree or fewer states, or "
            "estimate it with specbound.simulate"
        )


@dataclass(frozen=True)
class _Round:
    """The pieces of one round starting at position ``n`` with a tree of depth ``k``."""

    draft: MarkovChain
    target: MarkovChain
    rule: TraversalVerificationRule
    branching: tuple[int, ...]
    n: int
    k: int

    def node(
        self, d: int, tokens: NDArray[np.int64], weight: Array, law: Array
    ) -> tuple[Array, list[Array], Array]:
        """A batch of B nodes at depth ``d``: (P(kept through the node) (B,), recovered
        masses for t = d..k-1 (B, S^(t-d), S), kept-leaf masses (B, S^(k-d)))."""
        k, S, B = self.k, self.draft.num_states, tokens.size
        if d == k:  # a leaf of the cut tree: kept with its weight
            return weight, [], weight[:, None]
        p = self.draft.transitions[self.n + d][tokens]  # (B, S) its children's draft law
        child_tokens = np.tile(np.arange(S), B)  # (B*S,)
        if self.n + d + 1 < self.draft.horizon:
            child_law = self.target.transitions[self.n + d + 1][child_tokens]  # (B*S, S)
        else:  # full-depth leaves at the horizon: their law is never used
            child_law = np.zeros((B * S, S))
        alive = np.ones(B)  # P(the children tried so far were all refused)
        recovered = [np.zeros((B, S ** (t - d), S)) for t in range(d, k)]
        kept = np.zeros((B, S ** (k - d)))
        for _ in range(self.branching[d]):
            child_weight = self.rule.child_weights(weight, law, p)  # (B, S)
            accept, below, leaves = self.node(d + 1, child_tokens, child_weight.ravel(), child_law)
            factor = alive[:, None] * p  # (B, S): earlier children refused, this one is x
            for t in range(d + 1, k):
                part = below[t - d - 1].reshape(B, S, S ** (t - d - 1), S)
                recovered[t - d] += (factor[:, :, None, None] * part).reshape(B, -1, S)
            kept += (factor[:, :, None] * leaves.reshape(B, S, -1)).reshape(B, -1)
            alive = alive * (1.0 - (p * accept.reshape(B, S)).sum(axis=1))
            weight, law = self.rule.refuse_child(weight, law, p)
        recovered[0] += ((alive * weight)[:, None] * law)[:, None, :]  # the node itself
        return 1.0 - alive + alive * weight, recovered, kept


def traversal_outcomes(
    draft: MarkovChain,
    target: MarkovChain,
    rule: TraversalVerificationRule,
    branching: tuple[int, ...],
    n: int,
    k: int,
) -> RoundOutcomes:
    """The outcomes of a round at position ``n`` whose tree is cut to depth ``k``."""
    S, T = draft.num_states, draft.horizon
    check_traversal_size(S, branching, k)
    roots = np.arange(S)
    round_ = _Round(draft, target, rule, branching, n, k)
    _, recovered, kept = round_.node(0, roots, np.ones(S), target.transitions[n].copy())
    reject = sum((part.sum(axis=(1, 2)) for part in recovered), np.zeros(S))  # (S,)
    bonus = None
    if n + k < T:
        last = np.arange(S**k) % S  # (S^k,) each path's leaf token
        bonus = kept[..., None] * target.transitions[n + k][last][None]  # (S, S^k, S)
    return RoundOutcomes(k, reject, tuple(recovered), kept, bonus)


def traversal_recursion(
    draft: MarkovChain,
    target: MarkovChain,
    rule: TraversalVerificationRule,
    branching: tuple[int, ...],
) -> tuple[Array, Array]:
    """(P(a rejection in the round starting at n), P(a round starts at n)): (T,), (T,)."""
    depth = min(len(branching), draft.horizon)
    check_traversal_size(draft.num_states, branching, depth)  # refuse before any work
    outcomes = partial(traversal_outcomes, draft, target, rule, branching)
    return round_recursion(draft, outcomes, len(branching))


def traversal_sequence_law(
    draft: MarkovChain,
    target: MarkovChain,
    rule: TraversalVerificationRule,
    branching: tuple[int, ...],
    max_sequences: int = 1 << 20,
) -> Array:
    """The exact law of traversal verification's output ``(x_1..x_T)``: ``(S,) * T``."""
    outcomes = partial(traversal_outcomes, draft, target, rule, branching)
    return round_sequence_law(draft, outcomes, len(branching), max_sequences)
