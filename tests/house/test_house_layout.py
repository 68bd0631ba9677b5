"""The house rules, checked on the source: families decide, backends ask.

Outside ``core/`` (where the families live) and ``algorithms.py`` (where the specs name
their rules), no module may read ``round_start_rule``, ``block_rule`` or test
``step_rule is None`` to decide what to do: every backend asks the spec's family. The
round's draft length ``min(gamma, remaining)`` is written once (``core/families``), and
the options each algorithm reads once (``registry.py``).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src" / "specbound"
ALLOWED = ("core/", "algorithms.py")

FAMILY_TESTS = re.compile(r"\.(round_start_rule|block_rule)\b|\.step_rule\s+is\s+(not\s+)?None")
DRAFT_LENGTH = re.compile(r"else (np\.)?min(imum)?\(\s*(algorithm\.)?gamma\s*,")


def _sources() -> list[Path]:
    files = sorted(SRC.rglob("*.py"))
    assert len(files) > 50, "the package sources were not found"
    return files


def _outside_allowed(path: Path) -> bool:
    relative = path.relative_to(SRC).as_posix()
    return not relative.startswith(ALLOWED)


def test_no_backend_tests_which_family_it_holds() -> None:
    offenders = [
        f"{path.relative_to(SRC)}:{n}: {line.strip()}"
        for path in _sources()
        if _outside_allowed(path)
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if FAMILY_TESTS.search(line)
    ]
    assert offenders == []


def test_the_draft_length_is_written_once() -> None:
    places = [
        f"{path.relative_to(SRC)}:{n}"
        for path in _sources()
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if DRAFT_LENGTH.search(line)
    ]
    assert [place.split(":")[0] for place in places] == ["core/families/base.py"]


@pytest.mark.parametrize("module", ["cli/options.py", "sweep/grid.py", "sweep/cells.py"])
def test_the_option_table_is_written_once(module: str) -> None:
    """Which options an algorithm reads lives in registry.py only: the CLI and the sweep
    name no algorithm and no option default of their own."""
    text = (SRC / module).read_text()
    names = re.findall(r'"(ar|sd|block|batch|opt|uno)"', text)
    defaults = re.findall(
        r"(num_drafts|eps|verifier|\"M\")[^\n]*(, 2\)|, 0\.1\)|\"recursive\"\))", text
    )
    assert names == [] and defaults == []


def test_the_pattern_catches_a_family_test() -> None:
    """Negative control: the check above would catch the old dispatch."""
    assert FAMILY_TESTS.search("if algorithm.block_rule is not None:")
    assert FAMILY_TESTS.search("if algorithm.step_rule is None:  # autoregressive")
    assert DRAFT_LENGTH.search("k = remaining if gamma is None else min(gamma, remaining)")
