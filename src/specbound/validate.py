"""Checks of scalar arguments: integers and floats with a name and bounds, written once.

Every public entry point of specbound checks its scalar inputs through these two
functions, so a bad value always gives the same kind of message: the argument's name,
what was expected, what was given. ``bool`` is never accepted as a number (``True`` is an
``int`` to Python, but never what a user meant by ``gamma=True``).
"""

from __future__ import annotations

import contextlib
import math
import numbers
import os
from pathlib import Path

from specbound.errors import InvalidInputError, ResourceLimitError, SpecboundError

__all__ = [
    "available_memory",
    "check_float",
    "check_int",
    "check_memory",
    "check_seed",
    "format_bytes",
]


def _bounds(low: float | None, high: float | None, *, low_open: bool = False) -> str:
    if low is not None and high is not None:
        return f"in {'(' if low_open else '['}{low:g}, {high:g}]"
    if low is not None:
        return f"{'>' if low_open else '>='} {low:g}"
    if high is not None:
        return f"<= {high:g}"
    return "a number"


def check_int(
    value: object,
    name: str,
    *,
    low: int | None = None,
    high: int | None = None,
    error: type[SpecboundError] = InvalidInputError,
) -> int:
    """``value`` as an ``int`` within ``[low, high]``; else ``error`` naming ``name``."""
    expected = f"an integer {_bounds(low, high)}" if (low, high) != (None, None) else "an integer"
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise error(f"{name} must be {expected}, got {value!r}")
    number = int(value)
    if (low is not None and number < low) or (high is not None and number > high):
        raise error(f"{name} must be {_bounds(low, high)}, got {number}")
    return number


def check_float(
    value: object,
    name: str,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    error: type[SpecboundError] = InvalidInputError,
) -> float:
    """``value`` as a finite ``float`` within the bounds (``low_open``: ``> low``)."""
    bounds = _bounds(low, high, low_open=low_open)
    expected = "a finite number" + ("" if bounds == "a number" else f" {bounds}")
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise error(f"{name} must be {expected}, got {value!r}")
    number = float(value)
    too_low = low is not None and (number <= low if low_open else number < low)
    too_high = high is not None and number > high
    if not math.isfinite(number) or too_low or too_high:
        raise error(f"{name} must be {expected}, got {value!r}")
    return number


def check_seed(value: object, name: str = "seed") -> int:
    """A seed: an integer >= 0 (a NumPy ``SeedSequence`` entropy)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or int(value) < 0:
        raise InvalidInputError(f"{name} must be a non-negative integer, got {value!r}")
    return int(value)


def _cgroup_headroom() -> float:
    """Bytes the cgroup (v2) still allows this process, or infinity without a limit."""
    root = Path("/sys/fs/cgroup")
    try:
        limit = (root / "memory.max").read_text().strip()
        used = (root / "memory.current").read_text().strip()
    except OSError:
        return math.inf
    if limit == "max":
        return math.inf
    try:
        return max(float(limit) - float(used), 0.0)
    except ValueError:
        return math.inf


def _mapped_bytes() -> float:
    """This process's address space now (``VmSize``), 0 where unknown."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmSize:"):
                return float(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0.0


def available_memory() -> float:
    """Bytes of memory a new allocation can count on: the least of the machine's
    available memory (``MemAvailable``), the cgroup's headroom and the address-space limit.
    """
    candidates = [_cgroup_headroom()]
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                candidates.append(float(line.split()[1]) * 1024)
    except (OSError, ValueError, IndexError):
        with contextlib.suppress(OSError, ValueError, AttributeError):
            candidates.append(float(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")))
    try:
        import resource

        soft, _ = resource.getrlimit(resource.RLIMIT_AS)
        if soft != resource.RLIM_INFINITY:
            candidates.append(max(float(soft) - _mapped_bytes(), 0.0))
    except (ImportError, OSError, ValueError):
        pass
    return min(candidates)


def format_bytes(size: float) -> str:
    """``3.2 GiB``, ``512 MiB``, ``12 KiB``."""
    for unit, scale in (("TiB", 2**40), ("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if size >= scale:
            return f"{size / scale:.1f} {unit}"
    return f"{size:.0f} B"


def check_memory(
    estimate: float, what: str, *, error: type[SpecboundError] = ResourceLimitError
) -> None:
    """Refuse, before any allocation, work whose memory ``estimate`` (bytes) exceeds what
    is available: ``error`` naming ``what`` with both numbers."""
    available = available_memory()
    if estimate > available:
        raise error(
            f"{what} needs about {format_bytes(estimate)} of memory, more than the "
            f"{format_bytes(available)} available; use a smaller size"
        )
