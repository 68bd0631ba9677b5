"""``warp_probs``: the one definition of the law draft and target are verified against."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from specbound.errors import InvalidInputError
from specbound.lm import SamplingConfig, warp_probs


def hf_reference(logits: torch.Tensor, config: SamplingConfig) -> torch.Tensor:
    """Hugging Face's own warpers (temperature, top-k, top-p, in generate's order)."""
    from transformers.generation.logits_process import (
        TemperatureLogitsWarper,
        TopKLogitsWarper,
        TopPLogitsWarper,
    )

    scores = logits.to(torch.float64)
    scores = TemperatureLogitsWarper(config.temperature)(None, scores)  # type: ignore[arg-type]
    if config.top_k is not None:
        scores = TopKLogitsWarper(config.top_k)(None, scores)  # type: ignore[arg-type]
    if config.top_p is not None:
        scores = TopPLogitsWarper(config.top_p)(None, scores)  # type: ignore[arg-type]
    return torch.softmax(scores, dim=-1)


@pytest.mark.parametrize(
    "config",
    [
        SamplingConfig(),
        SamplingConfig(temperature=0.6),
        SamplingConfig(top_k=7),
        SamplingConfig(top_p=0.8),
        SamplingConfig(temperature=1.7, top_k=20, top_p=0.5),
    ],
)
def test_matches_hugging_face_warpers(config: SamplingConfig) -> None:
    gen = torch.Generator().manual_seed(0)
    logits = 3 * torch.randn(16, 50, generator=gen)  # (B, V)
    ours = warp_probs(logits, config)
    assert ours.dtype == torch.float64
    torch.testing.assert_close(ours, hf_reference(logits, config), rtol=0, atol=1e-12)
    torch.testing.assert_close(ours.sum(-1), torch.ones(16, dtype=torch.float64))


def test_top_k_keeps_ties_and_top_p_keeps_one() -> None:
    logits = torch.tensor([[1.0, 3.0, 3.0, 0.0]])
    assert (warp_probs(logits, SamplingConfig(top_k=1))[0] > 0).tolist() == [0, 1, 1, 0]
    tiny_p = warp_probs(torch.tensor([[0.0, 5.0, 1.0]]), SamplingConfig(top_p=1e-9))
    assert tiny_p.tolist() == [[0.0, 1.0, 0.0]]


def test_temperature_zero_is_one_hot_argmax() -> None:
    logits = torch.tensor([[0.1, 2.0, -1.0], [5.0, 5.0, 1.0]])  # (2, V); a tie in row 2
    probs = warp_probs(logits, SamplingConfig(temperature=0, top_k=2, top_p=0.3))
    np.testing.assert_array_equal(probs.numpy(), [[0, 1, 0], [1, 0, 0]])


def test_off_switches() -> None:
    assert SamplingConfig(top_k=0).top_k is None
    assert SamplingConfig(top_p=1.0).top_p is None
    assert SamplingConfig(temperature=0).greedy


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"temperature": -0.5}, "temperature"),
        ({"temperature": float("nan")}, "temperature"),
        ({"temperature": "hot"}, "temperature"),
        ({"top_k": -1}, "top_k"),
        ({"top_k": 2.5}, "top_k"),
        ({"top_p": 0.0}, "top_p"),
        ({"top_p": 1.5}, "top_p"),
    ],
)
def test_bad_options_are_named(kwargs: dict, name: str) -> None:
    with pytest.raises(InvalidInputError, match=name):
        SamplingConfig(**kwargs)


def test_plain_sampling_is_the_float64_softmax_exactly() -> None:
    """Temperature 1, no filter (the decoder's one-call path): bit for bit the softmax of
    the logits cast to float64, i.e. ``exp(x - max) / sum exp(x - max)`` in float64, the
    law the other paths compute; the shape and dtype survive any leading axes."""
    generator = torch.Generator().manual_seed(3)
    for shape in [(4096,), (3, 50), (2, 5, 97)]:
        logits = torch.randn(shape, generator=generator) * 6
        got = warp_probs(logits, SamplingConfig())
        scores = logits.to(torch.float64)
        shifted = torch.exp(scores - scores.max(dim=-1, keepdim=True).values)
        assert got.dtype == torch.float64 and got.shape == logits.shape
        torch.testing.assert_close(
            got, shifted / shifted.sum(dim=-1, keepdim=True), rtol=0, atol=1e-15
        )
        assert torch.equal(got, torch.softmax(scores, dim=-1))
