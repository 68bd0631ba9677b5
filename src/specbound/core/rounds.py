"""Expected rejections and target calls along one output path (beyond the paper).

SD outputs exactly the target's law, and *given the output path* the acceptance events at
different positions are independent: at a drafted position with output token ``x``,

    P(accepted | output x) = p(x) b(x) / A(x)      (A = p*b + r*P, the step's output law)

which for SD is ``min(p, q)(x) / q(x)`` (p = draft, q = target). At a batch round start
with M candidates it is ``1 - P(all rejected) * r_{M+1}(x) / q(x)``. A forward recursion
over "position within the round" then gives the exact conditional expectation of the
rejections and target calls of any draft length gamma along that path; averaging over
paths drawn from the output law is an unbiased estimate of the unconditional values. This
is how :func:`specbound.profile` predicts a real model pair's speed-up.

Round structure (the counting rules of :mod:`specbound.algorithms`): a round starts at
state 0 (one target call), drafts up to gamma tokens (states 0..gamma-1); a refused draft
is a rejection and the next position starts a new round; after gamma acceptances the
position in state gamma is the bonus token (never refused) and the next position starts a
new round. ``gamma=None`` drafts to the horizon (no bonus ever).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from specbound.core.batch import RecursiveRejectionRule
from specbound.core.rules import StepRule, output_distribution

__all__ = [
    "PathCounts",
    "acceptance_given_output",
    "expected_counts_given_path",
    "round_start_acceptance_given_output",
]

Array = NDArray[np.float64]


def _safe_ratio(numerator: Array, denominator: Array) -> Array:
    positive = denominator > 0
    # NOTE: a token with output probability 0 is never output; its value is irrelevant.
    return np.where(positive, numerator / np.where(positive, denominator, 1.0), 1.0)


def acceptance_given_output(rule: StepRule, draft: Array, target: Array) -> Array:
    """``P(accepted | output x) = p(x) b(x) / A(x)`` for every token x: (..., V)."""
    accepted_mass = draft * rule.accept_probs(draft, target)  # (..., V)
    return np.clip(_safe_ratio(accepted_mass, output_distribution(rule, draft, target)), 0, 1)


def round_start_acceptance_given_output(
    rule: RecursiveRejectionRule, draft: Array, target: Array
) -> Array:
    """``1 - P(all M rejected) r_{M+1}(x) / q(x)`` at a batch round start: (..., V)."""
    chain = rule.residuals(draft, target)  # (..., M+1, V)
    all_rejected = rule.all_rejected_probability(draft, target)[..., None]  # (..., 1)
    rejected_mass = all_rejected * chain[..., -1, :]  # (..., V)
    return np.clip(1.0 - _safe_ratio(rejected_mass, target), 0.0, 1.0)


@dataclass(frozen=True)
class PathCounts:
    """Conditional expectations given the output path (arrays over the leading axes)."""

    rejections: Array
    target_calls: Array


def expected_counts_given_path(
    accept: Array,
    gamma: int | None,
    round_start_accept: Array | None = None,
) -> PathCounts:
    """E[rejections | path] and E[target calls | path] by a forward recursion.

    ``accept`` (..., T): probability that the drafted token at position n is accepted,
    given the output path. ``round_start_accept`` (..., T): the same at a round start when
    it differs (batch SD); defaults to ``accept``.
    """
    accept = np.asarray(accept, dtype=np.float64)
    start_accept = accept if round_start_accept is None else np.asarray(round_start_accept)
    horizon = accept.shape[-1]
    depth = horizon if gamma is None else gamma  # gamma=None: the bonus state is unreachable
    lead = accept.shape[:-1]
    state = np.zeros((*lead, depth + 1))  # (..., gamma+1) law of the position-in-round
    state[..., 0] = 1.0
    rejections = np.zeros(lead)
    calls = np.zeros(lead)
    for n in range(horizon):
        calls += state[..., 0]
        a = np.concatenate(  # (..., gamma) acceptance in states 0..gamma-1
            [start_accept[..., n, None], np.repeat(accept[..., n, None], depth - 1, axis=-1)],
            axis=-1,
        )
        drafted = state[..., :depth]  # (..., gamma)
        refused = drafted * (1.0 - a)
        rejections += refused.sum(axis=-1)
        nxt = np.zeros_like(state)
        nxt[..., 1:] = drafted * a
        nxt[..., 0] = refused.sum(axis=-1) + state[..., depth]
        state = nxt
    return PathCounts(rejections=rejections, target_calls=calls)
