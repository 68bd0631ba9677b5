"""Validation of probability arrays (the last axis is the vocabulary).

Public functions of :mod:`specbound.core` call these on their inputs; backends that
build distributions themselves (the chain simulator, the LM decoder) validate once at
construction and then call the unvalidated kernels.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from specbound.errors import InvalidDistributionError, ShapeMismatchError

__all__ = ["SUM_TOLERANCE", "as_distribution", "check_same_shape", "checked_pair"]

#: A probability vector must sum to 1 within this absolute tolerance. It is loose enough
#: for a float32 softmax over a large vocabulary, tight enough to catch a forgotten
#: normalisation.
SUM_TOLERANCE = 1e-6


def _where(index: tuple[int, ...]) -> str:
    return f"row {list(index)}" if index else "the vector"


def as_distribution(
    probs: ArrayLike, name: str, *, atol: float = SUM_TOLERANCE
) -> NDArray[np.float64]:
    """Return ``probs`` as a float64 array after checking it holds distributions.

    Every slice along the last axis must be finite, non-negative and sum to 1 within
    ``atol``. Raises :class:`InvalidDistributionError` naming ``name``, the offending
    row/index and the value.
    """
    try:
        raw = np.asarray(probs)
        if raw.dtype.kind == "b":
            raise InvalidDistributionError(
                f"{name}: got booleans {probs!r}; probabilities must be numbers"
            )
        arr = raw.astype(np.float64, copy=False)
    except (TypeError, ValueError) as exc:
        if isinstance(exc, InvalidDistributionError):
            raise
        raise InvalidDistributionError(
            f"{name}: expected an array of probabilities, got {probs!r}"
        ) from exc
    if arr.ndim == 0 or arr.shape[-1] == 0:
        raise InvalidDistributionError(
            f"{name}: expected at least one probability on the last axis, got shape {arr.shape}"
        )
    bad = ~np.isfinite(arr)
    if bad.any():
        idx = tuple(int(i) for i in np.argwhere(bad)[0])
        raise InvalidDistributionError(
            f"{name}: entry {list(idx)} is {float(arr[idx])!r}; probabilities must be finite"
        )
    neg = arr < 0
    if neg.any():
        idx = tuple(int(i) for i in np.argwhere(neg)[0])
        raise InvalidDistributionError(
            f"{name}: entry {list(idx)} is {float(arr[idx])!r}; probabilities must be >= 0"
        )
    sums = arr.sum(axis=-1)
    off = np.abs(sums - 1.0) > atol
    if np.any(off):
        row = tuple(int(i) for i in np.argwhere(np.atleast_1d(off))[0]) if sums.ndim else ()
        value = float(sums[row]) if sums.ndim else float(sums)
        raise InvalidDistributionError(
            f"{name}: {_where(row)} sums to {value:.10g}; a distribution must sum to 1 "
            f"(tolerance {atol:g})"
        )
    return arr


def check_same_shape(
    first: NDArray[np.float64], second: NDArray[np.float64], names: tuple[str, str]
) -> None:
    """Raise :class:`ShapeMismatchError` unless the two arrays have the same shape."""
    if first.shape != second.shape:
        a, b = names
        msg = f"{a} has shape {first.shape} but {b} has shape {second.shape}; they must match"
        if first.shape[:-1] == second.shape[:-1]:
            msg += f" (vocabulary sizes {first.shape[-1]} vs {second.shape[-1]})"
        raise ShapeMismatchError(msg)


def checked_pair(
    draft_probs: ArrayLike, target_probs: ArrayLike
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """``draft_probs`` and ``target_probs`` as validated float64 arrays of one shape."""
    draft = as_distribution(draft_probs, "draft_probs")
    target = as_distribution(target_probs, "target_probs")
    check_same_shape(draft, target, ("draft_probs", "target_probs"))
    return draft, target
