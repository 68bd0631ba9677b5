"""Verify: one round of speculative decoding, decided by the ``core`` rules only.

No model here: given the draft laws p, the target laws q (paper notation: p = draft,
q = target) and the drafted tokens of a round, decide how many drafted tokens are
*accepted* and which token comes next:

* a **recovered** token after a *rejection*, drawn from the rule's resampling law
  (SD: the residual ``[q - p]_+``; Decoding-OPT: Theorem 4's ``P*``; Decoding-UNO: q);
* a **bonus** token from the target's law after the last drafted token, when all were
  accepted and the round was scored one position further (finite gamma).

One draft sequence (SD, OPT, UNO) is verified by
:func:`~specbound.core.sequence.verify_sequence` on the arrays as they come — NumPy
arrays, or torch tensors on the models' device — with its uniforms drawn up front, and
the round's verdict and tokens are read back in **one** transfer (the decoder's only
host synchronisation per round).

Batch SD (paper Algorithm 4): the M first tokens go through the round-start rule
(:class:`~specbound.core.batch.RecursiveRejectionRule`, or the optimal coupling of
:class:`~specbound.core.multidraft.OptimalMultiDraftRule`); if candidate m wins,
verification continues along draft sequence m with the step rule. If all M are refused
the round start is one rejection and its token comes from the rule's rejected law.
Block verification (:class:`~specbound.core.block.BlockVerificationRule`) judges the
whole drafted block at once: ``accepted`` is the number of tokens it keeps. These two
run on host NumPy arrays (their round-start and block laws are NumPy code).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from specbound.algorithms import Algorithm
from specbound.core.sampling import uniforms
from specbound.core.sequence import verify_sequence

__all__ = ["RoundOutcome", "verify_round"]


@dataclass(frozen=True)
class RoundOutcome:
    """The verdict on one round.

    ``row``: the draft sequence the output follows (0 unless batch SD); ``accepted``: how
    many of its drafted tokens were accepted; ``next_token``: the recovered or bonus token
    (None when every token was accepted and no bonus position was scored); ``rejected``:
    whether the round ended with a rejection; ``emitted``: the tokens the round outputs
    (the accepted drafted tokens, then the next token).
    """

    row: int
    accepted: int
    next_token: int | None
    rejected: bool
    emitted: tuple[int, ...] = ()


def _outcome(
    row: int, drafted: list[int], accepted: int, follower: int, rejected: int
) -> RoundOutcome:
    next_token = None if follower < 0 else follower
    emitted = (*drafted[:accepted], *([] if next_token is None else [next_token]))
    return RoundOutcome(row, accepted, next_token, bool(rejected), tuple(emitted))


def _like(values: np.ndarray, array: Any) -> Any:
    """``values`` as an array of ``array``'s backend and device (NumPy stays NumPy)."""
    if isinstance(array, np.ndarray):
        return values
    import torch

    return torch.from_numpy(values).to(array.device)


def _host(array: Any) -> np.ndarray:
    return array if isinstance(array, np.ndarray) else array.cpu().numpy()


def verify_round(
    algorithm: Algorithm,
    draft_probs: Any,
    target_probs: Any,
    tokens: Any,
    rng: np.random.Generator,
    eos_token_id: int | None = None,
) -> RoundOutcome:
    """Verify ``tokens`` (M, k) drafted from ``draft_probs`` (M, k, V) against
    ``target_probs`` (M, k, V) — or (M, k+1, V), whose last position gives a bonus token.

    The arrays are NumPy arrays or torch tensors (float64 laws, int64 tokens). Position i
    of ``target_probs`` is the target's law for the token at drafted position i (same
    prefix as the draft's). Rows of position 0 are identical (same prefix); row 0 is used
    at a batch round start.

    ``eos_token_id``: verification of the followed row stops at its first end-of-sequence
    token (nothing after it is output, so nothing after it can be refused); a round whose
    end-of-sequence token is accepted ends there, with no bonus token.
    """
    rule = algorithm.step_rule
    if rule is None:
        raise ValueError(f"{algorithm.name!r} drafts nothing; there is nothing to verify")
    num_drafts, k = tokens.shape
    if algorithm.round_start_rule is None and algorithm.block_rule is None:
        if num_drafts != 1:
            raise ValueError(f"{algorithm.name!r} verifies one draft, got {num_drafts}")
        u = _like(uniforms(rng, (k + 1,)), draft_probs)  # (k+1,) float64
        verdict = verify_sequence(rule, draft_probs[0], target_probs[0], tokens[0], u, eos_token_id)
        xp_tail = [verdict.accepted, verdict.next_token, verdict.rejected]
        read = _read(tokens[0], xp_tail)  # the round's one host transfer
        drafted, (accepted, follower, rejected) = read[:k], read[k:]
        return _outcome(0, drafted, accepted, follower, rejected)
    return _verify_on_host(
        algorithm, _host(draft_probs), _host(target_probs), _host(tokens), rng, eos_token_id
    )


def _read(tokens: Any, scalars: list[Any]) -> list[int]:
    """``tokens`` (k,) and the 0-d ``scalars`` as one host list of ints (one transfer)."""
    if isinstance(tokens, np.ndarray):
        return [*tokens.tolist(), *(int(s) for s in scalars)]
    import torch

    return torch.cat([tokens, torch.stack(scalars)]).tolist()


def _verify_on_host(
    algorithm: Algorithm,
    draft_probs: np.ndarray,
    target_probs: np.ndarray,
    tokens: np.ndarray,
    rng: np.random.Generator,
    eos_token_id: int | None,
) -> RoundOutcome:
    """Batch SD's round start and block verification (NumPy), then the followed row."""
    rule = algorithm.step_rule
    assert rule is not None
    _, k = tokens.shape
    row, first = 0, 0
    start_rule = algorithm.round_start_rule
    if start_rule is not None:
        winner, token = start_rule.verify(
            draft_probs[0, 0], target_probs[0, 0], tokens[:, 0], rng
        )  # () and ()
        if winner < 0:
            return _outcome(0, [], 0, int(token), 1)
        row, first = int(winner), 1
    drafted = tokens[row].tolist()
    ends_at_eos = False
    if eos_token_id is not None and eos_token_id in drafted[:k]:
        k, ends_at_eos = drafted.index(eos_token_id) + 1, True  # the row's first EOS closes it
    scored = k + 1 if (target_probs.shape[1] > k and not ends_at_eos) else k
    if algorithm.block_rule is not None:  # block verification: the block as a whole
        block = algorithm.block_rule.verify(
            draft_probs[0, :k], target_probs[0, :scored], tokens[0, :k], rng
        )
        tau = int(block.tau)
        return _outcome(0, drafted, tau, int(block.token), int(tau < k))
    u = uniforms(rng, (k - first + 1,))
    verdict = verify_sequence(
        rule,
        draft_probs[row, first:k],  # (k', V)
        target_probs[row, first:scored],  # (k' or k'+1, V)
        tokens[row, first:k],  # (k',)
        u,
    )
    accepted = first + int(verdict.accepted)
    return _outcome(row, drafted, accepted, int(verdict.next_token), int(verdict.rejected))
