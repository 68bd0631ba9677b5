"""What the conditional round tests on language models share (tests only).

A round is fixed by a prompt (token ids) and drafted tokens (M, k). The draft and target
laws at every drafted position come from a plain full forward (no cache) warped *here*
(``torch.softmax(logits / temperature)`` after a top-k mask written in this file), not by
the library's warp; :func:`cells_of` samples the decoder's verification
(:func:`specbound.lm.verification.verify_round`) and :func:`powered_n` sizes a test so
that it rejects every given mutant law with ``round_harness.POWER``.

A sampled round is one *cell*: ``(row * (k + 1) + accepted) * (V + 1) + next`` with
``next = V`` when the round gives no next token.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from round_harness import POWER, chi_square_power, joint_sample_size
from specbound.lm.verification import verify_round

__all__ = ["cell", "cells_of", "powered_n", "round_laws_of", "warped"]


def warped(
    model: torch.nn.Module, ids: Sequence[int], vocab: int, temperature: float, top_k: int | None
) -> np.ndarray:
    """The laws of the tokens after every prefix of ``ids``: (len(ids), V), float64."""
    with torch.inference_mode():
        logits = model(input_ids=torch.tensor([list(ids)])).logits[0, :, :vocab].double()
    scores = logits / temperature
    if top_k is not None:
        kth = torch.topk(scores, top_k, dim=-1).values[..., -1:]
        scores = scores.masked_fill(scores < kth, -torch.inf)
    return torch.softmax(scores, dim=-1).numpy()


def round_laws_of(
    pair: Any,
    prompt: Sequence[int],
    drafted: np.ndarray,
    temperature: float = 1.0,
    top_k: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """(p (M, k, V), q (M, k+1, V)): each row's laws at its drafted positions after
    ``prompt``, and the target's law at the bonus position."""
    k = drafted.shape[1]
    ps, qs = [], []
    start = len(prompt) - 1
    for row in drafted:
        ids = [*prompt, *(int(t) for t in row)]
        ps.append(warped(pair.draft, ids, pair.vocab_size, temperature, top_k)[start : start + k])
        qs.append(warped(pair.target, ids, pair.vocab_size, temperature, top_k)[start:])
    return np.stack(ps), np.stack(qs)


def cell(row: int, accepted: int, next_token: int | None, k: int, vocab: int) -> int:
    """The flat index of a round's outcome in a (M, k+1, V+1) law."""
    nxt = vocab if next_token is None else next_token
    return (row * (k + 1) + accepted) * (vocab + 1) + nxt


def cells_of(
    algorithm: Any, p: np.ndarray, q: np.ndarray, drafted: np.ndarray, n: int, rng: Any
) -> np.ndarray:
    """``n`` rounds through ``verify_round``, as cells (see the module docstring)."""
    k, vocab = drafted.shape[1], p.shape[-1]
    out = np.empty(n, dtype=np.int64)
    for i in range(n):
        o = verify_round(algorithm, p, q, drafted, rng)
        out[i] = cell(o.row, o.accepted, o.next_token, k, vocab)
    return out


def powered_n(law: np.ndarray, *mutants: np.ndarray) -> int:
    """The N at which every mutant law is rejected with ``POWER`` (asserted)."""
    n = joint_sample_size(law.ravel(), [m.ravel() for m in mutants])
    for m in mutants:
        assert chi_square_power(law.ravel(), m.ravel(), n) >= POWER
    return n
