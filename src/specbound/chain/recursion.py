"""The forward recursion over (phase, previous token): exact theory of every algorithm.

Let ``alpha_n[j, s]`` = P(position ``n`` is filled in phase ``j`` and ``x_n = s``) (phases:
:mod:`specbound.chain.spec`). With the step kernels of position ``n``
(the rules' :class:`~specbound.core.rules.SplitLaw`: ``K0`` at a round start, ``K``
inside a round) and
``I = alpha_n[inside].sum(0)``:

    P(rejection at n)   = alpha_n[0] . K0.reject + I . K.reject
    P(round starts at n) = alpha_n[0].sum()
    alpha_{n+1}[0]      = alpha_n[0] @ K0.rejected + I @ K.rejected + alpha_n[bonus] @ q_n
    alpha_{n+1}[1]      = alpha_n[0] @ K0.accepted (+ alpha_n[1] @ K.accepted if gamma=None)
    alpha_{n+1}[j+1]    = alpha_n[j] @ K.accepted                     (1 <= j < gamma)

starting from ``alpha_0 = delta(phase 0, start)``. Cost ``O(T * phases * S^2)``.

For ``gamma=None`` without a round-start rule (SD, over-acceptance) the phase does not
change the step, so one state suffices: ``mu_{n+1} = mu_n @ A_n`` with ``A_n`` the rule's
output law (the target's kernel when the rule is unbiased — Theorem 1), and a round starts
at ``n+1`` exactly when position ``n`` was a rejection.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from specbound.chain.block_theory import block_recursion
from specbound.chain.model import MarkovChain, check_pair
from specbound.chain.spec import (
    DecodingAlgorithm,
    PhaseLayout,
    at_horizon,
    describe,
    draft_length,
)
from specbound.chain.traversal_theory import traversal_recursion
from specbound.core import kernels
from specbound.core.batch import limit_round_start_split
from specbound.core.block import BlockVerificationRule
from specbound.core.families import RoundShapes
from specbound.core.rules import (
    SplitLaw,
    StepRule,
    output_distribution,
    step_rejection_probability,
)
from specbound.core.traversal import TraversalVerificationRule

__all__ = [
    "ChainTheory",
    "advance",
    "advance_depths",
    "analyse",
    "depth_kernels",
    "position_kernels",
]

Array = NDArray[np.float64]
Apply = Callable[[Array, Array], Array]


@dataclass(frozen=True)
class ChainTheory:
    """Exact per-position theory of one algorithm on one (draft, target) pair.

    ``rejection_prob[n]`` = P(position n is a rejection); ``round_start_prob[n]`` =
    P(a round, i.e. a target call, starts at n); ``draft_calls_per_round[n]`` = tokens a
    round starting at n drafts; ``bias[n]`` = E[TV(law of x_{n+1} given the decoder's
    state at n, q_n(x_n))] — zero for unbiased algorithms.
    """

    algorithm: dict[str, Any]
    rejection_prob: Array = field(repr=False)  # (T,)
    round_start_prob: Array = field(repr=False)  # (T,)
    draft_calls_per_round: Array = field(repr=False)  # (T,)
    bias: Array = field(repr=False)  # (T,)

    @property
    def rejections(self) -> float:
        """``E[N_rej]``."""
        return float(self.rejection_prob.sum())

    @property
    def target_calls(self) -> float:
        """``E[target calls]`` = expected number of rounds."""
        return float(self.round_start_prob.sum())

    @property
    def draft_calls(self) -> float:
        """``E[draft calls]`` = sum over rounds of their drafted length."""
        return float(self.round_start_prob @ self.draft_calls_per_round)

    @property
    def total_bias(self) -> float:
        """Sum over positions of the expected per-step bias."""
        return float(self.bias.sum())

    def to_dict(self, per_position: bool = True) -> dict[str, Any]:
        out: dict[str, Any] = {
            "algorithm": self.algorithm,
            "rejections": self.rejections,
            "target_calls": self.target_calls,
            "draft_calls": self.draft_calls,
            "total_bias": self.total_bias,
        }
        if per_position:
            out["per_position"] = {
                "rejection_prob": self.rejection_prob.tolist(),
                "round_start_prob": self.round_start_prob.tolist(),
                "bias": self.bias.tolist(),
            }
        return out


def position_kernels(
    step_rule: StepRule,
    start_rule: Any | None,
    draft: Array,
    target: Array,
    *,
    limit: bool = False,
) -> tuple[SplitLaw, SplitLaw]:
    """(round-start kernel, inside kernel) of one position, for every previous token:
    the rules' split laws on the (S, S) kernels; ``limit``: batch SD as M -> infinity."""
    inside = step_rule.split(draft, target)
    if limit:
        return limit_round_start_split(draft, target), inside
    if start_rule is None:
        return inside, inside
    return start_rule.split(draft, target), inside


