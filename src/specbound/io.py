"""Results files: atomic writes and provenance, so an interrupted run loses nothing.

Every experiment, benchmark, figure and chain file is written through
:func:`atomic_output` (a temporary file in the same folder, then ``os.replace``): a reader
sees either the old file or the new one, never half of one. Links are written through,
devices and folders are refused, and :func:`check_output_file` checks a place before any
computation starts.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import platform
import stat
import tempfile
from collections.abc import Iterator
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from specbound.errors import OutputPathError

__all__ = [
    "atomic_output",
    "check_output_file",
    "check_output_folder",
    "environment_info",
    "read_json",
    "to_json",
    "write_json_atomic",
    "write_text_atomic",
]


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


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _resolve_output(path: str | Path, name: str) -> Path:
    """``path`` with symbolic links resolved; refuse what can never be an output file."""
    text = os.fspath(path)
    if not str(text).strip():
        raise OutputPathError(f"{name}: empty path; give a file path")
    # NOTE: realpath follows every link (a dangling one gives where it points), so the
    # replace below writes through the link instead of replacing it.
    target = Path(os.path.realpath(Path(text).expanduser()))
    try:
        info = target.stat()
    except FileNotFoundError:
        return target
    except OSError as exc:
        raise OutputPathError(f"{name} {text!r}: cannot be inspected ({exc.strerror})") from exc
    if stat.S_ISDIR(info.st_mode):
        raise OutputPathError(f"{name} {text!r} is a folder; give a file path")
    if not stat.S_ISREG(info.st_mode):
        raise OutputPathError(
            f"{name} {text!r} is not a regular file (a device, pipe or socket); give a file path"
        )
    return target


def _probe_folder(folder: Path, name: str, shown: str) -> None:
    """Refuse a folder that is missing, not a folder, or where no file can be created."""
    if not folder.exists():
        raise OutputPathError(f"{name} {shown!r}: folder {str(folder)!r} does not exist")
    if not folder.is_dir():
        raise OutputPathError(f"{name} {shown!r}: {str(folder)!r} is not a folder")
    try:
        fd, probe = tempfile.mkstemp(prefix=".specbound-probe.", dir=folder)
    except OSError as exc:
        raise OutputPathError(
            f"{name} {shown!r}: cannot write in folder {str(folder)!r} ({exc.strerror})"
        ) from exc
    os.close(fd)
    os.unlink(probe)


def check_output_file(
    path: str | Path, name: str = "output file", *, parents: bool = False
) -> Path:
    """Where ``path`` will be written (links resolved), checked before any work.

    Refused (:class:`OutputPathError` naming ``name``): an empty path, a folder, anything
    but a regular file (``/dev/full``, a pipe), a parent folder that does not exist
    (unless ``parents``) or where no file can be created (read-only place).
    """
    target = _resolve_output(path, name)
    folder = target.parent
    if parents and not folder.exists():
        existing = next(p for p in folder.parents if p.exists())
        _probe_folder(existing, name, os.fspath(path))
        return target
    _probe_folder(folder, name, os.fspath(path))
    return target


def check_output_folder(path: str | Path, name: str = "output folder") -> Path:
    """An output folder: existing and writable, or creatable in a writable parent."""
    text = os.fspath(path)
    if not str(text).strip():
        raise OutputPathError(f"{name}: empty path; give a folder")
    folder = Path(os.path.realpath(Path(text).expanduser()))
    if folder.exists():
        if not folder.is_dir():
            raise OutputPathError(f"{name} {text!r} exists and is not a folder")
        _probe_folder(folder, name, text)
    else:
        _probe_folder(folder.parent, name, text)
    return folder


@contextlib.contextmanager
def atomic_output(
    path: str | Path, name: str = "output file", *, parents: bool = False
) -> Iterator[Path]:
    """Yield a temporary path beside ``path``'s target; on success it replaces the target.

    Written through symbolic links (the link's target is replaced), never over anything
    but a regular file, with the umask's permissions for a new file (an existing file keeps
    its mode). On failure the temporary file is removed and the target is untouched.
    """
    target = check_output_file(path, name, parents=parents)
    if parents:
        target.parent.mkdir(parents=True, exist_ok=True)
    mode = target.stat().st_mode & 0o7777 if target.exists() else 0o666 & ~_umask()
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    except OSError as exc:
        raise OutputPathError(f"{name} {os.fspath(path)!r}: cannot write ({exc.strerror})") from exc
    os.close(fd)
    try:
        yield Path(tmp)
        os.chmod(tmp, mode)
        os.replace(tmp, target)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise OutputPathError(
            f"{name} {os.fspath(path)!r}: writing failed ({exc.strerror or exc})"
        ) from exc
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_text_atomic(
    path: str | Path, text: str, name: str = "output file", *, parents: bool = True
) -> Path:
    """Write ``text`` to ``path`` atomically (:func:`atomic_output`); returns ``path``.

    ``parents``: create missing parent folders (internal results trees); the CLI checks
    user-given paths with ``parents=False`` first.
    """
    with atomic_output(path, name, parents=parents) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)


def write_json_atomic(
    path: str | Path, payload: Any, name: str = "output file", *, parents: bool = True
) -> Path:
    """Write ``payload`` as indented strict JSON atomically; numpy values are converted."""
    return write_text_atomic(path, to_json(payload) + "\n", name, parents=parents)


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
