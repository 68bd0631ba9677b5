"""KV-cache bookkeeping: after a crop (or a fan-out and a row selection) the logits equal
those of a fresh, uncached forward of the same prefix."""

from __future__ import annotations

import pytest
import torch
from lm_models import VOCAB, make_model

from specbound.lm.cache import CachedLM

TOL = {"rtol": 1e-5, "atol": 1e-5}


def fresh_logits(model: torch.nn.Module, ids: list[int]) -> torch.Tensor:
    """Last-position logits of an uncached forward: (V,)."""
    with torch.inference_mode():
        out = model(input_ids=torch.tensor([ids]), use_cache=False)
    return out.logits[0, -1, :VOCAB]


@pytest.fixture(scope="module")
def model() -> torch.nn.Module:
    return make_model(seed=5, vocab_rows=VOCAB + 2)


@pytest.mark.parametrize("fast", [True, False], ids=["lean-neox", "transformers"])
def test_crop_then_extend_equals_fresh_forward(model: torch.nn.Module, fast: bool) -> None:
    lm = CachedLM(model, VOCAB, fast=fast)
    assert lm.fast == fast
    with torch.inference_mode():
        lm.extend(torch.tensor([[1, 2, 3]]))
        lm.extend(torch.tensor([[4, 5, 6, 7]]), keep=4)
        assert lm.length == 7
        lm.crop(4)  # keep 1 2 3 4
        assert lm.length == 4
        logits = lm.extend(torch.tensor([[2, 6]]), keep=2)  # (1, 2, V)
    assert logits.shape == (1, 2, VOCAB)
    torch.testing.assert_close(logits[0, 0], fresh_logits(model, [1, 2, 3, 4, 2]), **TOL)
    torch.testing.assert_close(logits[0, 1], fresh_logits(model, [1, 2, 3, 4, 2, 6]), **TOL)


@pytest.mark.parametrize("fast", [True, False], ids=["lean-neox", "transformers"])
def test_crop_longer_than_cache_is_a_no_op(model: torch.nn.Module, fast: bool) -> None:
    lm = CachedLM(model, VOCAB, fast=fast)
    with torch.inference_mode():
        lm.extend(torch.tensor([[1, 2]]))
        lm.crop(5)
        assert lm.length == 2
        logits = lm.extend(torch.tensor([[3]]))[0, -1]
    torch.testing.assert_close(logits, fresh_logits(model, [1, 2, 3]), **TOL)


@pytest.mark.parametrize("fast", [True, False], ids=["lean-neox", "transformers"])
def test_fan_out_select_and_crop(model: torch.nn.Module, fast: bool) -> None:
    """Batch SD's round: fan out to M rows, one batched forward, keep a row, crop."""
    lm = CachedLM(model, VOCAB, fast=fast)
    rows = torch.tensor([[4, 1], [5, 2], [6, 3]])  # (M, 2) three draft continuations
    with torch.inference_mode():
        lm.extend(torch.tensor([[1, 2, 3]]))
        lm.repeat(3)
        batched = lm.extend(rows, keep=2)  # (M, 2, V)
        for m in range(3):
            want = fresh_logits(model, [1, 2, 3, *rows[m].tolist()])
            torch.testing.assert_close(batched[m, -1], want, **TOL)
        lm.select(1)
        lm.crop(4)  # prefix + the first token of row 1
        assert (lm.rows, lm.length) == (1, 4)
        logits = lm.extend(torch.tensor([[7]]))[0, -1]
    torch.testing.assert_close(logits, fresh_logits(model, [1, 2, 3, 5, 7]), **TOL)


def test_rows_must_match(model: torch.nn.Module) -> None:
    lm = CachedLM(model, VOCAB)
    with torch.inference_mode(), pytest.raises(ValueError, match="rows"):
        lm.extend(torch.tensor([[1], [2]]))


def test_generic_path_on_a_non_neox_model() -> None:
    """The transformers forward (``fast=False``; Llama has a lean path of its own since):
    crop and fan-out on a DynamicCache."""
    from lm_models import make_llama

    llama = make_llama(seed=6, vocab_rows=VOCAB)
    lm = CachedLM(llama, VOCAB, fast=False)
    assert not lm.fast
    with torch.inference_mode():
        lm.extend(torch.tensor([[1, 2, 3, 4]]))
        lm.crop(2)
        lm.repeat(2)
        batched = lm.extend(torch.tensor([[5, 6], [7, 1]]), keep=1)  # (M, 1, V)
        lm.select(1)
        logits = lm.extend(torch.tensor([[2]]))[0, -1]
    torch.testing.assert_close(batched[0, -1], fresh_logits(llama, [1, 2, 5, 6]), **TOL)
    torch.testing.assert_close(logits, fresh_logits(llama, [1, 2, 7, 1, 2]), **TOL)
