"""Held-out measurement of a draft: mean TV(draft, target) along target samples.

The paper's Theorem 1 makes this mean (per position, at temperature 1) the expected
rejections per drafted position, so it is the figure a draft is judged by. Two ways:

- :func:`evaluate_coarse` uses the cached top-k laws: the coarse TV (a lower bound of
  TV) and that bound plus ``min(p(other), tail)`` (an upper bound); cheap, used during
  training;
- :func:`evaluate_exact` runs the target on the held-out sequences and compares full
  laws: exact TV ``1/2 sum_x |p(x) - q(x)|`` over the whole vocabulary, and the greedy
  agreement (share of positions where the draft's argmax is the target's).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch

from specbound.distill.data import LawSet
from specbound.distill.loss import coarse_tv, draft_law_on, tv_full

__all__ = ["batch_of", "evaluate_coarse", "evaluate_exact", "restricted_full_law"]

#: Sequences per evaluation batch.
EVAL_BATCH = 8


def batch_of(
    laws: LawSet, index: Sequence[int], pad: int = 0
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """``(input_ids (B, L), attention_mask (B, L), select (B, L) bool, rows (n,))`` for
    sequences ``index``: right-padded; ``select`` marks the outputs that predict the
    continuation tokens (position ``P - 1 + j`` predicts continuation token ``j``) in
    row-major order, which is the order of the law rows ``rows``."""
    width = max(len(laws.tokens[s]) for s in index)
    ids = torch.full((len(index), width), pad, dtype=torch.long)  # (B, L)
    mask = torch.zeros((len(index), width), dtype=torch.long)  # (B, L)
    select = torch.zeros((len(index), width), dtype=torch.bool)  # (B, L)
    rows = []
    for b, s in enumerate(index):
        seq, p_len, c_len = laws.tokens[s], laws.prompt_lens[s], laws.cont_lens[s]
        ids[b, : len(seq)] = seq
        mask[b, : len(seq)] = 1
        select[b, p_len - 1 : p_len - 1 + c_len] = True
        rows.append(torch.arange(laws.law_starts[s], laws.law_starts[s] + c_len))
    return ids, mask, select, torch.cat(rows)  # rows: (n,)


def evaluate_coarse(module: Any, laws: LawSet, every: int = 1) -> dict[str, float]:
    """Mean coarse TV (lower bound), its upper bound and greedy agreement on ``laws``
    (on every ``every``-th sequence only, when > 1: cheaper, for curves)."""
    total = upper = agree = 0.0
    count = 0
    was_training = module.training
    module.eval()
    chosen = list(range(0, len(laws), max(1, every)))
    with torch.inference_mode():
        for start in range(0, len(chosen), EVAL_BATCH):
            index = chosen[start : start + EVAL_BATCH]
            ids, mask, select, rows = batch_of(laws, index)
            log_p = module(ids, mask, select)  # (n, K)
            p_s, p_other = draft_law_on(log_p, module.head_position, laws.top_ids[rows])
            tail = laws.tail[rows]  # (n,)
            tv = coarse_tv(p_s, p_other, laws.top_probs[rows], tail)  # (n,)
            total += float(tv.sum())
            upper += float((tv + torch.minimum(p_other, tail)).sum())
            draft_top = module.head_ids[log_p.argmax(dim=1)]  # (n,)
            agree += float((draft_top == laws.top_ids[rows, 0]).sum())
            count += int(rows.shape[0])
    module.train(was_training)
    return {
        "tv_coarse": total / count,
        "tv_upper": upper / count,
        "greedy_agreement": agree / count,
    }


def restricted_full_law(
    module: Any,
) -> Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]:
    """A law function for :func:`evaluate_exact`: ``module``'s head law placed in the full
    vocabulary (zero outside the head)."""

    def law(ids: torch.Tensor, mask: torch.Tensor, select: torch.Tensor) -> torch.Tensor:
        p_head = module(ids, mask, select).exp()  # (n, K)
        vocab = int(module.head_position.shape[0])
        full = torch.zeros((p_head.shape[0], vocab), dtype=p_head.dtype)  # (n, V)
        return full.index_copy_(1, module.head_ids, p_head)

    return law


def evaluate_exact(
    target: Any,
    laws_fns: dict[str, Callable[..., torch.Tensor]],
    laws: LawSet,
    on_batch: Callable[[int], None] | None = None,
) -> dict[str, dict[str, float]]:
    """Exact held-out mean TV and greedy agreement of each draft law function.

    Each function maps ``(input_ids, attention_mask, select)`` to the draft's full law
    at the selected positions, (n, V). The target runs once per batch for all of them.
    """
    sums = {name: [0.0, 0.0] for name in laws_fns}
    count = 0
    with torch.inference_mode():
        for start in range(0, len(laws), EVAL_BATCH):
            index = list(range(start, min(start + EVAL_BATCH, len(laws))))
            ids, mask, select, _ = batch_of(laws, index)
            logits = target(input_ids=ids, attention_mask=mask).logits[select]  # (n, V)
            q = torch.softmax(logits.float(), dim=-1)  # (n, V)
            q_top = q.argmax(dim=1)  # (n,)
            for name, law in laws_fns.items():
                p = law(ids, mask, select)  # (n, V)
                sums[name][0] += float(tv_full(p, q[:, : p.shape[1]]).sum())
                sums[name][1] += float((p.argmax(dim=1) == q_top).sum())
            count += int(q.shape[0])
            if on_batch is not None:
                on_batch(start + len(index))
    return {
        name: {"tv": tv / count, "greedy_agreement": agree / count}
        for name, (tv, agree) in sums.items()
    }
