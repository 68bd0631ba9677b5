"""The preallocated KV cache every lean forward of the engine extends.

A buffer per layer for keys and one for values, (rows, kv_heads, capacity, head_dim): a
forward writes its new keys/values in place; cropping moves the length back; fanning out
to M rows copies the prefix into rows 1..M-1; keeping a row copies it into row 0;
keeping a token tree's accepted path moves its slots down after the prefix.
Nothing is concatenated or reallocated per token; the capacity doubles when exceeded
(with the rotary tables rebuilt for it). An architecture's forward
(:mod:`~specbound.lm.engine.neox`, :mod:`~specbound.lm.engine.llama`) subclasses
:class:`StaticCache` and says how many heads it caches and how its rotary tables are
shaped.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

import torch

from specbound.lm.engine.matmul import KernelChoice

__all__ = ["INITIAL_CAPACITY", "StaticCache"]

#: Positions the buffers hold at first (doubled as needed).
INITIAL_CAPACITY = 256


class StaticCache(ABC):
    """The cache buffers and their operations for a model's prepared ``weights`` (which
    hold ``layers``, ``head_dim``, ``embedding``, ``kernels``, ``head`` and
    ``rotary_table``)."""

    def __init__(self, weights: Any, vocab_size: int) -> None:
        self.weights = weights
        self.vocab_size = vocab_size
        self.dtype = weights.embedding.dtype
        self.device = weights.embedding.device
        self.scale = weights.head_dim**-0.5
        self.length = 0
        self.rows = 1
        self._keys: list[torch.Tensor] = []
        self._values: list[torch.Tensor] = []
        self._cos = self._sin = torch.empty(0)
        self._allocate(1, INITIAL_CAPACITY)

    @property
    @abstractmethod
    def cached_heads(self) -> int:
        """Key/value heads per layer (all heads; the KV heads of grouped-query attention)."""

    @abstractmethod
    def rotary_tables(self, capacity: int) -> tuple[torch.Tensor, torch.Tensor]:
        """The (cos, signed sin) tables of ``capacity`` positions, shaped for the forward."""

    @property
    def packed(self) -> bool:
        """Whether some matrix products use oneDNN-packed weights."""
        return bool(self.weights.kernels.any_packed or self.weights.head.choice.any_packed)

    @property
    def kernels(self) -> KernelChoice:
        """The kernel the layers' linears use for each input row count (see
        :func:`~specbound.lm.engine.matmul.choose_kernels`; the LM head's own choice is
        ``weights.head.choice``)."""
        kernels: KernelChoice = self.weights.kernels
        return kernels

    @property
    def capacity(self) -> int:
        return int(self._keys[0].shape[2])

    def _allocate(self, rows: int, capacity: int) -> None:
        """(Re)allocate the buffers for ``rows`` x ``capacity``, keeping the cached prefix."""
        layers = len(self.weights.layers)
        shape = (rows, self.cached_heads, capacity, self.weights.head_dim)
        with torch.inference_mode():
            buffers = [
                torch.empty(shape, dtype=self.dtype, device=self.device) for _ in range(2 * layers)
            ]
            keys, values = buffers[:layers], buffers[layers:]
            if self._keys and self.length:
                kept = min(rows, self._keys[0].shape[0])
                for new, old in zip([*keys, *values], [*self._keys, *self._values], strict=True):
                    new[:kept, :, : self.length] = old[:kept, :, : self.length]
        self._cos, self._sin = self.rotary_tables(capacity)
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

    def keep_slots(self, start: int, slots: list[int]) -> None:
        """Keep the first ``start`` cached tokens, then the tokens at ``slots`` (>= start,
        increasing) moved to ``start, start + 1, ...``: a token tree's accepted path."""
        if slots:
            index = torch.tensor(slots, dtype=torch.long, device=self.device)
            with torch.inference_mode():
                for buffer in [*self._keys, *self._values]:
                    buffer[:, :, start : start + len(slots)] = buffer[:, :, index]
        self.length = start + len(slots)
