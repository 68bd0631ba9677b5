"""Prompt sets: the shipped list of short prompts, or a user's file (one prompt a line)."""

from __future__ import annotations

import json
import numbers
from collections.abc import Sequence
from importlib import resources
from pathlib import Path

from specbound.errors import InvalidInputError
from specbound.validate import check_memory, format_bytes

__all__ = [
    "DEFAULT_PROMPTS_NAME",
    "WORKLOADS",
    "check_prompt",
    "check_text",
    "load_prompts",
    "load_workload",
]

#: Memory per byte of a prompts file while it is read and split into lines.
READ_BYTES_PER_BYTE = 4

#: The ~50 short prompts shipped with specbound (package data ``specbound/data``).
DEFAULT_PROMPTS_NAME = "prompts.txt"

#: The shipped workload prompt sets (package data ``specbound/data/<name>.json``, a JSON
#: list of instructions, plain text; chat templates are applied when they are encoded):
#: ``grounded`` — repeat, edit, extract from, or answer from a given passage or code, where
#: the output copies the context (model-free drafters match); ``open`` — open-ended
#: requests, where they rarely do.
WORKLOADS = ("grounded", "open")


def _parse(text: str, source: str) -> list[str]:
    prompts = [
        line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")
    ]
    if not prompts:
        raise InvalidInputError(
            f"prompts file {source}: no prompts found (expected one prompt per line; "
            "lines starting with '#' are comments)"
        )
    return prompts


def check_text(text: str, name: str) -> str:
    """``text`` if it can be written as UTF-8; else an error naming ``name`` and the byte.

    NOTE: Python reads command-line bytes that are not UTF-8 (``printf 'caf\\xe9'``) as
    lone surrogates (``'caf\\udce9'``), which no tokenizer can encode.
    """
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        char = ord(text[exc.start])
        what = f"byte 0x{char - 0xDC00:02x}" if 0xDC80 <= char <= 0xDCFF else f"U+{char:04X}"
        raise InvalidInputError(
            f"{name} is not valid UTF-8 text ({what} at position {exc.start}); give UTF-8 "
            "text (e.g. convert it with iconv -f latin1 -t utf-8)"
        ) from None
    return text


def check_prompt(prompt: object, name: str = "prompt") -> str | Sequence[int]:
    """``prompt`` if it is UTF-8 text or a sequence of token ids (integers, not booleans)."""
    if isinstance(prompt, str):
        return check_text(prompt, name)
    if isinstance(prompt, (bytes, dict, set)) or not isinstance(prompt, Sequence):
        if not (hasattr(prompt, "tolist") and hasattr(prompt, "__len__")):  # arrays, tensors
            raise InvalidInputError(
                f"{name} must be text or a sequence of token ids, got {prompt!r}"
            )
        prompt = prompt.tolist()
        if not isinstance(prompt, list):
            raise InvalidInputError(f"{name} must be text or a 1-D sequence of token ids")
    bad = [t for t in prompt if isinstance(t, bool) or not isinstance(t, numbers.Integral)]
    if bad:
        raise InvalidInputError(
            f"{name}: token ids must be integers, got {bad[0]!r} ({type(bad[0]).__name__})"
        )
    return prompt


def load_prompts(path: str | Path | None = None, limit: int | None = None) -> list[str]:
    """Read prompts, one per line (blank lines and ``#`` comments skipped).

    ``path=None`` loads the shipped set. ``limit`` keeps the first ``limit`` prompts.
    """
    if limit is not None and limit < 1:
        raise InvalidInputError(f"limit must be >= 1, got {limit}")
    if path is None:
        text = resources.files("specbound.data").joinpath(DEFAULT_PROMPTS_NAME).read_text("utf-8")
        prompts = _parse(text, f"<shipped {DEFAULT_PROMPTS_NAME}>")
    else:
        file = Path(path)
        if not file.is_file():
            raise InvalidInputError(f"prompts file {str(path)!r} does not exist or is not a file")
        size = file.stat().st_size
        check_memory(
            READ_BYTES_PER_BYTE * size, f"prompts file {str(path)!r} ({format_bytes(size)})"
        )
        try:
            text = file.read_text("utf-8")
        except UnicodeDecodeError as exc:
            raise InvalidInputError(f"prompts file {str(path)!r} is not UTF-8 text") from exc
        prompts = _parse(text, repr(str(path)))
    return prompts[:limit] if limit is not None else prompts


def load_workload(name: str, limit: int | None = None) -> list[str]:
    """The shipped prompt set ``name`` (one of :data:`WORKLOADS`), the first ``limit``."""
    if name not in WORKLOADS:
        raise InvalidInputError(f"workload must be one of {', '.join(WORKLOADS)}, got {name!r}")
    if limit is not None and limit < 1:
        raise InvalidInputError(f"limit must be >= 1, got {limit}")
    text = resources.files("specbound.data").joinpath(f"{name}.json").read_text("utf-8")
    prompts = [str(p) for p in json.loads(text)]
    return prompts[:limit] if limit is not None else prompts
