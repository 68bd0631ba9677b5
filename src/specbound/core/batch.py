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

from specbound.core import kernels
from specbound.core.rules import SplitLaw
from specbound.core.sampling import sample_categorical, sample_rows, uniforms
from specbound.core.validation import checked_pair
from specbound.errors import InvalidAlgorithmError
from specbound.validate import check_int

__all__ = [
    "RecursiveRejectionRule",
    "all_rejected_probability",
    "limit_round_start_split",
    "recursive_residuals",
]

Array = NDArray[np.float64]


def _residual_stack(draft: Array, target: Array, num_drafts: int) -> Array:
    residuals = [target]
    for m in range(num_drafts):
        following = kernels.residual_rows(draft, residuals[-1])
        if np.array_equal(following, residuals[-1]):  # a fixed point: the rest repeat it
            rest = num_drafts - m
            shape = (*following.shape[:-1], rest, following.shape[-1])
            repeated = np.broadcast_to(following[..., None, :], shape)
            return np.concatenate([np.stack(residuals, axis=-2), repeated], axis=-2)
        residuals.append(following)
    return np.stack(residuals, axis=-2)  # (..., M+1, V)


def _round_start_tail(draft: Array, target: Array, num_drafts: int) -> tuple[Array, Array]:
    """``(prod_{m<=M} TV(p, r_m), r_{M+1})`` without building the whole stack.

    The residuals reach a fixed point within a few steps (the mass left on the tokens the
    draft under-proposes most, or on ``{p = 0}``): once ``r_{m+1} == r_m`` exactly in every
    row, every later factor is ``TV(p, r_m)`` and the product is finished with a power, so
    a huge M costs as little as a small one. Once every row's product is 0 it stays 0.
    """
    residual = target
    reject = np.ones(draft.shape[:-1])  # (...,)
    for m in range(num_drafts):
        tv = kernels.tv_rows(draft, residual)  # (...,)
        reject = reject * tv
        following = kernels.residual_rows(draft, residual)
        if np.array_equal(following, residual):
            return reject * tv ** (num_drafts - m - 1), residual
        if not reject.any():
            return reject, following
        residual = following
    return reject, residual


