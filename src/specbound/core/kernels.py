"""Unchecked kernels: the arithmetic of every rule, once, for any array backend.

These are the formulas behind :mod:`specbound.core`'s public functions, without input
validation, for inner loops whose inputs were validated once (the chain simulator, the
LM decoder). Arrays carry the vocabulary on the last axis and broadcast over leading
axes. Every function works on NumPy arrays and on torch tensors alike (the Python array
API standard through ``array_api_compat``), so the LM decoder can verify a round on the
models' device with the same code the chain simulator runs on NumPy.

Paper notation: p = draft, q = target, b = acceptance probabilities.

* ``TV(p, q) = sum [q - p]_+`` (exact for distributions, no cancellation of ``1/2 |.|``);
* the SD residual ``[q - p]_+`` normalised (Algorithm 1);
* ``min(1, numerator / p)`` with ``b = 0`` where ``p = 0``;
* ``r(b) = sum p (1 - b)``, Theorem 4's ``P* = [q - p b]_+`` normalised and its value
  ``sum [p b - q]_+``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from array_api_compat import array_namespace

__all__ = [
    "RESIDUAL_MASS_FLOOR",
    "gather",
    "min_bias",
    "namespace",
    "normalised_positive_part",
    "optimal_resampling",
    "ratio_accept",
    "rejection_probability",
    "residual",
    "tv",
]

#: Below this total mass a residual ``[a - b]_+`` is treated as empty (lost to rounding).
RESIDUAL_MASS_FLOOR = 1e-12

#: An array of the backend in use (a NumPy array or a torch tensor).
Array = Any


def namespace(*arrays: Array) -> Any:
    """The array-API namespace of ``arrays`` (NumPy's or torch's)."""
    return array_namespace(*arrays)


def tv(draft: Array, target: Array) -> Array:
    """``TV(p, q) = sum [q - p]_+`` over the last axis: (..., V) -> (...,)."""
    xp = namespace(draft, target)
    return xp.sum(xp.clip(target - draft, min=0.0), axis=-1)  # (...,)


def normalised_positive_part(excess: Array, fallback: Array) -> Array:
    """``[excess]_+`` normalised along the last axis, or ``fallback`` where its mass is ~0.

    NOTE: when the positive mass is below :data:`RESIDUAL_MASS_FLOOR` the rule that samples
    from it fires with probability equal to that mass, i.e. (up to rounding) never. Any
    distribution is then correct in exact arithmetic; ``fallback`` (the caller passes the
    target) keeps the result a valid distribution and is what every caller wants in the
    limit ``draft -> target``.
    """
    xp = namespace(excess, fallback)
    positive = xp.clip(excess, min=0.0)  # (..., V)
    mass = xp.sum(positive, axis=-1, keepdims=True)  # (..., 1)
    empty = mass <= RESIDUAL_MASS_FLOOR  # (..., 1)
    safe_mass = xp.where(empty, xp.ones_like(mass), mass)
    return xp.where(empty, fallback, positive / safe_mass)  # (..., V)


def residual(draft: Array, target: Array) -> Array:
    """SD's resampling law ``[q - p]_+`` normalised (the target where it has no mass)."""
    return normalised_positive_part(target - draft, target)


def ratio_accept(numerator: Array, draft: Array) -> Array:
    """``min(1, numerator / draft)`` with the convention b = 0 where draft = 0.

    NOTE: a token the draft gives probability 0 is never proposed by an exact sampler; if
    one shows up anyway (a backend warped the draft differently), refusing it is the only
    choice that cannot bias the output towards it.
    """
    xp = namespace(numerator, draft)
    positive = draft > 0
    safe = xp.where(positive, draft, xp.ones_like(draft))
    with np.errstate(over="ignore"):  # a subnormal draft probability: ratio -> inf -> 1
        ratio = numerator / safe
    return xp.where(positive, xp.clip(ratio, max=1.0), xp.zeros_like(ratio))


def rejection_probability(draft: Array, accept: Array) -> Array:
    """``r(b) = sum p (1 - b)``: a drafted token is refused. (..., V) -> (...,)."""
    # sum p*(1-b) rather than 1 - sum p*b: no cancellation when rejections are rare
    xp = namespace(draft, accept)
    return xp.clip(xp.sum(draft * (1.0 - accept), axis=-1), min=0.0, max=1.0)  # (...,)


def optimal_resampling(draft: Array, target: Array, accept: Array) -> Array:
    """Theorem 4's ``P* = [q - p b]_+`` normalised: (..., V).

    NOTE: when ``[q - p b]_+`` has no mass, ``p b == q`` and the step never rejects; the
    target is returned so the result stays a distribution.
    """
    return normalised_positive_part(target - draft * accept, target)


def min_bias(draft: Array, target: Array, accept: Array) -> Array:
    """Theorem 4's value ``min_P TV(A, q) = sum [p b - q]_+``: (..., V) -> (...,)."""
    xp = namespace(draft, target, accept)
    return xp.sum(xp.clip(draft * accept - target, min=0.0), axis=-1)  # (...,)


def gather(probs: Array, tokens: Array) -> Array:
    """``probs[..., tokens]`` along the last axis: (..., V), (...) -> (...)."""
    xp = namespace(probs, tokens)
    return xp.take_along_axis(probs, tokens[..., None], axis=-1)[..., 0]
