"""The inference engine: lean forwards per architecture, with a stated fallback.

The decoder (:class:`~specbound.lm.cache.CachedLM`) asks :func:`fast_path` for a lean
forward of the model it holds. Each entry of :data:`FAST_PATHS` names an architecture,
says whether it reproduces a given model exactly (``supports``) and builds the forward
over a preallocated KV cache. A model no entry supports runs transformers' own forward
with a ``DynamicCache`` — the *fallback*, slower on small models but correct for any
causal LM. :func:`engine_name` is what ``generate --json``, ``profile`` and ``bench lm``
record as the path that ran (``"neox"``, ``"llama"`` or ``"transformers"``).

Modules: :mod:`~specbound.lm.engine.neox` (the GPT-NeoX forward),
:mod:`~specbound.lm.engine.neox_weights` (its weights), :mod:`~specbound.lm.engine.llama`
(the Llama forward: SmolLM2, the real pair's target), :mod:`~specbound.lm.engine.llama_weights`
(its weights), :mod:`~specbound.lm.engine.matmul`
(the matrix-product kernel chosen per row count), :mod:`~specbound.lm.engine.kernel_cache`
(that choice remembered per machine; :func:`clear_kernel_cache` forgets it) and
:mod:`~specbound.lm.engine.threads` (the CPU thread policy).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

__all__ = [
    "FALLBACK",
    "FAST_PATHS",
    "FastPath",
    "clear_kernel_cache",
    "engine_name",
    "fast_path",
]

#: The name recorded when a model runs transformers' own forward.
FALLBACK = "transformers"


@dataclass(frozen=True)
class FastPath:
    """One architecture's lean forward: ``supports(model)`` says whether it reproduces
    ``model`` exactly; ``build(model, vocab_size)`` returns the forward object (with
    ``forward``, ``crop``, ``repeat``, ``select``)."""

    name: str
    supports: Callable[[Any], bool]
    build: Callable[[Any, int], Any]


def _neox_supports(model: Any) -> bool:
    from specbound.lm.engine.neox import supports

    return supports(model)


def _neox_build(model: Any, vocab_size: int) -> Any:
    from specbound.lm.engine.neox import StaticNeoX

    return StaticNeoX(model, vocab_size)


def _llama_supports(model: Any) -> bool:
    from specbound.lm.engine.llama import supports

    return supports(model)


def _llama_build(model: Any, vocab_size: int) -> Any:
    from specbound.lm.engine.llama import StaticLlama

    return StaticLlama(model, vocab_size)


#: The lean forwards, tried in order; the first whose ``supports`` holds runs.
FAST_PATHS: tuple[FastPath, ...] = (
    FastPath("neox", _neox_supports, _neox_build),
    FastPath("llama", _llama_supports, _llama_build),
)


def fast_path(model: Any) -> FastPath | None:
    """The first entry of :data:`FAST_PATHS` that supports ``model``, else None."""
    return next((path for path in FAST_PATHS if path.supports(model)), None)


def engine_name(model: Any, *, fast: bool = True) -> str:
    """The path ``model`` runs on: a fast path's name, or :data:`FALLBACK`."""
    path = fast_path(model) if fast else None
    return FALLBACK if path is None else path.name


def clear_kernel_cache() -> bool:
    """Forget the kernel choices remembered on this machine (the next run times them
    anew); True if a cache file was removed."""
    from specbound.lm.engine.kernel_cache import cache_path

    path = cache_path()
    try:
        path.unlink()
    except FileNotFoundError:
        return False
    return True
