"""Propose: the draft model samples draft sequences (paper: p = draft), with its KV cache.

This is the *propose* half of speculative decoding (Hugging Face's candidate generator);
the *verify* half is :mod:`specbound.lm.verification`, which only calls ``core`` rules.
A proposal carries the tokens and the exact float64 laws they were sampled from: the law
handed to verification must be the law the token was drawn from, or the output is biased.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from numpy.typing import NDArray

from specbound.core.sampling import sample_categorical
from specbound.lm.cache import CachedLM
from specbound.lm.warping import SamplingConfig, warp_probs

__all__ = ["Drafter", "Proposal"]


@dataclass(frozen=True)
class Proposal:
    """M draft sequences of k tokens and the draft laws they were sampled from."""

    tokens: NDArray[np.int64]  # (M, k)
    draft_probs: NDArray[np.float64]  # (M, k, V)

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

    def draft_law(self, logits: torch.Tensor) -> NDArray[np.float64]:
        """The law p the draft samples from and verification compares against: (M, V)."""
        return warp_probs(logits, self.sampling).cpu().numpy()  # (M, V)

    def sample(
        self, draft_probs: NDArray[np.float64], rng: np.random.Generator
    ) -> NDArray[np.int64]:
        """Draw one token per row of ``draft_probs`` (M, V) -> (M,)."""
        return sample_categorical(draft_probs, rng)

    def propose(
        self,
        pending: Sequence[int],
        num_tokens: int,
        num_drafts: int,
        rng: np.random.Generator,
    ) -> Proposal:
        """Draft ``num_drafts`` sequences of up to ``num_tokens`` tokens after ``pending``.

        With one draft, drafting stops early at an end-of-sequence token (nothing after it
        can be output). Leaves the cache fanned out to ``num_drafts`` rows, holding the
        pending tokens and all drafted tokens but the last.
        """
        lm = self.lm
        ids = torch.tensor([list(pending)], dtype=torch.long, device=lm.device)  # (1, L)
        logits = lm.extend(ids)[:, -1]  # (1, V)
        self.forward_calls += 1
        first = self.draft_law(logits)  # (1, V)
        law = np.broadcast_to(first, (num_drafts, first.shape[-1]))  # (M, V)
        laws = [law]
        drafted = [self.sample(law, rng)]  # [(M,)]
        lm.repeat(num_drafts)
        for _ in range(1, num_tokens):
            last = drafted[-1]  # (M,)
            if num_drafts == 1 and self.eos_token_id is not None and last[0] == self.eos_token_id:
                break
            ids = torch.from_numpy(last).to(lm.device)[:, None]  # (M, 1)
            logits = lm.extend(ids)[:, -1]  # (M, V)
            self.forward_calls += 1
            law = self.draft_law(logits)  # (M, V)
            laws.append(law)
            drafted.append(self.sample(law, rng))
        tokens = np.stack(drafted, axis=1)  # (M, k)
        return Proposal(tokens=tokens, draft_probs=np.stack(laws, axis=1))  # (M, k, V)
