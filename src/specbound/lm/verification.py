"""Verify: one round of speculative decoding, decided by the ``core`` rules only.

Pure numpy, no model: given the draft laws p, the target laws q (paper notation: p = draft,
q = target) and the drafted tokens of a round, decide how many drafted tokens are
*accepted* and which token comes next:

* a **recovered** token after a *rejection*, drawn from the rule's resampling law
  (SD: the residual ``[q - p]_+``; Decoding-OPT: Theorem 4's ``P*``; Decoding-UNO: q);
* a **bonus** token from the target's law after the last drafted token, when all were
  accepted and the round was scored one position further (finite gamma).

Batch SD (paper Algorithm 4): the M first tokens go through the round-start rule
(:class:`~specbound.core.batch.RecursiveRejectionRule`, or the optimal coupling of
:class:`~specbound.core.multidraft.OptimalMultiDraftRule`); if candidate m wins,
verification continues along draft sequence m with the SD rule. If all M are refused the
round start is one rejection and its token comes from the rule's rejected law.

Block verification (:class:`~specbound.core.block.BlockVerificationRule`) judges the
whole drafted block at once: ``accepted`` is the number of tokens it keeps.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from specbound.algorithms import Algorithm
from specbound.core.rules import accept_drafted
from specbound.core.sampling import sample_categorical

__all__ = ["RoundOutcome", "verify_round"]


@dataclass(frozen=True)
class RoundOutcome:
    """The verdict on one round.

    ``row``: the draft sequence the output follows (0 unless batch SD); ``accepted``: how
    many of its drafted tokens were accepted; ``next_token``: the recovered or bonus token
    (None when every token was accepted and no bonus position was scored); ``rejected``:
    whether the round ended with a rejection.
    """

    row: int
    accepted: int
    next_token: int | None
    rejected: bool


def verify_round(
    algorithm: Algorithm,
    draft_probs: NDArray[np.float64],
    target_probs: NDArray[np.float64],
    tokens: NDArray[np.int64],
    rng: np.random.Generator,
    eos_token_id: int | None = None,
) -> RoundOutcome:
    """Verify ``tokens`` (M, k) drafted from ``draft_probs`` (M, k, V) against
    ``target_probs`` (M, k, V) — or (M, k+1, V), whose last position gives a bonus token.

    Position i of ``target_probs`` is the target's law for the token at drafted position
    i (same prefix as the draft's). Rows of position 0 are identical (same prefix); row 0
    is used at a batch round start.

    ``eos_token_id``: verification of the followed row stops at its first end-of-sequence
    token (nothing after it is output, so nothing after it can be refused); a round whose
    end-of-sequence token is accepted ends there, with no bonus token.
    """
    rule = algorithm.step_rule
    if rule is None:
        raise ValueError(f"{algorithm.name!r} drafts nothing; there is nothing to verify")
    num_drafts, k = tokens.shape
    start_rule = algorithm.round_start_rule
    row, first = 0, 0
    if start_rule is not None:
        winner, token = start_rule.verify(
            draft_probs[0, 0], target_probs[0, 0], tokens[:, 0], rng
        )  # () and ()
        if winner < 0:
            return RoundOutcome(row=0, accepted=0, next_token=int(token), rejected=True)
        row, first = int(winner), 1
    elif num_drafts != 1:
        raise ValueError(f"{algorithm.name!r} verifies one draft, got {num_drafts}")
    ends_at_eos = False
    if eos_token_id is not None:
        hits = np.flatnonzero(tokens[row, :k] == eos_token_id)
        if hits.size:  # the row's first end-of-sequence token closes the round
            k, ends_at_eos = int(hits[0]) + 1, True
    if algorithm.block_rule is not None:  # block verification: the block as a whole
        scored = k + 1 if (target_probs.shape[1] > k and not ends_at_eos) else k
        verdict = algorithm.block_rule.verify(
            draft_probs[0, :k], target_probs[0, :scored], tokens[0, :k], rng
        )
        tau, follower = int(verdict.tau), int(verdict.token)
        return RoundOutcome(
            row=0, accepted=tau, next_token=None if follower < 0 else follower, rejected=tau < k
        )
    if first < k:
        ok = accept_drafted(
            rule,
            draft_probs[row, first:k],  # (k', V)
            target_probs[row, first:k],  # (k', V)
            tokens[row, first:k],  # (k',)
            rng,
        )  # (k',) independent uniforms; only those before the first refusal matter
        refused = np.flatnonzero(~ok)
        if refused.size:
            at = first + int(refused[0])
            recovered = rule.sample_recovered(draft_probs[row, at], target_probs[row, at], rng)
            return RoundOutcome(row=row, accepted=at, next_token=int(recovered), rejected=True)
    if target_probs.shape[1] > k and not ends_at_eos:
        bonus = sample_categorical(target_probs[row, k], rng)  # ()
        return RoundOutcome(row=row, accepted=k, next_token=int(bonus), rejected=False)
    return RoundOutcome(row=row, accepted=k, next_token=None, rejected=False)
