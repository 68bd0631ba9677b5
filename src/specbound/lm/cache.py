"""A causal LM together with its KV cache: the only stateful object of the decoder.

The cache always holds the keys/values of a prefix of the current token sequence;
``length`` says how long. Tokens past ``length`` are *pending*: the next :meth:`extend`
feeds them. After verification the cache is cropped back to the accepted prefix
(``DynamicCache.crop(-k)`` removes k tokens), so accepted tokens are never recomputed.

Batch SD fans the cache out to M identical rows for a round (:meth:`repeat`) and keeps the
winning row afterwards (:meth:`select`). Every row of a fanned-out cache has the same
length: the M draft sequences of a round all have the same number of tokens, so no
padding or attention mask is ever needed.

A token tree is scored in one row: :meth:`CachedLM.extend_tree` feeds its nodes with their
depth positions and a tree attention mask (each node sees the prefix, its ancestors and
itself; SpecInfer), and :meth:`CachedLM.keep_slots` keeps the accepted path's entries.

Two backends, one behaviour: a model that one of the engine's fast paths supports
(:mod:`specbound.lm.engine`: GPT-NeoX — the embedded pair, Pythia) runs that lean forward
over a preallocated cache (the same logits, a fraction of the Python overhead;
``docs/performance.md``); any other causal LM runs its transformers forward with a
``DynamicCache`` (the fallback). ``fast=False`` forces the latter; :attr:`CachedLM.engine`
names the path that runs.
"""

from __future__ import annotations

import inspect
from typing import Any

import torch

from specbound.errors import IncompatibleModelsError
from specbound.lm.engine import FALLBACK, fast_path

__all__ = ["CachedLM"]


_KEYWORDS: dict[type, tuple[str, str | None]] = {}


def _forward_keywords(model: Any) -> tuple[str, str | None]:
    """Names of the cache argument and of the keep-last-logits argument of ``forward``.

    transformers 5.x renames ``past_key_values`` to ``cache`` (the old name warns, then
    goes in 5.40); ``logits_to_keep`` skips the LM head on positions we do not read.
    """
    kind = type(model)
    if kind not in _KEYWORDS:
        params = inspect.signature(model.forward).parameters
        cache_kw = "cache" if "cache" in params else "past_key_values"
        keep = next((k for k in ("logits_to_keep", "num_logits_to_keep") if k in params), None)
        _KEYWORDS[kind] = (cache_kw, keep)
    return _KEYWORDS[kind]


def _new_cache(model: Any) -> Any:
    from transformers import DynamicCache

    try:
        return DynamicCache(config=model.config)
    except TypeError:  # older transformers: no config argument
        return DynamicCache()


