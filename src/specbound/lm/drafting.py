"""Propose: the draft model samples draft sequences (paper: p = draft), with its KV cache.

This is the *propose* half of speculative decoding (Hugging Face's candidate generator);
the *verify* half is :mod:`specbound.lm.verification`, which only calls ``core`` rules.
A proposal carries the tokens and the exact float64 laws they were sampled from: the law
handed to verification must be the law the token was drawn from, or the output is biased.

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

import numpy as np
import torch

from specbound.core import kernels
from specbound.lm.arrays import uniform_tensor
from specbound.lm.cache import CachedLM
from specbound.lm.warping import SamplingConfig, warp_probs

__all__ = ["Drafter", "Proposal"]


@dataclass(frozen=True)
class Proposal:
    """M draft sequences of k tokens and the draft laws they were sampled from: tensors on
    the draft model's device."""

    tokens: torch.Tensor  # (M, k) int64
    draft_probs: torch.Tensor  # (M, k, V) float64

    @property
    def num_tokens(self) -> int:
        return int(self.tokens.shape[1])


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

    def draft_law(self, logits: torch.Tensor) -> torch.Tensor:
        """The law p the draft samples from and verification compares against: (M, V)
        float64 (the exact law: verification divides by it)."""
        return warp_probs(logits, self.sampling)

    def sample(self, draft_probs: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
        """Draw one token per row of ``draft_probs`` (M, V) with the uniforms ``u`` (M,)."""
        return kernels.inverse_cdf(draft_probs, u)

    def propose(
        self,
        pending: Sequence[int],
        num_tokens: int,
        num_drafts: int,
        rng: np.random.Generator,
    ) -> Proposal:
        """Draft ``num_drafts`` sequences of ``num_tokens`` tokens after ``pending``.

        Leaves the cache fanned out to ``num_drafts`` rows, holding the pending tokens and
        all drafted tokens but the last.
        """
        lm = self.lm
        device = lm.device
        u = uniform_tensor(rng, (num_tokens, num_drafts), device)  # (k, M) float64
        laws = torch.empty(
            (num_drafts, num_tokens, lm.vocab_size), dtype=torch.float64, device=device
        )  # (M, k, V): this round's laws, written in place
        tokens = torch.empty((num_drafts, num_tokens), dtype=torch.long, device=device)
        ids = torch.tensor([list(pending)], dtype=torch.long, device=device)  # (1, L)
        for position in range(num_tokens):
            logits = lm.extend(ids)[:, -1]  # (1 or M, V)
            self.forward_calls += 1
            law = laws[:, position]  # (M, V) view
            law.copy_(self.draft_law(logits))  # row-broadcast at position 0
            tokens[:, position] = self.sample(law, u[position])  # (M,)
            if position == 0:
                lm.repeat(num_drafts)
            ids = tokens[:, position : position + 1]  # (M, 1)
        return Proposal(tokens=tokens, draft_probs=laws)  # (M, k), (M, k, V)
