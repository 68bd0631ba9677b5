"""Helpers shared by the CLI commands: error handling, parsing, printing JSON."""

from __future__ import annotations

import json
import sys
from typing import Any

import numpy as np
import typer

from specbound.errors import InvalidInputError, SpecboundError

__all__ = ["echo_json", "fail", "parse_int_list", "parse_probs", "run_app"]

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
    return 0


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
    try:
        return np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InvalidInputError(f"{name}: expected numbers, got {text!r}") from exc


def parse_int_list(text: str, name: str) -> list[int]:
    """Parse ``"1,2,4"`` into ``[1, 2, 4]``."""
    try:
        values = [int(part) for part in text.split(",") if part.strip()]
    except ValueError as exc:
        raise InvalidInputError(
            f"{name}: expected comma-separated integers such as '1,2,4', got {text!r}"
        ) from exc
    if not values:
        raise InvalidInputError(f"{name}: expected at least one integer, got {text!r}")
    return values


def _default(obj: Any) -> Any:
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, np.generic):
        return obj.item()
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


def echo_json(payload: Any) -> None:
    """Print ``payload`` as indented JSON on stdout (numpy values converted)."""
    sys.stdout.write(json.dumps(payload, indent=2, default=_default) + "\n")
