"""What a new user trips on with ``generate`` (issue 26): warm-up counted as overhead, an
interrupted run, a prompt that is not UTF-8, the embedded pair through its folders, and
``sb.lm.profile``."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

import specbound as sb
from specbound.cli import app
from specbound.cli.common import run_app
from specbound.errors import InvalidInputError
from specbound.lm import embedded_pair_path


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = run_app(app, ["generate", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture
def pair_args(tiny_dirs: tuple[Path, Path]) -> list[str]:
    return ["--target", str(tiny_dirs[0]), "--draft", str(tiny_dirs[1]), "--threads", "1"]


def test_warm_up_is_reported_apart(capsys: pytest.CaptureFixture[str], pair_args) -> None:  # type: ignore[no-untyped-def]
    code, out, err = cli(capsys, "a b", *pair_args, "-n", "6")
    assert code == 0, err
    summary = out.strip().splitlines()[-1]
    assert "warm-up" in summary and "not counted" in summary
    code, out, err = cli(capsys, "a b", *pair_args, "-n", "6", "--json")
    data = json.loads(out)
    assert code == 0 and data["warmup_seconds"] > 0
    stats = data["stats"]  # the measured generation: the warm-up is not in its times
    assert stats["wall_time"] == pytest.approx(
        stats["draft_time"] + stats["target_time"] + stats["overhead_time"]
    )


def _interrupting(monkeypatch: pytest.MonkeyPatch) -> None:
    """``lm.generate`` that streams a whole run, then is interrupted (Ctrl-C)."""
    real = sb.lm.generate

    def generate(*args: Any, on_tokens: Any = None, **kwargs: Any) -> Any:
        output = real(*args, on_tokens=on_tokens, **kwargs)
        if on_tokens is not None:  # the warm-up passes no callback
            raise KeyboardInterrupt
        return output

    monkeypatch.setattr(sb.lm, "generate", generate)


def test_an_interrupted_generate_prints_what_it_had(
    capsys: pytest.CaptureFixture[str], pair_args, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    code, whole, _ = cli(capsys, "a b", *pair_args, "-n", "6", "--temperature", "0")
    _interrupting(monkeypatch)
    code, out, err = cli(capsys, "a b", *pair_args, "-n", "6", "--temperature", "0")
    assert code == 130 and "Traceback" not in err and "Aborted" not in err
    assert out == whole.splitlines()[0] + "\n"  # the text, no statistics line
    assert re.search(r"^interrupted after \d+ new tokens", err)
    code, out, err = cli(capsys, "a b", *pair_args, "-n", "6", "--json", "--temperature", "0")
    data = json.loads(out)
    assert code == 130 and data["interrupted"] is True and data["token_ids"]
    assert f"interrupted after {len(data['token_ids'])} new tokens" in err


def test_a_prompt_that_is_not_utf8_is_a_named_error(tiny_pair) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InvalidInputError, match=r"prompt is not valid UTF-8 text \(byte 0xe9"):
        sb.lm.generate(tiny_pair, "caf\udce9", max_new_tokens=2)


def test_batch_optimal_on_a_small_vocabulary_still_runs(
    capsys: pytest.CaptureFixture[str], pair_args
) -> None:  # type: ignore[no-untyped-def]
    code, _, err = cli(capsys, "a b", *pair_args, "-n", "4", "-a", "batch", "--verifier", "optimal")
    assert code == 0, err


def test_sb_lm_profile_points_to_sb_profile() -> None:
    with pytest.raises(AttributeError, match=r"specbound\.profile"):
        sb.lm.profile  # noqa: B018
    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        sb.lm.nothing  # type: ignore[attr-defined]  # noqa: B018


@pytest.mark.skipif(
    not (embedded_pair_path() / "target" / "config.json").is_file(),
    reason="the embedded pair is not built yet",
)
def test_the_embedded_pair_through_its_folders_is_the_same_pair(
    capsys: pytest.CaptureFixture[str],
) -> None:
    root = embedded_pair_path()
    folders = ["--target", str(root / "target"), "--draft", str(root / "draft")]
    folders += ["--tokenizer", str(root / "tokenizer")]
    runs = []
    for extra in ([], folders):
        code, out, err = cli(capsys, "The with statement", "-n", "8", "--json", *extra)
        assert code == 0, err
        runs.append(json.loads(out))
    assert runs[0]["prompt_ids"] == runs[1]["prompt_ids"]
    assert runs[0]["prompt_ids"][0] == 0  # the end-of-text prefix, from specbound.json
    assert runs[0]["token_ids"] == runs[1]["token_ids"]
