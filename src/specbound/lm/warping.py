"""The one definition of "the distribution we verify against".

Speculative decoding is exact for the target's law *after* warping only if the draft and
the target are warped by the same function before verification (paper Algorithm 1 with
p = warped draft, q = warped target). Every probability the decoder samples from or hands
to a ``core`` rule comes out of :func:`warp_probs`, so the two models can never be warped
differently.

Order, as in Hugging Face ``generate`` and gpt-fast: temperature, then top-k, then top-p.
Temperature 0 is greedy decoding: both laws become the one-hot of their argmax, and SD's
own rule ``min(1, q/p)`` then accepts a drafted token iff it is the target's argmax — no
separate greedy acceptance code exists.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from specbound.validate import check_float, check_int

__all__ = ["SamplingConfig", "warp_probs"]


@dataclass(frozen=True)
class SamplingConfig:
    """How logits become probabilities: ``temperature`` (0 = greedy), ``top_k``, ``top_p``.

    ``top_k=None`` (or 0) and ``top_p=None`` (or 1.0) switch the filter off.
    """

    temperature: float = 1.0
    top_k: int | None = None
    top_p: float | None = None

    def __post_init__(self) -> None:
        temperature = check_float(self.temperature, "temperature", low=0.0)
        object.__setattr__(self, "temperature", temperature)
        if self.top_k is not None:
            top_k = check_int(self.top_k, "top_k (0 or None: off)", low=0)
            object.__setattr__(self, "top_k", top_k or None)
        if self.top_p is not None:
            top_p = check_float(self.top_p, "top_p", low=0.0, high=1.0, low_open=True)
            object.__setattr__(self, "top_p", None if top_p == 1.0 else top_p)

    def to_dict(self) -> dict[str, float | int | None]:
        """``{"temperature", "top_k", "top_p"}`` (None: the filter is off)."""
        return {"temperature": self.temperature, "top_k": self.top_k, "top_p": self.top_p}

    @property
    def greedy(self) -> bool:
        """Temperature 0: every law is the one-hot of its argmax."""
        return self.temperature == 0.0


def warp_probs(logits: torch.Tensor, config: SamplingConfig) -> torch.Tensor:
    """Warp ``logits`` (..., V) into float64 probabilities (..., V).

    The arithmetic runs in float64 so that the probabilities handed to the ``core`` rules
    (numpy float64) are the ones the tokens are sampled from, with no float32 rounding of
    small masses. Ties at the top-k boundary are kept (as Hugging Face does); top-p keeps
    the smallest set of most likely tokens whose mass reaches ``top_p`` (at least one).
    """
    if config.temperature == 1.0 and config.top_k is None and config.top_p is None:
        # NOTE: the cast happens inside softmax (the same values as casting first): one
        # call instead of three on the decoder's most frequent path
        return torch.softmax(logits, dim=-1, dtype=torch.float64)  # (..., V)
    scores = logits.to(torch.float64)  # (..., V)
    if config.greedy:
        # NOTE: ties go to the lowest index (torch.argmax), for draft and target alike.
        top = scores.argmax(dim=-1, keepdim=True)  # (..., 1)
        return torch.zeros_like(scores).scatter_(-1, top, 1.0)
    scores = scores / config.temperature
    if config.top_k is not None and config.top_k < scores.shape[-1]:
        kth = torch.topk(scores, config.top_k, dim=-1).values[..., -1:]  # (..., 1)
        scores = scores.masked_fill(scores < kth, -math.inf)
    probs = torch.softmax(scores, dim=-1)  # (..., V)
    if config.top_p is not None:
        sorted_probs, order = torch.sort(probs, dim=-1, descending=True)  # (..., V)
        mass_before = sorted_probs.cumsum(dim=-1) - sorted_probs  # (..., V)
        # keep a token while the mass of the more likely tokens is still below top_p
        drop_sorted = mass_before >= config.top_p  # (..., V); the first is always kept
        drop = drop_sorted.scatter(-1, order, drop_sorted)  # (..., V) back to vocab order
        probs = probs.masked_fill(drop, 0.0)
        probs = probs / probs.sum(dim=-1, keepdim=True)
    return probs
