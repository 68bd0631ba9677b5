"""Hugging Face ``generate`` on a specbound pair: the baseline ``specbound bench lm`` beats.

Two contenders come from here, on the same pair, prompts, sampling settings and seeds as
specbound's decoders (paper notation: p = draft, q = target):

* plain ``target.generate`` (autoregressive sampling);
* **assisted generation** (``generate(assistant_model=draft)``), whose sampling branch is
  speculative sampling (Leviathan et al., Algorithm 1; the paper's SD with finite gamma).

transformers 5.x details that matter for a fair comparison:

* the number of assistant tokens, its schedule and the confidence threshold are read from
  the **draft's** ``generation_config``; passed to ``generate()`` they are silently
  ignored. :func:`hf_generate` sets them there for the call and restores the config
  afterwards (the heuristic schedule writes its adapted value back into it);
* ``do_sample=True`` applies ``top_k=50`` unless told otherwise: top-k off is ``top_k=0``;
* an explicit attention mask and pad token avoid warnings; progress bars stay silent;
* the pad token must equal the end-of-sequence token: when they differ, HF infers an
  attention mask that hides every pad token of the input, and assisted generation's
  drafts then ignore a prompt's leading end-of-text token (the embedded pair starts every
  prompt with one; the draft's acceptance drops). To switch the end-of-sequence stop off,
  both are set to an id beyond every logit row, which is never sampled nor in a prompt;
* HF samples from torch's global generator, so each call seeds it inside
  :func:`torch.random.fork_rng` (the caller's global state is left as it was).

A third contender needs no draft model: **prompt lookup** (``generate(
prompt_lookup_num_tokens=k, max_matching_ngram_size=n)``, transformers 5.x
``PromptLookupCandidateGenerator``), the peer of ``bench lm``'s ``specbound_ngram``. What
it does, precisely:

* candidates: for match lengths n, n - 1, ..., 1 (no shorter limit), the *first*
  (leftmost) earlier occurrence of the sequence's last tokens that has a continuation; up
  to k tokens after it, cut at the sequence's end (no overlapping copy) and at the first
  end-of-sequence token; none found: the round is one plain step. specbound's prompt
  lookup takes the *most recent* occurrence and may copy past the sequence's end, so the
  two propose different tokens on some rounds;
* verification: candidates carry no logits, so with ``do_sample=True`` HF draws one token
  from the target's (processed) law q at every candidate position and keeps candidates
  while they equal the draws, then keeps the first differing draw (or the bonus draw).
  A candidate x is thus kept with probability q(x), and the first differing draw is
  distributed as q with x removed and renormalised: the law of speculative sampling with
  a point-mass draft, lossless like specbound's (greedy: argmax comparison). The number
  of candidates is constant (no schedule).
"""

from __future__ import annotations

import contextlib
import copy
import time
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import torch

from specbound.errors import IncompatibleModelsError, InvalidInputError
from specbound.lm.loading import ModelPair
from specbound.lm.pairs import MissingDraftError
from specbound.lm.warping import SamplingConfig
from specbound.validate import check_int

__all__ = ["HF_DEFAULT_ASSISTANT_TOKENS", "HFRun", "check_assistable", "hf_generate"]

#: transformers' default ``num_assistant_tokens`` (with the "heuristic" schedule: +2 after
#: a round that accepts every candidate, -1 otherwise).
HF_DEFAULT_ASSISTANT_TOKENS = 20


@dataclass(frozen=True)
class HFRun:
    """One ``generate`` call: new tokens, wall seconds and target forward passes.

    ``target_calls`` counts every forward of the target, the first (the prompt's prefill,
    which also yields the first token) included; for plain generation it equals the
    number of new tokens.
    """

    token_ids: tuple[int, ...]
    seconds: float
    target_calls: int

    @property
    def new_tokens(self) -> int:
        return len(self.token_ids)


