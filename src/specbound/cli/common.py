"""Helpers shared by the CLI commands: error handling, parsing, printing JSON."""

from __future__ import annotations

import json
import math
import sys
from typing import Any

import numpy as np
import typer

from specbound.errors import InvalidAlgorithmError, InvalidInputError, SpecboundError
from specbound.validate import check_float, check_int

__all__ = [
    "EXIT_INTERRUPTED",
    "EXIT_USER_ERROR",
    "check_algorithm_values",
    "check_model_options",
    "echo_json",
    "fail",
    "given_on_command_line",
    "model_sources",
    "parse_count_list",
    "parse_float_list",
    "parse_probs",
    "run_app",
    "split_list",
    "take_prompts",
    "workload_prompts",
]

EXIT_USER_ERROR = 2
#: Exit status after Ctrl-C (128 + SIGINT), once what was done is saved or printed.
EXIT_INTERRUPTED = 130


def fail(message: str) -> None:
    """Print ``error: message`` on stderr (one line)."""
    typer.echo(f"error: {message}", err=True)


def run_app(app: typer.Typer, argv: list[str] | None) -> int:
    """Run ``app``; turn user errors into one stderr line and exit code 2.

    Usage errors (unknown option, missing argument) are typer's own: usage text and exit 2.
    """
    from specbound.cli.app import tidy_help

    command = typer.main.get_command(app)
    tidy_help(command)
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


def check_algorithm_values(name: str, *, num_drafts: int, eps: float) -> None:
    """The values of ``-M`` and ``--eps`` that ``--algorithm name`` reads, checked under the
    names the user typed (the library would name its parameters, ``num_drafts``)."""
    if name.strip().lower() == "batch":
        check_int(num_drafts, "--num-drafts/-M", low=1, error=InvalidAlgorithmError)
    if name.strip().lower() in ("opt", "uno"):
        check_float(eps, "--eps", low=0.0, error=InvalidAlgorithmError)


def given_on_command_line(context: typer.Context, parameter: str) -> bool:
    """Whether the user typed ``parameter``'s option (not its default)."""
    source = context.get_parameter_source(parameter)
    return source is not None and source.name == "COMMANDLINE"


def take_prompts(
    context: typer.Context, path: str | None, count: int, *, quiet: bool = False
) -> list[str]:
    """The first ``count`` prompts of ``path`` (None: the shipped set) for ``--num-prompts``.

    A file with fewer is an error when ``--num-prompts`` was typed (it would be silently
    cut), a note on stderr when ``count`` is the command's default (unless ``quiet``).
    """
    from specbound.lm.prompts import load_prompts

    texts = load_prompts(path)
    if count <= len(texts):
        return texts[:count]
    source = "the shipped prompts" if path is None else f"the prompts file {path!r}"
    if given_on_command_line(context, "num_prompts"):
        raise InvalidInputError(
            f"--num-prompts {count}: {source} holds only {len(texts)} prompts; "
            f"ask for at most {len(texts)}"
        )
    if not quiet:
        typer.echo(
            f"note: {source} holds {len(texts)} prompts (fewer than --num-prompts "
            f"{count}); using those {len(texts)}",
            err=True,
        )
    return texts


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


def split_list(text: str, name: str) -> list[str]:
    """The comma-separated parts of ``text``, stripped; an empty part (``"2,,4"``, a
    trailing comma) is an error naming the option: it is a typo, not a value."""
    parts = [part.strip() for part in text.split(",")]
    if any(not part for part in parts):
        raise InvalidInputError(
            f"{name}: empty value between commas in {text!r}; give values such as '1,2,4'"
        )
    return parts


def parse_count_list(text: str, name: str, *, low: int = 1, high: int | None = None) -> list[int]:
    """``"1,2,4"`` or a range ``"1-8"`` (also ``"1..8"``) -> sorted distinct integers.

    Every value must lie in ``[low, high]`` and there may be at most
    :data:`MAX_LIST_VALUES` of them; both are checked before a range is expanded. An
    empty part (``"2,,4"``) is refused (:func:`split_list`).
    """
    bound = f">= {low}" if high is None else f"in {low}..{high}"
    values: set[int] = set()
    if not text.strip():
        raise InvalidInputError(f"{name}: expected at least one integer, got {text!r}")
    for part in split_list(text.replace("..", "-"), name):
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
    """``"0.1,0.4"`` -> [0.1, 0.4]; ``""`` or ``"none"`` -> [] (non-negative finite floats);
    an empty part (``"0.1,,0.4"``) is refused."""
    if text.strip().lower() in ("", "none"):
        return []
    parts = split_list(text, name)
    try:
        values = [float(part) for part in parts]
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


def workload_prompts(
    context: typer.Context,
    path: str | None,
    workload: str | None,
    count: int,
    *,
    quiet: bool = False,
) -> list[str]:
    """``--workload`` or ``--prompts``: the shipped ``workload`` set (``grounded`` |
    ``open``), or :func:`take_prompts` of ``path`` (the shipped short prompts when neither
    is given); the first ``count``."""
    if workload is None:
        return take_prompts(context, path, count, quiet=quiet)
    from specbound.lm.prompts import load_workload

    if path is not None:
        raise InvalidInputError(f"give --prompts or --workload, not both (got {path!r})")
    try:
        return load_workload(workload, count)
    except InvalidInputError as exc:
        raise InvalidInputError(f"--workload: {exc}") from None
