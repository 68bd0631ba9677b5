"""The straightforward simulator: one run at a time, block drafting, in plain Python.

It is the LM decoder's loop written for a chain: at a round start the draft samples a
whole block (``M`` blocks for batch SD) of ``min(gamma, T - n)`` tokens, the target
verifies it left to right with the same ``core`` rules, the first rejection is replaced
by a recovered token and the rest discarded; after ``gamma`` accepted tokens a bonus
token comes from the target. It is the reference the vectorised simulator is tested
against and the baseline of ``specbound bench sim``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from specbound.chain.model import MarkovChain, check_pair
from specbound.chain.result import SimulationResult
from specbound.chain.simulator import check_runs
from specbound.chain.spec import DecodingAlgorithm, describe, draft_length
from specbound.core.families import RoundShapes
from specbound.core.rules import StepRule, accept_drafted
from specbound.core.sampling import sample_categorical
from specbound.core.traversal import TraversalVerificationRule
from specbound.core.without_replacement import draw_without_replacement

__all__ = ["simulate_reference"]


def _draft_block(
    draft: MarkovChain, n: int, state: int, length: int, copies: int, rng: np.random.Generator
) -> np.ndarray:
    """``copies`` independent draft continuations of ``length`` tokens: (copies, length)."""
    block = np.empty((copies, length), dtype=np.int64)
    prev = np.full(copies, state, dtype=np.int64)  # (copies,)
    for k in range(length):
        prev = sample_categorical(draft.transitions[n + k][prev], rng)  # (copies,)
        block[:, k] = prev
    return block


Tree = list[tuple[int, "Tree"]]


def _draw_tree(
    draft: MarkovChain,
    n: int,
    state: int,
    branching: list[int],
    replacement: bool,
    rng: np.random.Generator,
) -> Tree:
    """A whole token tree below ``state`` at position ``n``: a list of (token, subtree)
    per child (children i.i.d., or without ``replacement``, from the draft's row)."""
    if not branching:
        return []
    law = draft.transitions[n][state]  # (S,)
    if replacement:
        tokens = [int(t) for t in sample_categorical(np.repeat(law[None], branching[0], 0), rng)]
    else:
        tokens = [int(t) for t in draw_without_replacement(law[None], branching[0], rng)[0]]
    return [
        (t, _draw_tree(draft, n + 1, t, branching[1:], replacement, rng) if t >= 0 else [])
        for t in tokens
    ]


def _block_verdict(
    rule: Any,
    draft: MarkovChain,
    target: MarkovChain,
    n: int,
    state: int,
    block: np.ndarray,
    rng: np.random.Generator,
) -> tuple[list[int], int]:
    """The tokens one block-verification round outputs, and whether it was a rejection."""
    k, T = block.size, draft.horizon
    previous = np.concatenate([[state], block])  # (k+1,) X_0..X_k
    draft_laws = np.stack([draft.transitions[n + i][previous[i]] for i in range(k)])
    scored = k + 1 if n + k < T else k  # the bonus position, unless at the horizon
    target_laws = np.stack([target.transitions[n + i][previous[i]] for i in range(scored)])
    outcome = rule.verify(draft_laws, target_laws, block, rng)
    tau, token = int(outcome.tau), int(outcome.token)
    emitted = [int(x) for x in block[:tau]] + ([token] if token >= 0 else [])
    return emitted, int(tau < k)


def _traverse(
    rule: TraversalVerificationRule,
    chains: tuple[MarkovChain, MarkovChain],
    n: int,
    node: tuple[int, float, np.ndarray],
    tree: Tree,
    rng: np.random.Generator,
) -> tuple[list[int], int] | None:
    """Traversal verification of the subtree below a node ``(token, weight, law)`` whose
    children fill position ``n``, in post-order, one uniform per tested node: (the kept
    tokens below it, the next token or -1), or None when the node is refused."""
    draft, target = chains
    state, weight, law = node
    for token, subtree in tree:
        p = draft.transitions[n][state]  # (S,)
        child_weight = float(rule.child_weights(np.array(weight), law, p)[token])
        after = n + 1 < draft.horizon
        child_law = target.transitions[n + 1][token] if after else np.zeros_like(p)
        found = _traverse(rule, chains, n + 1, (token, child_weight, child_law), subtree, rng)
        if found is not None:
            return [token, *found[0]], found[1]
        new_weight, law = rule.refuse_child(np.array(weight), law, p)
        weight = float(new_weight)
    if rng.random() >= weight:
        return None
    if not tree and n >= draft.horizon:  # a kept leaf at the horizon: nothing follows
        return [], -1
    return [], int(sample_categorical(law, rng))


class _Round(RoundShapes[tuple[list[int], int]]):
    """One round of each shape (:class:`~specbound.core.families.RoundShapes`) starting at
    position ``n`` after ``state``: (the tokens it outputs, 1 if it ended in a rejection)."""

    def __init__(
        self,
        draft: MarkovChain,
        target: MarkovChain,
        n: int,
        state: int,
        length: int,
        rng: np.random.Generator,
    ) -> None:
        self.draft, self.target, self.n, self.state = draft, target, n, state
        self.length, self.rng = length, rng

    def no_draft(self) -> tuple[list[int], int]:
        law = self.target.transitions[self.n][self.state]  # (S,)
        return [int(sample_categorical(law, self.rng))], 0

    def block_rounds(self, rule: Any) -> tuple[list[int], int]:
        draft, n, state, rng = self.draft, self.n, self.state, self.rng
        block = _draft_block(draft, n, state, self.length, 1, rng)[0]  # (length,)
        return _block_verdict(rule, draft, self.target, n, state, block, rng)

    def tree_rounds(self, rules: tuple[Any, ...], replacement: bool) -> tuple[list[int], int]:
        """Draw the whole tree first (as a decoder does), then walk the accepted path."""
        draft, target, rng, n0 = self.draft, self.target, self.rng, self.n
        tree = _draw_tree(
            draft,
            n0,
            self.state,
            [int(r.num_drafts) for r in rules][: self.length],
            replacement,
            rng,
        )
        out: list[int] = []
        state, node = self.state, tree
        for d in range(self.length):
            children = np.array([token for token, _ in node], dtype=np.int64)  # (b,)
            p, q = draft.transitions[n0 + d][state], target.transitions[n0 + d][state]  # (S,)
            if replacement:
                winner, token = rules[d].verify(p, q, children, rng)
            else:
                won, drawn = rules[d].verify(p[None], q[None], children[None], rng)
                winner, token = won[0], drawn[0]
            state = int(token)
            out.append(state)
            if int(winner) < 0:
                return out, 1
            node = node[int(winner)][1]
        if n0 + self.length < draft.horizon:  # an accepted leaf: the bonus token
            out.append(int(sample_categorical(target.transitions[n0 + self.length][state], rng)))
        return out, 0

    def traversal_rounds(
        self, rule: TraversalVerificationRule, branching: tuple[int, ...]
    ) -> tuple[list[int], int]:
        """Draw the whole tree first, then the paper's leaf-to-root traversal."""
        cut = list(branching[: self.length])
        tree = _draw_tree(self.draft, self.n, self.state, cut, True, self.rng)
        law = self.target.transitions[self.n][self.state]  # (S,)
        chains = (self.draft, self.target)
        found = _traverse(rule, chains, self.n, (self.state, 1.0, law), tree, self.rng)
        assert found is not None  # the root's weight stays 1: it is never refused
        kept, token = found
        return [*kept, *([token] if token >= 0 else [])], int(len(kept) < self.length)

    def token_rounds(self, rule: StepRule, start_rule: Any | None) -> tuple[list[int], int]:
        draft, target, rng, n, length = self.draft, self.target, self.rng, self.n, self.length
        T = draft.horizon
        copies = 1 if start_rule is None else start_rule.num_drafts
        blocks = _draft_block(draft, n, self.state, length, copies, rng)  # (copies, length)
        block = blocks[0]
        p, q = draft.transitions[n][self.state], target.transitions[n][self.state]  # (S,)
        if start_rule is not None:
            winner, token = start_rule.verify(p, q, blocks[:, 0], rng)
            accepted = int(winner) >= 0
            if accepted:
                block = blocks[int(winner)]
        else:
            accepted = bool(accept_drafted(rule, p[None], q[None], block[:1], rng)[0])
            token = block[0] if accepted else rule.sample_recovered(p, q, rng)
        out: list[int] = []
        k = 0
        while True:
            state = int(token)
            out.append(state)
            n += 1
            if not accepted:
                return out, 1
            k += 1
            if k == length:  # whole block accepted: bonus token if positions remain
                if n < T:
                    out.append(int(sample_categorical(target.transitions[n][state], rng)))
                return out, 0
            p, q = draft.transitions[n][state], target.transitions[n][state]  # (S,)
            accepted = bool(accept_drafted(rule, p[None], q[None], block[k : k + 1], rng)[0])
            token = block[k] if accepted else rule.sample_recovered(p, q, rng)


def _one_run(
    draft: MarkovChain, target: MarkovChain, algorithm: DecodingAlgorithm, rng: np.random.Generator
) -> tuple[int, int, int, list[int]]:
    T = draft.horizon
    rejections = calls = draft_calls = 0
    out: list[int] = []
    state, n = draft.start, 0
    while n < T:
        calls += 1
        length = draft_length(algorithm, T, n)
        draft_calls += length
        emitted, rejected = algorithm.family.interpret(_Round(draft, target, n, state, length, rng))
        rejections += rejected
        out.extend(emitted)
        state, n = emitted[-1], n + len(emitted)
    return rejections, calls, draft_calls, out


def simulate_reference(
    draft: MarkovChain,
    target: MarkovChain,
    algorithm: DecodingAlgorithm,
    n_runs: int = 1_000,
    seed: int = 0,
) -> SimulationResult:
    """Simulate ``n_runs`` runs one after another with one generator ``default_rng(seed)``."""
    check_pair(draft, target)
    n_runs, seed = check_runs(n_runs, seed)
    rng = np.random.default_rng(seed)
    runs = [_one_run(draft, target, algorithm, rng) for _ in range(n_runs)]
    return SimulationResult(
        rejections=np.array([r[0] for r in runs], dtype=np.int64),
        target_calls=np.array([r[1] for r in runs], dtype=np.int64),
        draft_calls=np.array([r[2] for r in runs], dtype=np.int64),
        sequences=np.array([r[3] for r in runs], dtype=np.int64).reshape(n_runs, -1),
        algorithm=describe(algorithm),
        seed=seed,
    )
