"""What a model pair's folders say about prompting it: ``specbound.json``.

A pair trained on documents that each follow an end-of-text token (the embedded pair)
must see prompts the same way, or the same seed gives other text. That belongs to the
pair, not to how it was loaded: its tokenizer folder (or the target's) holds
``specbound.json``::

    {"prompt_prefix": "eos"}

``"eos"`` prepends the tokenizer's end-of-sequence token; a list of token ids prepends
those. No file, or no key: no prefix. Loading the embedded pair by default or through its
folders (``--target/--draft/--tokenizer``) therefore gives the same pair.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from specbound.errors import ModelNotFoundError

__all__ = ["PAIR_CONFIG_NAME", "read_prompt_prefix"]

#: The file, in a tokenizer or target folder, with the pair's prompting convention.
PAIR_CONFIG_NAME = "specbound.json"


def _parse(path: Path, eos: int | None, vocab_size: int) -> tuple[int, ...]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelNotFoundError(f"{path}: not a readable JSON file ({exc})") from None
    value = data.get("prompt_prefix", []) if isinstance(data, dict) else None
    if value == "eos":
        if eos is None:
            raise ModelNotFoundError(
                f"{path}: prompt_prefix is 'eos' but the tokenizer has no end-of-sequence token"
            )
        return (eos,)
    if isinstance(value, list) and all(
        isinstance(i, int) and not isinstance(i, bool) and 0 <= i < vocab_size for i in value
    ):
        return tuple(value)
    raise ModelNotFoundError(
        f"{path}: prompt_prefix must be 'eos' or a list of token ids in [0, {vocab_size}), "
        f"got {value!r}"
    )


def read_prompt_prefix(folders: Sequence[str], eos: int | None, vocab_size: int) -> tuple[int, ...]:
    """The prompt prefix of the first of ``folders`` (local folders; hub ids are skipped)
    holding :data:`PAIR_CONFIG_NAME`; () when none does."""
    for folder in folders:
        path = Path(folder) / PAIR_CONFIG_NAME
        if path.is_file():
            return _parse(path, eos, vocab_size)
    return ()
