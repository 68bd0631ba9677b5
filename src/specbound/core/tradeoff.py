"""Single-step theory of biased decoding: Theorem 4 (optimal resampling) and Theorem 5
(the linear Pareto front between rejection probability and output bias).

Notation: p = draft, q = target, b = acceptance probabilities in [0, 1], one per token.
A rejection-based step (paper Algorithm 2) with acceptance ``b`` and resampling law ``P``
outputs ``A = p*b + r(b) * P`` with ``r(b) = 1 - sum p*b``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from specbound.core import kernels
from specbound.core.validation import checked_pair
from specbound.errors import InvalidDistributionError

__all__ = [
    "ParetoFront",
    "min_bias",
    "optimal_resampling",
    "pareto_front",
    "rejection_probability",
]

Array = NDArray[np.float64]


def _checked(
    draft_probs: ArrayLike, target_probs: ArrayLike, accept_probs: ArrayLike
) -> tuple[Array, Array, Array]:
    draft, target = checked_pair(draft_probs, target_probs)
    accept = np.asarray(accept_probs, dtype=np.float64)
    try:
        accept = np.broadcast_to(accept, draft.shape)
    except ValueError as exc:
        raise InvalidDistributionError(
            f"accept_probs has shape {accept.shape}, not broadcastable to draft_probs' "
            f"{draft.shape}"
        ) from exc
    bad = ~np.isfinite(accept) | (accept < 0) | (accept > 1)
    if bad.any():
        idx = tuple(int(i) for i in np.argwhere(bad)[0])
        raise InvalidDistributionError(
            f"accept_probs: entry {list(idx)} is {float(accept[idx])!r}; acceptance probabilities "
            "must lie in [0, 1]"
        )
    return draft, target, accept


def rejection_probability(draft_probs: ArrayLike, accept_probs: ArrayLike) -> Array:
    """``r(b) = 1 - sum_x p(x) b(x)``: the probability that the drafted token is refused."""
    draft, _, accept = _checked(draft_probs, draft_probs, accept_probs)
    return np.asarray(kernels.rejection_probability(draft, accept))


def optimal_resampling(
    draft_probs: ArrayLike, target_probs: ArrayLike, accept_probs: ArrayLike
) -> Array:
    """Theorem 4's optimal resampling law ``P* = [q - p*b]_+ / ||[q - p*b]_+||_1``.

    Among all laws sampled after a rejection, ``P*`` minimises ``TV(A, q)`` for the given
    acceptance ``b``. With ``b = min(1, q/p)`` it is SD's residual.
    """
    draft, target, accept = _checked(draft_probs, target_probs, accept_probs)
    return np.asarray(kernels.optimal_resampling_rows(draft, target, accept))


def min_bias(draft_probs: ArrayLike, target_probs: ArrayLike, accept_probs: ArrayLike) -> Array:
    """Theorem 4's value ``min_P TV(A, q) = sum_x [p(x) b(x) - q(x)]_+``."""
    return np.asarray(kernels.min_bias_rows(*_checked(draft_probs, target_probs, accept_probs)))


@dataclass(frozen=True)
class ParetoFront:
    """Theorem 5: ``rejection + bias >= TV(p, q)`` for every acceptance ``b``.

    The front is the segment from (rejection 0, bias TV) to (rejection TV, bias 0); the
    region below it is unattainable. Arrays carry the leading (batch) axes of the inputs.
    """

    tv: Array  # (...,)

    def bias_at(self, rejection: ArrayLike) -> Array:
        """The least attainable bias at a given rejection probability (0 beyond TV)."""
        return np.clip(self.tv - np.asarray(rejection, dtype=np.float64), 0.0, None)

    def gap(self, rejection: ArrayLike, bias: ArrayLike) -> Array:
        """``rejection + bias - TV``: 0 on the front, > 0 above it, < 0 is impossible."""
        return np.asarray(rejection, dtype=np.float64) + np.asarray(bias) - self.tv


def pareto_front(draft_probs: ArrayLike, target_probs: ArrayLike) -> ParetoFront:
    """The Theorem-5 line for a (draft, target) pair."""
    return ParetoFront(tv=np.asarray(kernels.tv_rows(*checked_pair(draft_probs, target_probs))))
