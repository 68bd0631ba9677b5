"""A lean GPT-NeoX forward over a preallocated KV cache: the CPU fast path of the decoder.

The embedded pair (and Pythia, the paper's models) are GPT-NeoX. For models this small a
Hugging Face forward spends as much time in Python (module calls, config look-ups, mask
construction, output containers, ``DynamicCache`` growing by ``torch.cat``) as in the
matrix products, or more (``docs/performance.md`` has the measurements). This module
runs the same arithmetic with the model's own parameters, op for op as transformers'
``modeling_gpt_neox`` does it (embedding, per layer: layer norms, fused QKV, partial
rotary embedding, scaled-dot-product attention, dense, MLP, parallel or sequential
residual; final layer norm, LM head), so its logits equal transformers' up to float
rounding (``tests/bench/test_bench_neox_fast_path.py`` checks them to 1e-5). The
weights it reads are :mod:`specbound.lm.engine.neox_weights`; which matrix-product kernel each
call uses, :mod:`specbound.lm.engine.matmul`.

The KV cache is :class:`~specbound.lm.engine.static_cache.StaticCache`'s preallocated
buffer per layer, (rows, heads, capacity, head_dim), written in place by each forward.

:func:`supports` says whether a model can take this path (the exact class, the default
rotary embedding, eval mode); :class:`~specbound.lm.cache.CachedLM` falls back to the
transformers forward for anything else.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as nnf

from specbound.lm.engine.neox_weights import Layer, weights_for
from specbound.lm.engine.static_cache import StaticCache

__all__ = ["StaticNeoX", "supports"]


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


def _rotary_tables(cos: torch.Tensor, sin: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The half tables (C, R/2) shaped to broadcast against the rotated channels of a
    (B, L, heads, 2, 2, R/2) view (query/key, first/second half): cos (C, 1, 1, 1, R/2)
    and the signed sin (C, 1, 1, 2, R/2) holding ``-sin`` for the first half, ``sin``
    for the second (see :func:`_rotate_in_place`)."""
    positions, half = cos.shape
    signed = torch.stack([-sin, sin], dim=1)  # (C, 2, R/2)
    return cos.reshape(positions, 1, 1, 1, half), signed.reshape(positions, 1, 1, 2, half)


