"""The lean GPT-NeoX forward (``lm/neox.py``) gives transformers' logits, and
``CachedLM`` behaves the same on both backends (crop, fan-out, row selection)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from lm_models import VOCAB, make_model  # tests/lm, on the path via conftest.py

from specbound.lm.cache import CachedLM
from specbound.lm.engine.neox import StaticNeoX, supports

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


@pytest.mark.parametrize("kernel", ["linear", "transposed", "packed"])
def test_every_kernel_gives_transformers_logits(
    model: torch.nn.Module, monkeypatch: pytest.MonkeyPatch, kernel: str, tmp_path: Path
) -> None:
    """The same logits, for a prefill, a multi-token step and a single token, whichever
    matrix-product kernel runs (the tiny model is below PACK_MIN_BYTES: lowered to 0)."""
    import specbound.lm.engine.matmul as matmul
    import specbound.lm.engine.neox_weights as neox_weights

    monkeypatch.setenv("SPECBOUND_CACHE_DIR", str(tmp_path))  # no remembered choice
    monkeypatch.setattr(neox_weights, "PACK_MIN_BYTES", 0)
    if kernel == "packed" and not neox_weights.can_pack(model, torch.float32, torch.device("cpu")):
        pytest.skip("no oneDNN packing on this build")
    monkeypatch.setattr(matmul, "choose_kernels", lambda linears: matmul.KernelChoice((kernel,)))
    neox_weights.clear_weights_cache()
    static = StaticNeoX(model, VOCAB)
    assert static.kernels.by_rows == (kernel,)
    assert static.packed == (kernel == "packed")
    ids = [3, 1, 4, 1, 5, 9, 2]
    out = static.forward(torch.tensor([ids[:3]]), keep=3)
    torch.testing.assert_close(out[0], fresh_logits(model, ids[:3]), **TOL)
    out = static.forward(torch.tensor([ids[3:6]]), keep=3)
    torch.testing.assert_close(out[0], fresh_logits(model, ids[:6])[3:], **TOL)
    out = static.forward(torch.tensor([ids[6:]]))
    torch.testing.assert_close(out[0, -1], fresh_logits(model, ids)[-1], **TOL)
    neox_weights.clear_weights_cache()


def test_packed_weights_only_above_the_size_floor(model: torch.nn.Module) -> None:
    import specbound.lm.engine.neox_weights as neox_weights

    neox_weights.clear_weights_cache()
    assert not StaticNeoX(model, VOCAB).packed  # tiny: below PACK_MIN_BYTES
    assert not StaticNeoX(model, VOCAB, pack="always").packed


def test_kernel_choice_follows_the_timings(monkeypatch: pytest.MonkeyPatch) -> None:
    """Per row count: the fastest kernel, but ``linear`` unless the winner takes less than
    0.9 of linear's time; rows beyond the timed ones use the last choice."""
    import specbound.lm.engine.matmul as matmul

    weight = torch.randn(8, 4)
    linear = matmul.Linear(weight, None, packed=weight, transposed=weight.T.contiguous())
    timed = matmul.TIMED_ROWS
    # seconds per (rows, kernel): row 1 transposed wins clearly, row 2 packed wins by too
    # little (0.95 of linear), rows 3.. packed wins clearly
    fake = {(r, "linear"): 1.0 for r in range(1, timed + 1)}
    fake.update({(r, "transposed"): 0.5 if r == 1 else 1.2 for r in range(1, timed + 1)})
    fake.update(
        {(r, "packed"): 0.95 if r == 2 else (0.6 if r > 2 else 0.8) for r in range(1, timed + 1)}
    )
    monkeypatch.setattr(
        matmul,
        "_pass_seconds",
        lambda linears, inputs, kernel: fake[(inputs[0].shape[0], kernel)],
    )
    choice = matmul.choose_kernels([linear])
    assert choice.by_rows == ("transposed", "linear", *["packed"] * (timed - 2))
    assert choice.for_rows(1) == "transposed"
    assert choice.for_rows(2) == "linear"
    assert choice.for_rows(timed + 50) == "packed"
    # a linear without copies is only ever timed (and run) as linear
    plain = matmul.Linear(weight, None)
    assert matmul.choose_kernels([plain]).by_rows == ("linear",) * timed


def test_linear_dispatches_by_row_count(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each input row count runs the kernel the choice names for it; dropped copies fall
    back to linear."""
    import specbound.lm.engine.matmul as matmul

    weight = torch.randn(8, 4)
    calls: list[tuple[str, int]] = []
    real_run = matmul.Linear.run

    def spy(self: matmul.Linear, kernel: str, x: torch.Tensor) -> torch.Tensor:
        calls.append((kernel, int(x.shape[0])))
        return real_run(self, kernel, x)

    monkeypatch.setattr(matmul.Linear, "run", spy)
    choice = matmul.KernelChoice(("transposed", "linear", "packed"))
    full = matmul.Linear.of(weight, None, pack=False).keeping(choice)
    assert full.transposed is not None and full.packed is None
    for rows in (1, 2, 3, 7):
        x = torch.randn(rows, 4)
        torch.testing.assert_close(full(x), x @ weight.T)
    assert calls == [("transposed", 1), ("linear", 2), ("packed", 3), ("packed", 7)]
    with pytest.raises(ValueError, match="kernels must be"):
        matmul.KernelChoice(("fast",))


def test_pack_argument_is_checked(model: torch.nn.Module) -> None:
    with pytest.raises(ValueError, match="pack must be"):
        StaticNeoX(model, VOCAB, pack="sometimes")


def test_head_and_layers_choose_their_kernels_apart(
    model: torch.nn.Module, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The LM head is timed on its own (one linear), the layers together; each keeps only
    the copies its own choice uses."""
    import specbound.lm.engine.matmul as matmul
    import specbound.lm.engine.neox_weights as neox_weights

    def fake(linears: list[matmul.Linear]) -> matmul.KernelChoice:
        return matmul.KernelChoice(("transposed",) if len(linears) == 1 else ("linear",))

    monkeypatch.setenv("SPECBOUND_CACHE_DIR", str(tmp_path))  # no remembered choice
    monkeypatch.setattr(matmul, "choose_kernels", fake)
    neox_weights.clear_weights_cache()
    weights = StaticNeoX(model, VOCAB).weights
    assert weights.head.choice.by_rows == ("transposed",)
    assert weights.head.transposed is not None
    assert weights.kernels.by_rows == ("linear",)
    assert all(layer.qkv.transposed is None for layer in weights.layers)
    neox_weights.clear_weights_cache()
