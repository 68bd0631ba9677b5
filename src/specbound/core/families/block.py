"""Block verification (Sun et al. 2024) as a family: a round's drafted block judged whole.

:class:`~specbound.core.block.BlockVerificationRule` keeps ``tau`` of the k drafted
tokens (``tau`` = the largest i whose stop draw succeeded) and draws the next token from
the weighted residual, or the bonus from the target when all k are kept. Lossless, never
fewer kept tokens than SD in expectation; at ``gamma = 1`` it is SD. The block laws are
NumPy code: a round's arrays move to the host once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np

from specbound.core.block import BlockVerificationRule
from specbound.core.families.base import RoundShapes, RoundVerdict, VerificationFamily
from specbound.core.families.multidraft import followed_span
from specbound.core.families.transfer import on_host

__all__ = ["BlockFamily"]

R = TypeVar("R")


@dataclass(frozen=True)
class BlockFamily(VerificationFamily):
    """One draft sequence per round, verified as a block by ``block_rule``."""

    block_rule: BlockVerificationRule

    cost_kind = "block"

    def interpret(self, shapes: RoundShapes[R]) -> R:
        return shapes.block_rounds(self.block_rule)

    def verify_round(
        self,
        draft_probs: Any,
        target_probs: Any,
        tokens: Any,
        rng: np.random.Generator,
        stop_token: int | None = None,
    ) -> RoundVerdict:
        num_drafts = tokens.shape[0]
        if num_drafts != 1:
            raise ValueError(f"block verification judges one draft, got {num_drafts}")
        draft, target, drafts = on_host(draft_probs), on_host(target_probs), on_host(tokens)
        drafted = drafts[0].tolist()
        k, scored = followed_span(drafted, target.shape[1], stop_token)
        block = self.block_rule.verify(draft[0, :k], target[0, :scored], drafts[0, :k], rng)
        tau = int(block.tau)
        return RoundVerdict.build(0, drafted, tau, int(block.token), int(tau < k))
