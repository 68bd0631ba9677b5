"""Measured decoding costs, and the choice of the draft's head size K from them.

The head size trades the draft's step cost against acceptance: a head of the K most
frequent tokens misses the target's mass outside them, at least that much TV. With
``alpha = 1 - TV`` the expected tokens per round of gamma drafts is
``(1 - alpha^(gamma+1)) / (1 - alpha)`` (i.i.d. acceptance, as in the paper's Theorem 1
with a constant per-position TV) and a round costs ``1 + gamma c`` target steps, ``c`` the
draft/target step-cost ratio; K maximises their quotient, with TV estimated as a
reference TV plus the uncovered mass measured on held-out laws.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any

import torch

__all__ = ["choose_head_size", "draft_step_ms", "expected_speedup", "target_step_ms"]

#: Head sizes tried (0 stands for the whole vocabulary).
HEAD_SIZES = (1024, 2048, 4096, 8192, 16384, 32768, 0)


def _step_ms(step: Callable[[], None], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    return 1000.0 * statistics.median(times[2:] if len(times) > 4 else times)


def _decode_steps(body: Any, head: torch.Tensor, context: int, steps: int) -> float:
    """Median ms of one-token steps with a KV cache after a ``context``-token prefix."""
    ids = torch.randint(0, int(head.shape[0]), (1, context))  # (1, C)
    with torch.inference_mode():
        out = body(input_ids=ids, use_cache=True)
        cache = out.cache
        token = torch.zeros((1, 1), dtype=torch.long)  # (1, 1)

        def step() -> None:
            nonlocal cache
            res = body(input_ids=token, cache=cache, use_cache=True)
            cache = res.cache
            _ = res.last_hidden_state[:, -1] @ head.T  # (1, K)

        return _step_ms(step, steps)


def target_step_ms(target: Any, context: int = 64, steps: int = 24) -> float:
    """The target's one-token step (transformers forward, full head), median ms."""
    return _decode_steps(target.model, target.lm_head.weight, context, steps)


def draft_step_ms(
    draft: Any, head_ids: torch.Tensor | None, context: int = 64, steps: int = 24
) -> float:
    """The draft's one-token step with a head of ``head_ids`` (None: full), median ms."""
    weight = draft.lm_head.weight
    head = weight if head_ids is None else weight[head_ids].contiguous()  # (K, H)
    return _decode_steps(draft.model, head, context, steps)


def expected_speedup(tv: float, cost_ratio: float, gamma: int) -> float:
    """Tokens per target-step-equivalent of SD with i.i.d. acceptance ``1 - tv``."""
    alpha = min(max(1.0 - tv, 0.0), 1.0 - 1e-9)
    tokens = (1.0 - alpha ** (gamma + 1)) / (1.0 - alpha)
    return tokens / (1.0 + gamma * cost_ratio)


def choose_head_size(
    train_mass: torch.Tensor,
    heldout_mass: torch.Tensor,
    heldout_positions: int,
    draft: Any,
    target_ms: float,
    *,
    reference_tv: float = 0.35,
    gamma: int = 4,
) -> tuple[int, list[dict[str, float]]]:
    """``(K, table)``: K maximising :func:`expected_speedup` over :data:`HEAD_SIZES`.

    The head is the K tokens of largest expected count in the training laws; its
    uncovered mass is measured on the held-out laws. ``table`` has one row per size.
    """
    vocab = int(train_mass.shape[0])
    order = torch.argsort(train_mass, descending=True)  # (V,)
    rows = []
    for size in HEAD_SIZES:
        k = vocab if size == 0 or size >= vocab else size
        covered = float(heldout_mass[order[:k]].sum()) / max(heldout_positions, 1)
        uncovered = max(0.0, 1.0 - covered)
        ms = draft_step_ms(draft, None if k == vocab else order[:k])
        ratio = ms / target_ms
        rows.append(
            {
                "K": k,
                "uncovered_mass": uncovered,
                "draft_step_ms": ms,
                "cost_ratio": ratio,
                "speedup_estimate": expected_speedup(reference_tv + uncovered, ratio, gamma),
            }
        )
        if k == vocab:
            break
    best = max(rows, key=lambda row: row["speedup_estimate"])
    return int(best["K"]), rows
