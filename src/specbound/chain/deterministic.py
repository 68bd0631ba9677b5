"""Deterministic drafters on Markov chains: draft chains whose rows are point masses.

A model-free drafter (prompt lookup, suffix decoding) proposes a fixed token given the
context; on a first-order chain that is a draft chain with ``transitions[n, s, :] =
1_{d_n(s)}`` for a map ``d`` (T, S). SD's exact theory needs nothing new: TV(1_x, q) =
1 - q(x), so Theorem 1 gives

    E[N_rej] = sum_n E_{x_n ~ target}[1 - q_n(d_n(x_n) | x_n)]

and :func:`specbound.theory.expected_rejections` / ``expected_target_calls`` and
:func:`specbound.simulate` take such a draft like any other (paper Section 7,
deterministic drafters).

* :func:`deterministic_draft` — the point-mass draft of a given map, or of the target's
  most likely next state (``choose="argmax"``, greedy lookahead with a perfect model of
  the target's mode);
* :func:`copy_pair` — the *copy* family: a target that repeats the token ``period``
  positions back with probability ``p_copy`` (else draws from a Dirichlet row), and the
  draft that always proposes the copy. A chain that looks ``period`` tokens back is not
  first-order in the token alone, so the chain's state is the *window* of the last
  ``period`` tokens (``S**period`` states, the most recent token the least significant
  base-``S`` digit; :func:`window_tokens` reads the tokens back). Each window has ``S``
  successors (shift in the next token), so the theory is exact on the window chain and
  its rejections are the token process's.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from specbound.chain.model import MarkovChain
from specbound.errors import InvalidInputError, ShapeMismatchError
from specbound.validate import check_float, check_int, check_memory, check_seed

__all__ = ["copy_pair", "deterministic_draft", "proposed_states", "window_tokens"]

#: Float64 arrays of shape (T, N, N) :func:`copy_pair` holds at its peak (two chains,
#: their validated copies).
COPY_ARRAYS_AT_PEAK = 4


def _point_masses(choice: NDArray[np.int64], num_states: int) -> NDArray[np.float64]:
    """One-hot rows: (T, S) next states -> (T, S, S) transitions."""
    rows = np.zeros((*choice.shape, num_states))  # (T, S, S)
    np.put_along_axis(rows, choice[..., None], 1.0, axis=-1)
    return rows


def deterministic_draft(target: MarkovChain, choose: str | ArrayLike = "argmax") -> MarkovChain:
    """The draft chain proposing ``d_n(s)`` after state ``s`` at position ``n``.

    ``choose="argmax"``: the target's most likely next state (ties: the lowest index);
    otherwise an integer array (T, S) (or (S,), the same map at every position) of next
    states. The draft shares the target's horizon and start state.
    """
    if not isinstance(target, MarkovChain):
        raise InvalidInputError(f"target: expected a MarkovChain, got {type(target).__name__}")
    T, S = target.horizon, target.num_states
    if isinstance(choose, str):
        if choose != "argmax":
            raise InvalidInputError(f"choose must be 'argmax' or a (T, S) map, got {choose!r}")
        choice = np.argmax(target.transitions, axis=-1)  # (T, S)
    else:
        raw = np.asarray(choose)
        if raw.dtype.kind not in "iu":
            raise InvalidInputError(
                f"choose: a map of next states must be integers, got {raw.dtype}"
            )
        if raw.shape not in ((S,), (T, S)):
            raise ShapeMismatchError(
                f"choose: expected shape (T, S) = {(T, S)} or (S,), got {raw.shape}"
            )
        if raw.size and (raw.min() < 0 or raw.max() >= S):
            raise InvalidInputError(f"choose: next states must lie in 0..{S - 1}")
        choice = np.broadcast_to(raw, (T, S)).astype(np.int64)  # (T, S)
    return MarkovChain(_point_masses(choice, S), target.start, name="draft")


def proposed_states(draft: MarkovChain) -> NDArray[np.int64]:
    """The map ``d`` (T, S) of a deterministic draft; refuses a row that is not a point mass."""
    rows = draft.transitions  # (T, S, S)
    if not np.all((rows == 0.0) | (rows == 1.0)):
        raise InvalidInputError(
            f"{draft.name}: not a deterministic draft (a row is not a point mass)"
        )
    return np.argmax(rows, axis=-1).astype(np.int64)  # (T, S)


def window_tokens(states: ArrayLike, num_tokens: int) -> NDArray[np.int64]:
    """The most recent token of each window state of :func:`copy_pair` (``state % S``)."""
    S = check_int(num_tokens, "num_tokens", low=1)
    return np.asarray(states, dtype=np.int64) % S


def copy_pair(
    T: int,
    S: int,
    period: int,
    p_copy: float,
    seed: int = 0,
    *,
    concentration: float = 1.0,
    start: int | None = None,
) -> tuple[MarkovChain, MarkovChain]:
    """(draft, target) of the copy family over windows of ``period`` tokens (module
    docstring): ``N = S**period`` states, horizon ``T``.

    The target's next token after window ``w = (w_1..w_period)`` (``w_period`` the most
    recent) is ``w_1`` — the token ``period`` positions back — with probability
    ``p_copy``, else a draw from a ``Dirichlet(concentration)`` row over the ``S`` tokens
    (independent per position and window; ``np.random.default_rng(seed)``). The draft
    proposes the copy (a point mass). ``start``: the window ``x_0`` is (default: the
    tokens ``0, 1, ..., period-1`` mod ``S``).
    """
    T, S = check_int(T, "T", low=1), check_int(S, "S", low=1)
    period = check_int(period, "period", low=1)
    p_copy = check_float(p_copy, "p_copy", low=0.0, high=1.0)
    check_float(concentration, "concentration", low=0.0, low_open=True)
    N = S**period
    check_memory(
        8.0 * COPY_ARRAYS_AT_PEAK * T * N * N,
        f"copy_pair: T={T} positions over S**period = {S}**{period} = {N} window states",
    )
    if start is None:
        start = sum((i % S) * S ** (period - 1 - i) for i in range(period))
    rng = np.random.default_rng(check_seed(seed))
    states = np.arange(N)  # (N,)
    oldest = states // S ** (period - 1)  # (N,) w_1, the token copied
    shifted = (states * S) % N  # (N,) the window with w_1 dropped, next token 0
    successors = shifted[:, None] + np.arange(S)[None, :]  # (N, S) window after token y
    rows = rng.dirichlet(np.full(S, concentration), size=(T, N))  # (T, N, S)
    copy = np.zeros((N, S))  # (N, S)
    copy[states, oldest] = 1.0
    token_law = p_copy * copy[None] + (1.0 - p_copy) * rows  # (T, N, S)
    target = np.zeros((T, N, N))  # (T, N, N)
    target[:, states[:, None], successors] = token_law
    draft_map = np.broadcast_to(shifted + oldest, (T, N))  # (T, N) the copied window
    return (
        MarkovChain(_point_masses(draft_map, N), start, name="draft"),
        MarkovChain(target, start, name="target"),
    )
