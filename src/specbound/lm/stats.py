"""What one generation returns: the text, its token ids, and counted statistics.

Counting follows :mod:`specbound.algorithms` (the same for theory, simulation and LMs):

* ``rejections`` — drafted tokens that verification refused; a batch round start where
  all M candidates were refused counts once. At most one per round.
* ``target_calls`` — target forward passes over a round's drafts (the M sequences of a
  batch round are one call); autoregressive decoding makes one per token. The prompt's
  prefill forward is not a call: it is reported as ``prefill_time``.
* ``draft_calls`` — draft forward passes (a batched forward of M sequences is one).
* ``accepted_lengths`` — per round, the drafted tokens accepted (batch SD: the winning
  round-start candidate counts as one). Each round also emits one more token (a
  recovered token after a rejection, or a bonus token from the target) unless it reached
  ``max_new_tokens`` or an end-of-sequence token.
* times in seconds: ``wall_time = draft_time + target_time + overhead_time``. Draft time
  is drafting (forwards, warping, sampling drafts); target time is target forwards and
  warping their logits; overhead is verification, cache bookkeeping and the rest. The
  prefill forwards are inside draft/target time; ``prefill_time`` reports their sum.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

__all__ = ["GenerationOutput", "GenerationStats", "RoundTiming"]


@dataclass(frozen=True)
class RoundTiming:
    """What one round of the decoding loop did and cost (``generate``'s ``on_round``).

    ``drafted``: tokens drafted per sequence (k; 0 for an autoregressive step);
    ``scored``: tokens per row of the round's target call (the pending token and the
    drafts, k + 1, or k when the round ends at the horizon; 1 for an autoregressive step);
    ``rows``: draft sequences (M; 1 unless batch SD); ``context``: tokens of the sequence
    when the round started (prompt included). Seconds: ``draft`` (drafting: forwards,
    warping, sampling), ``target`` (the scoring call and the warping of its logits),
    ``other`` (verification, cache crops, bookkeeping). ``fed``: tokens the draft
    model's first forward of the round fed (its pending tokens: 1 or 2 after a model
    round, more after model-free rounds it did not see); 0 when a model-free drafter
    drafted the round; None where the decoder does not report it (autoregressive steps,
    token trees).
    """

    drafted: int
    scored: int
    rows: int
    context: int
    draft: float
    target: float
    other: float
    fed: int | None = None

    @property
    def seconds(self) -> float:
        return self.draft + self.target + self.other


@dataclass(frozen=True)
class GenerationStats:
    """Counts and timings of one :func:`~specbound.lm.generate` call."""

    new_tokens: int
    prompt_tokens: int
    rejections: int
    target_calls: int
    draft_calls: int
    drafted_tokens: int
    accepted_lengths: tuple[int, ...]
    wall_time: float
    draft_time: float
    target_time: float
    overhead_time: float
    prefill_time: float

    @property
    def rounds(self) -> int:
        """Verification rounds (speculative decoding: one target call each)."""
        return len(self.accepted_lengths)

    @property
    def acceptance_rate(self) -> float | None:
        """Accepted / verified drafted tokens: ``sum(accepted) / (sum(accepted) + rejections)``.

        Drafted tokens after a rejection are discarded unverified, so this estimates the
        per-token acceptance probability (``1 - TV(p, q)`` on average for SD). ``None`` when
        nothing was verified (autoregressive decoding).
        """
        accepted = sum(self.accepted_lengths)
        verified = accepted + self.rejections
        return accepted / verified if verified else None

    @property
    def tokens_per_target_call(self) -> float | None:
        """New tokens per target call (autoregressive decoding: 1)."""
        return self.new_tokens / self.target_calls if self.target_calls else None

    @property
    def tokens_per_second(self) -> float:
        """New tokens over the whole wall time (prefill included)."""
        return self.new_tokens / self.wall_time if self.wall_time > 0 else 0.0

    def to_dict(self) -> dict[str, Any]:
        """Fields and derived quantities, JSON-serialisable."""
        data = asdict(self)
        data["accepted_lengths"] = list(self.accepted_lengths)
        data["rounds"] = self.rounds
        data["acceptance_rate"] = self.acceptance_rate
        data["tokens_per_target_call"] = self.tokens_per_target_call
        data["tokens_per_second"] = self.tokens_per_second
        return data


@dataclass(frozen=True)
class GenerationOutput:
    """The continuation (``text``, ``token_ids``, without the prompt) and its ``stats``."""

    text: str
    token_ids: tuple[int, ...]
    prompt_ids: tuple[int, ...]
    stats: GenerationStats
    algorithm: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form."""
        return {
            "text": self.text,
            "token_ids": list(self.token_ids),
            "prompt_ids": list(self.prompt_ids),
            "algorithm": self.algorithm,
            "stats": self.stats.to_dict(),
        }
