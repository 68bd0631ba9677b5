"""Built weights remembered per model, rebuilt when the model changes.

Building a lean forward's weights (fused copies, the timed kernel choice) costs seconds,
so each architecture's builder keeps them per model in a weak table, under the model's
*signature* — where each tensor lives, its in-place version and the config fields read —
so a replaced or edited weight is never served stale.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

__all__ = ["WeightsTable", "built_once"]

W = TypeVar("W")

#: model -> {(vocab size, pack): (signature, built weights)}
WeightsTable = weakref.WeakKeyDictionary[Any, dict[Hashable, tuple[Any, Any]]]


def built_once(
    table: WeightsTable, model: Any, key: Hashable, signature: Any, build: Callable[[], W]
) -> W:
    """``model``'s weights under ``key``: from ``table`` while the model's ``signature``
    is unchanged, else ``build()`` (stored for next time)."""
    per_model = table.setdefault(model, {})
    cached = per_model.get(key)
    if cached is None or cached[0] != signature:
        cached = (signature, build())
        per_model[key] = cached
    built: W = cached[1]
    return built
