"""A deterministic drafter's rounds are a function of the output: predict them along paths.

Given the output ``x_1..x_L`` of speculative decoding with a deterministic drafter (token
rounds, SD or any lossless token-level verifier), every round is determined: a round
starting after ``x_{1:m}`` proposes ``d = D(x_{1:m})`` (k tokens, ``k <= min(gamma,
tokens left)``); the tokens kept are the longest common prefix ``a`` of ``d`` and
``x_{m+1..}`` (a kept token equals the output; a refused ``d_{a+1}`` is never output,
because the refusal resamples from q with ``d_{a+1}`` removed); then ``a < k`` is one
rejection and ``x_{m+a+1}`` the recovered token, ``a = k`` ends with the bonus token
(unless the round reached the horizon), and ``k = 0`` is one target step.

Since SD's output is distributed as the target's (exactness), the expected rejections and
target calls of a run are expectations over target-sampled paths of these counts:
:func:`predict_along_paths` replays the drafter on paths drawn from the target alone
(e.g. :func:`specbound.profiling.sample_paths`) — paper Section 7: Theorem 1's along-path
sum, ``sum_n E[1 - q_n(d_n)]``, counted round by round. With temperature 0 there is one
path and the counts are exactly the decoder's.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from specbound.algorithms import Algorithm
from specbound.estimates import Estimate
from specbound.lm.drafters.sources import TokenIndex, check_one_sequence

__all__ = [
    "ReplayedRounds",
    "RoundOutcome",
    "point_mass_round",
    "predict_along_paths",
    "replay_rounds",
]


@dataclass(frozen=True)
class ReplayedRounds:
    """The rounds of one run: ``accepted`` (kept drafted tokens per round, as
    :attr:`~specbound.lm.GenerationStats.accepted_lengths`), ``drafted`` (proposed
    tokens per round), ``rejections``, ``target_calls`` (= rounds) and ``starts`` (output
    tokens before each round: its context is the prompt's length plus this)."""

    accepted: tuple[int, ...]
    drafted: tuple[int, ...]
    rejections: int
    starts: tuple[int, ...] = ()

    @property
    def target_calls(self) -> int:
        return len(self.accepted)


@dataclass(frozen=True)
class RoundOutcome:
    """A point-mass round along a known output: ``kept`` drafted tokens, ``emitted``
    tokens output (the next round starts that many tokens on), ``refused``: one
    rejection."""

    kept: int
    emitted: int
    refused: bool


def point_mass_round(
    proposal: Sequence[int], ahead: Sequence[int], remaining: int, eos_token_id: int | None
) -> RoundOutcome:
    """The round that proposed ``proposal`` when the output goes on with ``ahead`` (the
    next ``len(proposal)`` output tokens, fewer at its end) and ``remaining`` tokens are
    left (module docstring)."""
    k = len(proposal)
    kept = 0
    while kept < len(ahead) and ahead[kept] == proposal[kept]:
        kept += 1
    stopped = eos_token_id is not None and eos_token_id in ahead[:kept]
    refused = kept < k and not stopped
    # no follower after an accepted stop token or at the horizon; else the recovered
    # token, or the bonus after k kept
    emitted = kept if stopped or kept == k == remaining else kept + 1
    return RoundOutcome(kept, emitted, refused)


def replay_rounds(
    index: TokenIndex,
    prompt_ids: Sequence[int],
    output: Sequence[int],
    algorithm: Algorithm,
    max_new_tokens: int,
    eos_token_id: int | None = None,
    max_draft: int | None = None,
) -> ReplayedRounds:
    """The rounds that produced ``output`` after ``prompt_ids`` (module docstring).

    ``index`` is a fresh model-free index (:mod:`specbound.lm.drafters.index`);
    ``algorithm``'s family gives each round's proposal shape (one sequence: batch SD is
    refused). ``output`` ends at ``max_new_tokens`` or at its first ``eos_token_id``.
    """
    path = [int(t) for t in output]
    index.extend([int(t) for t in prompt_ids])
    accepted: list[int] = []
    drafted: list[int] = []
    starts: list[int] = []
    rejections = 0
    done = 0
    while done < len(path):
        starts.append(done)
        shape = algorithm.family.proposal(algorithm.gamma, max_new_tokens - done)  # (1, length)
        check_one_sequence("ngram/suffix", shape.sequences)
        cap = shape.length if max_draft is None else min(shape.length, max_draft)
        proposal = index.propose(cap) if shape.length else []
        k = len(proposal)
        outcome = point_mass_round(
            proposal, path[done : done + k], max_new_tokens - done, eos_token_id
        )
        rejections += int(outcome.refused)
        accepted.append(outcome.kept)
        drafted.append(k)
        index.extend(path[done : done + outcome.emitted])
        done += outcome.emitted
    return ReplayedRounds(tuple(accepted), tuple(drafted), rejections, tuple(starts))


def predict_along_paths(
    make_index: Callable[[], TokenIndex],
    prompt_ids: Sequence[int],
    paths: NDArray[np.int64],
    lengths: NDArray[np.int64],
    algorithm: Algorithm,
    max_new_tokens: int,
    eos_token_id: int | None = None,
    max_draft: int | None = None,
) -> dict[str, Estimate]:
    """Expected ``rejections``, ``target_calls`` and ``drafted`` tokens of a run, estimated
    by replaying the drafter on N target-sampled ``paths`` (N, T) of ``lengths`` (N,)."""
    counts = np.zeros((paths.shape[0], 3))  # (N, 3)
    for row, (path, length) in enumerate(zip(paths, lengths, strict=True)):
        rounds = replay_rounds(
            make_index(),
            prompt_ids,
            path[: int(length)].tolist(),
            algorithm,
            max_new_tokens,
            eos_token_id,
            max_draft,
        )
        counts[row] = (rounds.rejections, rounds.target_calls, sum(rounds.drafted))
    names = ("rejections", "target_calls", "drafted")
    return {name: Estimate.from_samples(counts[:, i]) for i, name in enumerate(names)}
