"""Traversal verification of token trees (Weng et al. 2025) as a family.

The tree is drafted as for :class:`~specbound.core.families.tree.TreeFamily` (every node
at depth d-1 gets ``b_d`` i.i.d. children from the draft law at that node; one target
call scores every node; the tree is cut at the horizon) but judged by
:class:`~specbound.core.traversal.TraversalVerificationRule`: leaves first, each node's
whole path at once. A chain ``(1, ..., 1)`` is block verification with gamma = D.

The round's law is not a product of per-depth split laws (a node's verdict depends on its
subtree), so the chain backends interpret it as its own round shape,
:meth:`~specbound.core.families.RoundShapes.traversal_rounds`. The language-model decoder
drafts and scores it as any token tree (:mod:`specbound.lm.tree_round`) and hands the
round over in the node layout (:meth:`TraversalTreeFamily.verify_round`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from typing import Any, TypeVar

import numpy as np

from specbound.core.families.base import (
    RoundShapes,
    RoundVerdict,
)
from specbound.core.families.transfer import on_host
from specbound.core.families.tree_layout import TreeLayout, cut_depth, node_arrays
from specbound.core.families.tree_shape import TreeShapedFamily
from specbound.core.traversal import TraversalVerificationRule
from specbound.core.traversal import TreeLayout as RuleLayout

__all__ = ["TraversalTreeFamily"]

R = TypeVar("R")


@dataclass(frozen=True)
class TraversalTreeFamily(TreeShapedFamily):
    """A token tree of branching ``shape`` (i.i.d. children) judged by ``rule``."""

    shape: tuple[int, ...]
    rule: TraversalVerificationRule = field(default_factory=TraversalVerificationRule)

    @property
    def branching(self) -> tuple[int, ...]:
        return self.shape

    def interpret(self, shapes: RoundShapes[R]) -> R:
        return shapes.traversal_rounds(self.rule, self.branching)

    def verify_round(
        self,
        draft_probs: Any,
        target_probs: Any,
        tokens: Any,
        rng: np.random.Generator,
        stop_token: int | None = None,
    ) -> RoundVerdict:
        """The tree in the node layout (``tokens`` (N,), :mod:`.tree_layout`: what the
        language-model decoder hands over) or the path layout (``tokens`` (M, k)); NumPy
        arrays or tensors (moved to the host once); then :meth:`verify_tree`."""
        draft, target, drafts = on_host(draft_probs), on_host(target_probs), on_host(tokens)
        if drafts.ndim == 2:
            layout = _slot_layout(self.branching[: int(drafts.shape[1])])
            drafts, draft, target = node_arrays(layout, draft, target, drafts)
        return self.verify_tree(draft, target, drafts, rng, stop_token)

    def verify_tree(
        self,
        draft_probs: np.ndarray,
        target_probs: np.ndarray,
        tokens: np.ndarray,
        rng: np.random.Generator,
        stop_token: int | None = None,
    ) -> RoundVerdict:
        """Verify a tree in the node layout: ``tokens`` (N,) of slots 1..N,
        ``draft_probs`` (inner, V) the laws the children of each inner slot were drawn
        from, ``target_probs`` (inner, V), or (1 + N, V) with the deepest level's laws for
        the bonus token (host NumPy arrays).

        The slots are put in the rule's pre-order (:attr:`TreeLayout.pre_order`) and the
        whole tree is judged at once (:meth:`TraversalVerificationRule.verify`, one run):
        the kept node's path, then the token drawn after it. A kept path shorter than
        the tree's depth is one rejection. ``stop_token``: the output is cut after the
        first stop token on the kept path (the round then ends there, no rejection, no
        next token); cutting a lossless round's output after a stop token leaves the law
        of everything up to it the target's, so the tree is judged whole.
        """
        layout = _slot_layout(self.branching[: cut_depth(self.branching, int(tokens.shape[0]))])
        bonus = target_probs.shape[0] > layout.inner
        order = layout.pre_order  # (1 + N,) node i of the rule's layout is slot order[i]
        size, vocab = 1 + layout.size, target_probs.shape[-1]
        draft = np.zeros((1, size, vocab))  # leaves: no children, their draft law unused
        target = np.zeros((1, size, vocab))  # unscored leaves: their law is never drawn
        inner = order < layout.inner  # slots 0..inner-1 are the inner ones
        draft[0, inner] = draft_probs[order[inner]]
        scored = order < target_probs.shape[0]
        target[0, scored] = target_probs[order[scored]]
        node_tokens = np.concatenate([[-1], np.asarray(tokens, dtype=np.int64)])[order][None]
        outcome = self.rule.verify(
            _rule_layout(layout.branching), draft, target, node_tokens, rng, bonus=bonus
        )
        slot = int(order[int(outcome.node[0])])
        depth = int(layout.depths[slot])
        row = layout.row_of(depth, slot - layout.slot(depth, 0))
        path = [int(tokens[s - 1]) for s in layout.path_slots(row, depth)]
        follower = int(outcome.token[0])
        if stop_token is not None and stop_token in path:
            cut = path.index(stop_token) + 1
            return RoundVerdict(row, cut, None, False, tuple(path[:cut]))
        return RoundVerdict.build(row, path, depth, follower, int(depth < layout.depth))


@cache
def _slot_layout(branching: tuple[int, ...]) -> TreeLayout:
    """The slots of a tree of this (cut) ``branching`` (built once per shape)."""
    return TreeLayout(branching)


@cache
def _rule_layout(branching: tuple[int, ...]) -> RuleLayout:
    """The rule's pre-order layout of a tree of this ``branching`` (built once per shape)."""
    return RuleLayout(branching)
