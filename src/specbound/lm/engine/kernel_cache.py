"""The matrix-product kernels chosen on this machine, remembered between processes.

:func:`~specbound.lm.engine.matmul.choose_kernels` times the kernels of a group of linear
layers once per process. The kernels differ by float rounding only, but where two are
about as fast the timing can choose differently from one process to the next, and a
seeded run would then, rarely, draw another token: the same seed must give the same
numbers. So the first choice made for a group of shapes on this machine is written to a
small JSON file and every later process reads it back (which also saves the timing,
about a second for the embedded target).

The key holds everything the choice depends on: the CPU, torch's version and thread
count, the dtype, whether packing was possible, and the (out, in, bias) shape of every
linear of the group. The file lives in ``$SPECBOUND_CACHE_DIR`` if set, else
``$XDG_CACHE_HOME/specbound`` or ``~/.cache/specbound``; delete it to time the kernels
anew (after a change of machine load, say). A cache that cannot be read or written is
ignored: the kernels are then timed in every process, as without it.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
from collections.abc import Callable, Sequence
from pathlib import Path

import torch

__all__ = ["CACHE_FILE", "cache_dir", "cache_path", "cached_choice", "cpu_name", "group_key"]

#: The file name inside the cache folder.
CACHE_FILE = "kernels.json"


def cache_dir() -> Path:
    """specbound's user cache folder: ``$SPECBOUND_CACHE_DIR`` if set, else
    ``$XDG_CACHE_HOME/specbound``, else ``~/.cache/specbound`` (not created here)."""
    folder = os.environ.get("SPECBOUND_CACHE_DIR")
    if not folder:
        base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
        folder = str(Path(base) / "specbound")
    return Path(folder)


def cache_path() -> Path:
    """Where the choices are kept (see the module docstring)."""
    return cache_dir() / CACHE_FILE


def cpu_name() -> str:
    """The CPU's model name (``/proc/cpuinfo``), else what ``platform`` knows."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def group_key(shapes: Sequence[tuple[int, int, bool]], dtype: torch.dtype, packable: bool) -> str:
    """The key of a group of linears with these (out, in, bias) ``shapes``, on this
    machine, torch version and thread count."""
    parts = [
        cpu_name(),
        torch.__version__,
        str(torch.get_num_threads()),
        str(dtype),
        f"packable={packable}",
        *(f"{out}x{inp}{'+b' if bias else ''}" for out, inp, bias in shapes),
    ]
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:32]


def _read(path: Path) -> dict[str, list[str]]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _write(path: Path, data: dict[str, list[str]]) -> None:
    """``data`` to ``path`` through the one atomic writer (the umask's permissions)."""
    from specbound.errors import OutputPathError
    from specbound.io import write_text_atomic

    try:
        write_text_atomic(path, json.dumps(data, indent=1, sort_keys=True), "kernel cache")
    except (OSError, OutputPathError):
        return  # NOTE: an unwritable cache only costs the timing in the next process


def cached_choice(
    key: str, known: Sequence[str], choose: Callable[[], tuple[str, ...]]
) -> tuple[str, ...]:
    """The kernels stored under ``key``, or ``choose()``'s, stored for next time.

    A stored entry naming a kernel outside ``known`` is timed anew.
    """
    path = cache_path()
    stored = _read(path).get(key)
    if isinstance(stored, list) and stored and all(k in known for k in stored):
        return tuple(stored)
    chosen = choose()
    data = _read(path)  # re-read: another process may have written meanwhile
    data[key] = list(chosen)
    _write(path, data)
    return chosen
