"""Categorical sampling by inverse CDF with float64 uniforms, batched over leading axes.

The draw itself is :func:`specbound.core.kernels.inverse_cdf` (any array backend); this
module owns where the uniforms come from (a NumPy ``Generator``, always float64).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from specbound.core import kernels

__all__ = ["sample_categorical", "sample_rows", "uniforms"]


def uniforms(rng: np.random.Generator, shape: tuple[int, ...]) -> NDArray[np.float64]:
    """Uniforms on [0, 1) in float64 (float32 can round to exactly 0 or 1)."""
    return rng.random(shape, dtype=np.float64)


def sample_categorical(probs: NDArray[np.float64], rng: np.random.Generator) -> NDArray[np.int64]:
    """One index per leading position, drawn from the distribution on the last axis.

    ``probs`` (..., V) need not be exactly normalised: the draw is from ``probs / sum``.
    An index with zero probability is never returned.
    """
    return np.asarray(kernels.inverse_cdf(probs, uniforms(rng, probs.shape[:-1])))


def sample_rows(
    probs: NDArray[np.float64], rows: NDArray[np.int64], rng: np.random.Generator
) -> NDArray[np.int64]:
    """One index per entry of ``rows`` (...,), drawn from ``probs[rows]`` (``probs``: (K, V)).

    The same draws as ``sample_categorical(probs[rows], rng)`` (same uniforms, same CDFs),
    without building an (..., V) array of rows: each table row's CDF is computed once.
    For simulators that sample many runs from the rows of one small table.
    """
    cdf = np.cumsum(probs, axis=-1)  # (K, V)
    u = uniforms(rng, rows.shape) * cdf[rows, -1]  # (...,)
    if probs.shape[-1] > 32:
        idx = (cdf[rows] <= u[..., None]).sum(axis=-1)  # (...,) first index with cdf > u
    else:  # small V: one gather per column beats building (..., V) rows
        idx = np.zeros(rows.shape, dtype=np.int64)
        for column in cdf[:, :-1].T:  # (K,); the last column only matters via the clamp
            idx += column[rows] <= u
    last_positive = probs.shape[-1] - 1 - np.argmax(probs[:, ::-1] > 0, axis=-1)  # (K,)
    return np.minimum(idx, last_positive[rows]).astype(np.int64)
