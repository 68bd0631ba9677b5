"""Exact theory of block verification on a first-order chain (beyond the paper).

Block verification (:mod:`specbound.core.block`) decides a round from the whole drafted
block, so the phase recursion of :mod:`specbound.chain.recursion` (one position at a
time) does not apply. Instead a forward recursion runs over **round starts**: with
``alpha_n[s]`` = P(a round starts at position n after the token s),

* the round drafts ``k = min(gamma, T - n)`` tokens; every block ``X_1..X_k`` of the
  ``S^k`` possible ones is enumerated with its draft probability
  ``prod_i p_{n+i-1}(X_i | X_{i-1})`` (``X_0 = s``), and the rule gives the law of the
  number kept, ``P(tau = t | block)``, and of the token that follows;
* ``tau = t < k``: a rejection; the next round starts at ``n + t + 1`` after the recovered
  token ``Y ~ [w_t q_{n+t} - p_{n+t}]_+`` (given ``X_t``);
* ``tau = k``: all kept; if ``n + k < T`` the bonus ``Y ~ q_{n+k}(. | X_k)`` fills
  position ``n + k`` and the next round starts at ``n + k + 1``.

Rejections are attributed to the position where their round starts. Cost
``O(T S^(k+2) k)``, refused with the size named beyond :data:`MAX_ENUMERATED_ENTRIES`
(the simulator, :func:`specbound.simulate`, has no such limit). The same enumeration run
per prefix gives the exact law of whole output sequences (tiny chains), which is how the
tests check that block verification is lossless to 1e-12.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import numpy as np
from numpy.typing import NDArray

from specbound.chain.model import MarkovChain, check_enumerable
from specbound.core.block import BlockVerificationRule
from specbound.core.families import draft_length
from specbound.errors import InvalidInputError

__all__ = [
    "MAX_ENUMERATED_ENTRIES",
    "Outcomes",
    "RoundOutcomes",
    "block_recursion",
    "block_sequence_law",
    "round_recursion",
    "round_sequence_law",
]

Array = NDArray[np.float64]

#: The largest ``S^(k+2) (k+1)`` (numbers held per round start) the theory enumerates.
MAX_ENUMERATED_ENTRIES = 1 << 24


@dataclass(frozen=True)
class RoundOutcomes:
    """What a round starting at position n does, per previous token s (the rows).

    Blocks are indexed in base S (``X_1`` the most significant digit). ``reject[s]`` =
    P(tau < k); ``recovered[t][s, b, y]`` = P(the block starts with the t tokens of index
    b, tau = t, the recovered token is y), t = 0..k-1; ``kept[s, b]`` = P(block b, all
    kept); ``bonus[s, b, y]`` = that times the bonus law, None at the horizon.
    """

    k: int
    reject: Array  # (S,)
    recovered: tuple[Array, ...]  # t = 0..k-1: (S, S^t, S)
    kept: Array  # (S, S^k)
    bonus: Array | None  # (S, S^k, S)


def _check_size(num_states: int, k: int) -> None:
    entries = num_states ** (k + 2) * (k + 1)
    if entries > MAX_ENUMERATED_ENTRIES:
        raise InvalidInputError(
            f"block verification's exact theory enumerates S^k = {num_states}^{k} draft "
            f"blocks per round start (about {entries:.2e} numbers with S = {num_states}, "
            f"k = {k}), more than {MAX_ENUMERATED_ENTRIES:.2e}; use a smaller gamma, or "
            "estimate it with specbound.simulate"
        )


def round_outcomes(
    draft: MarkovChain, target: MarkovChain, rule: BlockVerificationRule, n: int, k: int
) -> RoundOutcomes:
    """Enumerate every block of a round starting at position ``n`` (module docstring)."""
    S, T = draft.num_states, draft.horizon
    _check_size(S, k)
    blocks = np.indices((S,) * k).reshape(k, -1).T  # (S^k, k) in base-S order
    previous = np.concatenate(  # X_0 = s, then X_1..X_{k-1}: (S, S^k, k)
        [
            np.broadcast_to(np.arange(S)[:, None, None], (S, blocks.shape[0], 1)),
            np.broadcast_to(blocks[None, :, :-1], (S, blocks.shape[0], k - 1)),
        ],
        axis=-1,
    )
    steps = n + np.arange(k)  # (k,) positions of the block
    draft_laws = draft.transitions[steps, previous]  # (S, S^k, k, S)
    target_laws = target.transitions[steps, previous]  # (S, S^k, k, S)
    tokens = np.broadcast_to(blocks, (S, *blocks.shape))  # (S, S^k, k)
    block_prob = np.prod(np.take_along_axis(draft_laws, tokens[..., None], -1)[..., 0], -1)
    weights = rule.weights(draft_laws, target_laws, tokens)  # (S, S^k, k+1)
    tau = rule.tau_law(rule.stop_probs(draft_laws, target_laws, weights))  # (S, S^k, k+1)
    joint = block_prob[..., None] * tau  # (S, S^k, k+1)
    recovered = []
    for t in range(k):
        law = rule.recovery_law(draft_laws, target_laws, weights, t)  # (S, S^k, S)
        mass = joint[..., t, None] * law  # (S, S^k, S)
        recovered.append(mass.reshape(S, S**t, S ** (k - t), S).sum(axis=2))  # (S, S^t, S)
    kept = joint[..., k]  # (S, S^k)
    bonus = None
    if n + k < T:
        bonus = kept[..., None] * target.transitions[n + k][blocks[:, -1]][None]  # (S, S^k, S)
    return RoundOutcomes(k, joint[..., :k].sum(axis=(1, 2)), tuple(recovered), kept, bonus)


#: A round's outcomes given (its start position n, its drafted depth k).
Outcomes = Callable[[int, int], RoundOutcomes]


def block_recursion(
    draft: MarkovChain, target: MarkovChain, rule: BlockVerificationRule, gamma: int | None
) -> tuple[Array, Array]:
    """(P(a rejection in the round starting at n), P(a round starts at n)): (T,), (T,)."""
    T, S = draft.horizon, draft.num_states
    if gamma is not None or T <= 1:  # refuse before any work
        _check_size(S, min(T, gamma or T))
    else:
        _check_size(S, T)
    return round_recursion(draft, partial(round_outcomes, draft, target, rule), gamma)


def round_recursion(
    draft: MarkovChain, outcomes: Outcomes, gamma: int | None
) -> tuple[Array, Array]:
    """The forward recursion over round starts (module docstring) for any rounds whose
    outcomes a function gives: (P(rejection in the round at n), P(round starts at n))."""
    T, S = draft.horizon, draft.num_states
    alpha = np.zeros((T + 1, S))  # (T+1, S)
    alpha[0, draft.start] = 1.0
    rejection, starts = np.zeros(T), np.zeros(T)
    for n in range(T):
        mass = alpha[n]  # (S,)
        starts[n] = mass.sum()
        if starts[n] <= 0:
            continue
        k = draft_length(gamma, T - n)
        outcome = outcomes(n, k)
        rejection[n] = mass @ outcome.reject
        for t, part in enumerate(outcome.recovered):
            alpha[n + t + 1] += mass @ part.sum(axis=1)
        if outcome.bonus is not None:
            alpha[n + k + 1] += mass @ outcome.bonus.sum(axis=1)
    return rejection, starts


def block_sequence_law(
    draft: MarkovChain,
    target: MarkovChain,
    rule: BlockVerificationRule,
    gamma: int | None,
    max_sequences: int = 1 << 20,
) -> Array:
    """The exact law of the output ``(x_1..x_T)`` of block verification: ``(S,) * T``."""
    outcomes = partial(round_outcomes, draft, target, rule)
    return round_sequence_law(draft, outcomes, gamma, max_sequences)


def round_sequence_law(
    draft: MarkovChain, outcomes: Outcomes, gamma: int | None, max_sequences: int = 1 << 20
) -> Array:
    """The exact output law ``(S,) * T`` of rounds whose outcomes a function gives."""
    T, S = draft.horizon, draft.num_states
    check_enumerable(S, T, max_sequences)
    masses: list[Array] = [np.zeros(0)] * (T + 1)  # masses[n]: (S^n,) prefixes, round at n
    masses[0] = np.ones(1)
    for n in range(T):
        mass = masses[n]
        if mass.size == 0 or not mass.any():
            continue
        last = np.arange(mass.size) % S if n > 0 else np.array([draft.start])  # (S^n,)
        k = draft_length(gamma, T - n)
        outcome = outcomes(n, k)
        grown = [
            (n + t + 1, mass[:, None, None] * part[last])
            for t, part in enumerate(outcome.recovered)
        ]
        if outcome.bonus is not None:
            grown.append((n + k + 1, mass[:, None, None] * outcome.bonus[last]))
        else:  # all kept at the horizon: the output is complete
            grown.append((n + k, mass[:, None] * outcome.kept[last]))
        for end, values in grown:
            if masses[end].size == 0:
                masses[end] = np.zeros(S**end)
            masses[end] += values.ravel()  # prefix digits, then the block's, then y
    return masses[T].reshape((S,) * T)
