"""Measuring the pair that ships: perplexity, draft-target TV along target samples, latency."""

from __future__ import annotations

import argparse
import functools
import math
import statistics
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # torch and transformers are imported inside the functions
    import torch
    from transformers import GPTNeoXForCausalLM, PreTrainedTokenizerFast

from train_pair.train import count_parameters, load_model

__all__ = [
    "PROMPTS",
    "compare_along",
    "evaluate_perplexity",
    "evaluate_saved",
    "per_token_latency_ms",
    "sample_from",
    "timed",
    "tv_along_target_samples",
]

PROMPTS: tuple[str, ...] = (
    "The with statement",
    "The import system",
    "A dictionary",
    "Return the number of",
    "This module provides",
    "The for statement is used to",
    "Raise an exception if",
    "Create a new",
    "If the file",
    "The default value",
    "Exceptions",
    "Class definitions",
    "The string",
    "Note that",
    "When a generator",
    "Return a list of",
    "This function",
    "The socket",
    "An object is",
    "Test that the",
)
"""Short English prompts from which target samples are drawn for the TV measurement."""


def evaluate_perplexity(
    model: torch.nn.Module, stream: torch.Tensor, context: int, batch_size: int = 16
) -> float:
    """Perplexity of ``model`` on ``stream`` cut into non-overlapping windows (fp32)."""
    import torch
    import torch.nn.functional as nnf

    usable = (len(stream) - 1) // context * context
    inputs = stream[:usable].view(-1, context)
    targets = stream[1 : usable + 1].view(-1, context)
    total = 0.0
    with torch.no_grad():
        for first in range(0, len(inputs), batch_size):
            logits = model(input_ids=inputs[first : first + batch_size]).logits.float()
            chunk = targets[first : first + batch_size]
            total += nnf.cross_entropy(
                logits.reshape(-1, logits.shape[-1]), chunk.reshape(-1), reduction="sum"
            ).item()
    return math.exp(total / targets.numel())


def sample_from(
    model: torch.nn.Module, prompt: torch.Tensor, new_tokens: int, generator: torch.Generator
) -> torch.Tensor:
    """Sample ``new_tokens`` at temperature 1 (no top-k/top-p), recomputing the full context.

    Returns the prompt followed by the samples as a 1-D tensor.
    """
    import torch

    sequence = prompt.clone()
    with torch.no_grad():
        for _ in range(new_tokens):
            logits = model(input_ids=sequence[None, :]).logits[0, -1].float()
            probs = torch.softmax(logits, dim=-1)
            token = torch.multinomial(probs, 1, generator=generator)
            sequence = torch.cat([sequence, token])
    return sequence


def compare_along(
    target: torch.nn.Module, draft: torch.nn.Module, sequence: torch.Tensor, prompt_len: int
) -> tuple[list[float], list[bool]]:
    """Per-position TV distance and argmax agreement of draft vs target next-token laws.

    Positions are those that predicted the sampled tokens ``sequence[prompt_len:]``.
    """
    import torch

    with torch.no_grad():
        p_target = torch.softmax(target(input_ids=sequence[None, :]).logits[0].float(), -1)
        p_draft = torch.softmax(draft(input_ids=sequence[None, :]).logits[0].float(), -1)
    span = slice(prompt_len - 1, len(sequence) - 1)
    p_target, p_draft = p_target[span], p_draft[span]
    tv = 0.5 * (p_target - p_draft).abs().sum(-1)
    same = p_target.argmax(-1) == p_draft.argmax(-1)
    return tv.tolist(), same.tolist()


def tv_along_target_samples(
    target: torch.nn.Module,
    draft: torch.nn.Module,
    tokenizer: PreTrainedTokenizerFast,
    prompts: Sequence[str],
    new_tokens: int,
    seed: int,
) -> dict[str, float]:
    """Mean TV and same-argmax fraction along target samples from ``prompts``.

    Each prompt is preceded by the eos token (documents start after one in training).
    """
    import torch

    generator = torch.Generator().manual_seed(seed)
    tvs: list[float] = []
    sames: list[bool] = []
    for text in prompts:
        ids = [tokenizer.eos_token_id, *tokenizer.encode(text, add_special_tokens=False)]
        prompt = torch.tensor(ids, dtype=torch.long)
        sequence = sample_from(target, prompt, new_tokens, generator)
        tv, same = compare_along(target, draft, sequence, len(ids))
        tvs.extend(tv)
        sames.extend(same)
    return {
        "mean_tv": statistics.fmean(tvs),
        "median_tv": statistics.median(tvs),
        "same_argmax": statistics.fmean(float(s) for s in sames),
        "positions": float(len(tvs)),
    }


def per_token_latency_ms(
    model: GPTNeoXForCausalLM, new_tokens: int = 64, repeats: int = 5
) -> float:
    """Median milliseconds per token of greedy decoding with the KV cache (batch 1, fp32)."""
    import torch

    prompt = torch.zeros((1, 8), dtype=torch.long)
    timings = []
    with torch.no_grad():
        for _ in range(repeats + 1):  # the first run is a warm-up
            start = time.perf_counter()
            model.generate(
                prompt,
                attention_mask=torch.ones_like(prompt),
                do_sample=False,
                max_new_tokens=new_tokens,
                min_new_tokens=new_tokens,
                use_cache=True,
            )
            timings.append((time.perf_counter() - start) * 1000.0 / new_tokens)
    return statistics.median(timings[1:])


def timed(label: str, action: Callable[[], Any]) -> Any:
    """Run ``action`` and print how long it took."""
    start = time.perf_counter()
    result = action()
    print(f"{label}: {time.perf_counter() - start:.1f} s", flush=True)
    return result


def evaluate_saved(
    out: Path,
    args: argparse.Namespace,
    heldout: torch.Tensor,
    tokenizer: PreTrainedTokenizerFast,
) -> dict[str, Any]:
    """Reload the saved (float16) weights as float32 and measure what ships."""
    target, draft = load_model(out / "target"), load_model(out / "draft")
    result: dict[str, Any] = {}
    for name, model in (("target", target), ("draft", draft)):
        measure = functools.partial(evaluate_perplexity, model, heldout, args.context)
        ppl = timed(f"{name} held-out ppl", measure)
        result[name] = {
            "parameters": count_parameters(model),
            "heldout_ppl": ppl,
            "shape": str(args.target_shape if name == "target" else args.draft_shape),
        }
        if not args.no_latency:
            result[name]["ms_per_token_greedy"] = per_token_latency_ms(model)
    result["pair"] = timed(
        "TV along target samples",
        lambda: tv_along_target_samples(
            target, draft, tokenizer, PROMPTS[: args.prompts], args.sample_tokens, args.seed + 7
        ),
    )
    result["pair"].update(
        prompts=args.prompts, sample_tokens=args.sample_tokens, temperature=1.0, top_k=None
    )
    return result
