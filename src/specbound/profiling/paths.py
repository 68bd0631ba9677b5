"""Output paths and the laws along them: the raw material of :func:`specbound.profile`.

Two ways to get, for a continuation ``x_1..x_L`` of a prompt, the warped draft law
``p_n(. | x_{<n})`` and target law ``q_n(. | x_{<n})`` at every position (paper
notation: p = draft, q = target):

* :func:`sample_paths` draws N continuations at once (batch dim N, one KV cache per
  model) from the target's law, or from any law built position by position from
  ``(p_n, q_n)`` — e.g. an over-acceptance decoder's output law ``A = p b + r P``
  (Theorem 4) — and records both laws on the way;
* :func:`score_continuations` takes continuations produced elsewhere (by
  :func:`~specbound.lm.generate`) and recovers both laws with one full forward of each
  model over prompt + continuation (no cache).

Both warp logits with the one warping function, :func:`~specbound.lm.warp_probs`, so the
laws are the ones the decoder verifies against. Sampling stops where the decoder stops:
at ``max_new_tokens`` or at the end-of-sequence token (kept, as the decoder keeps it).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from numpy.typing import NDArray

from specbound.core.sampling import sample_categorical
from specbound.lm.cache import CachedLM
from specbound.lm.loading import ModelPair
from specbound.lm.pairs import MissingDraftError
from specbound.lm.warping import SamplingConfig, warp_probs

__all__ = ["OutputLaw", "SampledPaths", "sample_paths", "score_continuations"]

Array = NDArray[np.float64]
#: Builds the law a position's token is drawn from out of (draft (N, V), target (N, V)).
OutputLaw = Callable[[Array, Array], Array]


@dataclass(frozen=True)
class SampledPaths:
    """N continuations of one prompt with the draft and target laws along them.

    Entries past ``lengths[i]`` (a row that stopped at the end-of-sequence token) are
    padding and must be ignored; :meth:`by_length` groups the rows by length.
    """

    tokens: NDArray[np.int64]  # (N, T)
    lengths: NDArray[np.int64]  # (N,)
    draft_probs: Array  # (N, T, V): p_n at each position ((N, T, 0) for a pair with no draft)
    target_probs: Array  # (N, T, V): q_n at each position

    @property
    def num_samples(self) -> int:
        return int(self.tokens.shape[0])

    def by_length(self) -> Iterator[tuple[int, NDArray[np.int64]]]:
        """``(L, rows)`` for each distinct path length L (rows: indices of those paths)."""
        for length in np.unique(self.lengths):
            yield int(length), np.flatnonzero(self.lengths == length)


def _first_eos(tokens: NDArray[np.int64], eos: int | None) -> NDArray[np.int64]:
    """Length of each row up to and including its first ``eos`` (the full width if none)."""
    rows, width = tokens.shape
    if eos is None:
        return np.full(rows, width, dtype=np.int64)
    hit = tokens == eos  # (N, T)
    return np.where(hit.any(axis=1), hit.argmax(axis=1) + 1, width).astype(np.int64)


def sample_paths(
    pair: ModelPair,
    prompt_ids: Sequence[int],
    num_samples: int,
    max_new_tokens: int,
    sampling: SamplingConfig,
    rng: np.random.Generator,
    *,
    output_law: OutputLaw | None = None,
    stop_at_eos: bool = True,
    draft_laws: bool = True,
) -> SampledPaths:
    """Draw ``num_samples`` continuations of ``prompt_ids`` (already encoded) at once.

    Each token is drawn with :func:`~specbound.core.sampling.sample_categorical` from
    ``output_law(p_n, q_n)`` (default: the target law ``q_n``, i.e. the law SD and batch
    SD output, Theorem 1). Rows that produced the end-of-sequence token keep being
    extended (nothing after it is read); sampling stops once every row has one. A pair
    loaded without its draft (model-free drafters), or ``draft_laws=False``, samples from
    the target alone and records no draft laws (``draft_probs`` (N, T, 0)); ``output_law``
    needs them.
    """
    if num_samples < 1 or max_new_tokens < 1:
        raise ValueError("num_samples and max_new_tokens must be >= 1")
    if not prompt_ids:
        raise ValueError("prompt_ids is empty")
    eos = pair.eos_token_id if stop_at_eos else None
    with_draft = draft_laws and pair.has_draft
    if output_law is not None and not with_draft:
        raise MissingDraftError("an output law built from the draft's needs the draft model")
    target = CachedLM(pair.target, pair.vocab_size)
    draft = CachedLM(pair.draft, pair.vocab_size) if with_draft else None
    tokens: list[NDArray[np.int64]] = []
    p_laws: list[Array] = []
    target_laws: list[Array] = []
    with torch.inference_mode():
        if len(prompt_ids) > 1:
            head = torch.tensor([list(prompt_ids[:-1])], dtype=torch.long, device=target.device)
            target.extend(head)  # (1, L-1): the prompt's prefill, one row
            if draft is not None:
                draft.extend(head.to(draft.device))
        target.repeat(num_samples)
        if draft is not None:
            draft.repeat(num_samples)
        last = np.full(num_samples, int(prompt_ids[-1]), dtype=np.int64)  # (N,)
        done = np.zeros(num_samples, dtype=bool)  # (N,) rows that emitted eos
        for _ in range(max_new_tokens):
            ids = torch.from_numpy(last)[:, None]  # (N, 1)
            q = warp_probs(target.extend(ids.to(target.device))[:, -1], sampling)  # (N, V)
            target_probs = q.cpu().numpy()  # (N, V) float64
            draft_probs = np.zeros((num_samples, 0))  # (N, 0): no draft model
            if draft is not None:
                p = warp_probs(draft.extend(ids.to(draft.device))[:, -1], sampling)  # (N, V)
                draft_probs = p.cpu().numpy()  # (N, V) float64
            law = target_probs if output_law is None else output_law(draft_probs, target_probs)
            last = sample_categorical(law, rng)  # (N,)
            tokens.append(last)
            p_laws.append(draft_probs)
            target_laws.append(target_probs)
            if eos is not None:
                done |= last == eos
                if done.all():
                    break
    stacked = np.stack(tokens, axis=1)  # (N, T)
    return SampledPaths(
        tokens=stacked,
        lengths=_first_eos(stacked, eos),
        draft_probs=np.stack(p_laws, axis=1),  # (N, T, V)
        target_probs=np.stack(target_laws, axis=1),  # (N, T, V)
    )


def _laws(model: torch.nn.Module, ids: torch.Tensor, start: int, vocab: int) -> torch.Tensor:
    """Logits predicting positions ``start..`` of ``ids`` (B, L): (B, L - start, V)."""
    logits = model(input_ids=ids).logits  # (B, L, V')
    return logits[:, start - 1 : -1, :vocab]  # (B, L - start, V)


def score_continuations(
    pair: ModelPair,
    prompt_ids: Sequence[int],
    continuations: Sequence[Sequence[int]],
    sampling: SamplingConfig,
) -> list[tuple[Array, Array]]:
    """``(draft_probs (L, V), target_probs (L, V))`` along each continuation.

    One uncached forward of each model over prompt + continuation; continuations of equal
    length share one batched forward.
    """
    if not prompt_ids:
        raise ValueError("prompt_ids is empty")
    out: list[tuple[Array, Array] | None] = [None] * len(continuations)
    groups: dict[int, list[int]] = {}
    for index, continuation in enumerate(continuations):
        groups.setdefault(len(continuation), []).append(index)
    start = len(prompt_ids)
    with torch.inference_mode():
        for length, members in groups.items():
            if length == 0:
                empty = np.zeros((0, pair.vocab_size))
                for index in members:
                    out[index] = (empty, empty)
                continue
            rows = [[*prompt_ids, *continuations[index]] for index in members]
            ids = torch.tensor(rows, dtype=torch.long, device=pair.device)  # (B, L0 + L)
            q = warp_probs(_laws(pair.target, ids, start, pair.vocab_size), sampling)
            p = warp_probs(_laws(pair.draft, ids, start, pair.vocab_size), sampling)
            q_np, p_np = q.cpu().numpy(), p.cpu().numpy()  # (B, L, V) float64
            for row, index in enumerate(members):
                out[index] = (p_np[row], q_np[row])
    return [item for item in out if item is not None]