@dataclass(frozen=True)
class RecursiveRejectionRule:
    """Verification of M candidates at a batch round start (paper Algorithm 4)."""

    num_drafts: int

    def __post_init__(self) -> None:
        check_int(self.num_drafts, "num_drafts", low=1, error=InvalidAlgorithmError)

    def residuals(self, draft: Array, target: Array) -> Array:
        """``r_1 = q, ..., r_{M+1}``: (..., V) -> (..., M+1, V)."""
        return _residual_stack(draft, target, self.num_drafts)

    def all_rejected_probability(self, draft: Array, target: Array) -> Array:
        """``prod_m TV(p, r_m)``: the chance the round start is a rejection. (...,)"""
        return _round_start_tail(draft, target, self.num_drafts)[0]

    def output_distribution(self, draft: Array, target: Array) -> Array:
        """The law of the token the round start outputs (equals ``target``): (..., V)."""
        residuals = self.residuals(draft, target)  # (..., M+1, V)
        reach = np.ones(draft.shape[:-1])  # (...,) P(candidates 1..m-1 all rejected)
        out = np.zeros_like(draft)
        for m in range(self.num_drafts):
            out += reach[..., None] * np.minimum(draft, residuals[..., m, :])
            reach = reach * kernels.tv_rows(draft, residuals[..., m, :])
        return out + reach[..., None] * residuals[..., -1, :]

    def split(self, draft: Array, target: Array) -> SplitLaw:
        """The round start split into accepted and rejected parts (Algorithm 4).

        ``reject = prod_m TV(p, r_m)`` (Theorem 3) and a rejection outputs ``r_{M+1}``. The
        rule outputs exactly the target (Theorem 3; tested against enumeration), so the
        accepted part is ``q - reject * r_{M+1}``.
        """
        reject, recovered = _round_start_tail(draft, target, self.num_drafts)  # r_{M+1}
        rejected = reject[..., None] * recovered  # (..., V)
        # NOTE: q - rejected is >= 0 in exact arithmetic; clip rounding residue (~1e-17).
        return SplitLaw(reject, np.clip(target - rejected, 0.0, None), rejected)

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
        residuals = self.residuals(draft, target)  # (..., M+1, V)
        accept = kernels.ratio_accept(residuals[..., :-1, :], draft[..., None, :])  # (..., M, V)
        b = np.take_along_axis(accept, candidates[..., None], axis=-1)[..., 0]  # (..., M)
        u = uniforms(rng, b.shape)  # (..., M)
        recovered = sample_categorical(residuals[..., -1, :], rng)  # (...,)
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

        ``draft_table``/``target_table`` (K, V), ``rows`` (...,): the residuals are built
        once per table row instead of once per entry of ``rows`` (for simulators running
        many rounds from the rows of one small table).
        """
        residuals = self.residuals(draft_table, target_table)  # (K, M+1, V)
        accept = kernels.ratio_accept(residuals[:, :-1, :], draft_table[:, None, :])  # (K, M, V)
        slots = np.arange(self.num_drafts)  # (M,)
        b = accept[rows[..., None], slots, candidates]  # (..., M)
        u = uniforms(rng, b.shape)  # (..., M)
        recovered = sample_rows(residuals[:, -1, :], rows, rng)  # (...,)
        return _first_accepted(u < b, candidates, recovered)


def limit_round_start_split(draft: Array, target: Array) -> SplitLaw:
    """The round start of batch SD as ``M -> infinity`` (Proposition 1), in closed form.

    Derivation (p = draft, q = target). Write ``u_m = (prod_{k<m} TV(p, r_k)) r_m`` for the
    unnormalised residual; ``u_1 = q`` and ``u_{m+1} = [u_m - |u_m| p]_+`` with
    ``|u_m| = P(candidates 1..m-1 all rejected)``, so ``P(all M rejected) = |u_{M+1}|``.
    Tokens with ``p(x) = 0`` are never drafted, never reduced: ``u_m(x) = q(x)``. Let
    ``L = lim |u_m|`` (it decreases). If ``L > 0`` each step removes at least ``L p(x)``
    from every other token, so after finitely many steps only ``{p = 0}`` keeps mass and
    ``L = q({p = 0})``; if ``L = 0`` then ``q({p = 0}) <= L = 0``. Either way

        lim_M P(all M rejected) = q({x : p(x) = 0}),

    the recovered token is ``q`` restricted to ``{p = 0}``, and the accepted part is ``q``
    restricted to ``{p > 0}``. The limit is positive exactly when the target can emit a
    token the draft never proposes.
    """
    # NOTE: exact zeros only; a draft probability of 1e-300 is still drafted eventually.
    rejected = np.where(draft > 0, 0.0, target)  # (..., V)
    return SplitLaw(rejected.sum(axis=-1), target - rejected, rejected)


def _first_accepted(
    accepted: NDArray[np.bool_], candidates: NDArray[np.int64], recovered: NDArray[np.int64]
) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """The first accepted candidate and its token, else (-1, the recovered token)."""
    first = np.argmax(accepted, axis=-1)  # (...,)
    some = accepted.any(axis=-1)  # (...,)
    chosen = np.take_along_axis(candidates, first[..., None], axis=-1)[..., 0]  # (...,)
    return np.where(some, first, -1).astype(np.int64), np.where(some, chosen, recovered)


def recursive_residuals(draft_probs: ArrayLike, target_probs: ArrayLike, num_drafts: int) -> Array:
    """The targets ``r_1 = q, ..., r_{M+1}`` of recursive rejection: (..., M+1, V)."""
    return RecursiveRejectionRule(num_drafts).residuals(*checked_pair(draft_probs, target_probs))


def all_rejected_probability(
    draft_probs: ArrayLike, target_probs: ArrayLike, num_drafts: int
) -> Array:
    """Probability that all M candidates are refused: ``prod_m TV(p, r_m)`` (Theorem 3)."""
    rule = RecursiveRejectionRule(num_drafts)
    return rule.all_rejected_probability(*checked_pair(draft_probs, target_probs))