class CachedLM:
    """``model`` with a KV cache; logits are cut to the shared ``vocab_size``."""

    def __init__(self, model: Any, vocab_size: int, *, fast: bool = True) -> None:
        self.model = model
        self.vocab_size = vocab_size
        self.device = torch.device(model.device)
        path = fast_path(model) if fast else None
        self._static = None if path is None else path.build(model, vocab_size)
        #: The forward that runs: a fast path's name (``"neox"``) or ``"transformers"``.
        self.engine = FALLBACK if path is None else path.name
        self._cache_kw, self._keep_kw = _forward_keywords(model)
        self.cache: Any = None if self._static is not None else _new_cache(model)
        self.length = 0
        self.rows = 1

    @property
    def fast(self) -> bool:
        """Whether this model runs a lean forward of :mod:`specbound.lm.engine`."""
        return self._static is not None

    def extend(self, input_ids: torch.Tensor, keep: int = 1) -> torch.Tensor:
        """Feed ``input_ids`` (B, L) after the cached prefix; return the last ``keep``
        positions' logits (B, keep, V). B must equal :attr:`rows`."""
        rows, new = input_ids.shape
        if rows != self.rows:
            raise ValueError(f"input has {rows} rows, cache has {self.rows}")
        if self._static is not None:
            logits = self._static.forward(input_ids, keep)  # (B, keep, V)
            self.length += new
            return logits
        kwargs: dict[str, Any] = {self._cache_kw: self.cache, "use_cache": True}
        if self._keep_kw is not None:
            kwargs[self._keep_kw] = keep
        out = self.model(input_ids=input_ids, **kwargs)
        returned = getattr(out, "cache", None) or getattr(out, "past_key_values", None)
        if returned is not None:
            self.cache = returned
        self.length += new
        return out.logits[:, -keep:, : self.vocab_size]  # (B, keep, V)

    def crop(self, length: int) -> None:
        """Keep the first ``length`` cached tokens (a no-op if the cache is shorter)."""
        if length < 0:
            raise ValueError(f"cannot crop to a negative length {length}")
        if length < self.length:
            if self._static is not None:
                self._static.crop(length)
            else:
                self.cache.crop(length - self.length)  # negative: remove that many tokens
            self.length = length

    def repeat(self, rows: int) -> None:
        """Fan a one-row cache out to ``rows`` identical rows."""
        if self.rows != 1:
            raise ValueError(f"repeat needs a one-row cache, this one has {self.rows} rows")
        if self._static is not None:
            self._static.repeat(rows)
        elif rows > 1 and self.length > 0:
            self.cache.batch_repeat_interleave(rows)
        self.rows = rows

    def select(self, row: int) -> None:
        """Keep only ``row`` of a fanned-out cache."""
        if self.rows > 1 and self._static is not None:
            self._static.select(row)
            self.rows = 1
        elif self.rows > 1:
            if self.length > 0:
                index = torch.tensor([row], device=self.device)
                self.cache.batch_select_indices(index)
            self.rows = 1

    def check_tree_attention(self) -> None:
        """Refuse, naming the reason, a model whose forward cannot take a tree mask: the
        lean paths can; transformers' forward needs an attention implementation that
        applies a custom 4-D mask (``eager`` or ``sdpa``) and a ``position_ids``
        argument (flash attention, say, would ignore the mask: silently wrong logits)."""
        if self._static is not None:
            return
        params = inspect.signature(self.model.forward).parameters
        implementation = getattr(self.model.config, "_attn_implementation", None)
        if "position_ids" not in params or implementation not in ("eager", "sdpa"):
            raise IncompatibleModelsError(
                f"{type(self.model).__name__} (attention {implementation!r}) cannot score a "
                "token tree: tree attention needs a custom 4-D mask and position_ids, "
                "which transformers applies with attn_implementation 'eager' or 'sdpa'; "
                "load the model with one of them, or use a sequence algorithm"
            )

    def extend_tree(
        self, input_ids: torch.Tensor, positions: torch.Tensor, visible: torch.Tensor, keep: int
    ) -> torch.Tensor:
        """Feed ``input_ids`` (1, L) after the cached prefix with rotary ``positions`` (L,)
        and the boolean ``visible`` (L, length + L) (True: may attend); return the last
        ``keep`` positions' logits (1, keep, V). Keys and values are cached at slots
        ``length .. length + L - 1`` whatever the positions."""
        if self.rows != 1:
            raise ValueError(f"a tree is scored in one row, the cache has {self.rows}")
        new = int(input_ids.shape[1])
        position_ids = positions.to(self.device).view(1, new)  # (1, L)
        if self._static is not None:
            logits = self._static.forward(
                input_ids, keep, position_ids=position_ids, attention_mask=visible
            )  # (1, keep, V)
            self.length += new
            return logits
        dtype = next(self.model.parameters()).dtype
        additive = torch.zeros(visible.shape, dtype=dtype, device=self.device)  # (L, S)
        additive.masked_fill_(~visible.to(self.device), torch.finfo(dtype).min)
        kwargs: dict[str, Any] = {self._cache_kw: self.cache, "use_cache": True}
        if self._keep_kw is not None:
            kwargs[self._keep_kw] = keep
        out = self.model(
            input_ids=input_ids,
            position_ids=position_ids,
            attention_mask=additive[None, None],  # (1, 1, L, S): transformers' 4-D mask
            **kwargs,
        )
        returned = getattr(out, "cache", None) or getattr(out, "past_key_values", None)
        if returned is not None:
            self.cache = returned
        self.length += new
        return out.logits[:, -keep:, : self.vocab_size]  # (1, keep, V)

    def keep_slots(self, start: int, slots: list[int]) -> None:
        """Keep the first ``start`` cached tokens followed by those at ``slots``
        (increasing, >= ``start``; slots not cached are dropped): a tree's accepted path."""
        slots = [s for s in slots if s < self.length]
        if self._static is not None:
            self._static.keep_slots(start, slots)
        elif self.length > 0:
            index = torch.tensor([*range(start), *slots], dtype=torch.long, device=self.device)
            for layer in _cache_layers(self.cache):
                layer.keys = layer.keys.index_select(-2, index)
                layer.values = layer.values.index_select(-2, index)
        self.length = start + len(slots)


def _cache_layers(cache: Any) -> list[Any]:
    """The per-layer key/value holders of a transformers ``DynamicCache`` (``keys`` and
    ``values``, (B, heads, S, d)); an older cache without them is refused by name."""
    layers = getattr(cache, "layers", None)
    if layers is None:
        raise TypeError(
            f"{type(cache).__name__} has no per-layer keys/values (transformers >= 4.56 "
            "needed to keep a token tree's accepted path in the fallback)"
        )
    return list(layers)
