"""What a call costs on this machine: the clock half of :func:`specbound.profile`.

The paper's cost model counts target calls. To turn expected calls into a wall-clock
speed-up, :func:`measure_costs` times, with the same code the decoder runs:

* a **target call** that scores ``k`` new tokens in ``rows`` sequences (``rows`` = M for
  batch SD) on top of a KV cache at a typical context, including the cache fan-out and
  the warping of its logits — for the ``k`` a round can need;
* a **draft position**: one draft forward of ``rows`` sequences, warping, sampling;
* the **per-round overhead** of the decoder (verification, cache crops, bookkeeping),
  read off short :func:`~specbound.lm.generate` runs as ``overhead_time / rounds``, and
  the per-token overhead of autoregressive decoding (``overhead_time / tokens``).

Each timing is the median of several repeats after a warm-up (these machines are noisy
and the first timed configuration of a process runs slow). Costs for token counts or
row counts that were not timed are interpolated linearly.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from numpy.typing import ArrayLike, NDArray

from specbound.algorithms import Algorithm, Autoregressive, BatchSpeculative, Speculative
from specbound.core.sampling import sample_categorical
from specbound.lm.cache import CachedLM
from specbound.lm.decode import encode_prompt, generate
from specbound.lm.loading import ModelPair
from specbound.lm.warping import SamplingConfig, warp_probs

__all__ = ["CostModel", "measure_costs"]


def _interp(points: dict[int, float], x: ArrayLike) -> NDArray[np.float64]:
    keys = sorted(points)
    at = np.asarray(x, dtype=np.float64)
    return np.asarray(np.interp(at, keys, [points[k] for k in keys]), dtype=np.float64)


@dataclass(frozen=True)
class CostModel:
    """Seconds per call, measured on this machine by :func:`measure_costs`.

    ``target[rows][k]``: one target call scoring k new tokens in ``rows`` sequences;
    ``draft[rows]``: one draft position; ``round_overhead[rows]``: the decoder's
    bookkeeping per round; ``token_overhead``: autoregressive decoding's per token.
    """

    context: int
    target: dict[int, dict[int, float]]
    draft: dict[int, float]
    round_overhead: dict[int, float]
    token_overhead: float

    def target_seconds(self, rows: int, tokens: ArrayLike) -> NDArray[np.float64]:
        """One target call over ``tokens`` (n,) new tokens in ``rows`` sequences: (n,)."""
        counts = np.atleast_1d(np.asarray(tokens, dtype=np.float64))  # (n,)
        keys = sorted(self.target)
        per_rows = np.stack([_interp(self.target[r], counts) for r in keys])  # (R, n)
        return np.array([np.interp(rows, keys, column) for column in per_rows.T])  # (n,)

    def draft_seconds(self, rows: int) -> float:
        return float(_interp(self.draft, rows))

    def overhead_seconds(self, rows: int) -> float:
        return float(_interp(self.round_overhead, rows))

    def autoregressive_per_token(self) -> float:
        """Predicted seconds per token of autoregressive decoding (one call per token)."""
        return float(self.target_seconds(1, 1.0)[0]) + self.token_overhead

    def round_seconds(
        self, num_drafts: int, gamma: int | None, remaining: NDArray[np.int64]
    ) -> NDArray[np.float64]:
        """Predicted seconds of a round that starts with ``remaining`` tokens left.

        The decoder drafts ``k = min(gamma, remaining)`` tokens (all of them when gamma is
        None); the target call scores the pending token and the drafts, plus one bonus
        position unless the round reaches the horizon: ``min(gamma + 1, remaining)``
        positions. Drafting: one forward of one row, then ``k - 1`` forwards of M rows.
        (A draft that stops early at its own end-of-sequence token is not modelled.)
        """
        remaining = np.asarray(remaining, dtype=np.int64)  # (n,)
        if gamma is None:
            drafted, scored = remaining, remaining
        else:
            drafted = np.minimum(gamma, remaining)
            scored = np.minimum(gamma + 1, remaining)
        target = self.target_seconds(num_drafts, scored.astype(np.float64))  # (n,)
        draft = self.draft_seconds(1) + (drafted - 1) * self.draft_seconds(num_drafts)
        return np.asarray(target + draft + self.overhead_seconds(num_drafts), dtype=np.float64)

    def to_dict(self) -> dict[str, Any]:
        return {
            "context": self.context,
            "target_seconds": {
                str(r): {str(k): v for k, v in table.items()} for r, table in self.target.items()
            },
            "draft_seconds": {str(r): v for r, v in self.draft.items()},
            "round_overhead_seconds": {str(r): v for r, v in self.round_overhead.items()},
            "token_overhead_seconds": self.token_overhead,
            "autoregressive_seconds_per_token": self.autoregressive_per_token(),
        }


def _median_seconds(run: Any, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        run()
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


def _context_ids(prompt_ids: Sequence[int], length: int) -> torch.Tensor:
    cycled = [prompt_ids[i % len(prompt_ids)] for i in range(length)]
    return torch.tensor([cycled], dtype=torch.long)  # (1, length)


def _time_target(
    lm: CachedLM, context: int, rows: int, tokens: int, sampling: SamplingConfig, repeats: int
) -> float:
    ids = torch.zeros((rows, tokens), dtype=torch.long, device=lm.device)  # (M, k)

    def call() -> None:
        lm.repeat(rows)
        warp_probs(lm.extend(ids, keep=tokens), sampling).cpu().numpy()  # (M, k, V)
        lm.select(0)
        lm.crop(context)

    call()  # warm-up
    return _median_seconds(call, repeats)


def _time_draft(
    lm: CachedLM,
    context: int,
    rows: int,
    sampling: SamplingConfig,
    repeats: int,
    rng: np.random.Generator,
) -> float:
    ids = torch.zeros((rows, 1), dtype=torch.long, device=lm.device)  # (M, 1)
    lm.repeat(rows)

    def call() -> None:
        law = warp_probs(lm.extend(ids)[:, -1], sampling).cpu().numpy()  # (M, V)
        sample_categorical(law, rng)
        lm.crop(context)

    call()
    seconds = _median_seconds(call, repeats)
    lm.select(0)
    return seconds


def _overhead(
    pair: ModelPair,
    prompt: str,
    algorithm: Algorithm,
    max_new_tokens: int,
    sampling: SamplingConfig,
    repeats: int,
) -> float:
    """Median over runs of overhead seconds per round (per token for autoregressive)."""
    values = []
    for seed in range(repeats):
        stats = generate(
            pair,
            prompt,
            algorithm,
            max_new_tokens=max_new_tokens,
            seed=seed,
            sampling=sampling,
        ).stats
        units = stats.rounds if algorithm.drafts else stats.new_tokens
        values.append(stats.overhead_time / max(units, 1))
    return float(np.median(values))


def measure_costs(
    pair: ModelPair,
    prompt: str,
    *,
    max_new_tokens: int,
    gammas: Sequence[int],
    num_drafts: Sequence[int],
    sampling: SamplingConfig,
    repeats: int = 5,
) -> CostModel:
    """Time target calls, draft positions and decoder overheads on this machine.

    The context is the encoded ``prompt`` plus ``max_new_tokens // 2`` tokens (a typical
    mid-generation cache). Target calls are timed for every k a round of these gammas can
    score (1 to max(gamma) + 1, and ``max_new_tokens`` for drafting to the horizon) with
    one row, and for the k = gamma + 1 of each gamma with M rows for each M in
    ``num_drafts``.
    """
    prompt_ids = encode_prompt(pair, prompt)
    context = len(prompt_ids) + max_new_tokens // 2
    ids = _context_ids(prompt_ids, context)  # (1, c)
    top = max([*gammas, 1]) + 1
    single = sorted({*range(1, top + 1), max_new_tokens})
    several = sorted({1, *(g + 1 for g in gammas), max_new_tokens})
    rng = np.random.default_rng(0)
    with torch.inference_mode():
        target_lm = CachedLM(pair.target, pair.vocab_size)
        target_lm.extend(ids.to(target_lm.device))
        draft_lm = CachedLM(pair.draft, pair.vocab_size)
        draft_lm.extend(ids.to(draft_lm.device))
        for _ in range(3):  # warm-up: the first timed configuration of a process runs slow
            _time_target(target_lm, context, 1, 1, sampling, 1)
        target: dict[int, dict[int, float]] = {
            1: {k: _time_target(target_lm, context, 1, k, sampling, repeats) for k in single}
        }
        rows_list = sorted({m for m in num_drafts if m > 1})
        for rows in rows_list:
            target[rows] = {
                k: _time_target(target_lm, context, rows, k, sampling, repeats) for k in several
            }
        draft = {
            rows: _time_draft(draft_lm, context, rows, sampling, repeats, rng)
            for rows in (1, *rows_list)
        }
    gamma = max(gammas) if gammas else 4
    calibration = max(2, repeats // 2)
    overhead = {
        1: _overhead(pair, prompt, Speculative(gamma=gamma), max_new_tokens, sampling, calibration)
    }
    if rows_list:
        overhead[rows_list[-1]] = _overhead(
            pair,
            prompt,
            BatchSpeculative(num_drafts=rows_list[-1], gamma=gamma),
            max_new_tokens,
            sampling,
            calibration,
        )
    token_overhead = _overhead(
        pair, prompt, Autoregressive(), max_new_tokens, sampling, calibration
    )
    return CostModel(
        context=context,
        target=target,
        draft=draft,
        round_overhead=overhead,
        token_overhead=token_overhead,
    )
