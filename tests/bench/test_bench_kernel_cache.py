"""The kernel choice is timed once per machine and read back by every later process, so
that the same seed gives the same numbers (kernels differ by float rounding)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from specbound.lm.engine import kernel_cache
from specbound.lm.engine.kernel_cache import cache_path, cached_choice, group_key

KNOWN = ("linear", "transposed", "packed")
SHAPES = [(768, 256, True), (256, 256, True)]


@pytest.fixture
def cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("SPECBOUND_CACHE_DIR", str(tmp_path))
    return tmp_path


class Chooser:
    """A stand-in for the timing: returns ``answer`` and counts its calls."""

    def __init__(self, answer: tuple[str, ...]) -> None:
        self.answer, self.calls = answer, 0

    def __call__(self) -> tuple[str, ...]:
        self.calls += 1
        return self.answer


def test_first_choice_is_stored_and_read_back(cache_dir: Path) -> None:
    key = group_key(SHAPES, torch.float32, True)
    first = Chooser(("transposed", "packed"))
    assert cached_choice(key, KNOWN, first) == ("transposed", "packed")
    again = Chooser(("linear",))  # a later process would time differently: not asked
    assert cached_choice(key, KNOWN, again) == ("transposed", "packed")
    assert (first.calls, again.calls) == (1, 0)
    assert cache_path() == cache_dir / "kernels.json"
    assert json.loads(cache_path().read_text())[key] == ["transposed", "packed"]


def test_key_changes_with_what_the_choice_depends_on(monkeypatch: pytest.MonkeyPatch) -> None:
    base = group_key(SHAPES, torch.float32, True)
    assert group_key(SHAPES, torch.float32, True) == base
    assert group_key(SHAPES[:1], torch.float32, True) != base
    assert group_key(SHAPES, torch.bfloat16, True) != base
    assert group_key(SHAPES, torch.float32, False) != base
    monkeypatch.setattr(kernel_cache, "cpu_name", lambda: "another CPU")
    assert group_key(SHAPES, torch.float32, True) != base
    threads = torch.get_num_threads()
    monkeypatch.undo()
    torch.set_num_threads(threads + 1)
    try:
        assert group_key(SHAPES, torch.float32, True) != base
    finally:
        torch.set_num_threads(threads)


@pytest.mark.parametrize(
    "content", ["not json {", "[1, 2]", json.dumps({"k": ["fast"]}), json.dumps({"k": []})]
)
def test_unreadable_or_foreign_entries_are_timed_anew(cache_dir: Path, content: str) -> None:
    cache_path().write_text(content)
    chooser = Chooser(("linear", "transposed"))
    assert cached_choice("k", KNOWN, chooser) == ("linear", "transposed")
    assert chooser.calls == 1
    assert json.loads(cache_path().read_text())["k"] == ["linear", "transposed"]


def test_an_unwritable_cache_only_costs_the_timing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setenv("SPECBOUND_CACHE_DIR", str(blocker / "below-a-file"))
    chooser = Chooser(("packed",))
    assert cached_choice("k", KNOWN, chooser) == ("packed",)
    assert cached_choice("k", KNOWN, chooser) == ("packed",)
    assert chooser.calls == 2  # nothing could be stored: timed each time, no error


def test_default_place_follows_xdg(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("SPECBOUND_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert cache_path() == tmp_path / "specbound" / "kernels.json"


def test_two_processes_choose_the_same_kernels(tmp_path: Path) -> None:
    """The embedded target in two fresh processes sharing one cache: the same kernels,
    the second read back (no second entry)."""
    script = (
        "import specbound as sb\n"
        "from specbound.lm.engine.neox import StaticNeoX\n"
        "pair = sb.lm.load_pair()\n"
        "w = StaticNeoX(pair.target, pair.vocab_size).weights\n"
        "print(','.join(w.kernels.by_rows + w.head.choice.by_rows))\n"
    )
    env = {**os.environ, "SPECBOUND_CACHE_DIR": str(tmp_path)}
    runs = [
        subprocess.run(
            [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True
        ).stdout.strip()
        for _ in range(2)
    ]
    assert runs[0] == runs[1] and runs[0]
    assert len(json.loads((tmp_path / "kernels.json").read_text())) == 2  # layers, head
