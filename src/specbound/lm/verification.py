"""Verify: one round of speculative decoding, decided by the algorithm's family.

No model here: given the draft laws p, the target laws q (paper notation: p = draft,
q = target) and the drafted tokens of a round, the spec's verification family
(:mod:`specbound.core.families`) decides how many drafted tokens are *accepted* and which
token comes next:

* a **recovered** token after a *rejection*, drawn from the rule's resampling law
  (SD: the residual ``[q - p]_+``; Decoding-OPT: Theorem 4's ``P*``; Decoding-UNO: q);
* a **bonus** token from the target's law after the last drafted token, when all were
  accepted and the round was scored one position further (finite gamma).

The arrays are NumPy arrays or torch tensors on the models' device; a token-level family
verifies on the device and reads its verdict back in one transfer, the multi-draft and
block families move the round to the host once.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from specbound.algorithms import Algorithm
from specbound.core.families import RoundVerdict

__all__ = ["RoundOutcome", "verify_round"]

#: The verdict on one round (``row``, ``accepted``, ``next_token``, ``rejected``, ``emitted``).
RoundOutcome = RoundVerdict


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

    Position i of ``target_probs`` is the target's law for the token at drafted position
    i (same prefix as the draft's); rows of position 0 are identical (same prefix).

    ``eos_token_id``: verification of the followed row stops at its first end-of-sequence
    token (nothing after it is output, so nothing after it can be refused); a round whose
    end-of-sequence token is accepted ends there, with no bonus token.
    """
    return algorithm.family.verify_round(draft_probs, target_probs, tokens, rng, eos_token_id)
