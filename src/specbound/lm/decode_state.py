"""What a decoding loop keeps between rounds, shared by the sequence and the tree rounds.

Accumulated seconds per phase (:class:`Clock`), the counts of ``GenerationStats``
(:class:`Counts`; definitions in :mod:`specbound.core.families.base`), and the small
steps every loop takes: caching the prompt, handing tokens to the caller, cutting a
round's output at the end-of-sequence token.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import torch

from specbound.lm.cache import CachedLM
from specbound.lm.stats import RoundTiming

__all__ = [
    "Clock",
    "Counts",
    "RoundCallback",
    "TokenCallback",
    "cut_at_eos",
    "emit",
    "ids_tensor",
    "prefill",
]

TokenCallback = Callable[[list[int]], None]
RoundCallback = Callable[[RoundTiming], None]


@dataclass
class Clock:
    """Accumulated seconds per phase."""

    draft: float = 0.0
    target: float = 0.0
    prefill: float = 0.0
    callback: float = 0.0  # time spent in on_tokens: not part of the generation's time
    start: float = field(default_factory=time.perf_counter)


@dataclass
class Counts:
    rejections: int = 0
    target_calls: int = 0
    drafted: int = 0
    accepted: list[int] = field(default_factory=list)


def ids_tensor(tokens: Sequence[int], device: torch.device) -> torch.Tensor:
    """``tokens`` as a (1, L) int64 tensor on ``device``."""
    return torch.tensor([list(tokens)], dtype=torch.long, device=device)  # (1, L)


def prefill(lm: CachedLM, tokens: Sequence[int]) -> None:
    """Cache all prompt tokens but the last (the first round feeds that one)."""
    if len(tokens) > 1:
        lm.extend(ids_tensor(tokens[:-1], lm.device))


def emit(on_tokens: TokenCallback | None, emitted: list[int], clock: Clock) -> None:
    """Hand ``emitted`` to the caller's callback, its time kept out of the generation's."""
    if on_tokens is not None and emitted:
        t0 = time.perf_counter()
        on_tokens(list(emitted))
        clock.callback += time.perf_counter() - t0


def cut_at_eos(emitted: list[int], eos: int | None) -> tuple[list[int], bool]:
    """``emitted`` up to and including its first ``eos``, and whether it was there."""
    if eos is not None and eos in emitted:
        return emitted[: emitted.index(eos) + 1], True
    return emitted, False
