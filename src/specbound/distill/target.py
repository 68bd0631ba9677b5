"""Loading the target a draft is distilled from: a Hugging Face folder or a ``.gguf`` file.

A ``.gguf`` file is dequantized by transformers (``gguf_file=``) into float32; its
tokenizer (with the chat template) comes from the same file.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch

from specbound.errors import ModelNotFoundError

__all__ = ["load_target"]


def load_target(path: str | os.PathLike[str]) -> tuple[Any, Any]:
    """``(model, tokenizer)`` of the target at ``path`` (a model folder or a ``.gguf`` file),
    float32, in eval mode, offline. Raises :class:`ModelNotFoundError` with one line."""
    source = Path(path).expanduser()
    if not source.exists():
        raise ModelNotFoundError(f"--target {os.fspath(path)!r} does not exist")
    try:
        from transformers import AutoModelForCausalLM, AutoTokenizer
    except ImportError as exc:  # pragma: no cover - the [lm] extra is missing
        raise ModelNotFoundError(
            "distilling needs torch and transformers: pip install 'specbound[lm]'"
        ) from exc
    kwargs: dict[str, Any] = {"local_files_only": True}
    if source.is_file():
        if source.suffix.lower() != ".gguf":
            raise ModelNotFoundError(
                f"--target {os.fspath(path)!r} is a file but not a .gguf; give a model folder"
            )
        folder, kwargs["gguf_file"] = str(source.parent), source.name
    else:
        folder = str(source)
    try:
        tokenizer = AutoTokenizer.from_pretrained(folder, **kwargs)
        model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32, **kwargs)
    except (OSError, ValueError, ImportError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ModelNotFoundError(f"--target {os.fspath(path)!r} cannot be loaded: {first}") from exc
    model.eval()
    return model, tokenizer
