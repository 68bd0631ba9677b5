"""Token-level families: paper Algorithm 2 with one rule ``(b, P)`` at every position
(SD = Algorithm 1, Decoding-OPT, Decoding-UNO), and autoregressive decoding (Algorithm 3).

A token round verifies one draft sequence by
:func:`~specbound.core.sequence.verify_sequence` on the arrays as they come (NumPy, or
torch tensors on the models' device), with its uniforms drawn up front (float64), and reads
the verdict back in one transfer.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np

from specbound.core.families.base import RoundShapes, RoundVerdict, VerificationFamily
from specbound.core.families.transfer import like, read_ints
from specbound.core.rules import StepRule
from specbound.core.sampling import uniforms
from specbound.core.sequence import verify_sequence

__all__ = ["NoDraftFamily", "TokenFamily"]

R = TypeVar("R")


@dataclass(frozen=True)
class TokenFamily(VerificationFamily):
    """Every drafted position verified by ``step_rule`` (Algorithm 2); one draft sequence."""

    step_rule: StepRule

    def interpret(self, shapes: RoundShapes[R]) -> R:
        return shapes.token_rounds(self.step_rule, None)

    def verify_round(
        self,
        draft_probs: Any,
        target_probs: Any,
        tokens: Any,
        rng: np.random.Generator,
        stop_token: int | None = None,
    ) -> RoundVerdict:
        num_drafts, k = tokens.shape
        if num_drafts != 1:
            raise ValueError(f"a token-level round verifies one draft, got {num_drafts}")
        u = like(uniforms(rng, (k + 1,)), draft_probs)  # (k+1,) float64
        verdict = verify_sequence(
            self.step_rule, draft_probs[0], target_probs[0], tokens[0], u, stop_token
        )
        read = read_ints(tokens[0], [verdict.accepted, verdict.next_token, verdict.rejected])
        drafted, (accepted, follower, rejected) = read[:k], read[k:]
        return RoundVerdict.build(0, drafted, accepted, follower, rejected)


@dataclass(frozen=True)
class NoDraftFamily(VerificationFamily):
    """Autoregressive decoding (paper Algorithm 3): nothing drafted, one call per token."""

    drafts = False
    cost_kind = "autoregressive"

    def interpret(self, shapes: RoundShapes[R]) -> R:
        return shapes.no_draft()

    def verify_round(
        self,
        draft_probs: Any,
        target_probs: Any,
        tokens: Any,
        rng: np.random.Generator,
        stop_token: int | None = None,
    ) -> RoundVerdict:
        raise ValueError("autoregressive decoding drafts nothing; there is nothing to verify")