def advance(
    layout: PhaseLayout,
    mass: Array,
    start: SplitLaw,
    inside: SplitLaw,
    target: Array,
    apply: Apply,
) -> list[Array]:
    """One step of the phase recursion (module docstring) on ``mass`` (phases, ...).

    ``apply(m, kernel)`` pushes a mass vector through an (S, S) kernel: ``m @ kernel`` for
    the forward recursion, an outer product per prefix for sequence enumeration.
    """
    inside_mass = mass[layout.inside].sum(axis=0)  # (...,)
    restart = apply(mass[0], start.rejected) + apply(inside_mass, inside.rejected)
    if layout.bonus is not None:
        restart = restart + apply(mass[layout.bonus], target)
    new = [restart, apply(mass[0], start.accepted)]
    if layout.gamma is None:
        new[1] = new[1] + apply(mass[1], inside.accepted)
    else:
        new.extend(apply(mass[j], inside.accepted) for j in range(1, layout.gamma))
    return new


def depth_kernels(rules: tuple[Any, ...], draft: Array, target: Array) -> list[SplitLaw]:
    """The split law of each depth's rule on the (S, S) kernels of one position (a rule
    shared by several depths is split once)."""
    cache: dict[Any, SplitLaw] = {}
    for rule in rules:
        if rule not in cache:
            cache[rule] = rule.split(draft, target)
    return [cache[rule] for rule in rules]


def advance_depths(
    mass: Array, kernels: list[SplitLaw], target: Array, apply: Apply
) -> list[Array]:
    """One step of the tree recursion on ``mass`` (D+1, ...): phase d < D is a node at
    depth d of the accepted path (its children verified by ``kernels[d]``), phase D the
    bonus position after an accepted leaf. A refused node or a bonus starts a new round."""
    depth = len(kernels)
    restart = apply(mass[depth], target)
    for d, kernel in enumerate(kernels):
        restart = restart + apply(mass[d], kernel.rejected)
    return [restart, *(apply(mass[d], kernels[d].accepted) for d in range(depth))]


def _matmul(mass: Array, kernel: Array) -> Array:
    return mass @ kernel  # (S,) @ (S, S) -> (S,)


def _single_phase(
    algorithm: DecodingAlgorithm, rule: StepRule, draft: MarkovChain, target: MarkovChain
) -> tuple[Array, Array, Array]:
    T, S = draft.horizon, draft.num_states
    rejection, bias = np.zeros(T), np.zeros(T)  # (T,)
    mu = np.zeros(S)  # (S,) law of x_n
    mu[draft.start] = 1.0
    for n in range(T):
        p, q = draft.transitions[n], target.transitions[n]  # (S, S)
        rejection[n] = mu @ step_rejection_probability(rule, p, q)
        if algorithm.unbiased:  # Theorem 1: the output chain is the target chain
            mu = mu @ q
        else:
            out = output_distribution(rule, p, q)  # (S, S)
            bias[n] = mu @ kernels.tv_rows(out, q)
            mu = mu @ out
    starts = np.concatenate(([1.0], rejection[:-1]))  # (T,) a rejection at n starts n+1
    return rejection, starts, bias


def _phases(
    algorithm: DecodingAlgorithm,
    rules: tuple[StepRule, Any | None],
    draft: MarkovChain,
    target: MarkovChain,
    limit: bool,
) -> tuple[Array, Array, Array]:
    layout = PhaseLayout(algorithm.gamma)
    T, S = draft.horizon, draft.num_states
    rejection, starts, bias = np.zeros(T), np.zeros(T), np.zeros(T)  # (T,)
    alpha = np.zeros((layout.count, S))  # (phases, S)
    alpha[0, draft.start] = 1.0
    for n in range(T):
        p, q = draft.transitions[n], target.transitions[n]  # (S, S)
        k0, k = position_kernels(*rules, p, q, limit=limit)
        inside_mass = alpha[layout.inside].sum(axis=0)  # (S,)
        rejection[n] = alpha[0] @ k0.reject + inside_mass @ k.reject
        starts[n] = alpha[0].sum()
        if not algorithm.unbiased:
            bias[n] = alpha[0] @ kernels.tv_rows(k0.output, q) + inside_mass @ kernels.tv_rows(
                k.output, q
            )
        alpha = np.stack(advance(layout, alpha, k0, k, q, _matmul))  # (phases, S)
    return rejection, starts, bias


