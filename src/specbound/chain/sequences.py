"""Exact sequence-level laws by enumerating all ``S**T`` output sequences (small chains).

The phase recursion of :mod:`specbound.chain.recursion` is run per prefix instead of per
last token: ``W[j, prefix]`` = P(the output starts with ``prefix`` and position ``n`` is
filled in phase ``j``). This gives the algorithm's output law over whole sequences even
when it is not a first-order chain (over-acceptance with finite gamma, whose bonus tokens
come from the target), and so the sequence-level TV to the target.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from specbound.chain.block_theory import block_sequence_law
from specbound.chain.model import MarkovChain, check_enumerable, check_pair
from specbound.chain.recursion import advance, advance_depths, depth_kernels, position_kernels
from specbound.chain.spec import DecodingAlgorithm, PhaseLayout, at_horizon
from specbound.chain.traversal_theory import traversal_sequence_law
from specbound.core.block import BlockVerificationRule
from specbound.core.families import RoundShapes
from specbound.core.rules import StepRule
from specbound.core.traversal import TraversalVerificationRule

__all__ = ["DEFAULT_MAX_SEQUENCES", "encode_sequences", "sequence_law", "sequence_tv"]

Array = NDArray[np.float64]

#: Default cap on ``S**T`` for enumeration.
DEFAULT_MAX_SEQUENCES = 1 << 20


class _Enumerations(RoundShapes[Array]):
    """The output sequence law of each round shape
    (:class:`~specbound.core.families.RoundShapes`)."""

    def __init__(
        self,
        algorithm: DecodingAlgorithm,
        draft: MarkovChain,
        target: MarkovChain,
        max_sequences: int,
    ) -> None:
        self.algorithm, self.draft, self.target = algorithm, draft, target
        self.max_sequences = max_sequences

    def no_draft(self) -> Array:
        return self.target.sequence_probs(self.max_sequences)

    def block_rounds(self, block_rule: BlockVerificationRule) -> Array:
        gamma = self.algorithm.gamma
        return block_sequence_law(self.draft, self.target, block_rule, gamma, self.max_sequences)

    def traversal_rounds(
        self, rule: TraversalVerificationRule, branching: tuple[int, ...]
    ) -> Array:
        draft, target = self.draft, self.target
        return traversal_sequence_law(draft, target, rule, branching, self.max_sequences)

    def tree_rounds(self, rules: tuple[Any, ...], replacement: bool) -> Array:
        draft, target = self.draft, self.target
        T, S = draft.horizon, draft.num_states
        mass = np.zeros((len(rules) + 1, 1))  # (depths + bonus, prefixes)
        mass[0, 0] = 1.0
        last = np.array([draft.start])  # (prefixes,)

        def per_prefix(m: Array, kernel: Array) -> Array:
            return (m[:, None] * kernel[last]).ravel()  # (prefixes * S,)

        for n in range(T):
            p, q = draft.transitions[n], target.transitions[n]  # (S, S)
            split = depth_kernels(rules, p, q)
            mass = np.stack(advance_depths(mass, split, q, per_prefix))  # (D+1, prefixes*S)
            last = np.tile(np.arange(S), last.size)  # (prefixes * S,)
        return mass.sum(axis=0).reshape((S,) * T)

    def token_rounds(self, step_rule: StepRule, start_rule: Any | None) -> Array:
        draft, target = self.draft, self.target
        T, S = draft.horizon, draft.num_states
        layout = PhaseLayout(self.algorithm.gamma)
        mass = np.zeros((layout.count, 1))  # (phases, prefixes)
        mass[0, 0] = 1.0
        last = np.array([draft.start])  # (prefixes,) last token of each prefix

        def per_prefix(m: Array, kernel: Array) -> Array:
            return (m[:, None] * kernel[last]).ravel()  # (prefixes * S,)

        for n in range(T):
            p, q = draft.transitions[n], target.transitions[n]  # (S, S)
            k0, k = position_kernels(step_rule, start_rule, p, q)
            mass = np.stack(advance(layout, mass, k0, k, q, per_prefix))  # (phases, prefixes*S)
            last = np.tile(np.arange(S), last.size)  # (prefixes * S,)
        return mass.sum(axis=0).reshape((S,) * T)


def sequence_law(
    draft: MarkovChain,
    target: MarkovChain,
    algorithm: DecodingAlgorithm,
    *,
    max_sequences: int = DEFAULT_MAX_SEQUENCES,
) -> Array:
    """The law of the output ``(x_1..x_T)``: shape ``(S,) * T``, by enumeration."""
    check_pair(draft, target)
    check_enumerable(draft.num_states, draft.horizon, max_sequences)
    algorithm = at_horizon(algorithm, draft.horizon)
    return algorithm.family.interpret(_Enumerations(algorithm, draft, target, max_sequences))


def sequence_tv(
    draft: MarkovChain,
    target: MarkovChain,
    algorithm: DecodingAlgorithm,
    *,
    max_sequences: int = DEFAULT_MAX_SEQUENCES,
) -> float:
    """Exact TV between the algorithm's output sequence law and the target chain's."""
    law = sequence_law(draft, target, algorithm, max_sequences=max_sequences)
    reference = target.sequence_probs(max_sequences)
    return float(0.5 * np.abs(law - reference).sum())


def encode_sequences(sequences: NDArray[np.int64], num_states: int) -> NDArray[np.int64]:
    """Each row ``(x_1..x_T)`` as its index in ``sequence_law(...).ravel()``: (R,)."""
    T = sequences.shape[-1]
    weights = num_states ** np.arange(T - 1, -1, -1, dtype=np.int64)  # (T,)
    return np.asarray(sequences, dtype=np.int64) @ weights
