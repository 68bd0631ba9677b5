"""Token-tree rounds on language models (SpecInfer; Sequoia's trees without replacement).

A round of ``TreeSpeculative(branching=(b_1, ..., b_D))`` with ``base`` tokens so far:

1. *draft* — depth by depth, one draft forward per depth over every node of that depth
   (tree attention, :mod:`specbound.lm.tree_mask`): the law at each node is warped
   exactly as the sequence drafter warps it, and its ``b_{d+1}`` children are drawn from
   it i.i.d. (inverse CDF on the round's uniforms, drawn up front in slot order) or one
   after another without replacement (each draw from the law with the earlier children
   removed, renormalised; the law kept for verification is the node's own law, from
   which the rule removes the drawn tokens itself). The tree is cut to the positions left.
2. *score* — **one target call** over the pending tokens and every node (the deepest
   level only when a bonus position follows): each node sees the prefix, its ancestors
   and itself, at position ``depth`` after the root.
3. *verify* — the family's rule in the node layout: walking down from the root
   (:meth:`~specbound.core.families.TreeFamily.verify_round`), or judging the whole tree
   leaves first (traversal verification,
   :meth:`~specbound.core.families.TraversalTreeFamily.verify_round`, NumPy on the host):
   the accepted path, then the recovered or bonus token.
4. both caches keep only the accepted path (:meth:`~specbound.lm.cache.CachedLM.keep_slots`).

Counting as for every family: one target call per round, tokens per call = accepted
depth + 1, a round whose children were all refused at some node (traversal: whose kept
path is shorter than the tree's depth) is one rejection.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from specbound.algorithms import Algorithm
from specbound.core import kernels
from specbound.core.families import RoundShapes, TreeLayout
from specbound.lm.arrays import kernel_array, uniform_tensor
from specbound.lm.cache import CachedLM
from specbound.lm.decode_state import (
    Clock,
    Counts,
    RoundCallback,
    TokenCallback,
    cut_at_eos,
    emit,
    ids_tensor,
    prefill,
)
from specbound.lm.loading import ModelPair
from specbound.lm.stats import RoundTiming
from specbound.lm.tree_mask import tree_inputs
from specbound.lm.verification import verify_round
from specbound.lm.warping import SamplingConfig, warp_probs

__all__ = ["TreeDrafter", "TreeProposal", "TreeShape", "decode_tree", "score_tree", "tree_shape"]


@dataclass(frozen=True)
class TreeShape:
    """A family's tree: children per node at each depth, drawn with ``replacement``."""

    branching: tuple[int, ...]
    replacement: bool


class _TreeShape(RoundShapes["TreeShape | None"]):
    def tree_rounds(self, rules: tuple[Any, ...], replacement: bool) -> TreeShape | None:
        return TreeShape(tuple(int(rule.num_drafts) for rule in rules), replacement)

    def traversal_rounds(self, rule: Any, branching: tuple[int, ...]) -> TreeShape | None:
        return TreeShape(branching, True)  # drafted as any tree; children i.i.d.

    def otherwise(self, shape: str) -> TreeShape | None:
        return None


def tree_shape(algorithm: Algorithm) -> TreeShape | None:
    """The tree the algorithm's family drafts, or None when its rounds are not trees."""
    return algorithm.family.interpret(_TreeShape())


@dataclass(frozen=True)
class TreeProposal:
    """A drafted tree in the node layout: ``tokens`` (N,) of slots 1..N (-1: a child that
    could not be drawn without replacement) and the float64 ``draft_probs`` (inner, V)
    each inner slot's children were drawn from."""

    tokens: torch.Tensor
    draft_probs: torch.Tensor


class TreeDrafter:
    """Drafts token trees with the draft model and its KV cache (one row, tree attention).

    ``forward_calls`` counts the draft's forwards (one per depth)."""

    def __init__(self, lm: CachedLM, sampling: SamplingConfig, replacement: bool) -> None:
        self.lm = lm
        self.sampling = sampling
        self.replacement = replacement
        self.forward_calls = 0

    def start(self, tokens: Sequence[int]) -> None:
        prefill(self.lm, tokens)

    def propose(
        self, tokens: Sequence[int], layout: TreeLayout, rng: np.random.Generator
    ) -> TreeProposal:
        """Draft the tree ``layout`` after ``tokens`` (everything so far, the root last).

        Leaves the cache holding the prefix, the root and every node above the deepest
        level, at their absolute slots (``len(tokens) - 1 + slot``)."""
        lm, device = self.lm, self.lm.device
        base = len(tokens)
        u = uniform_tensor(rng, (layout.size,), device)  # (N,) float64, slot order
        laws = torch.empty((layout.inner, lm.vocab_size), dtype=torch.float64, device=device)
        nodes = torch.empty(layout.size, dtype=torch.long, device=device)  # (N,)
        logits = lm.extend(ids_tensor(tokens[lm.length :], device))[0]  # (1, V) at the root
        for depth in range(layout.depth):
            parents = layout.slots_at(depth)
            if depth > 0:
                positions, visible = tree_inputs(
                    layout, base, lm.length, parents.start, len(parents), device
                )
                ids = nodes[parents.start - 1 : parents.stop - 1].clamp(min=0)[None]  # (1, n)
                logits = lm.extend_tree(ids, positions, visible, keep=len(parents))[0]
            self.forward_calls += 1
            law = laws[parents.start : parents.stop]  # (n, V) view
            law.copy_(warp_probs(logits, self.sampling))
            children = layout.slots_at(depth + 1)
            drawn = self._children(
                law, layout.branching[depth], u[children.start - 1 : children.stop - 1]
            )
            nodes[children.start - 1 : children.stop - 1] = drawn
        return TreeProposal(tokens=nodes, draft_probs=laws)

    def _children(self, law: torch.Tensor, count: int, u: torch.Tensor) -> torch.Tensor:
        """``count`` children of every row of ``law`` (n, V) from the uniforms ``u``
        (n * count,): (n * count,), child c of row i at ``i * count + c``."""
        if self.replacement:
            return kernels.inverse_cdf(law.repeat_interleave(count, dim=0), u)  # i.i.d.
        left = law.clone()  # (n, V): the law with the earlier children removed
        out = torch.full((law.shape[0], count), -1, dtype=torch.long, device=law.device)
        rows = torch.arange(law.shape[0], device=law.device)
        for c in range(count):
            alive = left.sum(dim=-1) > 0  # (n,) a token of positive mass is left
            drawn = kernels.inverse_cdf(left, u.view(-1, count)[:, c]).clamp(max=law.shape[-1] - 1)
            out[:, c] = torch.where(alive, drawn, -1)
            left[rows[alive], drawn[alive]] = 0.0
        return out.reshape(-1)

    def keep(self, base: int, path: list[int]) -> None:
        """Keep the prefix and the accepted path's nodes (tree slots ``path``)."""
        self.lm.keep_slots(base, [base - 1 + slot for slot in path])


