"""The weights of the lean GPT-NeoX forward, and which matrix-product kernel it uses.

Built once per model (packing is not free) and reused until a parameter is replaced or
modified in place. The matrix products of a model of at least :data:`PACK_MIN_BYTES`
can run on weights **prepacked for oneDNN** (``torch.ops.mkldnn``, the kernels torch's
own compiler uses for frozen CPU models) or on ``torch.nn.functional.linear`` (MKL).
Which is faster depends on the CPU and on the row count: on the AMD Zen 4 machines
first measured, oneDNN's blocked layout streamed the weights faster at every row count
and, above all, MKL's GEMM for the 2-16 rows of a scoring call cost much more than its
one-row GEMV; on an Intel Xeon MKL won at every row count. So :func:`choose_kernels`
times both, once per model per process, for one row and for a scoring call's rows, and
keeps the packed kernels only where they win by a margin. A smaller model (the embedded
draft, cache-resident) keeps ``linear``, whose per-call overhead is lower. Packing is
skipped, with the same results up to float rounding, where oneDNN is missing, off CPU,
above :data:`PACK_LIMIT_BYTES`, or when a self-check against ``linear`` fails. The
figures are in ``docs/performance.md``.
"""

from __future__ import annotations

import statistics
import time
import weakref
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import torch
import torch.nn.functional as nnf

__all__ = [
    "PACK_LIMIT_BYTES",
    "PACK_MIN_BYTES",
    "KernelChoice",
    "Layer",
    "Linear",
    "Weights",
    "can_pack",
    "choose_kernels",
    "clear_weights_cache",
    "linears_of",
    "weights_for",
]

#: Models whose parameters take more bytes than this are not prepacked (a packed copy of
#: every weight doubles their memory).
PACK_LIMIT_BYTES = 1 << 30

#: Models with fewer parameter bytes keep ``linear`` (see the module docstring).
PACK_MIN_BYTES = 8 << 20

#: The row count oneDNN chooses its packed layout for, and the kernel choice times (a
#: round's scoring call: gamma + 1).
_PACK_ROWS_HINT = 4


def _model_bytes(model: Any) -> int:
    return sum(t.numel() * t.element_size() for t in _tracked(model))


def can_pack(model: Any, dtype: torch.dtype, device: torch.device) -> bool:
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
class KernelChoice:
    """Which matrix-product kernel a model's linears use, for one input row and for more.

    ``True``: the oneDNN-packed weights; ``False``: ``torch.nn.functional.linear``.
    """

    one_row: bool
    rows: bool

    @property
    def any_packed(self) -> bool:
        return self.one_row or self.rows


_LINEAR_ONLY = KernelChoice(one_row=False, rows=False)


@dataclass(frozen=True)
class Linear:
    """``x @ weight.T + bias``, through the oneDNN-packed ``packed`` where ``choice`` says."""

    weight: torch.Tensor  # (out, in)
    bias: torch.Tensor | None
    packed: torch.Tensor | None = None
    choice: KernelChoice = _LINEAR_ONLY

    @classmethod
    def of(cls, weight: torch.Tensor, bias: torch.Tensor | None, pack: bool) -> Linear:
        weight = weight.detach()
        bias = None if bias is None else bias.detach()
        if not pack:
            return cls(weight, bias)
        packed = torch.ops.mkldnn._reorder_linear_weight(weight.contiguous(), _PACK_ROWS_HINT)
        return cls(weight, bias, packed)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        one_row = x.numel() == x.shape[-1]
        if self.packed is not None and (self.choice.one_row if one_row else self.choice.rows):
            return self.run_packed(x)
        return nnf.linear(x, self.weight, self.bias)

    def run_packed(self, x: torch.Tensor) -> torch.Tensor:
        assert self.packed is not None
        return torch.ops.mkldnn._linear_pointwise(x, self.packed, self.bias, "none", [], "")

    def agrees(self) -> bool:
        """The packed path gives ``linear``'s result on a random input (up to rounding)."""
        if self.packed is None:
            return True
        x = torch.randn(3, self.weight.shape[1], dtype=self.weight.dtype)  # (3, in)
        want = nnf.linear(x, self.weight, self.bias).float()
        tolerance = 1e-2 if self.weight.dtype == torch.bfloat16 else 1e-4
        got = self.run_packed(x).float()
        return bool(torch.allclose(got, want, rtol=tolerance, atol=tolerance))


@dataclass(frozen=True)
class Layer:
    """The parameters of one GPT-NeoX layer (views of the model's tensors)."""

    ln_attn: torch.nn.LayerNorm
    ln_mlp: torch.nn.LayerNorm
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
    final_norm: torch.nn.LayerNorm
    head: Linear  # cut to the pair's vocabulary
    layers: tuple[Layer, ...]
    kernels: KernelChoice
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


