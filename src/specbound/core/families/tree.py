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

**One round's verification** (the language-model decoder's, :meth:`TreeFamily.verify_tree`)
takes the tree in the node layout of :mod:`.tree_layout` and walks it with the same rules;
the path layout of the other multi-draft families is accepted too
(:meth:`TreeFamily.verify_round`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np

from specbound.core.families.base import (
    RoundShapes,
    RoundVerdict,
)
from specbound.core.families.transfer import on_host
from specbound.core.families.tree_layout import TreeLayout, cut_depth, node_arrays, tree_nodes
from specbound.core.families.tree_shape import TreeShapedFamily
from specbound.core.multidraft import OptimalMultiDraftRule, check_coupling_size
from specbound.core.rules import SpeculativeRule
from specbound.core.sampling import sample_categorical, uniforms
from specbound.core.sequence import verify_sequence

__all__ = ["TreeFamily", "TreeLayout", "tree_nodes"]

R = TypeVar("R")

#: A node with one child is SD's step under every tree verifier (Algorithm 4 with M = 1,
#: and the optimal coupling of one draft, both accept x with min(1, q/p) and resample
#: from [q - p]_+): a chain below the walk is verified as SD verifies a sequence.
_CHAIN_STEP = SpeculativeRule()


@dataclass(frozen=True)
class TreeFamily(TreeShapedFamily):
    """A tree with one multi-draft ``rules[d]`` per depth d (its ``num_drafts`` children
    per node); ``replacement``: children drawn i.i.d. (True) or without replacement."""

    rules: tuple[Any, ...]
    replacement: bool = True

    @property
    def branching(self) -> tuple[int, ...]:
        return tuple(int(rule.num_drafts) for rule in self.rules)

    def interpret(self, shapes: RoundShapes[R]) -> R:
        return shapes.tree_rounds(self.rules, self.replacement)

    def check_vocabulary(self, vocab_size: int) -> None:
        """The optimal coupling's sampler enumerates draft sets: refuse big vocabularies."""
        for rule in self.rules:
            if isinstance(rule, OptimalMultiDraftRule) and rule.num_drafts > 1:
                check_coupling_size(vocab_size, rule.num_drafts)

    def verify_round(
        self,
        draft_probs: Any,
        target_probs: Any,
        tokens: Any,
        rng: np.random.Generator,
        stop_token: int | None = None,
    ) -> RoundVerdict:
        """The tree in the path layout (``tokens`` (M, k): M root-to-leaf paths, shared
        prefixes repeated) gathered into the node layout, or in the node layout itself
        (``tokens`` (N,)); then :meth:`verify_tree`."""
        draft, target, drafts = on_host(draft_probs), on_host(target_probs), on_host(tokens)
        if drafts.ndim == 1:
            return self.verify_tree(draft, target, drafts, rng, stop_token)
        layout = self.layout(int(drafts.shape[1]))
        node_tokens, node_draft, node_target = node_arrays(layout, draft, target, drafts)
        return self.verify_tree(node_draft, node_target, node_tokens, rng, stop_token)

    def verify_tree(
        self,
        draft_probs: Any,
        target_probs: Any,
        tokens: Any,
        rng: np.random.Generator,
        stop_token: int | None = None,
    ) -> RoundVerdict:
        """Verify a tree in the node layout (:mod:`.tree_layout`): ``tokens`` (N,) of
        slots 1..N (-1: a child that could not be drawn without replacement),
        ``draft_probs`` (inner, V) the laws the children of each inner slot were drawn
        from, ``target_probs`` (inner, V), or (1 + N, V) with the deepest level's laws
        for the bonus token.

        Walks down from the root (SpecInfer's multi-step speculative sampling): the
        children of the node reached at depth d are the candidates of ``rules[d]``; all
        refused ends the round with the rule's recovered token (one rejection); a kept
        child is the next node. Once the subtree below is a chain, it is verified as SD
        verifies a sequence (:data:`_CHAIN_STEP`; one uniform per position and one for
        the last draw), so a chain tree consumes randomness as ``Speculative`` does and a
        star as ``BatchSpeculative``. The verdict's ``row`` is the first root-to-leaf
        path through the last kept node.
        """
        draft, target, drafts = on_host(draft_probs), on_host(target_probs), on_host(tokens)
        layout = self.layout(cut_depth(self.branching, int(drafts.shape[0])))
        bonus = target.shape[0] > layout.inner
        index, kept = 0, list[int]()  # the node reached at depth len(kept)
        for d in range(layout.depth):
            slot = layout.slot(d, index)
            if all(b == 1 for b in layout.branching[d:]):
                return self._chain_tail(
                    layout, d, index, kept, draft, target, drafts, rng, stop_token
                )
            children = layout.children(d, index)
            candidates = drafts[children.start - 1 : children.stop - 1]  # (b,)
            winner, token = self._children(
                self.rules[d], draft[slot], target[slot], candidates, rng
            )
            if winner < 0:
                return RoundVerdict(layout.row_of(d, index), d, token, True, (*kept, token))
            index = index * layout.branching[d] + winner
            kept.append(token)
            if stop_token is not None and token == stop_token:
                return RoundVerdict(layout.row_of(d + 1, index), d + 1, None, False, tuple(kept))
        row = layout.row_of(layout.depth, index)
        if not bonus:
            return RoundVerdict(row, layout.depth, None, False, tuple(kept))
        leaf = layout.slot(layout.depth, index)
        token = int(sample_categorical(target[leaf], rng))
        return RoundVerdict(row, layout.depth, token, False, (*kept, token))

    def _children(
        self, rule: Any, draft: np.ndarray, target: np.ndarray, candidates: np.ndarray, rng: Any
    ) -> tuple[int, int]:
        """One node's verification by its depth's rule: (winner or -1, token)."""
        if self.replacement:  # the batch round start's call, the same draws
            winner, token = rule.verify(draft, target, candidates, rng)
            return int(winner), int(token)
        winner, token = rule.verify(draft[None], target[None], candidates[None], rng)
        return int(winner[0]), int(token[0])

    @staticmethod
    def _chain_tail(
        layout: TreeLayout,
        depth: int,
        index: int,
        kept: list[int],
        draft: np.ndarray,
        target: np.ndarray,
        drafts: np.ndarray,
        rng: np.random.Generator,
        stop_token: int | None,
    ) -> RoundVerdict:
        """The chain below node ``index`` of ``depth`` (every remaining branching is 1):
        verified by SD's sequence verification from that node to the leaf."""
        levels = range(depth, layout.depth + 1)
        slots = [layout.slot(d, index) for d in levels]  # the node and its chain
        scored = slots if target.shape[0] > layout.inner else slots[:-1]
        chain = drafts[np.asarray(slots[1:]) - 1]  # (k',)
        u = uniforms(rng, (len(chain) + 1,))  # (k'+1,)
        verdict = verify_sequence(
            _CHAIN_STEP, draft[slots[:-1]], target[scored], chain, u, stop_token
        )
        accepted = int(verdict.accepted)
        follower = int(verdict.next_token)
        tokens = (*kept, *chain[:accepted].tolist(), *([] if follower < 0 else [follower]))
        return RoundVerdict(
            layout.row_of(depth, index),
            depth + accepted,
            None if follower < 0 else follower,
            bool(int(verdict.rejected)),
            tuple(int(t) for t in tokens),
        )
