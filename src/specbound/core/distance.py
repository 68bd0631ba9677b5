"""Total variation and residual distributions (paper Section 3, identities for one step).

``TV(p, q) = 1/2 sum |p - q| = sum [q - p]_+ = 1 - sum min(p, q)``  (p = draft, q = target).
The arithmetic lives in :mod:`specbound.core.kernels`; these are its validated faces.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from specbound.core import kernels
from specbound.core.validation import checked_pair

__all__ = ["residual", "tv"]

Array = NDArray[np.float64]


def tv(draft_probs: ArrayLike, target_probs: ArrayLike) -> Array:
    """Total variation distance between draft and target, over the last axis.

    Equals the rejection probability of one speculative-decoding step (paper, Section 3;
    p = draft, q = target). Batched over leading axes.
    """
    return np.asarray(kernels.tv_rows(*checked_pair(draft_probs, target_probs)))


def residual(draft_probs: ArrayLike, target_probs: ArrayLike) -> Array:
    """The residual ``[target - draft]_+ / ||[target - draft]_+||_1`` (paper Algorithm 1).

    This is the law SD samples from after a rejection. Where draft == target (no residual
    mass, up to :data:`~specbound.core.kernels.RESIDUAL_MASS_FLOOR`) it returns the target;
    see :func:`~specbound.core.kernels.normalised_positive_part`.
    """
    return np.asarray(kernels.residual_rows(*checked_pair(draft_probs, target_probs)))