#: A row class keeps the packed kernels only when they take less than this share of
#: ``linear``'s time (a margin, so that the choice is stable where the two are close).
_PACK_MARGIN = 0.85


def _pass_seconds(linears: Sequence[Linear], inputs: Sequence[torch.Tensor], packed: bool) -> float:
    start = time.perf_counter()
    for linear, x in zip(linears, inputs, strict=True):
        if packed:
            linear.run_packed(x)
        else:
            nnf.linear(x, linear.weight, linear.bias)
    return time.perf_counter() - start


def choose_kernels(linears: Sequence[Linear]) -> KernelChoice:
    """Time the model's matrix products both ways, for one row and for a scoring call's
    rows (interleaved passes, median of 5 after a warm-up), and keep the packed kernels
    for a row class where they beat ``linear`` by the margin. Once per model per process
    (tens of milliseconds for the embedded target).

    Which kernel wins depends on the CPU (see the module docstring). The choice changes
    results only by float rounding; a seeded run can differ between two processes only
    if they chose differently, which the margin makes rare.
    """
    weight = linears[0].weight
    chosen = []
    for rows in (1, _PACK_ROWS_HINT):
        inputs = [
            torch.randn(rows, linear.weight.shape[1], dtype=weight.dtype) for linear in linears
        ]
        packed, plain = [], []
        for repeat in range(6):
            p, q = _pass_seconds(linears, inputs, True), _pass_seconds(linears, inputs, False)
            if repeat:
                packed.append(p)
                plain.append(q)
        chosen.append(statistics.median(packed) < _PACK_MARGIN * statistics.median(plain))
    return KernelChoice(one_row=chosen[0], rows=chosen[1])


def _with_choice(linear: Linear, choice: KernelChoice) -> Linear:
    """``linear`` using ``choice`` (its packed copy dropped when no row class uses it)."""
    if not choice.any_packed:
        return Linear(linear.weight, linear.bias)
    return Linear(linear.weight, linear.bias, linear.packed, choice)


def _buildweights_for(
    model: Any, vocab_size: int, pack: bool, choice: KernelChoice | None
) -> Weights:
    config, base = model.config, model.gpt_neox
    heads = int(config.num_attention_heads)
    embedding = base.embed_in.weight.detach()

    def linear(module: Any, rows: int | None = None) -> Linear:
        weight = module.weight if rows is None else module.weight[:rows]
        return Linear.of(weight, module.bias, pack)

    with torch.inference_mode():
        head = linear(model.get_output_embeddings(), vocab_size)
        layers = tuple(
            Layer(
                ln_attn=layer.input_layernorm,
                ln_mlp=layer.post_attention_layernorm,
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
        return _buildweights_for(model, vocab_size, False, None)
    if pack:
        linears = [head, *(item for layer in layers for item in linears_of(layer))]
        choice = choose_kernels(linears) if choice is None else choice
        head = _with_choice(head, choice)
        layers = tuple(
            replace(
                layer,
                qkv=_with_choice(layer.qkv, choice),
                dense=_with_choice(layer.dense, choice),
                up=_with_choice(layer.up, choice),
                down=_with_choice(layer.down, choice),
            )
            for layer in layers
        )
    else:
        choice = _LINEAR_ONLY
    return Weights(
        heads=heads,
        head_dim=int(config.hidden_size) // heads,
        parallel_residual=bool(config.use_parallel_residual),
        inv_freq=base.rotary_emb.inv_freq.detach().to(torch.float32),
        rotary_scale=float(base.rotary_emb.attention_scaling),
        embedding=embedding,
        final_norm=base.final_layer_norm,
        head=head,
        layers=layers,
        kernels=choice,
    )


_WEIGHTS: weakref.WeakKeyDictionary[Any, dict[tuple[int, str], tuple[Any, Weights]]] = (
    weakref.WeakKeyDictionary()
)


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


def weights_for(model: Any, vocab_size: int, pack: str) -> Weights:
    """The model's :class:`Weights`, reused until a parameter is replaced or modified."""
    if pack not in ("auto", "always", "never"):
        raise ValueError(f"pack must be 'auto', 'always' or 'never', got {pack!r}")
    if pack != "never" and not can_pack(model, model.gpt_neox.embed_in.weight.dtype, model.device):
        pack = "never"
    per_model = _WEIGHTS.setdefault(model, {})
    signature = _signature(model)
    cached = per_model.get((vocab_size, pack))
    if cached is None or cached[0] != signature:
        choice = KernelChoice(one_row=True, rows=True) if pack == "always" else None
        cached = (signature, _buildweights_for(model, vocab_size, pack != "never", choice))
        per_model[(vocab_size, pack)] = cached
    return cached[1]


def clear_weights_cache() -> None:
    """Forget every model's built weights (the next forward rebuilds and re-times them)."""
    _WEIGHTS.clear()
