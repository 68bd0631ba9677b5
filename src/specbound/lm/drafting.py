"""Propose: the draft model samples draft sequences (paper: p = draft), with its KV cache.

This is the *propose* half of speculative decoding (Hugging Face's candidate generator);
the *verify* half is :mod:`specbound.lm.verification`, which only calls ``core`` rules.
A proposal carries the tokens and the exact float64 laws they were sampled from: the law
handed to verification must be the law the token was drawn from, or the output is biased.

A round's drafting runs without a host round trip: the round's uniforms are drawn up
front (float64, one transfer), each position's law is warped in float64 into a buffer
preallocated for the round, the token is drawn by :func:`~specbound.core.kernels.inverse_cdf`
on the arrays of :mod:`specbound.lm.arrays` and fed straight back to the draft model.
Drafting therefore does not look at the tokens it draws: a drafted end-of-sequence token
does not stop it (verification cuts the round there; what follows is never output).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from specbound.core import kernels
from specbound.lm.arrays import as_ids, kernel_array, uniforms_on
from specbound.lm.cache import CachedLM
from specbound.lm.warping import SamplingConfig, warp_probs

__all__ = ["Drafter", "Proposal"]


@dataclass(frozen=True)
class Proposal:
    """M draft sequences of k tokens and the draft laws they were sampled from.

    Kernel arrays (:mod:`specbound.lm.arrays`): NumPy on CPU, torch tensors on the
    models' device elsewhere.
    """

    tokens: Any  # (M, k) int64
    draft_probs: Any  # (M, k, V) float64

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

    def sample(self, draft_probs: Any, u: Any) -> Any:
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
        u = uniforms_on(rng, (num_tokens, num_drafts), lm.device)  # (k, M) float64
        laws = torch.empty(
            (num_drafts, num_tokens, lm.vocab_size), dtype=torch.float64, device=lm.device
        )  # (M, k, V): this round's laws, written in place
        view = kernel_array(laws)
        ids = torch.tensor([list(pending)], dtype=torch.long, device=lm.device)  # (1, L)
        drafted = []
        for position in range(num_tokens):
            logits = lm.extend(ids)[:, -1]  # (1 or M, V)
            self.forward_calls += 1
            laws[:, position] = self.draft_law(logits)  # (M, V); row-broadcast at position 0
            token = self.sample(view[:, position], u[position])  # (M,)
            drafted.append(token)
            if position == 0:
                lm.repeat(num_drafts)
            if position + 1 < num_tokens:
                ids = as_ids(token, lm.device)[:, None]  # (M, 1)
        xp = kernels.namespace(view)
        return Proposal(tokens=xp.stack(drafted, axis=1), draft_probs=view)  # (M, k), (M, k, V)
