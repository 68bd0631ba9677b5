"""A lean GPT-NeoX forward over a preallocated KV cache: the CPU fast path of the decoder.

The embedded pair (and Pythia, the paper's models) are GPT-NeoX. For models this small a
Hugging Face forward spends as much time in Python (module calls, config look-ups, mask
construction, output containers, ``DynamicCache`` growing by ``torch.cat``) as in the
matrix products: 0.45 ms of a 0.5 ms draft forward on the embedded draft. This module
runs the same arithmetic with the model's own parameters, op for op as transformers'
``modeling_gpt_neox`` does it (embedding, per layer: layer norms, fused QKV, partial
rotary embedding, scaled-dot-product attention, dense, MLP, parallel or sequential
residual; final layer norm, LM head), so its logits equal transformers' (bit for bit in
float32 on CPU here; ``tests/bench/test_bench_neox_fast_path.py`` checks them to 1e-5).

The KV cache is a preallocated buffer per layer, (rows, heads, capacity, head_dim): a
forward writes its new keys/values in place, cropping is moving the length back, fanning
out to M rows copies the prefix into rows 1..M-1, and keeping a row copies it into row 0.
Nothing is concatenated or reallocated per token; the capacity doubles when exceeded.

:func:`supports` says whether a model can take this path (the exact class, the default
rotary embedding, eval mode); :class:`~specbound.lm.cache.CachedLM` falls back to the
transformers forward for anything else.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as nnf

__all__ = ["StaticNeoX", "supports"]

_INITIAL_CAPACITY = 256


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


@dataclass(frozen=True)
class _Layer:
    """The parameters of one GPT-NeoX layer (views of the model's tensors)."""

    ln_attn: torch.nn.LayerNorm
    ln_mlp: torch.nn.LayerNorm
    qkv_weight: torch.Tensor
    qkv_bias: torch.Tensor | None
    dense_weight: torch.Tensor
    dense_bias: torch.Tensor | None
    up_weight: torch.Tensor
    up_bias: torch.Tensor | None
    act: Any
    down_weight: torch.Tensor
    down_bias: torch.Tensor | None


def _layer_norm(x: torch.Tensor, norm: torch.nn.LayerNorm) -> torch.Tensor:
    return nnf.layer_norm(x, norm.normalized_shape, norm.weight, norm.bias, norm.eps)


def _rotate_half(x: torch.Tensor) -> torch.Tensor:
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


class StaticNeoX:
    """GPT-NeoX forward passes that extend a preallocated KV cache of ``rows`` sequences.

    ``length`` tokens are cached per row (all rows have the same length). :meth:`forward`
    feeds (rows, L) new tokens and returns the logits of the last ``keep`` positions, cut
    to ``vocab_size`` (the padded rows of the LM head are never computed).
    """

    def __init__(self, model: Any, vocab_size: int) -> None:
        config = model.config
        base = model.gpt_neox
        self.vocab_size = vocab_size
        self.heads = int(config.num_attention_heads)
        self.head_dim = int(config.hidden_size) // self.heads
        self.scale = self.head_dim**-0.5
        self.parallel_residual = bool(config.use_parallel_residual)
        rotary = base.rotary_emb
        self._inv_freq = rotary.inv_freq.to(torch.float32)  # (R/2,)
        self._rotary_scale = float(rotary.attention_scaling)
        self.rotary_dims = 2 * int(self._inv_freq.shape[0])
        self.embedding = base.embed_in.weight  # (V', H)
        self.final_norm = base.final_layer_norm
        self.head_weight = model.get_output_embeddings().weight[:vocab_size]  # (V, H)
        self.layers = [
            _Layer(
                ln_attn=layer.input_layernorm,
                ln_mlp=layer.post_attention_layernorm,
                qkv_weight=layer.attention.query_key_value.weight,
                qkv_bias=layer.attention.query_key_value.bias,
                dense_weight=layer.attention.dense.weight,
                dense_bias=layer.attention.dense.bias,
                up_weight=layer.mlp.dense_h_to_4h.weight,
                up_bias=layer.mlp.dense_h_to_4h.bias,
                act=layer.mlp.act,
                down_weight=layer.mlp.dense_4h_to_h.weight,
                down_bias=layer.mlp.dense_4h_to_h.bias,
            )
            for layer in base.layers
        ]
        self.dtype = self.embedding.dtype
        self.device = self.embedding.device
        self.length = 0
        self.rows = 1
        self._keys: list[torch.Tensor] = []
        self._values: list[torch.Tensor] = []
        self._cos = self._sin = torch.empty(0)
        self._allocate(1, _INITIAL_CAPACITY)

    # ------------------------------------------------------------------ cache buffers

    @property
    def capacity(self) -> int:
        return int(self._keys[0].shape[2])

    def _allocate(self, rows: int, capacity: int) -> None:
        """(Re)allocate the buffers for ``rows`` x ``capacity``, keeping the cached prefix."""
        shape = (rows, self.heads, capacity, self.head_dim)
        with torch.inference_mode():
            keys = [torch.empty(shape, dtype=self.dtype, device=self.device) for _ in self.layers]
            values = [torch.empty(shape, dtype=self.dtype, device=self.device) for _ in self.layers]
            if self._keys and self.length:
                kept = min(rows, self._keys[0].shape[0])
                for new, old in zip([*keys, *values], [*self._keys, *self._values], strict=True):
                    new[:kept, :, : self.length] = old[:kept, :, : self.length]
            # the rotary table, computed as transformers does per forward (float32, then
            # cast to the model's dtype), once for every position the buffers can hold
            positions = torch.arange(capacity, device=self.device, dtype=torch.float32)
            freqs = positions[:, None] * self._inv_freq.to(self.device)[None, :]  # (C, R/2)
            angles = torch.cat((freqs, freqs), dim=-1)  # (C, R)
            self._cos = (angles.cos() * self._rotary_scale).to(self.dtype)  # (C, R)
            self._sin = (angles.sin() * self._rotary_scale).to(self.dtype)  # (C, R)
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
        with torch.inference_mode():
            x = nnf.embedding(input_ids, self.embedding)  # (B, L, H)
            cos, sin = self._cos[start:end], self._sin[start:end]  # (L, R)
            # NOTE: a causal mask shifted by the cached prefix; with no prefix SDPA's own
            # causal flag (what transformers uses then); one query attends to everything.
            mask = None
            if new > 1 and start > 0:
                mask = torch.ones(new, end, dtype=torch.bool, device=self.device).tril(start)
            causal = new > 1 and start == 0
            for index, layer in enumerate(self.layers):
                attn = self._attention(index, layer, x, cos, sin, start, end, mask, causal)
                if self.parallel_residual:
                    mlp = self._mlp(layer, _layer_norm(x, layer.ln_mlp))
                    x = mlp + attn + x
                else:
                    attn = attn + x
                    x = self._mlp(layer, _layer_norm(attn, layer.ln_mlp)) + attn
            x = _layer_norm(x[:, -keep:], self.final_norm)  # (B, keep, H)
            logits = nnf.linear(x, self.head_weight)  # (B, keep, V)
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
        qkv = nnf.linear(_layer_norm(x, layer.ln_attn), layer.qkv_weight, layer.qkv_bias)
        qkv = qkv.view(rows, new, self.heads, 3 * self.head_dim).transpose(1, 2)  # (B, h, L, 3d)
        query, key, value = qkv.chunk(3, dim=-1)  # (B, h, L, d) each
        query, key = self._rotary(query, cos, sin), self._rotary(key, cos, sin)
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
        return nnf.linear(out, layer.dense_weight, layer.dense_bias)

    def _rotary(self, x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
        """Rotary embedding on the first ``rotary_dims`` channels (GPT-NeoX's partial RoPE)."""
        turned, passed = x[..., : self.rotary_dims], x[..., self.rotary_dims :]
        turned = turned * cos + _rotate_half(turned) * sin
        return torch.cat((turned, passed), dim=-1)

    @staticmethod
    def _mlp(layer: _Layer, x: torch.Tensor) -> torch.Tensor:
        up = nnf.linear(x, layer.up_weight, layer.up_bias)
        return nnf.linear(layer.act(up), layer.down_weight, layer.down_bias)
