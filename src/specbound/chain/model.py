"""First-order, possibly non-stationary Markov chains: the paper's exactly solvable model.

Paper Section 1 (p = draft, q = target): decoding is a Markov chain over a vocabulary of
``S`` states with horizon ``T``. A *first-order* chain conditions each token on the
previous one only (and on the position), which is what makes every quantity of the paper
computable exactly by a forward recursion.

Conventions: positions ``n = 0..T-1``; ``transitions[n, s, :]`` is the law of
``x_{n+1}`` given ``x_n = s``; ``x_0 = start`` is given and not output, so a run emits
``x_1..x_T`` (a row of ``sequences`` has length ``T``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from specbound.core.validation import as_distribution
from specbound.errors import InvalidInputError, ShapeMismatchError
from specbound.validate import check_int

__all__ = ["MarkovChain", "check_enumerable", "check_pair"]

Array = NDArray[np.float64]


def _check_start(start: Any, num_states: int, name: str) -> int:
    number = check_int(start, f"{name}: start state")
    if not 0 <= number < num_states:
        raise InvalidInputError(
            f"{name}: start state {number} is out of range; states are 0..{num_states - 1}"
        )
    return number


@dataclass(frozen=True, eq=False, init=False)
class MarkovChain:
    """A chain ``x_0 = start -> x_1 -> ... -> x_T`` with kernels ``transitions`` (T, S, S).

    Every row ``transitions[n, s, :]`` must be a distribution (finite, >= 0, summing to 1
    within :data:`specbound.core.SUM_TOLERANCE`); with ``copy=True`` (the default) rows are
    stored divided by their sums, so the theory and the simulator see the same law. With
    ``copy=False`` a float64 array is kept as a read-only view without renormalising
    (useful for very large or broadcast arrays; do not modify it afterwards).
    """

    transitions: Array = field(repr=False)
    start: int = 0
    name: str = field(default="chain", compare=False)

    def __init__(
        self, transitions: ArrayLike, start: int = 0, *, name: str = "chain", copy: bool = True
    ) -> None:
        arr = as_distribution(transitions, f"{name} transitions")
        if arr.ndim != 3 or arr.shape[1] != arr.shape[2]:
            raise ShapeMismatchError(
                f"{name} transitions: expected shape (T, S, S) (horizon, states, states), "
                f"got {arr.shape}"
            )
        if arr.shape[0] < 1:
            raise InvalidInputError(f"{name} transitions: the horizon T must be >= 1, got 0")
        # (T, S, S); a copy is renormalised, a view is kept as given
        arr = arr / arr.sum(axis=-1, keepdims=True) if copy else arr.view()
        arr.flags.writeable = False
        object.__setattr__(self, "transitions", arr)
        object.__setattr__(self, "start", _check_start(start, arr.shape[1], name))
        object.__setattr__(self, "name", name)

    def __reduce__(self) -> tuple[Any, ...]:
        # rebuild through __init__ so an unpickled chain is validated and read-only again
        return (_restore, (self.transitions, self.start, self.name))

    def __repr__(self) -> str:
        return f"MarkovChain(T={self.horizon}, S={self.num_states}, start={self.start})"

    @property
    def horizon(self) -> int:
        """``T``: the number of tokens a run emits."""
        return int(self.transitions.shape[0])

    @property
    def num_states(self) -> int:
        """``S``: the vocabulary size."""
        return int(self.transitions.shape[1])

    def marginals(self) -> Array:
        """Laws of ``x_0..x_T``: (T+1, S), row 0 the point mass on ``start``."""
        out = np.zeros((self.horizon + 1, self.num_states))  # (T+1, S)
        out[0, self.start] = 1.0
        for n in range(self.horizon):
            out[n + 1] = out[n] @ self.transitions[n]  # (S,)
        return out

    def sequence_probs(self, max_sequences: int = 1 << 20) -> Array:
        """The law of ``(x_1..x_T)`` by enumeration: an array of shape ``(S,) * T``.

        Entry ``[x_1, ..., x_T]`` is the probability of that sequence. Refuses when
        ``S**T > max_sequences``.
        """
        check_enumerable(self.num_states, self.horizon, max_sequences)
        law = self.transitions[0, self.start]  # (S,)
        for n in range(1, self.horizon):
            last = np.arange(law.size) % self.num_states  # (S**n,)
            law = (law[:, None] * self.transitions[n][last]).ravel()  # (S**(n+1),)
        return law.reshape((self.num_states,) * self.horizon)

    def sample(self, n_runs: int, rng: np.random.Generator) -> NDArray[np.int64]:
        """``n_runs`` independent runs: (n_runs, T) states."""
        from specbound.core.sampling import sample_categorical

        out = np.empty((n_runs, self.horizon), dtype=np.int64)  # (R, T)
        state = np.full(n_runs, self.start, dtype=np.int64)  # (R,)
        for n in range(self.horizon):
            state = sample_categorical(self.transitions[n][state], rng)  # (R,)
            out[:, n] = state
        return out


def _restore(transitions: Array, start: int, name: str) -> MarkovChain:
    return MarkovChain(transitions, start, name=name, copy=False)


def check_enumerable(num_states: int, horizon: int, max_sequences: int) -> None:
    """Raise :class:`InvalidInputError` unless ``S**T <= max_sequences``."""
    if num_states**horizon > max_sequences:
        raise InvalidInputError(
            f"enumerating all S**T = {num_states}**{horizon} sequences exceeds the limit "
            f"{max_sequences}; use a smaller chain or raise max_sequences"
        )


def check_pair(draft: MarkovChain, target: MarkovChain) -> None:
    """Draft and target must be chains of the same horizon, vocabulary and start state."""
    for chain, label in ((draft, "draft"), (target, "target")):
        if not isinstance(chain, MarkovChain):
            raise InvalidInputError(f"{label}: expected a MarkovChain, got {type(chain).__name__}")
    if draft.transitions.shape != target.transitions.shape:
        raise ShapeMismatchError(
            f"draft chain has (T, S, S) = {draft.transitions.shape} but target chain has "
            f"{target.transitions.shape}; horizon T and states S must match"
        )
    if draft.start != target.start:
        raise InvalidInputError(
            f"draft chain starts at state {draft.start} but target chain at {target.start}; "
            "they must share the start state"
        )
