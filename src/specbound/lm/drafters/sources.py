"""Model-free drafters (prompt lookup, suffix decoding) and the model-free-first fallback.

Each is a :class:`~specbound.lm.drafting.DraftSource`. A model-free drafter is
*deterministic*: given the tokens so far it proposes a fixed continuation, so the law
handed to verification is the point mass on each proposed token
(:meth:`~specbound.lm.drafting.Proposal.point_masses`). SD then accepts a proposed token
x with probability ``min(1, q(x)/1) = q(x)`` and otherwise resamples from
``[q - 1_x]_+``, i.e. q with x removed and renormalised: the output law is q exactly
(paper, Algorithm 1 with p a point mass), and Theorem 1 prices the drafter with
``TV(1_x, q) = 1 - q(x)`` at every drafted position.

When nothing matches the drafter proposes nothing: the round is one target step (one
call, one token, no rejection), which is autoregressive decoding's cost for that token.
Model-free drafters propose one sequence; batch SD (M sequences) is refused by name.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np
import torch

from specbound.errors import InvalidAlgorithmError
from specbound.lm.drafting import Drafter, Proposal

__all__ = [
    "FallbackDrafter",
    "ModelFreeDrafter",
    "TokenIndex",
    "check_one_sequence",
]


class TokenIndex(Protocol):
    """What a model-free drafter asks of its index (:mod:`specbound.lm.drafters.index`)."""

    def __len__(self) -> int: ...

    def extend(self, tokens: Sequence[int]) -> None: ...

    def propose(self, length: int) -> list[int]: ...


def check_one_sequence(name: str, sequences: int) -> None:
    """Refuse a proposal of more than one sequence (batch SD) from drafter ``name``."""
    if sequences != 1:
        raise InvalidAlgorithmError(
            f"--drafter {name} proposes one draft sequence per round, but the algorithm "
            f"asks for {sequences} (batch SD); use --drafter model with --num-drafts > 1"
        )


class ModelFreeDrafter:
    """A deterministic drafter over a token index: no model, ``forward_calls == 0``.

    ``index`` sees the prompt at :meth:`start` and every final token as it arrives (the
    decoder only appends); ``max_draft`` caps a round's proposal (None: as many as the
    round asks). ``device`` and ``vocab_size`` shape the point-mass laws.
    """

    def __init__(
        self,
        name: str,
        index: TokenIndex,
        vocab_size: int,
        device: torch.device,
        max_draft: int | None = None,
    ) -> None:
        self.name = name
        self.index = index
        self.vocab_size = vocab_size
        self.device = device
        self.max_draft = max_draft
        self.forward_calls = 0
        self.fed = 0  # no model forwards

    def start(self, tokens: Sequence[int]) -> None:
        """Index the prompt."""
        self.index.extend(tokens[len(self.index) :])

    def draft(self, tokens: Sequence[int], length: int) -> list[int]:
        """The continuation this drafter proposes after ``tokens`` (possibly empty)."""
        self.index.extend(tokens[len(self.index) :])  # the tokens final since last round
        cap = length if self.max_draft is None else min(length, self.max_draft)
        return self.index.propose(cap)

    def propose(
        self, tokens: Sequence[int], length: int, sequences: int, rng: np.random.Generator
    ) -> Proposal:
        """Point masses on up to ``length`` proposed tokens; (1, 0) when nothing matches."""
        check_one_sequence(self.name, sequences)
        drafted = torch.tensor([self.draft(tokens, length)], dtype=torch.long)  # (1, k)
        return Proposal.point_masses(drafted.to(self.device), self.vocab_size)

    def keep(self, row: int, length: int) -> None:
        """Nothing to undo: the index holds only final tokens."""


class FallbackDrafter:
    """Model-free first, the draft model where nothing matches (``--drafter ngram+model``,
    ``suffix+model``).

    The choice depends only on the tokens so far, so each round's law is still exactly the
    law its tokens were drawn from (a point mass, or the draft model's warped law).

    The draft model's KV cache stays a prefix of the final tokens: a model-free round
    does not touch it (the tokens it misses stay pending, and the model's next
    :meth:`~specbound.lm.drafting.Drafter.propose` feeds them in its first forward); only a
    round the model drafted is kept (row, cropped) by :meth:`keep`.
    """

    def __init__(self, first: ModelFreeDrafter, model: Drafter) -> None:
        self.first = first
        self.model = model
        self._model_drafted = False
        self.forward_calls = 0  # the draft model's forwards (the model-free ones make none)
        self.fed = 0  # what the model's first forward fed in the last round (0: not run)

    def start(self, tokens: Sequence[int]) -> None:
        self.first.start(tokens)
        self.model.start(tokens)

    def propose(
        self, tokens: Sequence[int], length: int, sequences: int, rng: np.random.Generator
    ) -> Proposal:
        check_one_sequence(f"{self.first.name}+model", sequences)
        drafted = self.first.draft(tokens, length)
        self._model_drafted = not drafted
        self.fed = 0
        if self._model_drafted:
            proposal = self.model.propose(tokens, length, sequences, rng)
            self.forward_calls = self.model.forward_calls
            self.fed = self.model.fed
            return proposal
        ids = torch.tensor([drafted], dtype=torch.long, device=self.first.device)  # (1, k)
        return Proposal.point_masses(ids, self.first.vocab_size)

    def keep(self, row: int, length: int) -> None:
        if self._model_drafted:
            self.model.keep(row, length)
