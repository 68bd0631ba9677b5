"""Checks of scalar arguments: integers and floats with a name and bounds, written once.

Every public entry point of specbound checks its scalar inputs through these two
functions, so a bad value always gives the same kind of message: the argument's name,
what was expected, what was given. ``bool`` is never accepted as a number (``True`` is an
``int`` to Python, but never what a user meant by ``gamma=True``).
"""

from __future__ import annotations

import math
import numbers

from specbound.errors import InvalidInputError, SpecboundError

__all__ = ["check_float", "check_int", "check_seed"]


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
