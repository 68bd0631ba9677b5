"""Block verification's rounds along sampled output paths (beyond the paper).

Block verification (:mod:`specbound.core.block`) is lossless, so paths sampled from the
target are draws of its output, as for SD. But a round's fate depends on the whole
drafted block, not on one token at a time, so SD's exact along-path recursion
(:mod:`specbound.profiling.predict`) does not carry over. Instead, at every position n of
every path a block is drafted from the path's prefix ``x_<n`` with the draft model and
scored by the target in one call; block verification's law of the number of tokens kept,
``P(tau = t | block)`` (exact given the block), averaged over the sampled blocks, is an
unbiased estimate of the law of a round that starts at n after ``x_<n``. A forward
recursion over round starts then uses these laws: a round at n keeping ``t`` tokens
outputs ``t + 1`` (a recovered or bonus token) and the next one starts at ``n + t + 1``.

**What this assumes.** The next round's context is the path's prefix, which has the
target's law (the output is lossless), but the recursion ignores the correlation
between how a round ended and the context the next one sees. On the embedded pair it
predicts 2-4% fewer target calls than the decoder measures (``docs/profile.md``). (The
exact conditional law given the whole path exists — Bayes' rule over the kept tokens —
but its Monte Carlo estimate is too heavy-tailed to be useful on 32-token paths.)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from numpy.typing import NDArray

from specbound.core.block import BlockVerificationRule
from specbound.core.families import draft_length
from specbound.core.sampling import sample_categorical
from specbound.lm.cache import CachedLM
from specbound.lm.loading import ModelPair
from specbound.lm.warping import SamplingConfig, warp_probs
from specbound.profiling.paths import SampledPaths

__all__ = ["BlockRounds", "block_rounds", "kept_laws"]

Array = NDArray[np.float64]


@dataclass(frozen=True)
class BlockRounds:
    """E[rejections] (N,), E[rounds] (N,) and P(a round starts at n) (N, L) per path."""

    rejections: Array
    calls: Array
    starts: Array


def _block_length(gamma: int | None, max_new_tokens: int, n: int) -> int:
    return draft_length(gamma, max_new_tokens - n)


def _tau_law(
    rule: BlockVerificationRule,
    draft: Array,
    target: Array,
    tokens: NDArray[np.int64],
    eos: int | None,
) -> Array:
    """``P(tau = t)`` (rows, k+1) of blocks (rows, k); a block that drafted the
    end-of-sequence token ends there (its later positions are not drafted)."""
    k = tokens.shape[1]
    law = np.zeros((tokens.shape[0], k + 1))
    ends = np.full(tokens.shape[0], k)  # (rows,) the block's length
    if eos is not None:
        hit = tokens == eos
        ends = np.where(hit.any(axis=1), hit.argmax(axis=1) + 1, k)
    for length in np.unique(ends):
        rows = np.flatnonzero(ends == length)
        d, t, x = draft[rows, :length], target[rows, :length], tokens[rows, :length]
        weights = rule.weights(d, t, x)
        law[rows, : length + 1] = rule.tau_law(rule.stop_probs(d, t, weights))
    return law


def kept_laws(
    pair: ModelPair,
    prompt_ids: Sequence[int],
    paths: SampledPaths,
    gammas: Sequence[int | None],
    max_new_tokens: int,
    sampling: SamplingConfig,
    rng: np.random.Generator,
    *,
    samples: int = 1,
    stop_at_eos: bool = True,
) -> dict[int | None, Array]:
    """Per gamma, ``P(tau = t)`` (N, L, d+1) of a round starting at each path position,
    averaged over ``samples`` blocks drafted there (d: the longest block of that gamma).

    The N paths run as N x samples cache rows; at position m both caches hold the prompt
    and ``x_{<m}``; the draft continues each row for the longest block, the target scores
    it in one call, and both caches are cropped back before the path's own token is fed.
    """
    eos = pair.eos_token_id if stop_at_eos else None
    rule = BlockVerificationRule()
    num_paths, length = paths.tokens.shape
    path_of_row = np.repeat(np.arange(num_paths), samples)  # (N*R,)
    rows = path_of_row.size
    depth = {g: _block_length(g, max_new_tokens, 0) for g in gammas}
    laws = {g: np.zeros((rows, length, depth[g] + 1)) for g in gammas}
    draft = CachedLM(pair.draft, pair.vocab_size)
    target = CachedLM(pair.target, pair.vocab_size)
    with torch.inference_mode():
        head = torch.tensor([list(prompt_ids[:-1])], dtype=torch.long)
        if head.shape[1]:
            draft.extend(head.to(draft.device))
            target.extend(head.to(target.device))
        draft.repeat(rows)
        target.repeat(rows)
        pending = np.full(rows, int(prompt_ids[-1]), dtype=np.int64)  # (N*R,)
        for m in range(length):
            c = max(_block_length(g, max_new_tokens, m) for g in gammas)
            base = draft.length
            fed, steps = pending, []
            drafted = np.empty((rows, c), dtype=np.int64)  # (N*R, c)
            for j in range(c):
                ids = torch.from_numpy(fed)[:, None].to(draft.device)  # (N*R, 1)
                law = warp_probs(draft.extend(ids)[:, -1], sampling).cpu().numpy()  # (N*R, V)
                steps.append(law)
                fed = drafted[:, j] = sample_categorical(law, rng)
            scored = np.concatenate([pending[:, None], drafted[:, :-1]], axis=1)  # (N*R, c)
            ids = torch.from_numpy(scored).to(target.device)
            target_laws = warp_probs(target.extend(ids, keep=c), sampling).cpu().numpy()
            for lm in (draft, target):
                lm.crop(base)
                lm.extend(torch.from_numpy(pending)[:, None].to(lm.device))
            draft_laws = np.stack(steps, axis=1)  # (N*R, c, V)
            for g in gammas:
                k = _block_length(g, max_new_tokens, m)
                block = (draft_laws[:, :k], target_laws[:, :k], drafted[:, :k])
                laws[g][:, m, : k + 1] = _tau_law(rule, *block, eos)
            pending = paths.tokens[path_of_row, m]
    return {g: v.reshape(num_paths, samples, *v.shape[1:]).mean(axis=1) for g, v in laws.items()}


def block_rounds(
    paths: SampledPaths, gamma: int | None, kept: Array, max_new_tokens: int
) -> BlockRounds:
    """The forward recursion over round starts along each path (module docstring).

    ``kept`` (N, L, d+1): ``P(tau = t)`` of a round starting at each position. A round
    is a rejection when it keeps fewer tokens than it drafted.
    """
    num_paths, length = paths.tokens.shape
    starts = np.zeros((num_paths, length + kept.shape[-1] + 1))
    starts[:, 0] = 1.0
    rejections = np.zeros(num_paths)
    for n in range(length):
        here = np.where(n < paths.lengths, starts[:, n], 0.0)  # (N,)
        k = _block_length(gamma, max_new_tokens, n)
        law = kept[:, n, : k + 1]  # (N, k+1)
        starts[:, n + 1 : n + k + 2] += here[:, None] * law
        rejections += here * law[:, :k].sum(axis=1)
    calls = np.where(np.arange(length)[None, :] < paths.lengths[:, None], starts[:, :length], 0.0)
    return BlockRounds(rejections=rejections, calls=calls.sum(axis=1), starts=calls)
