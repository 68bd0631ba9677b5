"""Multi-draft families: M draft sequences, a multi-draft verifier at the round start.

Paper Algorithm 4 (batch SD): the M first tokens are tried by recursive rejection
(:class:`~specbound.core.batch.RecursiveRejectionRule`), or by the optimal lossless coupling
of the M drafts (:class:`~specbound.core.multidraft.OptimalMultiDraftRule`, beyond the
paper); if candidate m wins, verification goes on along sequence m with the step rule. If
all M are refused the round start is one rejection and its token comes from the rule's
rejected law. The round-start laws are NumPy code, so a round's arrays move to the host
once (:func:`~specbound.core.families.transfer.on_host`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np

from specbound.core.batch import RecursiveRejectionRule
from specbound.core.families.base import RoundShapes, RoundVerdict, VerificationFamily
from specbound.core.families.transfer import on_host
from specbound.core.multidraft import OptimalMultiDraftRule, check_coupling_size
from specbound.core.rules import StepRule
from specbound.core.sampling import uniforms
from specbound.core.sequence import verify_sequence

__all__ = ["MultiDraftFamily", "followed_span"]

R = TypeVar("R")


def followed_span(drafted: list[int], scored: int, stop_token: int | None) -> tuple[int, int]:
    """(positions judged, positions of the target used) of a followed row: the row is cut
    after its first ``stop_token`` (nothing after it is output), and a bonus position is
    used only when the target scored one (``scored`` > drafted) and no stop token closed
    the row."""
    k = len(drafted)
    if stop_token is not None and stop_token in drafted:
        return drafted.index(stop_token) + 1, drafted.index(stop_token) + 1
    return k, k + 1 if scored > k else k


@dataclass(frozen=True)
class MultiDraftFamily(VerificationFamily):
    """A multi-draft round start (``start_rule``), then ``step_rule`` along the winner."""

    step_rule: StepRule
    start_rule: RecursiveRejectionRule | OptimalMultiDraftRule

    cost_kind = "batch"

    @property
    def num_sequences(self) -> int:
        return int(self.start_rule.num_drafts)

    def interpret(self, shapes: RoundShapes[R]) -> R:
        return shapes.token_rounds(self.step_rule, self.start_rule)

    def check_vocabulary(self, vocab_size: int) -> None:
        """The optimal coupling's sampler enumerates draft sets: refuse big vocabularies."""
        if isinstance(self.start_rule, OptimalMultiDraftRule) and self.num_sequences > 1:
            check_coupling_size(vocab_size, self.num_sequences)

    def verify_round(
        self,
        draft_probs: Any,
        target_probs: Any,
        tokens: Any,
        rng: np.random.Generator,
        stop_token: int | None = None,
    ) -> RoundVerdict:
        draft, target, drafts = on_host(draft_probs), on_host(target_probs), on_host(tokens)
        winner, token = self.start_rule.verify(draft[0, 0], target[0, 0], drafts[:, 0], rng)
        if winner < 0:
            return RoundVerdict.build(0, [], 0, int(token), 1)
        row = int(winner)
        drafted = drafts[row].tolist()
        k, scored = followed_span(drafted, target.shape[1], stop_token)
        u = uniforms(rng, (k,))  # (k - 1 + 1,) the rest of the row and one draw
        verdict = verify_sequence(
            self.step_rule,
            draft[row, 1:k],  # (k-1, V)
            target[row, 1:scored],  # (k-1 or k, V)
            drafts[row, 1:k],  # (k-1,)
            u,
        )
        accepted = 1 + int(verdict.accepted)
        return RoundVerdict.build(
            row, drafted, accepted, int(verdict.next_token), int(verdict.rejected)
        )
