"""Unchecked kernels: the arithmetic of every rule, once, for any array backend.

These are the formulas behind :mod:`specbound.core`'s public functions, without input
validation, for inner loops whose inputs were validated once (the chain simulator, the
LM decoder). Their names end in ``_rows`` where a checked public function exists
(``kernels.tv_rows`` is ``core.tv`` unchecked), so the two are never confused. Arrays
carry the vocabulary on the last axis and broadcast over leading
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

import math
from typing import Any

import numpy as np
from array_api_compat import array_namespace

__all__ = [
    "RESIDUAL_MASS_FLOOR",
    "gather",
    "inverse_cdf",
    "min_bias_rows",
    "namespace",
    "normalised_positive_part",
    "optimal_resampling_rows",
    "ratio_accept",
    "rejection_probability",
    "residual_rows",
    "tv_rows",
]

#: Below this total mass a residual ``[a - b]_+`` is treated as empty (lost to rounding).
RESIDUAL_MASS_FLOOR = 1e-12

#: An array of the backend in use (a NumPy array or a torch tensor).
Array = Any


_NAMESPACES: dict[tuple[type, ...], Any] = {}
_NUMPY_IS_STANDARD = hasattr(np, "cumulative_sum")


def namespace(*arrays: Array) -> Any:
    """The array-API namespace of ``arrays`` (NumPy's or torch's).

    Looked up once per array type: the kernels run in inner loops, where resolving the
    namespace anew would cost as much as the arithmetic on a few thousand entries.
    """
    kinds = tuple(type(a) for a in arrays)
    found = _NAMESPACES.get(kinds)
    if found is None:
        # NumPy >= 2.1 implements the standard in its own namespace, without the
        # per-call wrapping of array_api_compat's (a third of the cost at V ~ 4096).
        numpy_only = all(issubclass(kind, (np.ndarray, np.generic)) for kind in kinds)
        found = np if numpy_only and _NUMPY_IS_STANDARD else array_namespace(*arrays)
        _NAMESPACES[kinds] = found
    return found


def tv_rows(draft: Array, target: Array) -> Array:
    """``TV(p, q) = sum [q - p]_+`` over the last axis: (..., V) -> (...,)."""
    xp = namespace(draft, target)
    return xp.sum(xp.maximum(target - draft, 0.0), axis=-1)  # (...,)


def normalised_positive_part(excess: Array, fallback: Array) -> Array:
    """``[excess]_+`` normalised along the last axis, or ``fallback`` where its mass is ~0.

    NOTE: when the positive mass is below :data:`RESIDUAL_MASS_FLOOR` the rule that samples
    from it fires with probability equal to that mass, i.e. (up to rounding) never. Any
    distribution is then correct in exact arithmetic; ``fallback`` (the caller passes the
    target) keeps the result a valid distribution and is what every caller wants in the
    limit ``draft -> target``.
    """
    xp = namespace(excess, fallback)
    positive = xp.maximum(excess, 0.0)  # (..., V)
    mass = xp.sum(positive, axis=-1, keepdims=True)  # (..., 1)
    empty = mass <= RESIDUAL_MASS_FLOOR  # (..., 1)
    safe_mass = xp.where(empty, xp.ones_like(mass), mass)
    return xp.where(empty, fallback, positive / safe_mass)  # (..., V)


def residual_rows(draft: Array, target: Array) -> Array:
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
    return xp.where(positive, xp.minimum(ratio, 1.0), xp.zeros_like(ratio))


def rejection_probability(draft: Array, accept: Array) -> Array:
    """``r(b) = sum p (1 - b)``: a drafted token is refused. (..., V) -> (...,)."""
    # sum p*(1-b) rather than 1 - sum p*b: no cancellation when rejections are rare
    xp = namespace(draft, accept)
    return xp.clip(xp.sum(draft * (1.0 - accept), axis=-1), min=0.0, max=1.0)  # (...,)


def optimal_resampling_rows(draft: Array, target: Array, accept: Array) -> Array:
    """Theorem 4's ``P* = [q - p b]_+`` normalised: (..., V).

    NOTE: when ``[q - p b]_+`` has no mass, ``p b == q`` and the step never rejects; the
    target is returned so the result stays a distribution.
    """
    return normalised_positive_part(target - draft * accept, target)


def min_bias_rows(draft: Array, target: Array, accept: Array) -> Array:
    """Theorem 4's value ``min_P TV(A, q) = sum [p b - q]_+``: (..., V) -> (...,)."""
    xp = namespace(draft, target, accept)
    return xp.sum(xp.maximum(draft * accept - target, 0.0), axis=-1)  # (...,)


def gather(probs: Array, tokens: Array) -> Array:
    """``probs[..., tokens]`` along the last axis: (..., V), (...) -> (...)."""
    xp = namespace(probs, tokens)
    return xp.take_along_axis(probs, tokens[..., None], axis=-1)[..., 0]


def inverse_cdf(probs: Array, u: Array) -> Array:
    """Sample by inverse CDF: one index per leading position from ``probs`` (..., V).

    ``u`` (...,) are uniforms on [0, 1) (float64: float32 uniforms round to exactly 0 or 1
    and quantise the law); the index returned is the first ``x`` with
    ``cdf(x) > u * cdf(V-1)``, so ``probs`` need not be exactly normalised, and an index
    of zero probability is never returned.

    That index is the number of CDF entries ``<= u * cdf(V-1)``. For one row of
    probabilities (a decoder's draw) it is found by binary search (``searchsorted``,
    right side): the CDF of non-negative masses never decreases, so the count is the same,
    without a pass over the vocabulary; for many rows by counting.
    """
    xp = namespace(probs, u)
    cdf = xp.cumulative_sum(probs, axis=-1)  # (..., V)
    total = cdf[..., -1]  # (...,)
    # NOTE: rounding can push u*total onto total; the largest float below it keeps the
    # index on a token with mass (cdf(x) > level implies probs(x) > 0 for the first such x).
    level = xp.minimum(u * total, xp.nextafter(total, xp.zeros_like(total)))  # (...,)
    if math.prod(probs.shape[:-1]) == 1:  # one row (one or more levels)
        row = xp.reshape(cdf, (probs.shape[-1],))  # (V,)
        found = xp.searchsorted(row, xp.reshape(level, (-1,)), side="right")  # (n,)
        return xp.reshape(xp.astype(found, xp.int64), level.shape)
    return xp.sum(xp.astype(cdf <= level[..., None], xp.int64), axis=-1)  # (...,)
