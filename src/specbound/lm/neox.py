"""A lean GPT-NeoX forward over a preallocated KV cache: the CPU fast path of the decoder.

The embedded pair (and Pythia, the paper's models) are GPT-NeoX. For models this small a
Hugging Face forward spends as much time in Python (module calls, config look-ups, mask
construction, output containers, ``DynamicCache`` growing by ``torch.cat``) as in the
matrix products, or more (``docs/performance.md`` has the measurements). This module
runs the same arithmetic with the model's own parameters, op for op as transformers'
``modeling_gpt_neox`` does it (embedding, per layer: layer norms, fused QKV, partial
rotary embedding, scaled-dot-product attention, dense, MLP, parallel or sequential
residual; final layer norm, LM head), so its logits equal transformers' up to float
rounding (``tests/bench/test_bench_neox_fast_path.py`` checks them to 1e-5).

The matrix products of a model of at least :data:`PACK_MIN_BYTES` use weights
**prepacked for oneDNN** (``torch.ops.mkldnn``, the kernels torch's own compiler uses for
frozen CPU models). Such a model's weights stream from memory at every call, and
oneDNN's blocked layout streams them faster than MKL on the CPUs measured; above all,
MKL's fp32 GEMM for the 2-16 rows of a scoring call costs much more than its one-row
GEMV where oneDNN's costs little more — the difference between SD paying for its
scoring call and not. A smaller model (the embedded draft, cache-resident) keeps
``torch.nn.functional.linear``, whose per-call overhead is lower. The figures are in
``docs/performance.md``. Packing is skipped, with the same results up to float
rounding, where oneDNN is missing, off CPU, above :data:`PACK_LIMIT_BYTES`, or when a
self-check against ``linear`` fails.

The KV cache is a preallocated buffer per layer, (rows, heads, capacity, head_dim): a
forward writes its new keys/values in place, cropping is moving the length back, fanning
out to M rows copies the prefix into rows 1..M-1, and keeping a row copies it into row 0.
Nothing is concatenated or reallocated per token; the capacity doubles when exceeded.

The module is one cohesive unit (about 440 lines: the weights, the cache buffers and the
forward that reads both) and reads better whole than split.

:func:`supports` says whether a model can take this path (the exact class, the default
rotary embedding, eval mode); :class:`~specbound.lm.cache.CachedLM` falls back to the
transformers forward for anything else.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as nnf

__all__ = ["PACK_LIMIT_BYTES", "PACK_MIN_BYTES", "StaticNeoX", "supports"]

_INITIAL_CAPACITY = 256

#: Models whose parameters take more bytes than this are not prepacked (a packed copy of
#: every weight doubles their memory).
PACK_LIMIT_BYTES = 1 << 30

#: Models with fewer parameter bytes keep ``linear`` (see the module docstring).
PACK_MIN_BYTES = 8 << 20

#: The row count oneDNN chooses its packed layout for (a round's scoring call: gamma + 1).
_PACK_ROWS_HINT = 4


def supports(model: Any) -> bool:
    """Whether ``model`` is a plain GPT-NeoX causal LM this module reproduces exactly."""
    if type(model).__name__ != "GPTNeoXForCausalLM" or getattr(model, "training", True):
        return False
    config = model.config
    base = getattr(model, "gpt_neox", None)
    rotary = getattr(base, "rotary_emb", None)
    head = model.get_output_embeddings()
    return (
        base is not None
        and getattr(rotary, "rope_type", None) == "default"
        and getattr(config, "_attn_implementation", None) in ("sdpa", "eager")
        and isinstance(head, torch.nn.Linear)
        and head.bias is None
        and not hasattr(model, "_hf_hook")  # accelerate offloading/dispatch hooks
    )


def _model_bytes(model: Any) -> int:
    return sum(t.numel() * t.element_size() for t in _tracked(model))


def _can_pack(model: Any, dtype: torch.dtype, device: torch.device) -> bool:
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
class _Linear:
    """``x @ weight.T + bias``, through the oneDNN-packed ``packed`` if present."""

    weight: torch.Tensor  # (out, in)
    bias: torch.Tensor | None
    packed: torch.Tensor | None = None

    @classmethod
    def of(cls, weight: torch.Tensor, bias: torch.Tensor | None, pack: bool) -> _Linear:
        weight = weight.detach()
        bias = None if bias is None else bias.detach()
        if not pack:
            return cls(weight, bias)
        packed = torch.ops.mkldnn._reorder_linear_weight(weight.contiguous(), _PACK_ROWS_HINT)
        return cls(weight, bias, packed)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        if self.packed is not None:
            return torch.ops.mkldnn._linear_pointwise(x, self.packed, self.bias, "none", [], "")
        return nnf.linear(x, self.weight, self.bias)

    def agrees(self) -> bool:
        """The packed path gives ``linear``'s result on a random input (up to rounding)."""
        if self.packed is None:
            return True
        x = torch.randn(3, self.weight.shape[1], dtype=self.weight.dtype)  # (3, in)
        want = nnf.linear(x, self.weight, self.bias).float()
        tolerance = 1e-2 if self.weight.dtype == torch.bfloat16 else 1e-4
        return bool(torch.allclose(self(x).float(), want, rtol=tolerance, atol=tolerance))


