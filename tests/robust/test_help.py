"""``--help`` of every command reads as the docs do (issue 26): arguments in capitals
without braces (``PROMPT``, not ``{prompt}``), and no ``<bool>`` beside a flag."""

from __future__ import annotations

from typing import Any

import pytest
import typer
from robust_cli import run

from specbound.cli import app


def _paths(command: Any, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    paths = [prefix]
    for name, sub in getattr(command, "commands", {}).items():
        paths += _paths(sub, (*prefix, name))
    return paths


COMMANDS = _paths(typer.main.get_command(app))


def test_every_command_is_listed() -> None:
    assert ("generate",) in COMMANDS and ("sweep", "run") in COMMANDS and len(COMMANDS) > 10


@pytest.mark.parametrize("path", COMMANDS, ids=[" ".join(p) or "specbound" for p in COMMANDS])
def test_help_shows_no_braces_and_no_bool(path: tuple[str, ...], capsys, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("COLUMNS", "120")
    code, out, err = run([*path, "--help"], capsys)
    assert code == 0, err
    usage = next(line for line in out.splitlines() if "Usage:" in line)
    assert "{" not in usage, usage
    assert "<bool>" not in out
    if path == ("generate",):
        assert "generate [OPTIONS] PROMPT" in usage
