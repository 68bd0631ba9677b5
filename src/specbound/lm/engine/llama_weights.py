"""The weights of the lean Llama forward, built once per model.

What :class:`~specbound.lm.engine.llama.StaticLlama` reads from a ``LlamaForCausalLM``:
the RMSNorms' parameters read once, the rotary frequencies, and every matrix product as a
:class:`~specbound.lm.engine.matmul.Linear` with the copies its kernel choice uses. The
query, key and value projections are fused into one (out = q + k + v rows) and so are
the MLP's gate and up projections: one call instead of three (two) per layer, on a copy
of the weights (the model's own tensors are left as they are). Kernels are chosen and
remembered as for GPT-NeoX (:func:`~specbound.lm.engine.matmul.remembered_choice`); the
LM head, the largest single matrix of a small Llama (SmolLM2-135M: 49152 x 576, a fifth
of its weights), chooses apart from the layers.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass, field, replace
from typing import Any

import torch

from specbound.lm.engine.matmul import (
    LINEAR_ONLY,
    KernelChoice,
    Linear,
    layer_and_head_choice,
)
from specbound.lm.engine.neox_weights import PACK_LIMIT_BYTES, PACK_MIN_BYTES
from specbound.lm.engine.weights_cache import WeightsTable, built_once

__all__ = [
    "LlamaLayer",
    "LlamaWeights",
    "RMSNorm",
    "clear_llama_weights_cache",
    "llama_weights_for",
]


@dataclass(frozen=True)
class RMSNorm:
    """transformers' ``LlamaRMSNorm``: ``weight * (x / sqrt(mean(x^2) + eps))``, the
    normalisation in float32, the product in the input's dtype."""

    weight: torch.Tensor  # (H,)
    eps: float

    @classmethod
    def of(cls, module: Any) -> RMSNorm:
        return cls(module.weight.detach(), float(module.variance_epsilon))

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        if x.dtype == torch.float32:  # one fused kernel; the same arithmetic
            return torch.rms_norm(x, (x.shape[-1],), self.weight, self.eps)  # (N, H)
        wide = x.to(torch.float32)  # (N, H)
        wide = wide * torch.rsqrt(wide.pow(2).mean(-1, keepdim=True) + self.eps)
        return self.weight * wide.to(x.dtype)


@dataclass(frozen=True)
class LlamaLayer:
    """One decoder layer: two RMSNorms, fused QKV, output projection, fused gate/up, down."""

    ln_attn: RMSNorm
    ln_mlp: RMSNorm
    qkv: Linear  # (h*d + 2*kvh*d, H)
    out: Linear  # (H, h*d)
    gate_up: Linear  # (2*I, H)
    down: Linear  # (H, I)


def _linears_of(layer: LlamaLayer) -> tuple[Linear, ...]:
    return (layer.qkv, layer.out, layer.gate_up, layer.down)


@dataclass(frozen=True)
class LlamaWeights:
    """What a Llama forward needs, built once per model (fusing and packing are not free)."""

    heads: int
    kv_heads: int
    head_dim: int
    intermediate: int
    inv_freq: torch.Tensor  # (d/2,) float32
    rotary_scale: float
    embedding: torch.Tensor  # (V', H)
    final_norm: RMSNorm
    head: Linear  # cut to the pair's vocabulary; its kernels: ``head.choice``
    layers: tuple[LlamaLayer, ...]
    kernels: KernelChoice  # the layers' linears
    _rotary: dict[str, torch.Tensor] = field(default_factory=dict, compare=False, repr=False)

    def rotary_table(self, positions: int, dtype: torch.dtype) -> tuple[torch.Tensor, torch.Tensor]:
        """cos and sin (C, d/2) for positions 0..C-1 (C >= ``positions``), once.

        transformers' ``LlamaRotaryEmbedding`` computes ``cat(freqs, freqs).cos() *
        attention_scaling`` in float32 per forward, then casts to the model's dtype; both
        halves are equal, so half a table holds the same values.
        """
        cached = self._rotary.get("cos")
        if cached is None or cached.shape[0] < positions:
            size = max(positions, 0 if cached is None else 2 * cached.shape[0])
            with torch.inference_mode():
                steps = torch.arange(size, device=self.inv_freq.device, dtype=torch.float32)
                freqs = steps[:, None] * self.inv_freq[None, :]  # (C, d/2)
                self._rotary["cos"] = (freqs.cos() * self.rotary_scale).to(dtype)
                self._rotary["sin"] = (freqs.sin() * self.rotary_scale).to(dtype)
        return self._rotary["cos"], self._rotary["sin"]