@dataclass(frozen=True)
class _Layer:
    """The parameters of one GPT-NeoX layer (views of the model's tensors)."""

    ln_attn: torch.nn.LayerNorm
    ln_mlp: torch.nn.LayerNorm
    qkv: _Linear
    dense: _Linear
    up: _Linear
    act: Any
    down: _Linear


def _layer_norm(x: torch.Tensor, norm: torch.nn.LayerNorm) -> torch.Tensor:
    return nnf.layer_norm(x, norm.normalized_shape, norm.weight, norm.bias, norm.eps)


def _rotate_in_place(
    qkv: torch.Tensor, head_dim: int, dims: int, cos: torch.Tensor, sin: torch.Tensor
) -> None:
    """GPT-NeoX's partial rotary embedding of the queries and keys, written into ``qkv``.

    ``qkv`` (B, h, L, 3d) holds query, key, value side by side; the first ``dims`` channels
    of the query and of the key turn: with ``x1, x2`` their halves, transformers computes
    ``x * cat(c, c) + cat(-x2, x1) * cat(s, s)``, i.e. ``(x1 c - x2 s, x2 c + x1 s)`` —
    the same operations, here for queries and keys at once. ``cos``/``sin``: (L, R/2).
    """
    half = dims // 2
    turned = qkv.unflatten(-1, (3, head_dim))[..., :2, :dims]  # (B, h, L, 2, R) view
    first, second = turned[..., :half], turned[..., half:]  # (B, h, L, 2, R/2) views
    cos, sin = cos[:, None, :], sin[:, None, :]  # (L, 1, R/2)
    new_first = first * cos - second * sin
    new_second = second * cos + first * sin
    first.copy_(new_first)
    second.copy_(new_second)


def _activation(module: Any) -> Any:
    """transformers' ``GELUActivation`` only forwards to its function: call that directly."""
    function = getattr(module, "act", None)
    return function if type(module).__name__ == "GELUActivation" and callable(function) else module


@dataclass(frozen=True)
class _Weights:
    """What a forward needs from the model, built once per model (packing is not free)."""

    heads: int
    head_dim: int
    parallel_residual: bool
    inv_freq: torch.Tensor  # (R/2,) float32
    rotary_scale: float
    embedding: torch.Tensor  # (V', H)
    final_norm: torch.nn.LayerNorm
    head: _Linear  # cut to the pair's vocabulary
    layers: tuple[_Layer, ...]
    packed: bool
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