class _Recursions(RoundShapes[tuple[Array, Array, Array]]):
    """The exact recursion of each round shape (:class:`~specbound.core.families.RoundShapes`):
    (P(rejection at n), P(round starts at n), bias at n), each (T,)."""

    def __init__(
        self, algorithm: DecodingAlgorithm, draft: MarkovChain, target: MarkovChain, limit: bool
    ) -> None:
        self.algorithm, self.draft, self.target, self.limit = algorithm, draft, target, limit

    def no_draft(self) -> tuple[Array, Array, Array]:
        """Autoregressive decoding: one call per token, no rejections."""
        T = self.draft.horizon
        return np.zeros(T), np.ones(T), np.zeros(T)

    def token_rounds(
        self, step_rule: StepRule, start_rule: Any | None
    ) -> tuple[Array, Array, Array]:
        """The phase recursion; one phase suffices to the horizon without a round start."""
        if self.algorithm.gamma is None and start_rule is None and not self.limit:
            return _single_phase(self.algorithm, step_rule, self.draft, self.target)
        rules = (step_rule, start_rule)
        return _phases(self.algorithm, rules, self.draft, self.target, self.limit)

    def tree_rounds(self, rules: tuple[Any, ...], replacement: bool) -> tuple[Array, Array, Array]:
        """The recursion over (depth of the accepted node, state): module docstring of
        :mod:`specbound.core.families.tree`."""
        draft, target = self.draft, self.target
        T, S, D = draft.horizon, draft.num_states, len(rules)
        rejection, starts = np.zeros(T), np.zeros(T)  # (T,)
        alpha = np.zeros((D + 1, S))  # (depths + bonus, S)
        alpha[0, draft.start] = 1.0
        for n in range(T):
            p, q = draft.transitions[n], target.transitions[n]  # (S, S)
            split = depth_kernels(rules, p, q)
            rejection[n] = sum(alpha[d] @ split[d].reject for d in range(D))
            starts[n] = alpha[0].sum()
            alpha = np.stack(advance_depths(alpha, split, q, _matmul))  # (D+1, S)
        return rejection, starts, np.zeros(T)

    def traversal_rounds(
        self, rule: TraversalVerificationRule, branching: tuple[int, ...]
    ) -> tuple[Array, Array, Array]:
        """Traversal verification of a tree: rounds as a whole
        (:mod:`specbound.chain.traversal_theory`)."""
        rejection, starts = traversal_recursion(self.draft, self.target, rule, branching)
        return rejection, starts, np.zeros(self.draft.horizon)

    def block_rounds(self, block_rule: BlockVerificationRule) -> tuple[Array, Array, Array]:
        """Block verification: rounds as a whole (:mod:`specbound.chain.block_theory`)."""
        gamma = self.algorithm.gamma
        rejection, starts = block_recursion(self.draft, self.target, block_rule, gamma)
        return rejection, starts, np.zeros(self.draft.horizon)


def analyse(
    draft: MarkovChain,
    target: MarkovChain,
    algorithm: DecodingAlgorithm,
    *,
    limit: bool = False,
) -> ChainTheory:
    """Run the exact forward recursion; ``limit=True`` replaces batch SD's round start by
    its ``M -> infinity`` limit (Proposition 1)."""
    check_pair(draft, target)
    T = draft.horizon
    algorithm = at_horizon(algorithm, T)
    lengths = np.array([draft_length(algorithm, T, n) for n in range(T)], dtype=np.float64)
    rejection, starts, bias = algorithm.family.interpret(
        _Recursions(algorithm, draft, target, limit)
    )
    info = describe(algorithm)
    if limit:
        info = {**info, "num_drafts": "infinity"}
    return ChainTheory(info, rejection, starts, lengths, bias)
