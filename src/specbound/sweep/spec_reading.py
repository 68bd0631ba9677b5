"""Reading a sweep spec's TOML: the line of every key, typed reads that name the key.

``tomllib`` reports no line numbers for values, so :class:`SpecText` finds the line of a
key by scanning the file's text for its table header and its ``key =`` line;
:class:`SpecTable` reads one table's values through converters (``as_int``, ``as_gamma``,
...) and turns their ``ValueError`` into a :class:`SweepSpecError` naming the file, the
line and the key.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from specbound.errors import SpecboundError

__all__ = [
    "SpecTable",
    "SpecText",
    "SweepSpecError",
    "as_branching",
    "as_choice",
    "as_float",
    "as_gamma",
    "as_int",
    "as_text",
]

T = TypeVar("T")


class SweepSpecError(SpecboundError):
    """A sweep spec that cannot be read, with the key and the line at fault."""


_HEADER = re.compile(r"^\s*(\[\[?)\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")
_KEY = re.compile(r"^\s*([A-Za-z0-9_\-.\"' ]+?)\s*=")


class SpecText:
    """The text of a spec file, for finding the line of a key (1-based)."""

    def __init__(self, text: str, source: str) -> None:
        self.source = source
        self.lines: dict[tuple[str | int, ...], int] = {}
        current: tuple[str | int, ...] = ()
        counts: dict[tuple[str | int, ...], int] = {}
        for number, line in enumerate(text.splitlines(), start=1):
            header = _HEADER.match(line)
            if header:
                base = tuple(part.strip().strip("\"'") for part in header[2].split("."))
                if header[1] == "[[":
                    index = counts.get(base, 0)
                    counts[base] = index + 1
                    current = (*base, index)
                else:
                    current = base
                self.lines.setdefault(current, number)
                continue
            key = _KEY.match(line)
            if key:
                parts = tuple(p.strip().strip("\"'") for p in key[1].split("."))
                self.lines.setdefault((*current, *parts), number)

    def line(self, path: Sequence[str | int]) -> int | None:
        """The line of ``path`` (e.g. ``("chains", "random", 0, "mix")``), or of the
        nearest table above it; None when nothing matches."""
        keys = tuple(path)
        while keys:
            if keys in self.lines:
                return self.lines[keys]
            keys = keys[:-1]
        return None

    def error(self, path: Sequence[str | int], message: str) -> SweepSpecError:
        """A :class:`SweepSpecError` naming the file, the line and the key."""
        dotted = ".".join(f"[{p}]" if isinstance(p, int) else p for p in path).replace(".[", "[")
        line = self.line(path)
        where = f"{self.source}, line {line}" if line is not None else self.source
        return SweepSpecError(f"{where}: {dotted}: {message}")


class SpecTable:
    """One TOML table with its path, for typed reads that name the key on failure."""

    def __init__(self, raw: Any, path: tuple[str | int, ...], text: SpecText) -> None:
        if not isinstance(raw, dict):
            raise text.error(path, f"must be a table, got {type(raw).__name__}")
        self.raw: dict[str, Any] = raw
        self.path = path
        self.text = text

    def check_keys(self, known: Sequence[str]) -> None:
        for key in self.raw:
            if key not in known:
                raise self.text.error(
                    (*self.path, key), f"unknown key (expected one of: {', '.join(known)})"
                )

    def fail(self, key: str, message: str) -> SweepSpecError:
        return self.text.error((*self.path, key), message)

    def get(self, key: str, convert: Callable[[Any], T], default: T | None = None) -> T:
        if key not in self.raw:
            if default is None:
                raise self.fail(key, "missing (required)")
            return default
        try:
            return convert(self.raw[key])
        except (TypeError, ValueError) as exc:
            raise self.fail(key, str(exc)) from None

    def get_list(
        self, key: str, convert: Callable[[Any], T], default: Sequence[T]
    ) -> tuple[T, ...]:
        """A list of values (a single value counts as a list of one); never empty."""
        raw = self.raw.get(key, list(default))
        values = raw if isinstance(raw, list) else [raw]
        if not values:
            raise self.fail(key, "is empty: the grid would have no cells")
        out = []
        for value in values:
            try:
                out.append(convert(value))
            except (TypeError, ValueError) as exc:
                raise self.fail(key, str(exc)) from None
        return tuple(dict.fromkeys(out))  # distinct, in order


def as_int(low: int) -> Callable[[Any], int]:
    def convert(value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise ValueError(f"must be an integer >= {low}, got {value!r}")
        return int(value)

    return convert


def as_float(
    low: float, high: float | None = None, open_low: bool = False
) -> Callable[[Any], float]:
    def convert(value: Any) -> float:
        bad = isinstance(value, bool) or not isinstance(value, (int, float))
        number = float(value) if not bad else 0.0
        if bad or number < low or (open_low and number <= low) or (high and number > high):
            bound = f"> {low:g}" if open_low else f">= {low:g}"
            bound += "" if high is None else f" and <= {high:g}"
            raise ValueError(f"must be a number {bound}, got {value!r}")
        return number

    return convert


def as_choice(options: Sequence[str]) -> Callable[[Any], str]:
    def convert(value: Any) -> str:
        if value not in options:
            raise ValueError(f"must be one of {', '.join(options)}, got {value!r}")
        return str(value)

    return convert


def as_gamma(value: Any) -> int | None:
    if isinstance(value, str) and value.lower() in ("none", "horizon"):
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"must be an integer >= 1 or 'none' (draft to the horizon), got {value!r}")
    return int(value)


def as_branching(value: Any) -> tuple[int, ...]:
    """A tree shape: a list of integers >= 1 (``[4, 2, 1]``) or the CLI's ``"4,2,1"``."""
    parts = value.split(",") if isinstance(value, str) else value
    if not isinstance(parts, (list, tuple)) or not parts:
        raise ValueError(f"must be a list of children per depth such as [4, 2, 1], got {value!r}")
    try:
        shape = tuple(int(part) for part in parts)
    except (TypeError, ValueError):
        shape = ()
    if not shape or any(isinstance(p, bool) or b < 1 for p, b in zip(parts, shape, strict=False)):
        raise ValueError(f"must be integers >= 1 per depth such as [4, 2, 1], got {value!r}")
    return shape


def as_text(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"must be a non-empty string, got {value!r}")
    return value