def _build_weights(model: Any, vocab_size: int, pack: bool) -> _Weights:
    config, base = model.config, model.gpt_neox
    heads = int(config.num_attention_heads)
    embedding = base.embed_in.weight.detach()

    def linear(module: Any, rows: int | None = None) -> _Linear:
        weight = module.weight if rows is None else module.weight[:rows]
        return _Linear.of(weight, module.bias, pack)

    with torch.inference_mode():
        head = linear(model.get_output_embeddings(), vocab_size)
        layers = tuple(
            _Layer(
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
        return _build_weights(model, vocab_size, pack=False)
    return _Weights(
        heads=heads,
        head_dim=int(config.hidden_size) // heads,
        parallel_residual=bool(config.use_parallel_residual),
        inv_freq=base.rotary_emb.inv_freq.detach().to(torch.float32),
        rotary_scale=float(base.rotary_emb.attention_scaling),
        embedding=embedding,
        final_norm=base.final_layer_norm,
        head=head,
        layers=layers,
        packed=pack,
    )


_WEIGHTS: weakref.WeakKeyDictionary[Any, dict[tuple[int, bool], tuple[Any, _Weights]]] = (
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


def _weights(model: Any, vocab_size: int, pack: bool) -> _Weights:
    """The model's :class:`_Weights`, reused until a parameter is replaced or modified."""
    pack = pack and _can_pack(model, model.gpt_neox.embed_in.weight.dtype, model.device)
    per_model = _WEIGHTS.setdefault(model, {})
    signature = _signature(model)
    cached = per_model.get((vocab_size, pack))
    if cached is None or cached[0] != signature:
        cached = (signature, _build_weights(model, vocab_size, pack))
        per_model[(vocab_size, pack)] = cached
    return cached[1]


class StaticNeoX:
    """GPT-NeoX forward passes that extend a preallocated KV cache of ``rows`` sequences.

    ``length`` tokens are cached per row (all rows have the same length). :meth:`forward`
    feeds (rows, L) new tokens and returns the logits of the last ``keep`` positions, cut
    to ``vocab_size`` (the padded rows of the LM head are never computed). ``pack``:
    prepack the weights for oneDNN where possible (see the module docstring).
    """

    def __init__(self, model: Any, vocab_size: int, *, pack: bool = True) -> None:
        self.weights = _weights(model, vocab_size, pack)
        self.vocab_size = vocab_size
        self.dtype = self.weights.embedding.dtype
        self.device = self.weights.embedding.device
        self.scale = self.weights.head_dim**-0.5
        self.length = 0
        self.rows = 1
        self._keys: list[torch.Tensor] = []
        self._values: list[torch.Tensor] = []
        self._cos = self._sin = torch.empty(0)
        self._allocate(1, _INITIAL_CAPACITY)

    @property
    def packed(self) -> bool:
        """Whether the matrix products use oneDNN-packed weights (see the module docstring)."""
        return self.weights.packed

    # ------------------------------------------------------------------ cache buffers

    @property
    def capacity(self) -> int:
        return int(self._keys[0].shape[2])

    def _allocate(self, rows: int, capacity: int) -> None:
        """(Re)allocate the buffers for ``rows`` x ``capacity``, keeping the cached prefix."""
        weights = self.weights
        shape = (rows, weights.heads, capacity, weights.head_dim)
        with torch.inference_mode():
            keys = [
                torch.empty(shape, dtype=self.dtype, device=self.device) for _ in weights.layers
            ]
            values = [
                torch.empty(shape, dtype=self.dtype, device=self.device) for _ in weights.layers
            ]
            if self._keys and self.length:
                kept = min(rows, self._keys[0].shape[0])
                for new, old in zip([*keys, *values], [*self._keys, *self._values], strict=True):
                    new[:kept, :, : self.length] = old[:kept, :, : self.length]
        self._cos, self._sin = weights.rotary_table(capacity, self.dtype)  # (C', R/2) each
        self._keys, self._values = keys, values

    def _reserve(self, rows: int, length: int) -> None:
        if rows > self._keys[0].shape[0] or length > self.capacity:
            capacity = self.capacity
            while capacity < length:
                capacity *= 2
            self._allocate(max(rows, self._keys[0].shape[0]), capacity)

    def crop(self, length: int) -> None:
        """Keep the first ``length`` cached tokens of every row."""
        self.length = min(self.length, length)

    def repeat(self, rows: int) -> None:
        """Fan the one-row cache out to ``rows`` identical rows."""
        if rows == 1:
            return
        self._reserve(rows, self.length)
        with torch.inference_mode():
            for buffer in [*self._keys, *self._values]:
                buffer[1:rows, :, : self.length] = buffer[0:1, :, : self.length]
        self.rows = rows

    def select(self, row: int) -> None:
        """Keep only ``row`` (it becomes row 0)."""
        if row != 0:
            with torch.inference_mode():
                for buffer in [*self._keys, *self._values]:
                    buffer[0, :, : self.length] = buffer[row, :, : self.length]
        self.rows = 1

    # ------------------------------------------------------------------ the forward

    def forward(self, input_ids: torch.Tensor, keep: int = 1) -> torch.Tensor:
        """Feed ``input_ids`` (rows, L) after the cached prefix: logits (rows, keep, V)."""
        rows, new = input_ids.shape
        start, end = self.length, self.length + new
        self._reserve(rows, end)
        weights = self.weights
        with torch.inference_mode():
            x = nnf.embedding(input_ids, weights.embedding)  # (B, L, H)
            cos, sin = self._cos[start:end], self._sin[start:end]  # (L, R/2)
            # NOTE: a causal mask shifted by the cached prefix; with no prefix SDPA's own
            # causal flag (what transformers uses then); one query attends to everything.
            mask = None
            if new > 1 and start > 0:
                mask = torch.ones(new, end, dtype=torch.bool, device=self.device).tril(start)
            causal = new > 1 and start == 0
            for index, layer in enumerate(weights.layers):
                attn = self._attention(index, layer, x, cos, sin, start, end, mask, causal)
                if weights.parallel_residual:
                    mlp = self._mlp(layer, _layer_norm(x, layer.ln_mlp))
                    x = mlp + attn + x
                else:
                    attn = attn + x
                    x = self._mlp(layer, _layer_norm(attn, layer.ln_mlp)) + attn
            x = _layer_norm(x[:, -keep:], weights.final_norm)  # (B, keep, H)
            logits = weights.head(x)  # (B, keep, V)
        self.length = end
        self.rows = rows
        return logits

    def _attention(
        self,
        index: int,
        layer: _Layer,
        x: torch.Tensor,
        cos: torch.Tensor,
        sin: torch.Tensor,
        start: int,
        end: int,
        mask: torch.Tensor | None,
        causal: bool,
    ) -> torch.Tensor:
        rows, new, hidden = x.shape
        qkv = layer.qkv(_layer_norm(x, layer.ln_attn))  # (B, L, 3H)
        heads, head_dim = self.weights.heads, self.weights.head_dim
        qkv = qkv.view(rows, new, heads, 3 * head_dim).transpose(1, 2)  # (B, h, L, 3d)
        _rotate_in_place(qkv, head_dim, self.weights.rotary_dims, cos, sin)
        query, key, value = qkv.chunk(3, dim=-1)  # (B, h, L, d) each
        keys, values = self._keys[index], self._values[index]
        keys[:rows, :, start:end] = key
        values[:rows, :, start:end] = value
        out = nnf.scaled_dot_product_attention(
            query,
            keys[:rows, :, :end],
            values[:rows, :, :end],
            attn_mask=mask,
            is_causal=causal,
            scale=self.scale,
        )  # (B, h, L, d)
        out = out.transpose(1, 2).reshape(rows, new, hidden)  # (B, L, H)
        return layer.dense(out)

    @staticmethod
    def _mlp(layer: _Layer, x: torch.Tensor) -> torch.Tensor:
        return layer.down(layer.act(layer.up(x)))