def _tracked(model: Any) -> list[torch.Tensor]:
    """The tensors a forward reads (walking ``model.parameters()`` costs milliseconds)."""
    base = model.model
    tensors = [
        base.embed_tokens.weight,
        base.norm.weight,
        model.get_output_embeddings().weight,
        base.rotary_emb.inv_freq,
    ]
    for layer in base.layers:
        attn, mlp = layer.self_attn, layer.mlp
        tensors += [layer.input_layernorm.weight, layer.post_attention_layernorm.weight]
        for module in (
            attn.q_proj,
            attn.k_proj,
            attn.v_proj,
            attn.o_proj,
            mlp.gate_proj,
            mlp.up_proj,
            mlp.down_proj,
        ):
            tensors += [module.weight, module.bias]
    return [t for t in tensors if t is not None]


def _model_bytes(model: Any) -> int:
    return sum(t.numel() * t.element_size() for t in _tracked(model))


def _can_pack(model: Any) -> bool:
    """oneDNN packing as :func:`~specbound.lm.engine.neox_weights.can_pack` decides it,
    and only where oneDNN accepts this dtype on this CPU (bfloat16 packing needs
    AVX-512 BW/VL/DQ or AVX-NE-CONVERT: an AVX2-only CPU refuses it)."""
    ops = getattr(torch.ops, "mkldnn", None)
    dtype = model.model.embed_tokens.weight.dtype
    if not (
        model.device.type == "cpu"
        and dtype in (torch.float32, torch.bfloat16)
        and torch.backends.mkldnn.is_available()
        and hasattr(ops, "_reorder_linear_weight")
        and hasattr(ops, "_linear_pointwise")
        and PACK_MIN_BYTES <= _model_bytes(model) <= PACK_LIMIT_BYTES
    ):
        return False
    assert ops is not None
    try:
        ops._reorder_linear_weight(torch.zeros(8, 8, dtype=dtype), 4)
    except RuntimeError:
        return False
    return True


def _fused(modules: tuple[Any, ...]) -> tuple[torch.Tensor, torch.Tensor | None]:
    """The weights (and biases) of ``modules`` stacked along the output rows."""
    weight = torch.cat([m.weight.detach() for m in modules])  # (sum out, in)
    biases = [m.bias for m in modules]
    if all(b is None for b in biases):
        return weight, None
    filled = [
        torch.zeros(m.weight.shape[0], dtype=weight.dtype, device=weight.device)
        if b is None
        else b.detach()
        for m, b in zip(modules, biases, strict=True)
    ]
    return weight, torch.cat(filled)  # (sum out,)


