"""``hf_generate``: the HF contenders of ``bench lm`` are configured as documented and
leave the models and torch's global generator as they found them."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import torch
from lm_models import VOCAB, make_model, save_tokenizer  # tests/lm, via conftest.py

from specbound.bench.hf_baseline import hf_generate
from specbound.errors import IncompatibleModelsError, InvalidInputError
from specbound.lm import ModelPair, load_pair
from specbound.lm.warping import SamplingConfig


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> ModelPair:
    """A tiny pair whose configs declare the same vocabulary (HF assisted generation
    requires it; the shared tiny pair pads its target)."""
    root = tmp_path_factory.mktemp("hf_pair")
    for name, seed in (("target", 1), ("draft", 2)):
        make_model(seed, VOCAB).save_pretrained(root / name)
        save_tokenizer(root / name)
    return load_pair(target=root / "target", draft=root / "draft")


@pytest.mark.parametrize("assistant", [False, True])
def test_fixed_length_reproducible_and_restored(pair: ModelPair, assistant: bool) -> None:
    configs = (pair.target.generation_config, pair.draft.generation_config)
    before = (configs[0].to_dict(), configs[1].to_dict())
    state = torch.random.get_rng_state()
    options: dict[str, Any] = {"max_new_tokens": 12, "assistant": assistant}
    runs = [
        hf_generate(pair, [0, 1, 2], seed=s, num_assistant_tokens=3, **options)
        for s in (5, 5, 6, 7, 8)
    ]
    assert all(run.new_tokens == 12 for run in runs)  # the end-of-sequence stop is off
    assert runs[0].token_ids == runs[1].token_ids  # seeded
    assert len({run.token_ids for run in runs}) > 1
    assert torch.equal(torch.random.get_rng_state(), state)  # global generator untouched
    assert pair.target.generation_config is configs[0]
    assert pair.draft.generation_config is configs[1]
    assert (configs[0].to_dict(), configs[1].to_dict()) == before
    calls = runs[0].target_calls
    assert calls == 12 if not assistant else 1 <= calls <= 12


@pytest.mark.parametrize("k", [1, 3])
def test_assisted_rounds_draft_the_asked_number_of_tokens(pair: ModelPair, k: int) -> None:
    """Greedy, with a copy of the target as the assistant: every candidate is accepted, so
    after the first call (prompt + k candidates) each round emits k + 1 tokens — k as
    asked, which HF reads from the draft's config, not from ``generate``'s arguments.

    The prompt starts with the end-of-sequence token, as the embedded pair's prompts do:
    with a pad token different from it, HF would mask it out of the drafts' attention
    and accept almost nothing here."""
    twin = ModelPair(**{**pair.__dict__, "draft": copy.deepcopy(pair.target)})
    run = hf_generate(
        twin,
        [0, 1],
        max_new_tokens=16,
        seed=0,
        sampling=SamplingConfig(temperature=0),
        assistant=True,
        num_assistant_tokens=k,
    )
    assert run.new_tokens == 16
    assert run.target_calls == -(-16 // (k + 1))  # ceil(16 / (k + 1))


def test_errors(pair: ModelPair, tiny_dirs: tuple[Path, Path]) -> None:
    with pytest.raises(InvalidInputError, match="num_assistant_tokens"):
        hf_generate(pair, [0], max_new_tokens=2, seed=0, assistant=True, num_assistant_tokens=0)
    padded = load_pair(*tiny_dirs)  # the target's config declares 10 rows, the draft's 8
    with pytest.raises(IncompatibleModelsError, match="--no-hf"):
        hf_generate(padded, [0], max_new_tokens=2, seed=0, assistant=True)
    assert hf_generate(padded, [0], max_new_tokens=2, seed=0).new_tokens == 2  # no assistant
