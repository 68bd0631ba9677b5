"""Prompt sets: the shipped list of short prompts, or a user's file (one prompt a line)."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from specbound.errors import InvalidInputError

__all__ = ["DEFAULT_PROMPTS_NAME", "load_prompts"]

#: The ~50 short prompts shipped with specbound (package data ``specbound/data``).
DEFAULT_PROMPTS_NAME = "prompts.txt"


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
        try:
            text = file.read_text("utf-8")
        except UnicodeDecodeError as exc:
            raise InvalidInputError(f"prompts file {str(path)!r} is not UTF-8 text") from exc
        prompts = _parse(text, repr(str(path)))
    return prompts[:limit] if limit is not None else prompts
