"""A lean Llama forward over a preallocated KV cache: the fast path for Llama targets.

SmolLM2-135M-Instruct (the real pair's target) and most current small causal LMs are
Llama: per layer an RMSNorm, grouped-query attention with the default rotary embedding,
an output projection, an RMSNorm and a SiLU-gated MLP (``down(silu(gate(x)) * up(x))``);
a final RMSNorm and the LM head (tied to the embedding or not). This module runs the
arithmetic of transformers' ``modeling_llama`` with the model's own parameters (queries,
keys and values in one fused product, gate and up in another:
:mod:`~specbound.lm.engine.llama_weights`), without its per-call Python (module calls,
mask construction, output containers, a ``DynamicCache`` growing by ``torch.cat``), so
its logits equal transformers' up to float rounding (``tests/bench/test_bench_llama_fast_path.py``
checks them to 1e-5).

Grouped-query attention without copying keys: the ``g = heads / kv_heads`` query heads
that share a key/value head are folded into the query axis, (B, kvh, g*L, d), so one
scaled-dot-product attention over the (B, kvh, S, d) cache serves them all; the mask is
repeated ``g`` times along the queries.

The KV cache is :class:`~specbound.lm.engine.static_cache.StaticCache`'s preallocated
buffer per layer, (rows, kv_heads, capacity, head_dim), shared with the GPT-NeoX path.

For token trees, :meth:`StaticLlama.forward` takes explicit ``position_ids`` (B, L) and a
boolean ``attention_mask`` over (L, cached + L) (True: may attend); without them the
positions follow the cache and the mask is causal.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as nnf

from specbound.lm.engine.llama_weights import LlamaLayer, LlamaWeights, llama_weights_for
from specbound.lm.engine.static_cache import StaticCache

__all__ = ["StaticLlama", "supports"]


def supports(model: Any) -> bool:
    """Whether ``model`` is a plain Llama causal LM this module reproduces exactly: the
    exact class, eval mode, the default rotary embedding, SiLU, no tensor-parallel
    slicing, no bias on the head, no accelerate hooks."""
    if type(model).__name__ != "LlamaForCausalLM" or getattr(model, "training", True):
        return False
    config = model.config
    base = getattr(model, "model", None)
    rotary = getattr(base, "rotary_emb", None)
    head = model.get_output_embeddings()
    return (
        base is not None
        and getattr(rotary, "rope_type", None) == "default"
        and getattr(config, "hidden_act", None) == "silu"
        and int(getattr(config, "pretraining_tp", 1) or 1) == 1
        and getattr(config, "_attn_implementation", None) in ("sdpa", "eager")
        and isinstance(head, torch.nn.Linear)
        and head.bias is None
        and not hasattr(model, "_hf_hook")  # accelerate offloading/dispatch hooks
    )


def _rotary_tables(cos: torch.Tensor, sin: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """cos (C, 1, 1, d/2) and the signed sin (C, 1, 2, d/2) (``-sin`` for the first half,
    ``sin`` for the second), to broadcast against a (B, L, heads, 2, d/2) view."""
    positions, half = cos.shape
    signed = torch.stack([-sin, sin], dim=1)  # (C, 2, d/2)
    return cos.reshape(positions, 1, 1, half), signed.reshape(positions, 1, 2, half)


class StaticLlama(StaticCache):
    """Llama forward passes that extend a preallocated KV cache of ``rows`` sequences.

    The interface of :class:`~specbound.lm.engine.neox.StaticNeoX`: :meth:`forward` feeds
    (rows, L) new tokens and returns the logits of the last ``keep`` positions cut to
    ``vocab_size``; :meth:`crop`, :meth:`repeat`, :meth:`select` manage the cache;
    ``pack`` chooses the matrix-product kernels as there.
    """

    def __init__(self, model: Any, vocab_size: int, *, pack: str = "auto") -> None:
        super().__init__(llama_weights_for(model, vocab_size, pack), vocab_size)
        self.weights: LlamaWeights

    @property
    def cached_heads(self) -> int:
        return int(self.weights.kv_heads)

    def rotary_tables(self, capacity: int) -> tuple[torch.Tensor, torch.Tensor]:
        return _rotary_tables(*self.weights.rotary_table(capacity, self.dtype))

    # ------------------------------------------------------------------ the forward

    def forward(
        self,
        input_ids: torch.Tensor,
        keep: int = 1,
        *,
        position_ids: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Feed ``input_ids`` (rows, L) after the cached prefix: logits (rows, keep, V).

        ``position_ids`` (rows, L): the rotary positions of the new tokens (default:
        ``length .. length + L - 1``). ``attention_mask`` (L, length + L) boolean, True
        where a new token may attend to a cached or new one (default: causal). Keys and
        values are cached at slots ``length .. length + L - 1`` whatever the positions.
        """
        rows, new = input_ids.shape
        start, end = self.length, self.length + new
        reach = end if position_ids is None else max(end, int(position_ids.max()) + 1)
        self._reserve(rows, reach)
        weights = self.weights
        group = weights.heads // weights.kv_heads
        with torch.inference_mode():
            x = weights.embedding.index_select(0, input_ids.reshape(-1))  # (B*L, H)
            if position_ids is None:
                cos, sin = self._cos[start:end], self._sin[start:end]  # (L, 1, ., d/2)
            else:
                cos, sin = self._cos[position_ids], self._sin[position_ids]  # (B, L, 1, ., d/2)
            # NOTE: an additive mask (SDPA would convert a boolean one in every layer),
            # its rows repeated for the `group` query heads folded into each KV head; one
            # query with no mask given attends to everything.
            mask = None
            if attention_mask is not None:
                blocked = ~attention_mask.to(device=self.device, dtype=torch.bool)  # (L, S)
                mask = torch.zeros((new, end), dtype=x.dtype, device=self.device)
                mask.masked_fill_(blocked, -torch.inf)
            elif new > 1:
                mask = torch.full((new, end), -torch.inf, dtype=x.dtype, device=self.device)
                mask.triu_(start + 1)  # (L, S): 0 where key slot <= query slot
            if mask is not None and group > 1:
                mask = mask.repeat(group, 1)  # (g*L, S)
            for index, layer in enumerate(weights.layers):
                h = x + self._attention(index, layer, layer.ln_attn(x), rows, cos, sin, mask)
                x = h + self._mlp(layer, layer.ln_mlp(h))  # (B*L, H)
            if keep < new:
                x = x.view(rows, new, -1)[:, -keep:].reshape(rows * keep, -1)  # (B*keep, H)
            logits = weights.head(weights.final_norm(x))  # (B*keep, V)
        self.length = end
        self.rows = rows
        return logits.view(rows, keep, -1)

    def _attention(
        self,
        index: int,
        layer: LlamaLayer,
        x: torch.Tensor,
        rows: int,
        cos: torch.Tensor,
        sin: torch.Tensor,
        mask: torch.Tensor | None,
    ) -> torch.Tensor:
        """Grouped-query self-attention of the normed new tokens ``x`` (B*L, H): (B*L, H)."""
        weights = self.weights
        heads, kv_heads, head_dim = weights.heads, weights.kv_heads, weights.head_dim
        group = heads // kv_heads
        new = x.shape[0] // rows
        start = self.length
        end = start + new
        qkv = layer.qkv(x).view(rows, new, heads + 2 * kv_heads, head_dim)  # (B, L, h+2k, d)
        # rotate_half: (x1, x2) -> (x1 c - x2 s, x2 c + x1 s) on the halves of queries and
        # keys at once; the halves are one axis of a view, the signs live in `sin`
        turned = qkv[:, :, : heads + kv_heads].unflatten(-1, (2, head_dim // 2))
        turned.copy_(turned * cos + turned.flip(-2) * sin)  # (B, L, h+k, 2, d/2)
        keys, values = self._keys[index], self._values[index]
        keys[:rows, :, start:end] = qkv[:, :, heads : heads + kv_heads].transpose(1, 2)
        values[:rows, :, start:end] = qkv[:, :, heads + kv_heads :].transpose(1, 2)
        query = (
            qkv[:, :, :heads]
            .view(rows, new, kv_heads, group, head_dim)
            .permute(0, 2, 3, 1, 4)
            .reshape(rows, kv_heads, group * new, head_dim)
        )  # (B, k, g*L, d): query head k*g + j, position l at row j*L + l
        out = nnf.scaled_dot_product_attention(
            query, keys[:rows, :, :end], values[:rows, :, :end], attn_mask=mask, scale=self.scale
        )  # (B, k, g*L, d)
        out = out.view(rows, kv_heads, group, new, head_dim).permute(0, 3, 1, 2, 4)  # (B,L,k,g,d)
        return layer.out(out.reshape(rows * new, heads * head_dim))  # (B*L, H)

    def _mlp(self, layer: LlamaLayer, x: torch.Tensor) -> torch.Tensor:
        """``down(silu(gate(x)) * up(x))`` with gate and up in one product: (B*L, H)."""
        size = self.weights.intermediate
        both = layer.gate_up(x)  # (B*L, 2I)
        return layer.down(nnf.silu(both[:, :size]).mul_(both[:, size:]))  # (B*L, H)