def _build(model: Any, vocab_size: int, pack: bool, choice: KernelChoice | None) -> LlamaWeights:
    config, base = model.config, model.model
    heads = int(config.num_attention_heads)
    kv_heads = int(getattr(config, "num_key_value_heads", None) or heads)
    head_dim = int(getattr(config, "head_dim", None) or config.hidden_size // heads)
    transpose = (
        model.device.type == "cpu"
        and _model_bytes(model) <= PACK_LIMIT_BYTES
        and (choice is None or choice.uses("transposed"))
    )

    def linear(weight: torch.Tensor, bias: torch.Tensor | None) -> Linear:
        return Linear.of(weight, bias, pack=pack, transpose=transpose)

    with torch.inference_mode():
        head_weight = model.get_output_embeddings().weight[:vocab_size]  # (V, H)
        head = linear(head_weight, None)
        layers = []
        for layer in base.layers:
            attn, mlp = layer.self_attn, layer.mlp
            layers.append(
                LlamaLayer(
                    ln_attn=RMSNorm.of(layer.input_layernorm),
                    ln_mlp=RMSNorm.of(layer.post_attention_layernorm),
                    qkv=linear(*_fused((attn.q_proj, attn.k_proj, attn.v_proj))),
                    out=linear(attn.o_proj.weight.detach(), attn.o_proj.bias),
                    gate_up=linear(*_fused((mlp.gate_proj, mlp.up_proj))),
                    down=linear(mlp.down_proj.weight.detach(), mlp.down_proj.bias),
                )
            )
        agree = all(item.agrees() for item in (head, layers[0].qkv)) if pack else True
    if not agree:  # NOTE: a oneDNN build that disagrees with linear: fall back, same results
        return _build(model, vocab_size, False, choice)

    layer_linears = [item for layer in layers for item in _linears_of(layer)]
    layer_choice, head_choice = layer_and_head_choice(
        layer_linears, head, pack, model.device, choice
    )
    kept = tuple(
        replace(
            layer,
            qkv=layer.qkv.keeping(layer_choice),
            out=layer.out.keeping(layer_choice),
            gate_up=layer.gate_up.keeping(layer_choice),
            down=layer.down.keeping(layer_choice),
        )
        for layer in layers
    )
    return LlamaWeights(
        heads=heads,
        kv_heads=kv_heads,
        head_dim=head_dim,
        intermediate=int(config.intermediate_size),
        inv_freq=base.rotary_emb.inv_freq.detach().to(torch.float32),
        rotary_scale=float(base.rotary_emb.attention_scaling),
        embedding=base.embed_tokens.weight.detach(),
        final_norm=RMSNorm.of(base.norm),
        head=head.keeping(head_choice),
        layers=kept,
        kernels=layer_choice,
    )


def _signature(model: Any) -> tuple[Any, ...]:
    """Where each tensor read lives, its in-place version, and the config fields read: it
    changes when a weight is replaced or modified in place, or the architecture edited."""
    config = model.config
    fields = (
        len(model.model.layers),
        config.num_attention_heads,
        getattr(config, "num_key_value_heads", None),
        getattr(config, "head_dim", None),
        config.hidden_size,
    )
    return (fields, *((t.data_ptr(), t._version) for t in _tracked(model)))


_WEIGHTS: WeightsTable = weakref.WeakKeyDictionary()

#: ``pack`` values: what each fixes (None: timed by :func:`choose_kernels`).
_PACK_CHOICES: dict[str, KernelChoice | None] = {
    "auto": None,
    "always": KernelChoice(("packed",)),
    "never": None,
    "linear": LINEAR_ONLY,
}


def llama_weights_for(model: Any, vocab_size: int, pack: str) -> LlamaWeights:
    """The model's :class:`LlamaWeights`, reused until a parameter is replaced or modified.

    ``pack`` as in :func:`~specbound.lm.engine.neox_weights.weights_for`: ``"auto"``
    times every kernel, ``"never"`` all but packing, ``"always"`` packs where possible,
    ``"linear"`` uses ``torch.nn.functional.linear`` only (no timing).
    """
    if pack not in _PACK_CHOICES:
        raise ValueError(f"pack must be one of {sorted(_PACK_CHOICES)}, got {pack!r}")
    packable = _can_pack(model)
    use_packing = packable and pack in ("auto", "always")
    return built_once(
        _WEIGHTS,
        model,
        (vocab_size, pack),
        _signature(model),
        lambda: _build(model, vocab_size, use_packing, _PACK_CHOICES[pack]),
    )


def clear_llama_weights_cache() -> None:
    """Forget every Llama model's built weights (the next forward rebuilds them)."""
    _WEIGHTS.clear()
