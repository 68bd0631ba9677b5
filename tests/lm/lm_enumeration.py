"""Brute-force laws of short continuations, computed by enumerating every sequence.

Independent of the decoder: plain full forwards (no KV cache) of all prefixes at once.
p = draft, q = target (paper notation).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence

import numpy as np
import torch

from specbound.lm import ModelPair, SamplingConfig, warp_probs

StepLaw = Callable[[np.ndarray, np.ndarray], np.ndarray]


def next_token_laws(
    model: torch.nn.Module,
    prompt: Sequence[int],
    horizon: int,
    vocab: int,
    sampling: SamplingConfig,
) -> np.ndarray:
    """``laws[h][prefix]``: the warped law of token h+1 after ``prompt + prefix``.

    Returns (horizon, V**(horizon-1), V): row ``prefix`` indexes x_1..x_{horizon-1} in
    base V (entries past h are ignored at step h).
    """
    prefixes = list(itertools.product(range(vocab), repeat=horizon - 1))
    ids = torch.tensor([[*prompt, *p] for p in prefixes], dtype=torch.long)  # (N, P+H-1)
    with torch.inference_mode():
        logits = model(input_ids=ids).logits[:, len(prompt) - 1 :, :vocab]  # (N, H, V)
    return warp_probs(logits, sampling).numpy().transpose(1, 0, 2)  # (H, N, V)


def sequence_law(
    pair: ModelPair,
    prompt: Sequence[int],
    horizon: int,
    sampling: SamplingConfig,
    step_law: StepLaw | None = None,
) -> np.ndarray:
    """Law of (x_1..x_H) as a flat (V**H,) array indexed by x_1..x_H in base V.

    With ``step_law=None`` this is the target's law; otherwise each token's law is
    ``step_law(draft_law, target_law)`` (e.g. ``core.output_distribution`` of a rule).
    """
    vocab = pair.vocab_size
    q = next_token_laws(pair.target, prompt, horizon, vocab, sampling)  # (H, N, V)
    p = next_token_laws(pair.draft, prompt, horizon, vocab, sampling)  # (H, N, V)
    law = np.ones(1)
    for h in range(horizon):
        # rows of the N prefixes that share x_1..x_h: prefix index = x_{1:h} * V**(H-1-h)
        rows = np.arange(vocab**h) * vocab ** (horizon - 1 - h)  # (V**h,)
        step = q[h, rows] if step_law is None else step_law(p[h, rows], q[h, rows])
        law = (law[:, None] * step).ravel()  # (V**(h+1),)
    return law


def sequence_index(token_ids: Sequence[int], vocab: int) -> int:
    """Index of a sequence in the base-V enumeration of :func:`sequence_law`."""
    index = 0
    for token in token_ids:
        index = index * vocab + int(token)
    return index
