"""Helpers shared by the CLI commands: error handling, parsing, printing JSON."""

from __future__ import annotations

import json
import math
import sys
from typing import Any

import numpy as np
import typer

from specbound.errors import InvalidInputError, SpecboundError

__all__ = [
    "check_model_options",
    "echo_json",
    "fail",
    "model_sources",
    "parse_count_list",
    "parse_float_list",
    "parse_probs",
    "run_app",
]

EXIT_USER_ERROR = 2


def fail(message: str) -> None:
    """Print ``error: message`` on stderr (one line)."""
    typer.echo(f"error: {message}", err=True)


def run_app(app: typer.Typer, argv: list[str] | None) -> int:
    """Run ``app``; turn user errors into one stderr line and exit code 2.

    Usage errors (unknown option, missing argument) are typer's own: usage text and exit 2.
    """
    command = typer.main.get_command(app)
    try:
        command.main(args=argv, prog_name="specbound", standalone_mode=True)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except SpecboundError as exc:
        fail(str(exc))
        return EXIT_USER_ERROR
    except MemoryError:  # NOTE: sizes are estimated up front; this is the last resort
        fail("out of memory: the sizes asked for need more memory than this machine has")
        return EXIT_USER_ERROR
    except RecursionError:
        fail("input nested too deeply to process")
        return EXIT_USER_ERROR
    return 0


def check_model_options(target: str | None, draft: str | None) -> None:
    """``--target`` and ``--draft`` come together, or neither (the embedded pair)."""
    if (target is None) != (draft is None):
        raise InvalidInputError("give both --target and --draft, or neither (embedded pair)")


def model_sources(
    pair: str | None, target: str | None, draft: str | None
) -> tuple[str | None, str | None]:
    """The ``(target, draft)`` to give :func:`specbound.lm.load_pair` for ``--pair``,
    ``--target`` and ``--draft``: a pair name as the target (``--draft`` may replace the
    named pair's draft), else the models given (both, or neither: the embedded pair)."""
    if pair is None:
        check_model_options(target, draft)
        return target, draft
    from specbound.lm.pairs import PAIR_NAMES

    name = pair.strip().lower()
    if name not in PAIR_NAMES:
        raise InvalidInputError(f"--pair must be one of {' | '.join(PAIR_NAMES)}; got {pair!r}")
    if target is not None:
        raise InvalidInputError(
            f"--pair {name} names the target: give --pair or --target {target!r}, not both"
        )
    if name == "embedded":
        if draft is not None:
            raise InvalidInputError(
                f"--pair embedded ships its own draft: remove --draft {draft!r}"
            )
        return None, None
    return name, draft


def parse_probs(text: str, name: str) -> np.ndarray:
    """Parse a JSON list of numbers given on the command line."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidInputError(
            f"{name}: expected a JSON list of probabilities such as '[0.5,0.5]', got {text!r}"
        ) from exc
    if not isinstance(value, list) or not value:
        raise InvalidInputError(f"{name}: expected a non-empty JSON list, got {text!r}")
    if any(isinstance(v, bool) or not isinstance(v, (int, float)) for v in value):
        raise InvalidInputError(
            f"{name}: expected a flat JSON list of numbers (not booleans, strings or lists), "
            f"got {text!r}"
        )
    try:
        return np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InvalidInputError(f"{name}: expected numbers, got {text!r}") from exc


#: At most this many distinct values in one list option (each is a separate run).
MAX_LIST_VALUES = 64
#: The largest M a list of draft counts may hold (profile, bench lm: M model copies).
MAX_LIST_DRAFTS = 256
#: The largest gamma a list of draft lengths may hold (beyond it: 'none', the horizon).
MAX_LIST_GAMMA = 4096


def parse_count_list(text: str, name: str, *, low: int = 1, high: int | None = None) -> list[int]:
    """``"1,2,4"`` or a range ``"1-8"`` (also ``"1..8"``) -> sorted distinct integers.

    Every value must lie in ``[low, high]`` and there may be at most
    :data:`MAX_LIST_VALUES` of them; both are checked before a range is expanded.
    """
    bound = f">= {low}" if high is None else f"in {low}..{high}"
    values: set[int] = set()
    for part in text.replace("..", "-").split(","):
        part = part.strip()
        if not part:
            continue
        try:
            if "-" in part[1:]:  # a range; part[0] may be a minus sign
                head, tail = part[1:].split("-", 1)
                first, last = int(part[0] + head), int(tail)
            else:
                first = last = int(part)
        except ValueError as exc:
            raise InvalidInputError(
                f"{name}: expected integers such as '1,2,4' or a range '1-8', got {text!r}"
            ) from exc
        for value in (first, last):
            if value < low or (high is not None and value > high):
                raise InvalidInputError(f"{name}: every value must be {bound}, got {value}")
        if last - first + 1 + len(values) > MAX_LIST_VALUES:
            raise InvalidInputError(
                f"{name}: at most {MAX_LIST_VALUES} values (each is a separate run), got {text!r}"
            )
        values.update(range(first, last + 1))
    if not values:
        raise InvalidInputError(f"{name}: expected at least one integer, got {text!r}")
    return sorted(values)


def parse_float_list(text: str, name: str) -> list[float]:
    """``"0.1,0.4"`` -> [0.1, 0.4]; ``""`` or ``"none"`` -> [] (non-negative finite floats)."""
    if text.strip().lower() in ("", "none"):
        return []
    try:
        values = [float(part) for part in text.split(",") if part.strip()]
    except ValueError as exc:
        raise InvalidInputError(
            f"{name}: expected numbers such as '0.1,0.4' (or 'none'), got {text!r}"
        ) from exc
    bad = [v for v in values if not (v >= 0 and math.isfinite(v))]
    if bad:
        raise InvalidInputError(f"{name}: every value must be a finite number >= 0, got {bad[0]}")
    return sorted(set(values))


def echo_json(payload: Any) -> None:
    """Print ``payload`` as indented, strict JSON on stdout (NaN/Infinity as null)."""
    from specbound.io import to_json

    sys.stdout.write(to_json(payload) + "\n")