def _rotate_in_place(
    qkv: torch.Tensor, head_dim: int, dims: int, cos: torch.Tensor, sin: torch.Tensor
) -> None:
    """GPT-NeoX's partial rotary embedding of the queries and keys, written into ``qkv``.

    ``qkv`` (B, L, h, 3d) holds query, key, value side by side; the first ``dims``
    channels of the query and of the key turn: with ``x1, x2`` their halves, transformers
    computes ``x * cat(c, c) + cat(-x2, x1) * cat(s, s)``, i.e.
    ``(x1 c + (-x2) s, x2 c + x1 s)``. Here the halves are one axis of a view, so
    swapping them is a ``flip`` and the signs live in the sin table: the same products
    and sums, for queries and keys at once. ``cos`` (L, 1, 1, 1, R/2), ``sin``
    (L, 1, 1, 2, R/2) from :func:`_rotary_tables`.
    """
    turned = qkv.unflatten(-1, (3, head_dim))[..., :2, :dims].unflatten(-1, (2, dims // 2))
    turned.copy_(turned * cos + turned.flip(-2) * sin)  # (B, L, h, 2, 2, R/2)


class StaticNeoX(StaticCache):
    """GPT-NeoX forward passes that extend a preallocated KV cache of ``rows`` sequences.

    ``length`` tokens are cached per row (all rows have the same length). :meth:`forward`
    feeds (rows, L) new tokens and returns the logits of the last ``keep`` positions, cut
    to ``vocab_size`` (the padded rows of the LM head are never computed). ``pack``:
    ``"auto"`` times every matrix-product kernel per row count and keeps the fastest,
    ``"never"`` the same without oneDNN packing, ``"always"`` packs wherever possible,
    ``"linear"`` keeps ``torch.nn.functional.linear`` (see
    :func:`~specbound.lm.engine.neox_weights.weights_for`).
    """

    def __init__(self, model: Any, vocab_size: int, *, pack: str = "auto") -> None:
        super().__init__(weights_for(model, vocab_size, pack), vocab_size)

    @property
    def cached_heads(self) -> int:
        return int(self.weights.heads)

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

        For token trees (as :meth:`~specbound.lm.engine.llama.StaticLlama.forward`):
        ``position_ids`` (rows, L) the rotary positions of the new tokens (default:
        ``length .. length + L - 1``); ``attention_mask`` (L, length + L) boolean, True
        where a new token may attend (default: causal). Keys and values are cached at
        slots ``length .. length + L - 1`` whatever the positions.
        """
        rows, new = input_ids.shape
        start, end = self.length, self.length + new
        reach = end if position_ids is None else max(end, int(position_ids.max()) + 1)
        self._reserve(rows, reach)
        weights = self.weights
        with torch.inference_mode():
            x = weights.embedding.index_select(0, input_ids.reshape(-1))  # (B*L, H)
            if position_ids is None:
                cos, sin = self._cos[start:end], self._sin[start:end]  # (L, 1, 1, ., R/2)
            else:
                cos, sin = self._cos[position_ids], self._sin[position_ids]  # (B, L, ...)
            # NOTE: a causal mask shifted by the cached prefix, additive (-inf above the
            # shifted diagonal: SDPA would convert a boolean one in every layer); with no
            # prefix SDPA's own causal flag (what transformers uses then); one query
            # attends to everything. A given boolean mask becomes additive the same way.
            mask = None
            if attention_mask is not None:
                blocked = ~attention_mask.to(device=self.device, dtype=torch.bool)  # (L, S)
                mask = torch.zeros((new, end), dtype=x.dtype, device=self.device)
                mask.masked_fill_(blocked, -torch.inf)
            elif new > 1 and start > 0:
                mask = torch.full((new, end), -torch.inf, dtype=x.dtype, device=self.device)
                mask.triu_(start + 1)  # (L, start + L): 0 where key <= query position
            causal = new > 1 and start == 0 and attention_mask is None
            for index, layer in enumerate(weights.layers):
                attn = self._attention(index, layer, x, rows, cos, sin, start, mask, causal)
                if weights.parallel_residual:  # mlp + attn + x, in transformers' order
                    x = self._mlp(layer, layer.ln_mlp(x)).add_(attn).add_(x)
                else:
                    attn = attn.add_(x)
                    x = self._mlp(layer, layer.ln_mlp(attn)).add_(attn)
            if keep < new:
                x = x.view(rows, new, -1)[:, -keep:].reshape(rows * keep, -1)  # (B*keep, H)
            logits = weights.head(weights.final_norm(x))  # (B*keep, V)
        self.length = end
        self.rows = rows
        return logits.view(rows, keep, -1)

    def _attention(
        self,
        index: int,
        layer: Layer,
        x: torch.Tensor,
        rows: int,
        cos: torch.Tensor,
        sin: torch.Tensor,
        start: int,
        mask: torch.Tensor | None,
        causal: bool,
    ) -> torch.Tensor:
        """Self-attention of the new tokens ``x`` (B*L, H) over the cache: (B*L, H)."""
        weights = self.weights
        heads, head_dim = weights.heads, weights.head_dim
        new = x.shape[0] // rows
        end = start + new
        qkv = layer.qkv(layer.ln_attn(x)).view(rows, new, heads, 3 * head_dim)  # (B, L, h, 3d)
        _rotate_in_place(qkv, head_dim, weights.rotary_dims, cos, sin)
        split = qkv.view(rows, new, heads, 3, head_dim).permute(3, 0, 2, 1, 4)  # (3, B, h, L, d)
        keys, values = self._keys[index], self._values[index]
        keys[:rows, :, start:end] = split[1]
        values[:rows, :, start:end] = split[2]
        out = nnf.scaled_dot_product_attention(
            split[0],
            keys[:rows, :, :end],
            values[:rows, :, :end],
            attn_mask=mask,
            is_causal=causal,
            scale=self.scale,
        )  # (B, h, L, d)
        return layer.dense(out.transpose(1, 2).reshape(rows * new, heads * head_dim))

    @staticmethod
    def _mlp(layer: Layer, x: torch.Tensor) -> torch.Tensor:
        return layer.down(layer.act(layer.up(x)))
