"""Propose: drafters behind one protocol; the draft model samples draft sequences.

This is the *propose* half of speculative decoding (Hugging Face's candidate generator,
vLLM's proposers); the *verify* half is the algorithm's family
(:mod:`specbound.lm.verification`), which never knows which drafter ran. Every drafter
implements :class:`DraftSource`: it is told the tokens so far and the proposal shape the
family needs (:class:`~specbound.core.families.ProposalShape`: sequences x length), and
returns a :class:`Proposal` — the tokens **and the exact float64 laws they were drawn
from**. The law handed to verification must be the law the token was drawn from, or the
output is biased; a deterministic drafter (prompt lookup, suffix) proposes a point mass
(:meth:`Proposal.point_masses`), whose TV to the target is ``1 - q(x)``. A proposal may
be shorter than asked (a model-free drafter with no match proposes nothing: the round is
one target step).

:class:`Drafter` is the draft-model drafter (paper: p = draft) with its KV cache.

A round's drafting runs without a host round trip: the round's uniforms are drawn up
front (float64, one transfer), each position's law is warped in float64 into a buffer
preallocated for the round, the token is drawn by :func:`~specbound.core.kernels.inverse_cdf`
on the models' own tensors (on CPU too: torch's cumulative sum over a vocabulary is
about three times NumPy's) and fed straight back to the draft model as a tensor.
Drafting therefore does not look at the tokens it draws: a drafted end-of-sequence token
does not stop it (verification cuts the round there; what follows is never output).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import torch

from specbound.core import kernels
from specbound.lm.arrays import uniform_tensor
from specbound.lm.cache import CachedLM
from specbound.lm.warping import SamplingConfig, warp_probs

__all__ = ["DraftSource", "Drafter", "Proposal"]


@dataclass(frozen=True)
class Proposal:
    """M draft sequences of k tokens and the draft laws they were sampled from: tensors on
    the draft model's device."""

    tokens: torch.Tensor  # (M, k) int64
    draft_probs: torch.Tensor  # (M, k, V) float64

    @property
    def num_tokens(self) -> int:
        return int(self.tokens.shape[1])

    @classmethod
    def point_masses(cls, tokens: torch.Tensor, vocab_size: int) -> Proposal:
        """A deterministic proposal: ``tokens`` (M, k) with the point mass on each token
        as its law (M, k, V) — what a model-free drafter hands to verification."""
        laws = torch.zeros(
            (*tokens.shape, vocab_size), dtype=torch.float64, device=tokens.device
        )  # (M, k, V)
        laws.scatter_(-1, tokens.unsqueeze(-1), 1.0)
        return cls(tokens=tokens, draft_probs=laws)


class DraftSource(Protocol):
    """What the decoder asks of every drafter.

    ``forward_calls`` counts the drafter's model forwards (0 for a model-free drafter);
    ``fed`` is the number of tokens the model's first forward of the last
    :meth:`propose` fed (the tokens its cache had not seen; 0 when no model ran);
    :meth:`start` sees the prompt once; :meth:`propose` returns up to ``length`` tokens in
    ``sequences`` rows after ``tokens`` (everything so far); :meth:`keep` is told which
    row the round followed and how many tokens of the sequence are now final.
    """

    forward_calls: int
    fed: int

    def start(self, tokens: Sequence[int]) -> None: ...

    def propose(
        self, tokens: Sequence[int], length: int, sequences: int, rng: np.random.Generator
    ) -> Proposal: ...

    def keep(self, row: int, length: int) -> None: ...


class Drafter:
    """Samples M independent draft sequences from one prefix with the draft model.

    Position 1 of a round is one forward of the pending tokens with a one-row cache; the
    M first tokens are drawn i.i.d. from that single law, then the cache is fanned out to M
    rows and positions 2..k are one batched forward each (batch dim M). ``forward_calls``
    counts forwards (a batched one counts once).
    """

    def __init__(self, lm: CachedLM, sampling: SamplingConfig, eos_token_id: int | None) -> None:
        self.lm = lm
        self.sampling = sampling
        self.eos_token_id = eos_token_id
        self.forward_calls = 0
        self.fed = 0

    def start(self, tokens: Sequence[int]) -> None:
        """Cache all prompt tokens but the last (the first round feeds that one)."""
        if len(tokens) > 1:
            ids = torch.tensor([list(tokens[:-1])], dtype=torch.long, device=self.lm.device)
            self.lm.extend(ids)  # (1, L-1)

    def keep(self, row: int, length: int) -> None:
        """Keep ``row`` of the fanned-out cache, cropped to the first ``length`` tokens."""
        self.lm.select(row)
        self.lm.crop(length)

    def draft_law(self, logits: torch.Tensor) -> torch.Tensor:
        """The law p the draft samples from and verification compares against: (M, V)
        float64 (the exact law: verification divides by it)."""
        return warp_probs(logits, self.sampling)

    def sample(self, draft_probs: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
        """Draw one token per row of ``draft_probs`` (M, V) with the uniforms ``u`` (M,)."""
        return kernels.inverse_cdf(draft_probs, u)

    def propose(
        self,
        tokens: Sequence[int],
        num_tokens: int,
        num_drafts: int,
        rng: np.random.Generator,
    ) -> Proposal:
        """Draft ``num_drafts`` sequences of ``num_tokens`` tokens after ``tokens`` (all
        tokens so far; the cache holds a prefix of them).

        Leaves the cache fanned out to ``num_drafts`` rows, holding the pending tokens and
        all drafted tokens but the last.
        """
        lm = self.lm
        pending = tokens[lm.length :]
        self.fed = len(pending)
        device = lm.device
        u = uniform_tensor(rng, (num_tokens, num_drafts), device)  # (k, M) float64
        laws = torch.empty(
            (num_drafts, num_tokens, lm.vocab_size), dtype=torch.float64, device=device
        )  # (M, k, V): this round's laws, written in place
        drafted = torch.empty((num_drafts, num_tokens), dtype=torch.long, device=device)
        ids = torch.tensor([list(pending)], dtype=torch.long, device=device)  # (1, L)
        for position in range(num_tokens):
            logits = lm.extend(ids)[:, -1]  # (1 or M, V)
            self.forward_calls += 1
            law = laws[:, position]  # (M, V) view
            law.copy_(self.draft_law(logits))  # row-broadcast at position 0
            drafted[:, position] = self.sample(law, u[position])  # (M,)
            if position == 0:
                lm.repeat(num_drafts)
            ids = drafted[:, position : position + 1]  # (M, 1)
        return Proposal(tokens=drafted, draft_probs=laws)  # (M, k), (M, k, V)
