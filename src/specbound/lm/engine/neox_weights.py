"""The weights of the lean GPT-NeoX forward, built once per model.

Built once per model (packing and transposing are not free) and reused until a
parameter is replaced or modified in place: the layer norms' parameters read once, the
rotary table, and every linear layer as a :class:`~specbound.lm.engine.matmul.Linear` with the
copies its kernel choice uses. The LM head chooses its kernel apart from the layers: it
is the largest single matrix of a small model. Packing for oneDNN is possible for models
of :data:`PACK_MIN_BYTES` to :data:`PACK_LIMIT_BYTES` on a CPU with oneDNN (else the
same results up to float rounding with the other kernels).
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
from specbound.lm.engine.weights_cache import WeightsTable, built_once

__all__ = [
    "PACK_LIMIT_BYTES",
    "PACK_MIN_BYTES",
    "Layer",
    "Norm",
    "Weights",
    "can_pack",
    "clear_weights_cache",
    "linears_of",
    "weights_for",
]

#: Models whose parameters take more bytes than this get no second copy of their weights
#: (packed or transposed: each doubles their memory).
PACK_LIMIT_BYTES = 1 << 30

#: Models with fewer parameter bytes are not packed (oneDNN's per-call overhead is higher
#: than MKL's; the embedded draft runs faster unpacked).
PACK_MIN_BYTES = 8 << 20


def _model_bytes(model: Any) -> int:
    return sum(t.numel() * t.element_size() for t in _tracked(model))


def can_pack(model: Any, dtype: torch.dtype, device: torch.device) -> bool:
    """Whether ``model``'s weights can be prepacked for oneDNN here (see the docstring)."""
    ops = getattr(torch.ops, "mkldnn", None)
    size = _model_bytes(model)
    return (
        device.type == "cpu"
        and dtype in (torch.float32, torch.bfloat16)
        and torch.backends.mkldnn.is_available()
        and hasattr(ops, "_reorder_linear_weight")
        and hasattr(ops, "_linear_pointwise")
        and PACK_MIN_BYTES <= size <= PACK_LIMIT_BYTES
    )


@dataclass(frozen=True)
class Norm:
    """A layer norm's parameters, read once (``nn.Module`` attribute look-ups cost
    microseconds each, and a forward makes dozens)."""

    shape: tuple[int, ...]
    weight: torch.Tensor
    bias: torch.Tensor
    eps: float

    @classmethod
    def of(cls, module: torch.nn.LayerNorm) -> Norm:
        return cls(tuple(module.normalized_shape), module.weight, module.bias, float(module.eps))

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return torch.layer_norm(x, self.shape, self.weight, self.bias, self.eps)


@dataclass(frozen=True)
class Layer:
    """The parameters of one GPT-NeoX layer (views of the model's tensors)."""

    ln_attn: Norm
    ln_mlp: Norm
    qkv: Linear
    dense: Linear
    up: Linear
    act: Any
    down: Linear


def linears_of(layer: Layer) -> tuple[Linear, ...]:
    return (layer.qkv, layer.dense, layer.up, layer.down)


def _activation(module: Any) -> Any:
    """transformers' ``GELUActivation`` only forwards to its function: call that directly."""
    function = getattr(module, "act", None)
    return function if type(module).__name__ == "GELUActivation" and callable(function) else module


@dataclass(frozen=True)
class Weights:
    """What a forward needs from the model, built once per model (packing is not free)."""

    heads: int
    head_dim: int
    parallel_residual: bool
    inv_freq: torch.Tensor  # (R/2,) float32
    rotary_scale: float
    embedding: torch.Tensor  # (V', H)
    final_norm: Norm
    head: Linear  # cut to the pair's vocabulary; its kernels: ``head.choice``
    layers: tuple[Layer, ...]
    kernels: KernelChoice  # the layers' linears
    _rotary: dict[str, torch.Tensor] = field(default_factory=dict, compare=False, repr=False)

    @property
    def rotary_dims(self) -> int:
        return 2 * int(self.inv_freq.shape[0])

    def rotary_table(self, positions: int, dtype: torch.dtype) -> tuple[torch.Tensor, torch.Tensor]:
        """cos and sin (C, R/2) for positions 0..C-1 (C >= ``positions``), once.

        transformers computes ``cat(freqs, freqs).cos()`` per forward (float32, then the
        model's dtype); both halves are ``freqs.cos()``, so half a table is the same values.
        """
        cached = self._rotary.get("cos")
        if cached is None or cached.shape[0] < positions:
            size = max(positions, 0 if cached is None else 2 * cached.shape[0])
            with torch.inference_mode():
                steps = torch.arange(size, device=self.inv_freq.device, dtype=torch.float32)
                freqs = steps[:, None] * self.inv_freq[None, :]  # (C, R/2)
                self._rotary["cos"] = (freqs.cos() * self.rotary_scale).to(dtype)
                self._rotary["sin"] = (freqs.sin() * self.rotary_scale).to(dtype)
        return self._rotary["cos"], self._rotary["sin"]


