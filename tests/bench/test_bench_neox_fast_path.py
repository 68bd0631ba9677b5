"""The lean GPT-NeoX forward (``lm/neox.py``) gives transformers' logits, and
``CachedLM`` behaves the same on both backends (crop, fan-out, row selection)."""

from __future__ import annotations

import pytest
import torch
from lm_models import VOCAB, make_model  # tests/lm, on the path via conftest.py

from specbound.lm.cache import CachedLM
from specbound.lm.neox import StaticNeoX, supports

TOL = {"rtol": 1e-5, "atol": 1e-5}


def fresh_logits(model: torch.nn.Module, ids: list[int]) -> torch.Tensor:
    """All positions' logits of an uncached transformers forward: (L, V)."""
    with torch.inference_mode():
        return model(input_ids=torch.tensor([ids]), use_cache=False).logits[0, :, :VOCAB]


@pytest.fixture(scope="module", params=[True, False], ids=["parallel", "sequential"])
def model(request: pytest.FixtureRequest) -> torch.nn.Module:
    model = make_model(seed=11, vocab_rows=VOCAB + 2)
    model.config.use_parallel_residual = request.param
    for layer in model.gpt_neox.layers:
        layer.use_parallel_residual = request.param
    return model


def test_supports_plain_gpt_neox_only(model: torch.nn.Module) -> None:
    assert supports(model)
    assert not supports(model.train())
    model.eval()
    assert not supports(torch.nn.Linear(2, 2))


def test_static_forward_equals_transformers(model: torch.nn.Module) -> None:
    """Prefill, multi-token steps and single steps across a capacity doubling."""
    ids = [1, 2, 3, 4, 5, 6, 7, 1, 2]
    static = StaticNeoX(model, VOCAB)
    static._allocate(1, 4)  # tiny capacity: the steps below must grow it
    out = static.forward(torch.tensor([ids[:3]]), keep=3)  # (1, 3, V)
    torch.testing.assert_close(out[0], fresh_logits(model, ids[:3]), **TOL)
    out = static.forward(torch.tensor([ids[3:6]]), keep=3)
    torch.testing.assert_close(out[0], fresh_logits(model, ids[:6])[3:], **TOL)
    for end in range(7, len(ids) + 1):
        out = static.forward(torch.tensor([[ids[end - 1]]]))
        torch.testing.assert_close(out[0, -1], fresh_logits(model, ids[:end])[-1], **TOL)
    assert static.capacity >= len(ids)


def test_cached_lm_backends_agree_through_a_batch_round(model: torch.nn.Module) -> None:
    """Fan out to M rows, one batched forward, keep a row, crop, extend: same logits."""
    results = []
    for fast in (True, False):
        lm = CachedLM(model, VOCAB, fast=fast)
        assert lm.fast is fast
        with torch.inference_mode():
            lm.extend(torch.tensor([[1, 2, 3]]))
            lm.repeat(3)
            batched = lm.extend(torch.tensor([[4, 1], [5, 2], [6, 3]]), keep=2)  # (M, 2, V)
            lm.select(2)
            lm.crop(4)  # prefix + the first token of row 2
            after = lm.extend(torch.tensor([[7, 1]]), keep=2)  # (1, 2, V)
        results.append((batched.clone(), after.clone()))
    for fast_out, slow_out in zip(results[0], results[1], strict=True):
        torch.testing.assert_close(fast_out, slow_out, **TOL)
    torch.testing.assert_close(results[0][1][0, -1], fresh_logits(model, [1, 2, 3, 6, 7, 1])[-1])


def test_packed_path_equals_transformers(
    model: torch.nn.Module, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A model above PACK_MIN_BYTES runs oneDNN-packed weights (the tiny one is below it):
    the same logits for a prefill, a multi-token step and a single token."""
    import specbound.lm.neox_weights as neox_weights

    assert not StaticNeoX(model, VOCAB).packed  # tiny: linear
    monkeypatch.setattr(neox_weights, "PACK_MIN_BYTES", 0)
    neox_weights.clear_weights_cache()
    static = StaticNeoX(model, VOCAB, pack="always")
    assert static.packed == neox_weights.can_pack(model, torch.float32, torch.device("cpu"))
    ids = [3, 1, 4, 1, 5, 9, 2]
    out = static.forward(torch.tensor([ids[:3]]), keep=3)
    torch.testing.assert_close(out[0], fresh_logits(model, ids[:3]), **TOL)
    out = static.forward(torch.tensor([ids[3:6]]), keep=3)
    torch.testing.assert_close(out[0], fresh_logits(model, ids[:6])[3:], **TOL)
    out = static.forward(torch.tensor([ids[6:]]))
    torch.testing.assert_close(out[0, -1], fresh_logits(model, ids)[-1], **TOL)


def test_kernel_choice_follows_the_timings(monkeypatch: pytest.MonkeyPatch) -> None:
    """Packed kernels are kept for a row class only where they beat linear by the margin."""
    import specbound.lm.neox_weights as neox_weights

    linear = neox_weights.Linear(torch.randn(8, 4), None)
    # packed: 0.5 s for one row (wins), 0.9 s for more rows (inside the 0.85 margin: loses)
    fake = {(1, True): 0.5, (1, False): 1.0, (4, True): 0.9, (4, False): 1.0}
    monkeypatch.setattr(
        neox_weights,
        "_pass_seconds",
        lambda linears, inputs, packed: fake[(inputs[0].shape[0], packed)],
    )
    choice = neox_weights.choose_kernels([linear])
    assert choice == neox_weights.KernelChoice(one_row=True, rows=False)
    fake[(4, True)] = 0.5
    assert neox_weights.choose_kernels([linear]).rows


def test_linear_dispatches_by_row_count(monkeypatch: pytest.MonkeyPatch) -> None:
    """A one-row input takes the one-row kernel, anything more the rows kernel."""
    import specbound.lm.neox_weights as neox_weights

    weight = torch.randn(8, 4)
    calls: list[tuple[int, ...]] = []
    choice = neox_weights.KernelChoice(one_row=True, rows=False)
    linear = neox_weights.Linear(weight, None, packed=weight, choice=choice)
    monkeypatch.setattr(
        neox_weights.Linear,
        "run_packed",
        lambda self, x: calls.append(tuple(x.shape)) or torch.zeros(*x.shape[:-1], 8),
    )
    assert torch.equal(linear(torch.ones(1, 1, 4)), torch.zeros(1, 1, 8))  # packed (fake)
    many = torch.ones(1, 3, 4)
    torch.testing.assert_close(linear(many), many @ weight.T)  # linear
    assert calls == [(1, 1, 4)]


def test_pack_argument_is_checked(model: torch.nn.Module) -> None:
    with pytest.raises(ValueError, match="pack must be"):
        StaticNeoX(model, VOCAB, pack="sometimes")
