"""Results files: atomic writes and provenance, so an interrupted run loses nothing.

Every experiment and benchmark writes through :func:`write_json_atomic` (a temporary file
in the same folder, then ``os.replace``): a reader sees either the old file or the new
one, never half of one.
"""

from __future__ import annotations

import json
import math
import os
import platform
import tempfile
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["environment_info", "read_json", "to_json", "write_json_atomic", "write_text_atomic"]


def _plain(obj: Any) -> Any:
    """``obj`` with NumPy values, paths and tuples made plain JSON, non-finite floats None.

    NOTE: JSON has no NaN or Infinity (Python would write them, and strict readers
    reject the file); an undefined or infinite number is written as null.
    """
    if isinstance(obj, dict):
        return {str(key): _plain(value) for key, value in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(value) for value in obj]
    if isinstance(obj, np.ndarray):
        return _plain(obj.tolist())
    if isinstance(obj, np.generic):
        return _plain(obj.item())
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, Path):
        return str(obj)
    if obj is None or isinstance(obj, (str, int, float, bool)):
        return obj
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


def to_json(payload: Any, indent: int | None = 2) -> str:
    """``payload`` as strict JSON text (NumPy values converted, NaN/Infinity as null)."""
    return json.dumps(_plain(payload), indent=indent, allow_nan=False)


def write_text_atomic(path: str | Path, text: str) -> Path:
    """Write ``text`` to ``path`` atomically (temp file in the same folder + rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def write_json_atomic(path: str | Path, payload: Any) -> Path:
    """Write ``payload`` as indented JSON atomically; numpy values are converted."""
    return write_text_atomic(path, to_json(payload) + "\n")


def read_json(path: str | Path) -> Any | None:
    """The parsed JSON at ``path``, or None when it is missing or corrupt (never trusted)."""
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except (OSError, json.JSONDecodeError, UnicodeDecodeError):
        return None


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def environment_info() -> dict[str, Any]:
    """Versions and machine facts recorded beside every result."""
    from specbound import __version__

    return {
        "specbound": __version__,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "scipy": _version("scipy"),
        "torch": _version("torch"),
        "transformers": _version("transformers"),
        "machine": platform.machine(),
        "processor": platform.processor() or None,
        "cpu_count": os.cpu_count(),
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
