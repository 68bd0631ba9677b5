"""Running the CLI in-process for the robustness tests, with a guard against hangs."""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Iterator
from typing import Any

from specbound.cli import app
from specbound.cli.common import run_app

#: Seconds any refused input may take before the test calls it a hang (not a speed test:
#: refusals answer in well under a second; this only stops a run that would never end).
HANG_SECONDS = 20


class HangError(Exception):
    """A command ran past :data:`HANG_SECONDS`."""


@contextlib.contextmanager
def no_hang(seconds: int = HANG_SECONDS) -> Iterator[None]:
    """Raise :class:`HangError` if the block runs longer than ``seconds``."""

    def alarm(signum: int, frame: Any) -> None:
        raise HangError(f"still running after {seconds} s")

    previous = signal.signal(signal.SIGALRM, alarm)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def run(args: list[Any], capsys: Any) -> tuple[int, str, str]:
    """``specbound ARGS`` in-process: (exit code, stdout, stderr)."""
    with no_hang():
        code = run_app(app, [str(a) for a in args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def assert_user_error(code: int, out: str, err: str, named: str) -> str:
    """Exit 2, exactly one ``error:`` line, naming ``named``, no traceback; the line."""
    lines = [line for line in (out + err).splitlines() if line.startswith("error:")]
    assert code == 2, (code, out[-400:], err[-400:])
    assert len(lines) == 1, (out[-400:], err[-400:])
    assert "Traceback" not in out + err
    assert named.lower() in lines[0].lower(), lines[0]
    return lines[0]
