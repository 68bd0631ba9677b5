"""Training checkpoints: one file, written atomically, holding everything a resume needs."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch

from specbound.errors import InvalidInputError

__all__ = ["CHECKPOINT", "load_checkpoint", "save_checkpoint"]

CHECKPOINT = "checkpoint.pt"


def save_checkpoint(folder: Path, state: dict[str, Any]) -> Path:
    """Write ``state`` to ``folder/checkpoint.pt`` (temporary file, then an atomic rename:
    an interrupted write leaves the previous checkpoint intact)."""
    path = folder / CHECKPOINT
    tmp = folder / f".{CHECKPOINT}.tmp"
    torch.save(state, tmp)
    os.replace(tmp, path)
    return path


def load_checkpoint(folder: Path) -> dict[str, Any] | None:
    """The checkpoint in ``folder``, or None when there is none. A corrupt file is an
    :class:`InvalidInputError` (one line), never silently ignored."""
    path = folder / CHECKPOINT
    if not path.exists():
        return None
    try:
        state = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as exc:  # any unpickling failure means the same thing
        raise InvalidInputError(
            f"checkpoint {str(path)!r} cannot be read ({exc}); remove it or use a fresh --out"
        ) from exc
    if not isinstance(state, dict) or "phases" not in state:
        raise InvalidInputError(f"checkpoint {str(path)!r} is not a specbound distill checkpoint")
    return state
