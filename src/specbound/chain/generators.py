"""Random chains and the paper's (draft, target) families.

Exactly how each object is drawn (``rng = np.random.default_rng(seed)`` unless a
Generator is passed):

* :func:`random_chain` — every row ``transitions[n, s, :]`` is an independent
  ``Dirichlet(concentration * ones(S))`` draw, rows in C order; with ``zeros > 0`` each
  entry is then set to 0 independently with that probability (one uniformly chosen entry
  per row is always kept) and the row renormalised.
* :func:`random_pair` — the target is ``random_chain(T, S, concentration, rng, zeros)``;
  then independent Dirichlet rows ``D`` are drawn the same way and the draft is
  ``(1 - mix) * target + mix * D``: ``mix = 0`` gives draft = target, ``mix = 1`` an
  independent draft.
* :func:`bernoulli_pairs` (Figure 3, left) — ``a, b ~ Uniform(0, 1)`` independently,
  draft = ``[1 - a, a]``, target = ``[1 - b, b]``.
* :func:`uniform_support_pairs` (Figure 3, right) — for each of draft and target a
  support size ``k ~ Uniform{1..V}``, a support drawn uniformly among the ``k``-subsets
  of ``{0..V-1}``, and the uniform law on it.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from specbound.chain.model import MarkovChain
from specbound.core.validation import as_distribution, check_same_shape
from specbound.errors import InvalidInputError
from specbound.validate import check_float, check_int, check_memory, check_seed

__all__ = [
    "bernoulli_pairs",
    "one_step_chains",
    "random_chain",
    "random_pair",
    "uniform_support_pairs",
]

Array = NDArray[np.float64]
Seed = int | np.random.Generator


def _rng(seed: Seed) -> np.random.Generator:
    if isinstance(seed, np.random.Generator):
        return seed
    return np.random.default_rng(check_seed(seed))


def _positive_int(value: object, name: str) -> int:
    return check_int(value, name, low=1)


#: Float64 arrays of shape (T, S, S) a generator holds at its peak (rows, draws, mixes).
ARRAYS_AT_PEAK = 6


def _check_size(T: int, S: int, chains: int) -> None:
    """Refuse, before drawing, chains whose (T, S, S) arrays exceed the memory available."""
    check_memory(
        8.0 * ARRAYS_AT_PEAK * chains * T * S * S,
        f"{chains} chain(s) of T={T}, S={S} ({T * S * S:.3g} probabilities each)",
    )


def _unit(value: float, name: str) -> float:
    return check_float(value, name, low=0.0, high=1.0)


def _dirichlet_rows(
    rng: np.random.Generator, shape: tuple[int, ...], concentration: float, zeros: float
) -> Array:
    check_float(concentration, "concentration", low=0.0, low_open=True)
    S = shape[-1]
    rows = rng.dirichlet(np.full(S, concentration), size=shape[:-1])  # (..., S)
    if zeros > 0:
        drop = rng.random(shape) < zeros  # (..., S)
        keep = rng.integers(S, size=shape[:-1])  # (...,)
        np.put_along_axis(drop, keep[..., None], False, axis=-1)
        rows = np.where(drop, 0.0, rows)
        # NOTE: a kept Dirichlet entry can underflow to 0 for tiny concentrations; such a
        # row falls back to the point mass on the kept entry.
        empty = rows.sum(axis=-1, keepdims=True) <= 0
        point = np.zeros(shape)
        np.put_along_axis(point, keep[..., None], 1.0, axis=-1)
        rows = np.where(empty, point, rows)
        rows = rows / rows.sum(axis=-1, keepdims=True)
    return rows


def random_chain(
    T: int,
    S: int,
    concentration: float = 1.0,
    seed: Seed = 0,
    *,
    zeros: float = 0.0,
    start: int = 0,
) -> MarkovChain:
    """A non-stationary chain with Dirichlet rows (module docstring)."""
    T, S = _positive_int(T, "T"), _positive_int(S, "S")
    _check_size(T, S, 1)
    rows = _dirichlet_rows(_rng(seed), (T, S, S), concentration, _unit(zeros, "zeros"))
    return MarkovChain(rows, start)


def random_pair(
    T: int,
    S: int,
    mix: float = 0.5,
    seed: Seed = 0,
    *,
    concentration: float = 1.0,
    zeros: float = 0.0,
    start: int = 0,
) -> tuple[MarkovChain, MarkovChain]:
    """(draft, target): target rows Dirichlet, draft rows ``(1-mix) target + mix D``."""
    T, S = _positive_int(T, "T"), _positive_int(S, "S")
    mix, zeros = _unit(mix, "mix"), _unit(zeros, "zeros")
    _check_size(T, S, 2)
    rng = _rng(seed)
    target = _dirichlet_rows(rng, (T, S, S), concentration, zeros)  # (T, S, S)
    other = _dirichlet_rows(rng, (T, S, S), concentration, zeros)  # (T, S, S)
    draft = (1.0 - mix) * target + mix * other  # (T, S, S)
    return MarkovChain(draft, start, name="draft"), MarkovChain(target, start, name="target")


def bernoulli_pairs(n_pairs: int, seed: Seed = 0) -> tuple[Array, Array]:
    """``n_pairs`` Bernoulli (draft, target) pairs: two (n_pairs, 2) arrays."""
    n_pairs = _positive_int(n_pairs, "n_pairs")
    rng = _rng(seed)
    a, b = rng.random(n_pairs), rng.random(n_pairs)  # (n,)
    return np.stack([1.0 - a, a], axis=-1), np.stack([1.0 - b, b], axis=-1)


def _uniform_support(rng: np.random.Generator, n_pairs: int, V: int) -> Array:
    sizes = rng.integers(1, V + 1, size=n_pairs)  # (n,)
    ranks = np.argsort(rng.random((n_pairs, V)), axis=-1)  # (n, V) a uniform permutation
    support = ranks < sizes[:, None]  # (n, V) a uniform k-subset
    return support / sizes[:, None]


def uniform_support_pairs(n_pairs: int, vocab_size: int, seed: Seed = 0) -> tuple[Array, Array]:
    """``n_pairs`` (draft, target) pairs, each uniform on a random support: (n, V) twice."""
    n_pairs = _positive_int(n_pairs, "n_pairs")
    V = _positive_int(vocab_size, "vocab_size")
    rng = _rng(seed)
    draft = _uniform_support(rng, n_pairs, V)
    return draft, _uniform_support(rng, n_pairs, V)


def one_step_chains(
    draft_probs: ArrayLike, target_probs: ArrayLike
) -> tuple[MarkovChain, MarkovChain]:
    """A single step as a pair of chains (T = 1, S = V, every row the given vector)."""
    draft = as_distribution(draft_probs, "draft_probs")
    target = as_distribution(target_probs, "target_probs")
    check_same_shape(draft, target, ("draft_probs", "target_probs"))
    if draft.ndim != 1:
        raise InvalidInputError(f"one_step_chains takes 1-D vectors, got shape {draft.shape}")
    V = draft.size
    return (
        MarkovChain(np.broadcast_to(draft, (1, V, V)), name="draft"),
        MarkovChain(np.broadcast_to(target, (1, V, V)), name="target"),
    )
