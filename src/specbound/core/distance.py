"""Total variation and residual distributions (paper Section 3, identities for one step).

``TV(p, q) = 1/2 sum |p - q| = sum [q - p]_+ = 1 - sum min(p, q)``  (p = draft, q = target).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from specbound.core.validation import as_distribution, check_same_shape

__all__ = ["RESIDUAL_MASS_FLOOR", "normalised_positive_part", "residual", "tv"]

#: Below this total mass a residual ``[a - b]_+`` is treated as empty (lost to rounding).
RESIDUAL_MASS_FLOOR = 1e-12

Array = NDArray[np.float64]


def _tv(draft: Array, target: Array) -> Array:
    # sum of the positive part is exact for distributions and avoids the 1/2 |.| cancellation
    return np.clip(target - draft, 0.0, None).sum(axis=-1)  # (...,)


def normalised_positive_part(excess: Array, fallback: Array) -> Array:
    """``[excess]_+`` normalised along the last axis, or ``fallback`` where its mass is ~0.

    NOTE: when the positive mass is below :data:`RESIDUAL_MASS_FLOOR` the rule that samples
    from it fires with probability equal to that mass, i.e. (up to rounding) never. Any
    distribution is then correct in exact arithmetic; ``fallback`` (the caller passes the
    target) keeps the result a valid distribution and is what every caller wants in the
    limit ``draft -> target``.
    """
    positive = np.clip(excess, 0.0, None)  # (..., V)
    mass = positive.sum(axis=-1, keepdims=True)  # (..., 1)
    empty = mass <= RESIDUAL_MASS_FLOOR
    safe_mass = np.where(empty, 1.0, mass)
    return np.where(empty, fallback, positive / safe_mass)


def _residual(draft: Array, target: Array) -> Array:
    return normalised_positive_part(target - draft, target)


def tv(draft_probs: ArrayLike, target_probs: ArrayLike) -> Array:
    """Total variation distance between draft and target, over the last axis.

    Equals the rejection probability of one speculative-decoding step (paper, Section 3;
    p = draft, q = target). Batched over leading axes.
    """
    draft = as_distribution(draft_probs, "draft_probs")
    target = as_distribution(target_probs, "target_probs")
    check_same_shape(draft, target, ("draft_probs", "target_probs"))
    return _tv(draft, target)


def residual(draft_probs: ArrayLike, target_probs: ArrayLike) -> Array:
    """The residual ``[target - draft]_+ / ||[target - draft]_+||_1`` (paper Algorithm 1).

    This is the law SD samples from after a rejection. Where draft == target (no residual
    mass, up to :data:`RESIDUAL_MASS_FLOOR`) it returns the target; see
    :func:`normalised_positive_part`.
    """
    draft = as_distribution(draft_probs, "draft_probs")
    target = as_distribution(target_probs, "target_probs")
    check_same_shape(draft, target, ("draft_probs", "target_probs"))
    return _residual(draft, target)
