"""``generate``: decode one prompt with a model pair and any algorithm spec.

A speculative round (paper Algorithms 1, 2, 4; p = draft, q = target):

1. *propose* — the drafter samples k tokens (M sequences for batch SD) from the draft's
   warped law, one draft forward per position (k = gamma, or the tokens left to the
   horizon when gamma is None);
2. *score* — one target forward over the pending tokens and the drafts (batch: the
   target cache fanned out to M rows, one forward with batch dim M); its logits are
   warped by the same :func:`~specbound.lm.warping.warp_probs`;
3. *verify* — :func:`~specbound.lm.verification.verify_round`, i.e. the ``core`` rules;
4. both caches keep the winning row and are cropped to the accepted prefix; the
   recovered or bonus token becomes the next round's pending token.

A token tree (``TreeSpeculative``) drafts, scores and keeps its round differently (one
row, tree attention): :mod:`specbound.lm.tree_round`; the family's rules verify it.

Finite gamma scores one position past the drafts, so a round that accepts all gamma
tokens ends with a bonus token from the same call. A round that reaches
``max_new_tokens`` (always, with gamma None) scores no bonus position.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch

from specbound.algorithms import DEFAULT_GAMMA, Algorithm, Speculative, check_algorithm
from specbound.core import kernels
from specbound.errors import InvalidInputError
from specbound.lm.arrays import kernel_array, uniform_tensor
from specbound.lm.cache import CachedLM
from specbound.lm.chat import encode_text
from specbound.lm.decode_state import (
    Clock,
    Counts,
    RoundCallback,
    TokenCallback,
    cut_at_eos,
    emit,
    ids_tensor,
    prefill,
)
from specbound.lm.drafting import Drafter, DraftSource
from specbound.lm.limits import check_context, check_decode_memory
from specbound.lm.loading import ModelPair, check_model_pair
from specbound.lm.prompts import check_prompt
from specbound.lm.stats import GenerationOutput, GenerationStats, RoundTiming
from specbound.lm.tree_round import decode_tree, tree_shape
from specbound.lm.verification import verify_round
from specbound.lm.warping import SamplingConfig, warp_probs
from specbound.validate import check_int, check_seed

__all__ = ["DEFAULT_GAMMA", "encode_prompt", "generate"]


#: Builds the round's drafter from the draft model (with its cache), the sampling and the
#: stop token; any :class:`~specbound.lm.drafting.DraftSource` may be returned.
DrafterFactory = Callable[[CachedLM, SamplingConfig, int | None], DraftSource]


def encode_prompt(pair: ModelPair, prompt: str | Sequence[int]) -> list[int]:
    """Token ids of ``prompt`` (text, or ids used as given), with the pair's prefix; text
    goes through the tokenizer's chat template when the pair is a chat pair
    (:func:`specbound.lm.chat.encode_text`)."""
    check_model_pair(pair)
    check_prompt(prompt)
    if isinstance(prompt, str):
        if not prompt.strip():
            raise InvalidInputError("prompt is empty; give some text to continue")
        ids = encode_text(pair, prompt)  # chat-templated as one user turn for a chat model
    else:
        ids = [int(i) for i in prompt]
        bad = [i for i in ids if not 0 <= i < pair.vocab_size]
        if bad:
            raise InvalidInputError(
                f"prompt token ids must lie in [0, {pair.vocab_size}), got {bad[0]}"
            )
    ids = [*pair.prompt_prefix, *ids]
    if not ids:
        raise InvalidInputError("prompt is empty (no tokens); give some text to continue")
    return ids


def _autoregressive(
    pair: ModelPair,
    tokens: list[int],
    max_new_tokens: int,
    sampling: SamplingConfig,
    rng: np.random.Generator,
    eos: int | None,
    on_tokens: TokenCallback | None,
    on_round: RoundCallback | None,
    clock: Clock,
    counts: Counts,
) -> None:
    """Paper Algorithm 3: one target call per token."""
    target = CachedLM(pair.target, pair.vocab_size)
    t0 = time.perf_counter()
    prefill(target, tokens)
    clock.prefill += time.perf_counter() - t0
    clock.target += time.perf_counter() - t0
    ids = ids_tensor(tokens[target.length :], target.device)  # (1, 1) the last prompt token
    for _ in range(max_new_tokens):
        t0 = time.perf_counter()
        logits = target.extend(ids)[:, -1]  # (1, V)
        u = uniform_tensor(rng, (1,), target.device)  # (1,) float64
        drawn = kernels.inverse_cdf(warp_probs(logits, sampling), u)  # (1,) on the device
        token = int(drawn[0])  # the step's one host read
        t1 = time.perf_counter()
        clock.target += t1 - t0
        counts.target_calls += 1
        tokens.append(token)
        if on_round is not None:
            on_round(RoundTiming(0, 1, 1, len(tokens) - 1, 0.0, t1 - t0, time.perf_counter() - t1))
        emit(on_tokens, [token], clock)
        if eos is not None and token == eos:
            break
        ids = drawn.view(1, 1)


def _score(
    target: CachedLM, tokens: list[int], drafted: torch.Tensor, ends: bool, sampling: SamplingConfig
) -> Any:
    """One target forward over the pending tokens and the M drafts (batch dim M).

    Returns q at every drafted position, plus a bonus position unless the round ``ends``
    at the horizon: (M, k+1, V), or (M, k, V) when it ends (a kernel array).
    """
    num_drafts, k = drafted.shape
    scored = drafted[:, : k - 1] if ends else drafted  # (M, k-1 or k)
    pending = ids_tensor(tokens[target.length :], target.device).expand(num_drafts, -1)  # (M, L)
    ids = torch.cat([pending, scored.to(target.device)], dim=1)  # (M, L + k-1 or L + k)
    target.repeat(num_drafts)
    logits = target.extend(ids, keep=k if ends else k + 1)  # (M, k or k+1, V)
    return kernel_array(warp_probs(logits, sampling))  # (M, k or k+1, V) float64


def _speculative(
    pair: ModelPair,
    algorithm: Algorithm,
    tokens: list[int],
    max_new_tokens: int,
    sampling: SamplingConfig,
    rngs: tuple[np.random.Generator, np.random.Generator],
    eos: int | None,
    on_tokens: TokenCallback | None,
    on_round: RoundCallback | None,
    clock: Clock,
    counts: Counts,
    make_drafter: DrafterFactory,
) -> int:
    """Propose / score / verify rounds until the horizon or EOS; returns draft calls."""
    draft_rng, verify_rng = rngs
    target = CachedLM(pair.target, pair.vocab_size)
    drafter = make_drafter(CachedLM(pair.draft, pair.vocab_size), sampling, eos)
    t0 = time.perf_counter()
    prefill(target, tokens)
    t1 = time.perf_counter()
    drafter.start(tokens)
    t2 = time.perf_counter()
    clock.prefill += t2 - t0
    clock.target += t1 - t0
    clock.draft += t2 - t1
    done = 0
    while done < max_new_tokens:
        remaining = max_new_tokens - done
        shape = algorithm.family.proposal(algorithm.gamma, remaining)
        num_drafts = shape.sequences
        base = len(tokens)

        t0 = time.perf_counter()
        proposal = drafter.propose(tokens, shape.length, num_drafts, draft_rng)
        t1 = time.perf_counter()
        clock.draft += t1 - t0
        k = proposal.num_tokens
        counts.drafted += k * num_drafts
        drafted = proposal.tokens  # (M, k)
        ends = k == remaining
        target_probs = _score(target, tokens, drafted, ends, sampling)  # (M, k or k+1, V)
        t2 = time.perf_counter()
        clock.target += t2 - t1
        counts.target_calls += 1

        outcome = verify_round(
            algorithm,
            kernel_array(proposal.draft_probs),
            target_probs,
            kernel_array(drafted),
            verify_rng,
            eos_token_id=eos,
        )
        counts.rejections += int(outcome.rejected)
        counts.accepted.append(outcome.accepted)
        emitted = list(outcome.emitted)
        target.select(outcome.row)
        target.crop(base + outcome.accepted)  # the cached prefix that was accepted
        drafter.keep(outcome.row, base + outcome.accepted)
        emitted, stop = cut_at_eos(emitted, eos)
        tokens.extend(emitted)
        done += len(emitted)
        if on_round is not None:
            cost = algorithm.family.round_cost(k, bonus=not ends)
            other = time.perf_counter() - t2
            on_round(
                RoundTiming(
                    k,
                    cost.rows_scored,
                    cost.sequences,
                    base,
                    t1 - t0,
                    t2 - t1,
                    other,
                    fed=drafter.fed,
                )
            )
        emit(on_tokens, emitted, clock)
        if stop:
            break
    return drafter.forward_calls


def generate(
    pair: ModelPair,
    prompt: str | Sequence[int],
    algorithm: Algorithm | None = None,
    *,
    max_new_tokens: int = 64,
    seed: int = 0,
    sampling: SamplingConfig | None = None,
    stop_at_eos: bool = True,
    on_tokens: TokenCallback | None = None,
    drafter: DrafterFactory = Drafter,
    on_round: RoundCallback | None = None,
) -> GenerationOutput:
    """Continue ``prompt`` with ``algorithm`` (default: ``Speculative()``, drafting to the
    horizon; on real pairs pass the gamma ``specbound profile`` recommends).

    ``sampling`` (default: temperature 1, no top-k/top-p) warps draft and target
    identically (temperature 0 is greedy). Stops after ``max_new_tokens`` or at the
    end-of-sequence token (kept in ``token_ids``). ``seed`` makes the run reproducible;
    ``on_tokens`` receives the new token ids as each round completes. ``drafter`` builds
    the proposer (a hook for tests and custom drafters; the default samples exactly from
    the warped draft law). ``on_round`` receives a
    :class:`~specbound.lm.stats.RoundTiming` after every round (every token of
    autoregressive decoding): what the round did and what each of its phases cost, the
    data ``profile``'s cost model is fitted to.
    """
    algorithm = Speculative(gamma=DEFAULT_GAMMA) if algorithm is None else algorithm
    check_algorithm(algorithm)
    tree = tree_shape(algorithm)
    if tree is not None and drafter is not Drafter:
        raise InvalidInputError(
            "token trees are drafted by the draft model (a tree drafter); a custom "
            "drafter proposes sequences: use another algorithm with it"
        )
    max_new_tokens = check_int(max_new_tokens, "max_new_tokens", low=1)
    seed = check_seed(seed)
    sampling = SamplingConfig() if sampling is None else sampling
    if not isinstance(sampling, SamplingConfig):
        raise InvalidInputError(f"sampling must be a SamplingConfig, got {sampling!r}")
    check_model_pair(pair)
    algorithm.family.check_decoder()
    algorithm.check_vocabulary(pair.vocab_size)
    prompt_ids = encode_prompt(pair, prompt)
    check_context(pair, len(prompt_ids), max_new_tokens)
    check_decode_memory(pair, algorithm, len(prompt_ids), max_new_tokens)
    eos = pair.eos_token_id if stop_at_eos else None
    draft_rng, verify_rng = np.random.default_rng(seed).spawn(2)

    clock, counts = Clock(), Counts()
    tokens = list(prompt_ids)
    draft_calls = 0
    with torch.inference_mode():
        if algorithm.family.proposal(algorithm.gamma, max_new_tokens).length == 0:
            _autoregressive(
                pair,
                tokens,
                max_new_tokens,
                sampling,
                verify_rng,
                eos,
                on_tokens,
                on_round,
                clock,
                counts,
            )
        elif tree is not None:
            draft_calls = decode_tree(
                pair,
                algorithm,
                tree,
                tokens,
                max_new_tokens,
                sampling,
                (draft_rng, verify_rng),
                eos,
                on_tokens,
                on_round,
                clock,
                counts,
            )
        else:
            draft_calls = _speculative(
                pair,
                algorithm,
                tokens,
                max_new_tokens,
                sampling,
                (draft_rng, verify_rng),
                eos,
                on_tokens,
                on_round,
                clock,
                counts,
                drafter,
            )
    wall = time.perf_counter() - clock.start - clock.callback
    new_ids = tokens[len(prompt_ids) :]
    stats = GenerationStats(
        new_tokens=len(new_ids),
        prompt_tokens=len(prompt_ids),
        rejections=counts.rejections,
        target_calls=counts.target_calls,
        draft_calls=draft_calls,
        drafted_tokens=counts.drafted,
        accepted_lengths=tuple(counts.accepted),
        wall_time=wall,
        draft_time=clock.draft,
        target_time=clock.target,
        overhead_time=max(0.0, wall - clock.draft - clock.target),
        prefill_time=clock.prefill,
    )
    text = pair.tokenizer.decode(new_ids, skip_special_tokens=True)
    return GenerationOutput(
        text=text,
        token_ids=tuple(new_ids),
        prompt_ids=tuple(prompt_ids),
        stats=stats,
        algorithm=algorithm.to_dict(),
    )
