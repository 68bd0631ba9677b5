"""Recursive rejection over M drafted candidates: the round start of batch SD.

Paper Algorithm 4 (p = draft, q = target). The M first tokens of M independent draft
sequences, all drawn from ``p``, are tried in turn against a shrinking target:
``r_1 = q``; candidate m is accepted with probability ``min(1, r_m(x)/p(x))``; after its
rejection ``r_{m+1} = [r_m - p]_+`` normalised. If all M are refused, the position is
filled from ``r_{M+1}`` (this counts as one rejection). The output is exactly ``q`` and

    P(all M rejected) = prod_{m=1..M} TV(p, r_m).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from specbound.core.distance import _residual, _tv
from specbound.core.rules import _ratio_accept
from specbound.core.sampling import sample_categorical, sample_rows, uniforms
from specbound.core.validation import as_distribution, check_same_shape
from specbound.errors import InvalidAlgorithmError

__all__ = [
    "RecursiveRejectionRule",
    "all_rejected_probability",
    "recursive_residuals",
]

Array = NDArray[np.float64]


def _check_num_drafts(num_drafts: int) -> int:
    if isinstance(num_drafts, bool) or not isinstance(num_drafts, (int, np.integer)):
        raise InvalidAlgorithmError(f"num_drafts must be an integer >= 1, got {num_drafts!r}")
    if num_drafts < 1:
        raise InvalidAlgorithmError(f"num_drafts must be >= 1, got {num_drafts}")
    return int(num_drafts)


def _residual_chain(draft: Array, target: Array, num_drafts: int) -> Array:
    chain = [target]
    for _ in range(num_drafts):
        chain.append(_residual(draft, chain[-1]))
    return np.stack(chain, axis=-2)  # (..., M+1, V)


@dataclass(frozen=True)
class RecursiveRejectionRule:
    """Verification of M candidates at a batch round start (paper Algorithm 4)."""

    num_drafts: int

    def __post_init__(self) -> None:
        _check_num_drafts(self.num_drafts)

    def residuals(self, draft: Array, target: Array) -> Array:
        """``r_1 = q, ..., r_{M+1}``: (..., V) -> (..., M+1, V)."""
        return _residual_chain(draft, target, self.num_drafts)

    def all_rejected_probability(self, draft: Array, target: Array) -> Array:
        """``prod_m TV(p, r_m)``: the chance the round start is a rejection. (...,)"""
        chain = self.residuals(draft, target)  # (..., M+1, V)
        return np.prod(_tv(draft[..., None, :], chain[..., :-1, :]), axis=-1)

    def output_distribution(self, draft: Array, target: Array) -> Array:
        """The law of the token the round start outputs (equals ``target``): (..., V)."""
        chain = self.residuals(draft, target)  # (..., M+1, V)
        reach = np.ones(draft.shape[:-1])  # (...,) P(candidates 1..m-1 all rejected)
        out = np.zeros_like(draft)
        for m in range(self.num_drafts):
            out += reach[..., None] * np.minimum(draft, chain[..., m, :])
            reach = reach * _tv(draft, chain[..., m, :])
        return out + reach[..., None] * chain[..., -1, :]

    def verify(
        self,
        draft: Array,
        target: Array,
        candidates: NDArray[np.int64],
        rng: np.random.Generator,
    ) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
        """Try ``candidates`` (..., M) in order; return (winner, token), both (...,).

        ``winner`` is the index of the accepted candidate, or -1 when all were rejected;
        ``token`` is the accepted candidate, or a draw from ``r_{M+1}``.
        """
        chain = self.residuals(draft, target)  # (..., M+1, V)
        accept = _ratio_accept(chain[..., :-1, :], draft[..., None, :])  # (..., M, V)
        b = np.take_along_axis(accept, candidates[..., None], axis=-1)[..., 0]  # (..., M)
        u = uniforms(rng, b.shape)  # (..., M)
        recovered = sample_categorical(chain[..., -1, :], rng)  # (...,)
        return _first_accepted(u < b, candidates, recovered)

    def verify_rows(
        self,
        draft_table: Array,
        target_table: Array,
        rows: NDArray[np.int64],
        candidates: NDArray[np.int64],
        rng: np.random.Generator,
    ) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
        """``verify(draft_table[rows], target_table[rows], candidates, rng)``, same draws.

        ``draft_table``/``target_table`` (K, V), ``rows`` (...,): the residual chain is
        built once per table row instead of once per entry of ``rows`` (for simulators
        running many rounds from the rows of one small table).
        """
        chain = self.residuals(draft_table, target_table)  # (K, M+1, V)
        accept = _ratio_accept(chain[:, :-1, :], draft_table[:, None, :])  # (K, M, V)
        slots = np.arange(self.num_drafts)  # (M,)
        b = accept[rows[..., None], slots, candidates]  # (..., M)
        u = uniforms(rng, b.shape)  # (..., M)
        recovered = sample_rows(chain[:, -1, :], rows, rng)  # (...,)
        return _first_accepted(u < b, candidates, recovered)


def _first_accepted(
    accepted: NDArray[np.bool_], candidates: NDArray[np.int64], recovered: NDArray[np.int64]
) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """The first accepted candidate and its token, else (-1, the recovered token)."""
    first = np.argmax(accepted, axis=-1)  # (...,)
    some = accepted.any(axis=-1)  # (...,)
    chosen = np.take_along_axis(candidates, first[..., None], axis=-1)[..., 0]  # (...,)
    return np.where(some, first, -1).astype(np.int64), np.where(some, chosen, recovered)


def _checked(draft_probs: ArrayLike, target_probs: ArrayLike) -> tuple[Array, Array]:
    draft = as_distribution(draft_probs, "draft_probs")
    target = as_distribution(target_probs, "target_probs")
    check_same_shape(draft, target, ("draft_probs", "target_probs"))
    return draft, target


def recursive_residuals(draft_probs: ArrayLike, target_probs: ArrayLike, num_drafts: int) -> Array:
    """The targets ``r_1 = q, ..., r_{M+1}`` of recursive rejection: (..., M+1, V)."""
    return RecursiveRejectionRule(num_drafts).residuals(*_checked(draft_probs, target_probs))


def all_rejected_probability(
    draft_probs: ArrayLike, target_probs: ArrayLike, num_drafts: int
) -> Array:
    """Probability that all M candidates are refused: ``prod_m TV(p, r_m)`` (Theorem 3)."""
    rule = RecursiveRejectionRule(num_drafts)
    return rule.all_rejected_probability(*_checked(draft_probs, target_probs))
