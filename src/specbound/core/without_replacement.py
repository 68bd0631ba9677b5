"""Recursive rejection over M candidates drawn **without replacement** (SpecTr, Sequoia).

The M children of a tree node are drawn one after another from the draft law ``p`` with
the tokens already drawn removed: ``p_1 = p``, ``p_{m+1} = p_m`` with ``x_m`` removed,
renormalised. They are tried in order against a shrinking target (p = draft, q = target):
``r_1 = q``; candidate m is accepted with probability ``min(1, r_m(x_m) / p_m(x_m))``;
after its rejection ``r_{m+1} = [r_m - p_m]_+`` normalised. If all are refused, the token
comes from ``r_{M+1}``. Lossless by induction from the last step: given the history, step
m outputs ``min(p_m, r_m) + [r_m - p_m]_+ = r_m``, so the whole round outputs ``r_1 = q``.

A draft law with fewer than M tokens of positive probability runs out of candidates: the
missing ones are marked -1 and the round goes straight to the current residual (still
lossless by the same induction).

Unlike the i.i.d. rule (:mod:`specbound.core.batch`) the residuals depend on *which*
tokens were drawn, so the exact split law is computed by enumerating the ordered tuples of
distinct candidates: ``V^M`` per row, refused beyond :data:`MAX_TUPLES`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from specbound.core import kernels
from specbound.core.rules import SplitLaw
from specbound.core.sampling import sample_categorical, uniforms
from specbound.errors import InvalidAlgorithmError, ResourceLimitError
from specbound.validate import check_int

__all__ = ["MAX_TUPLES", "RecursiveWithoutReplacementRule", "draw_without_replacement"]

Array = NDArray[np.float64]

#: The most candidate tuples (``V^M``) the exact split enumerates per row.
MAX_TUPLES = 1 << 16


def _without(law: Array, tokens: NDArray[np.int64]) -> Array:
    """``law`` (k, V) with each row's ``tokens`` (k,) removed and renormalised (a row with
    no mass left stays all zero)."""
    out = law.copy()
    valid = tokens >= 0  # (k,)
    out[np.flatnonzero(valid), tokens[valid]] = 0.0
    total = out.sum(axis=-1, keepdims=True)  # (k, 1)
    return np.divide(out, total, out=np.zeros_like(out), where=total > 0)


def draw_without_replacement(
    draft: Array, count: int, rng: np.random.Generator
) -> NDArray[np.int64]:
    """``count`` tokens per row of ``draft`` (k, V), drawn one by one without replacement:
    (k, count); -1 once a row has no token of positive probability left."""
    law = np.array(draft, dtype=np.float64, copy=True)  # (k, V)
    out = np.full((law.shape[0], count), -1, dtype=np.int64)  # (k, count)
    for m in range(count):
        alive = law.sum(axis=-1) > 0  # (k,)
        drawn = np.full(law.shape[0], -1, dtype=np.int64)  # (k,)
        if alive.any():
            drawn[alive] = sample_categorical(law[alive], rng)
        out[:, m] = drawn
        law = _without(law, drawn)
    return out


@dataclass(frozen=True)
class RecursiveWithoutReplacementRule:
    """Recursive rejection of M candidates drawn without replacement (module docstring)."""

    num_drafts: int

    def __post_init__(self) -> None:
        check_int(self.num_drafts, "num_drafts", low=1, error=InvalidAlgorithmError)

    def check_size(self, vocab_size: int) -> None:
        """Refuse an exact split that would enumerate more than :data:`MAX_TUPLES`."""
        tuples = vocab_size**self.num_drafts
        if tuples > MAX_TUPLES:
            raise ResourceLimitError(
                f"the exact law of {self.num_drafts} children drawn without replacement "
                f"enumerates V^M = {vocab_size}^{self.num_drafts} = {tuples} candidate "
                f"tuples, above the limit {MAX_TUPLES}; use fewer children or states"
            )

    def split(self, draft: Array, target: Array) -> SplitLaw:
        """The node's law split into accepted and rejected parts, by enumerating the
        ordered candidate tuples: ``reject`` (...,), ``accepted`` and ``rejected`` (..., V)."""
        self.check_size(draft.shape[-1])
        lead, V = draft.shape[:-1], draft.shape[-1]
        p = np.reshape(draft, (-1, V)).astype(np.float64)  # (k, V)
        q = np.reshape(target, (-1, V)).astype(np.float64)  # (k, V)
        accepted, rejected = np.zeros_like(p), np.zeros_like(p)  # (k, V)
        self._enumerate(np.ones(p.shape[0]), q, p, 0, accepted, rejected)
        reject = rejected.sum(axis=-1)  # (k,)
        return SplitLaw(
            reject.reshape(lead), accepted.reshape(draft.shape), rejected.reshape(draft.shape)
        )

    def _enumerate(
        self, reach: Array, residual: Array, law: Array, m: int, accepted: Array, rejected: Array
    ) -> None:
        """Add the outcomes of candidates m.. given P(reached) ``reach`` (k,), the current
        residual and draft law (k, V)."""
        if m == self.num_drafts:
            rejected += reach[:, None] * residual
            return
        alive = law.sum(axis=-1) > 0  # (k,) a candidate can still be drawn
        rejected += np.where(alive, 0.0, reach)[:, None] * residual  # ran out of tokens
        reach = np.where(alive, reach, 0.0)
        ratio = kernels.ratio_accept(residual, law)  # (k, V) min(1, r/p_m), 0 where p_m = 0
        following = kernels.normalised_positive_part(residual - law, residual)  # (k, V)
        for x in range(law.shape[-1]):
            drawn = reach * law[:, x]  # (k,) P(reach, candidate m is x)
            if not drawn.any():
                continue
            accepted[:, x] += drawn * ratio[:, x]
            tokens = np.full(law.shape[0], x, dtype=np.int64)  # (k,)
            self._enumerate(
                drawn * (1.0 - ratio[:, x]),
                following,
                _without(law, tokens),
                m + 1,
                accepted,
                rejected,
            )

    def verify(
        self,
        draft: Array,
        target: Array,
        candidates: NDArray[np.int64],
        rng: np.random.Generator,
    ) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
        """Try ``candidates`` (k, M) (-1: none) against rows of ``draft``/``target``
        (k, V); return (winner (k,) or -1, token (k,))."""
        residual = np.array(target, dtype=np.float64, copy=True)  # (k, V)
        law = np.array(draft, dtype=np.float64, copy=True)  # (k, V)
        rows = np.arange(law.shape[0])  # (k,)
        winner = np.full(law.shape[0], -1, dtype=np.int64)  # (k,)
        token = np.full(law.shape[0], -1, dtype=np.int64)  # (k,)
        u = uniforms(rng, candidates.shape)  # (k, M)
        for m in range(self.num_drafts):
            x = candidates[:, m]  # (k,)
            open_ = (winner < 0) & (x >= 0)  # (k,) still trying, a candidate exists
            safe = np.where(x >= 0, x, 0)  # (k,)
            b = kernels.ratio_accept(residual[rows, safe], law[rows, safe])  # (k,)
            won = open_ & (u[:, m] < b)  # (k,)
            winner[won], token[won] = m, x[won]
            refused = open_ & ~won  # (k,)
            if refused.any():
                idx = np.flatnonzero(refused)
                residual[idx] = kernels.normalised_positive_part(
                    residual[idx] - law[idx], residual[idx]
                )
                law[idx] = _without(law[idx], x[idx])
        lost = winner < 0  # (k,)
        if lost.any():
            token[lost] = sample_categorical(residual[lost], rng)
        return winner, token
