"""Chain pair files: JSON ``{"start": 0, "draft": [T][S][S], "target": [T][S][S]}``."""

from __future__ import annotations

import json
import os
import re
import stat
from pathlib import Path
from typing import Any

import numpy as np

from specbound.chain.model import MarkovChain, check_pair
from specbound.errors import ChainFileError, ShapeMismatchError
from specbound.io import write_json_atomic
from specbound.validate import check_memory, format_bytes

__all__ = ["check_save_size", "load_chains", "pair_to_dict", "save_chains"]


def _first_non_number(value: list[Any]) -> tuple[tuple[int, ...], Any] | None:
    """The position and value of the first entry of a nested list that is not a JSON
    number (a string such as ``"0.5"``, true/false, null, an object), else None."""
    stack: list[tuple[tuple[int, ...], Any]] = [((), value)]
    while stack:
        where, item = stack.pop()
        if isinstance(item, list):
            stack.extend(((*where, i), child) for i, child in reversed(list(enumerate(item))))
        elif isinstance(item, bool) or not isinstance(item, (int, float)):
            return where, item
    return None


def _array(value: Any, key: str, path: str) -> np.ndarray:
    if not isinstance(value, list):
        raise ChainFileError(
            f"{path}: {key!r} must be a nested list [T][S][S] of probabilities, "
            f"got {type(value).__name__}"
        )
    bad = _first_non_number(value)
    if bad is not None:
        where, item = bad
        position = "".join(f"[{i}]" for i in where)
        raise ChainFileError(
            f"{path}: {key!r}{position} is {json.dumps(item)}, not a number; write "
            'probabilities as JSON numbers (0.5, not "0.5")'
        )
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ChainFileError(
            f"{path}: {key!r} must be a rectangular nested list [T][S][S] of numbers"
        ) from exc
    if arr.ndim != 3 or arr.shape[1] != arr.shape[2] or arr.size == 0:
        raise ChainFileError(
            f"{path}: {key!r} must have shape [T][S][S] with T, S >= 1, got {arr.shape}"
        )
    return arr


#: Memory a parsed JSON chain file takes per byte of text (Python lists of floats).
PARSE_BYTES_PER_BYTE = 8


def _read_json(path: str | Path, name: str) -> Any:
    """The parsed file; refuses, before reading, non-regular files and sizes beyond memory."""
    try:
        info = os.stat(path)
    except OSError as exc:
        raise ChainFileError(f"{name}: cannot read the chain file ({exc.strerror})") from exc
    if stat.S_ISDIR(info.st_mode):
        raise ChainFileError(f"{name}: is a folder, not a chain file")
    if not stat.S_ISREG(info.st_mode):
        raise ChainFileError(f"{name}: not a regular file (a device or pipe); give a JSON file")
    check_memory(
        PARSE_BYTES_PER_BYTE * info.st_size,
        f"{name}: reading a chain file of {format_bytes(info.st_size)}",
        error=ChainFileError,
    )
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ChainFileError(f"{name}: cannot read the chain file ({exc})") from exc
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ChainFileError(f"{name}: not valid JSON ({exc})") from exc
    except RecursionError as exc:
        raise ChainFileError(
            f"{name}: nested too deeply to parse; expected [T][S][S] lists"
        ) from exc
    if _BOOLEAN.search(text) is not None and isinstance(data, dict):
        for key in ("draft", "target"):
            if _has_boolean(data.get(key)):
                raise ChainFileError(
                    f"{name}: {key!r} holds true/false; probabilities must be numbers"
                )
    return data


_BOOLEAN = re.compile(r'(?<![\w"])(?:true|false)(?![\w"])')


def _has_boolean(value: Any) -> bool:
    """Whether a nested list holds a JSON boolean (numpy would read it as 0 or 1)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, bool):
            return True
        if isinstance(item, list):
            stack.extend(item)
    return False


def load_chains(path: str | Path) -> tuple[MarkovChain, MarkovChain]:
    """Read a (draft, target) pair; every problem raises a named SpecboundError.

    Missing file, invalid JSON or wrong layout -> :class:`ChainFileError`; a row that is
    not a distribution -> :class:`InvalidDistributionError`; draft and target of different
    ``T`` or ``S`` -> :class:`ShapeMismatchError`; a start state out of range ->
    :class:`InvalidInputError`.
    """
    name = str(path)
    data = _read_json(path, name)
    if not isinstance(data, dict):
        raise ChainFileError(
            f'{name}: expected a JSON object {{"start", "draft", "target"}}, '
            f"got {type(data).__name__}"
        )
    missing = [key for key in ("draft", "target") if key not in data]
    if missing:
        raise ChainFileError(f"{name}: missing key(s) {missing}; expected start, draft, target")
    if "start" not in data:
        raise ChainFileError(f"{name}: missing key 'start' (the first state, e.g. 0)")
    start = data["start"]
    if isinstance(start, bool) or not isinstance(start, int):
        raise ChainFileError(f"{name}: 'start' must be an integer state, got {start!r}")
    draft_arr = _array(data["draft"], "draft", name)
    target_arr = _array(data["target"], "target", name)
    if draft_arr.shape != target_arr.shape:
        raise ShapeMismatchError(
            f"{name}: draft has [T][S][S] = {list(draft_arr.shape)} but target has "
            f"{list(target_arr.shape)}; T and S must match"
        )
    draft = MarkovChain(draft_arr, start, name=f"{name}: draft")
    target = MarkovChain(target_arr, start, name=f"{name}: target")
    check_pair(draft, target)
    return draft, target


def pair_to_dict(draft: MarkovChain, target: MarkovChain) -> dict[str, Any]:
    """The file layout of a pair, as a dict."""
    check_pair(draft, target)
    return {
        "start": draft.start,
        "draft": draft.transitions.tolist(),
        "target": target.transitions.tolist(),
    }


#: Memory per probability while a pair is written as JSON (Python floats, lists, text).
SAVE_BYTES_PER_PROBABILITY = 96


def check_save_size(horizon: int, num_states: int) -> None:
    """Refuse, before any work, a pair too large to write as JSON with the memory here."""
    check_memory(
        SAVE_BYTES_PER_PROBABILITY * 2.0 * horizon * num_states * num_states,
        f"writing a chain pair of T={horizon}, S={num_states} as JSON",
    )


def save_chains(
    path: str | Path, draft: MarkovChain, target: MarkovChain, *, name: str = "path"
) -> Path:
    """Write a pair atomically (:func:`specbound.io.atomic_output`: through links, never
    over a device or folder); floats round-trip exactly. Missing parent folders are made."""
    check_save_size(draft.horizon, draft.num_states)
    return write_json_atomic(path, pair_to_dict(draft, target), name)