class _CallCounter:
    """A forward pre-hook that counts calls of a module."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, module: Any, args: Any) -> None:
        self.calls += 1


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    from transformers.utils import logging as hf_logging

    verbosity = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        hf_logging.set_verbosity(verbosity)


@contextlib.contextmanager
def _generation_fields(model: Any, fields: dict[str, Any]) -> Iterator[None]:
    """Give ``model`` a copy of its ``generation_config`` with ``fields`` set, for one call.

    ``generate`` fills every option left unset (None) from the model's own config, so an
    end-of-sequence token cannot be switched off through the config passed to it; and
    assisted generation reads its options from the draft's config (and writes the
    heuristic schedule's adapted length back into it). Restored afterwards.
    """
    saved = model.generation_config
    config = copy.deepcopy(saved)
    for name, value in fields.items():
        setattr(config, name, value)
    model.generation_config = config
    try:
        yield
    finally:
        model.generation_config = saved


def _assistant_fields(num_assistant_tokens: int | None) -> dict[str, Any]:
    """The draft's assisted-generation options.

    ``None``: transformers' defaults (20 tokens, heuristic schedule, its default confidence
    threshold); an integer k: exactly k candidates per round (constant schedule, threshold
    0 = off), the same draft length as specbound's gamma.
    """
    if num_assistant_tokens is None:
        from transformers import GenerationConfig

        defaults = GenerationConfig()
        return {
            "num_assistant_tokens": HF_DEFAULT_ASSISTANT_TOKENS,
            "num_assistant_tokens_schedule": defaults.num_assistant_tokens_schedule,
            "assistant_confidence_threshold": defaults.assistant_confidence_threshold,
        }
    return {
        "num_assistant_tokens": int(num_assistant_tokens),
        "num_assistant_tokens_schedule": "constant",
        "assistant_confidence_threshold": 0.0,
    }


def check_assistable(pair: ModelPair) -> None:
    """HF assisted generation (without its "universal" tokenizer mode, another algorithm)
    needs the two models' configs to declare the same vocabulary size; specbound only
    needs both to cover the tokenizer. Raises :class:`IncompatibleModelsError` otherwise
    (:class:`~specbound.lm.pairs.MissingDraftError` for a pair loaded without its draft)."""
    if not pair.has_draft:
        raise MissingDraftError(
            "HF assisted generation needs the draft model, but the pair was loaded without "
            "it; load it with its draft or leave the assisted contenders out"
        )
    sizes = [int(m.config.get_text_config().vocab_size) for m in (pair.target, pair.draft)]
    if sizes[0] != sizes[1]:
        raise IncompatibleModelsError(
            f"HF assisted generation needs target and draft configs with the same "
            f"vocab_size, got {sizes[0]} (target) and {sizes[1]} (draft); "
            "benchmark without the HF contenders (--no-hf)"
        )


def _stop_token(pair: ModelPair, stop_at_eos: bool) -> int:
    """The id used as both end-of-sequence and pad token (see the module docstring)."""
    if stop_at_eos and pair.eos_token_id is not None:
        return pair.eos_token_id
    # NOTE: an id past every model's logit rows: never sampled, never in a prompt.
    models = (pair.target, pair.draft) if pair.has_draft else (pair.target,)
    return max(int(m.config.get_text_config().vocab_size) for m in models)


def _generation_config(
    pair: ModelPair, max_new_tokens: int, sampling: SamplingConfig, stop_token: int
) -> Any:
    from transformers import GenerationConfig

    options: dict[str, Any] = {
        "max_new_tokens": max_new_tokens,
        "min_new_tokens": None,
        "pad_token_id": stop_token,
        "eos_token_id": stop_token,
        "do_sample": not sampling.greedy,
    }
    if not sampling.greedy:
        options["temperature"] = sampling.temperature
        options["top_k"] = 0 if sampling.top_k is None else sampling.top_k
        options["top_p"] = 1.0 if sampling.top_p is None else sampling.top_p
    return GenerationConfig(**options)


def hf_generate(
    pair: ModelPair,
    prompt_ids: Sequence[int],
    *,
    max_new_tokens: int,
    seed: int,
    sampling: SamplingConfig | None = None,
    assistant: bool = False,
    num_assistant_tokens: int | None = None,
    stop_at_eos: bool = False,
    prompt_lookup: int | None = None,
    max_matching_ngram_size: int = 2,
) -> HFRun:
    """Run ``pair.target.generate`` on ``prompt_ids`` (already encoded, prefix included).

    ``assistant``: assisted generation with ``pair.draft`` and ``num_assistant_tokens``
    candidates per round (None: transformers' defaults). Sampling follows ``sampling``
    (temperature, top-k, top-p; temperature 0 is greedy). ``stop_at_eos=False`` disables
    the end-of-sequence stop so every contender generates ``max_new_tokens`` tokens. The
    wall time covers the whole ``generate`` call (prefill included). ``prompt_lookup``:
    prompt lookup with that many candidate tokens per round and match lengths up to
    ``max_matching_ngram_size`` (module docstring; the draft model is not used).
    """
    if num_assistant_tokens is not None and num_assistant_tokens < 1:
        raise InvalidInputError(f"num_assistant_tokens must be >= 1, got {num_assistant_tokens}")
    if prompt_lookup is not None:
        if assistant:
            raise InvalidInputError("prompt_lookup and assistant are two ways of drafting")
        check_int(prompt_lookup, "prompt_lookup", low=1)
        check_int(max_matching_ngram_size, "max_matching_ngram_size", low=1)
    if assistant:
        check_assistable(pair)
    sampling = sampling or SamplingConfig()
    stop_token = _stop_token(pair, stop_at_eos)
    config = _generation_config(pair, max_new_tokens, sampling, stop_token)
    if prompt_lookup is not None:
        config.prompt_lookup_num_tokens = int(prompt_lookup)
        config.max_matching_ngram_size = int(max_matching_ngram_size)
    device = pair.device
    ids = torch.tensor([list(prompt_ids)], dtype=torch.long, device=device)  # (1, L)
    mask = torch.ones_like(ids)  # (1, L)
    counter = _CallCounter()
    extra: dict[str, Any] = {"assistant_model": pair.draft} if assistant else {}
    stop = {"eos_token_id": stop_token, "pad_token_id": stop_token}
    draft_fields = _assistant_fields(num_assistant_tokens) if assistant else {}
    handle = pair.target.register_forward_pre_hook(counter)
    draft_config = (
        _generation_fields(pair.draft, {**stop, **draft_fields})
        if pair.has_draft
        else contextlib.nullcontext()
    )
    try:
        with (
            _generation_fields(pair.target, stop),
            draft_config,
            _quiet(),
            torch.random.fork_rng(devices=[]),
            torch.inference_mode(),
        ):
            torch.manual_seed(seed)
            start = time.perf_counter()
            out = pair.target.generate(
                input_ids=ids, attention_mask=mask, generation_config=config, **extra
            )  # (1, L + new)
            seconds = time.perf_counter() - start
    finally:
        handle.remove()
    new = out[0, ids.shape[1] :].tolist()
    return HFRun(token_ids=tuple(int(t) for t in new), seconds=seconds, target_calls=counter.calls)