def _buildweights_for(
    model: Any, vocab_size: int, pack: bool, choice: KernelChoice | None
) -> Weights:
    config, base = model.config, model.gpt_neox
    heads = int(config.num_attention_heads)
    embedding = base.embed_in.weight.detach()

    # NOTE: the copies are built for the timing, then only the chosen ones kept: no
    # transposed copy where it could not be chosen (off the CPU) or would not fit
    transpose = (
        model.device.type == "cpu"
        and _model_bytes(model) <= PACK_LIMIT_BYTES
        and (choice is None or choice.uses("transposed"))
    )

    def linear(module: Any, rows: int | None = None) -> Linear:
        weight = module.weight if rows is None else module.weight[:rows]
        return Linear.of(weight, module.bias, pack=pack, transpose=transpose)

    with torch.inference_mode():
        head = linear(model.get_output_embeddings(), vocab_size)
        layers = tuple(
            Layer(
                ln_attn=Norm.of(layer.input_layernorm),
                ln_mlp=Norm.of(layer.post_attention_layernorm),
                qkv=linear(layer.attention.query_key_value),
                dense=linear(layer.attention.dense),
                up=linear(layer.mlp.dense_h_to_4h),
                act=_activation(layer.mlp.act),
                down=linear(layer.mlp.dense_4h_to_h),
            )
            for layer in base.layers
        )
        agree = all(item.agrees() for item in (head, layers[0].qkv)) if pack else True
    if not agree:  # NOTE: a oneDNN build that disagrees with linear: fall back, same results
        return _buildweights_for(model, vocab_size, False, choice)

    layer_linears = [item for layer in layers for item in linears_of(layer)]
    layer_choice, head_choice = layer_and_head_choice(
        layer_linears, head, pack, model.device, choice
    )
    head = head.keeping(head_choice)
    layers = tuple(
        replace(
            layer,
            qkv=layer.qkv.keeping(layer_choice),
            dense=layer.dense.keeping(layer_choice),
            up=layer.up.keeping(layer_choice),
            down=layer.down.keeping(layer_choice),
        )
        for layer in layers
    )
    return Weights(
        heads=heads,
        head_dim=int(config.hidden_size) // heads,
        parallel_residual=bool(config.use_parallel_residual),
        inv_freq=base.rotary_emb.inv_freq.detach().to(torch.float32),
        rotary_scale=float(base.rotary_emb.attention_scaling),
        embedding=embedding,
        final_norm=Norm.of(base.final_layer_norm),
        head=head,
        layers=layers,
        kernels=layer_choice,
    )


_WEIGHTS: WeightsTable = weakref.WeakKeyDictionary()


def _tracked(model: Any) -> list[torch.Tensor]:
    """The tensors a forward reads (walking ``model.parameters()`` costs milliseconds)."""
    base = model.gpt_neox
    tensors = [
        base.embed_in.weight,
        base.final_layer_norm.weight,
        base.final_layer_norm.bias,
        model.get_output_embeddings().weight,
        base.rotary_emb.inv_freq,
    ]
    for layer in base.layers:
        for module in (
            layer.input_layernorm,
            layer.post_attention_layernorm,
            layer.attention.query_key_value,
            layer.attention.dense,
            layer.mlp.dense_h_to_4h,
            layer.mlp.dense_4h_to_h,
        ):
            tensors += [module.weight, module.bias]
    return [t for t in tensors if t is not None]


def _signature(model: Any) -> tuple[Any, ...]:
    """Where each tensor read lives, its in-place version, and the config fields read: it
    changes when a weight is replaced or modified in place, or the architecture edited."""
    config = model.config
    fields = (
        len(model.gpt_neox.layers),
        config.num_attention_heads,
        config.hidden_size,
        config.use_parallel_residual,
    )
    return (fields, *((t.data_ptr(), t._version) for t in _tracked(model)))


#: ``pack`` values: what each fixes (None: timed by :func:`choose_kernels`).
_PACK_CHOICES: dict[str, KernelChoice | None] = {
    "auto": None,
    "always": KernelChoice(("packed",)),
    "never": None,
    "linear": LINEAR_ONLY,
}


def weights_for(model: Any, vocab_size: int, pack: str) -> Weights:
    """The model's :class:`Weights`, reused until a parameter is replaced or modified.

    ``pack``: ``"auto"`` times every kernel (:func:`choose_kernels`), ``"never"`` times
    the kernels but packing, ``"always"`` uses the packed kernel for every row count
    where packing is possible, ``"linear"`` uses ``linear`` only (no timing, no copies).
    """
    if pack not in _PACK_CHOICES:
        raise ValueError(f"pack must be one of {sorted(_PACK_CHOICES)}, got {pack!r}")
    packable = can_pack(model, model.gpt_neox.embed_in.weight.dtype, model.device)
    use_packing = packable and pack in ("auto", "always")
    return built_once(
        _WEIGHTS,
        model,
        (vocab_size, pack),
        _signature(model),
        lambda: _buildweights_for(model, vocab_size, use_packing, _PACK_CHOICES[pack]),
    )


def clear_weights_cache() -> None:
    """Forget every model's built weights (the next forward rebuilds and re-times them)."""
    _WEIGHTS.clear()