def score_tree(
    target: CachedLM,
    tokens: Sequence[int],
    nodes: torch.Tensor,
    layout: TreeLayout,
    bonus: bool,
    sampling: SamplingConfig,
) -> torch.Tensor:
    """One target forward over the pending tokens and the tree's nodes (the deepest level
    only with a ``bonus`` position): the warped laws at the root and every scored node,
    (1 + scored, V) float64, in slot order."""
    scored = layout.size if bonus else layout.inner - 1
    base = len(tokens)
    positions, visible = tree_inputs(layout, base, target.length, 0, 1 + scored, target.device)
    pending = ids_tensor(tokens[target.length :], target.device)  # (1, P)
    ids = torch.cat([pending, nodes[:scored].clamp(min=0).to(target.device)[None]], dim=1)
    logits = target.extend_tree(ids, positions, visible, keep=1 + scored)[0]  # (1+scored, V)
    return warp_probs(logits, sampling)


def decode_tree(
    pair: ModelPair,
    algorithm: Algorithm,
    shape: TreeShape,
    tokens: list[int],
    max_new_tokens: int,
    sampling: SamplingConfig,
    rngs: tuple[np.random.Generator, np.random.Generator],
    eos: int | None,
    on_tokens: TokenCallback | None,
    on_round: RoundCallback | None,
    clock: Clock,
    counts: Counts,
) -> int:
    """Tree rounds until the horizon or EOS (``tokens`` grows in place); returns the
    draft's forward calls."""
    draft_rng, verify_rng = rngs
    target = CachedLM(pair.target, pair.vocab_size)
    drafter = TreeDrafter(CachedLM(pair.draft, pair.vocab_size), sampling, shape.replacement)
    target.check_tree_attention()  # before any work
    drafter.lm.check_tree_attention()
    t0 = time.perf_counter()
    prefill(target, tokens)
    t1 = time.perf_counter()
    drafter.start(tokens)
    t2 = time.perf_counter()
    clock.prefill += t2 - t0
    clock.target += t1 - t0
    clock.draft += t2 - t1
    done = 0
    layouts: dict[int, TreeLayout] = {}
    while done < max_new_tokens:
        remaining = max_new_tokens - done
        depth = algorithm.family.proposal(algorithm.gamma, remaining).length
        if depth not in layouts:  # its masks and paths are computed once per depth
            layouts[depth] = TreeLayout(shape.branching[:depth])
        layout = layouts[depth]
        base = len(tokens)
        bonus = depth < remaining

        t0 = time.perf_counter()
        proposal = drafter.propose(tokens, layout, draft_rng)
        t1 = time.perf_counter()
        target_probs = score_tree(target, tokens, proposal.tokens, layout, bonus, sampling)
        t2 = time.perf_counter()
        clock.draft += t1 - t0
        clock.target += t2 - t1
        counts.target_calls += 1
        outcome = verify_round(
            algorithm,
            kernel_array(proposal.draft_probs),
            kernel_array(target_probs),
            kernel_array(proposal.tokens),
            verify_rng,
            eos_token_id=eos,
        )
        counts.drafted += layout.size
        counts.rejections += int(outcome.rejected)
        counts.accepted.append(outcome.accepted)
        path = layout.path_slots(outcome.row, outcome.accepted)
        target.keep_slots(base, [base - 1 + slot for slot in path])
        drafter.keep(base, path)
        emitted, stop = cut_at_eos(list(outcome.emitted), eos)
        tokens.extend(emitted)
        done += len(emitted)
        if on_round is not None:
            cost = algorithm.family.round_cost(depth, bonus=bonus)
            other = time.perf_counter() - t2
            timing = RoundTiming(
                depth, cost.rows_scored, cost.sequences, base, t1 - t0, t2 - t1, other
            )
            on_round(timing)
        emit(on_tokens, emitted, clock)
        if stop:
            break
    return drafter.forward_calls
