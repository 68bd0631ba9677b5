"""``specbound distill``: user mistakes are one ``error:`` line and exit code 2; the auto
objective measures both objectives."""

from __future__ import annotations

from pathlib import Path

import pytest
from distill_helpers import run_distill

from specbound.cli import app
from specbound.cli.common import run_app


def _run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = run_app(app, ["distill", *args])
    return code, capsys.readouterr().err


def test_missing_target(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, err = _run(["--target", str(tmp_path / "nope"), "--out", str(tmp_path / "o")], capsys)
    assert code == 2
    assert err.startswith("error: ") and "does not exist" in err and err.count("\n") == 1


def test_out_is_a_file(
    teacher_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "file"
    path.write_text("x")
    code, err = _run(["--target", str(teacher_dir), "--out", str(path)], capsys)
    assert code == 2 and "not a folder" in err


@pytest.mark.parametrize(
    ("option", "value", "words"),
    [
        ("--objective", "l2", "--objective"),
        ("--head-tokens", "many", "--head-tokens"),
        ("--head-tokens", "0", "--head-tokens"),
        ("--max-minutes", "0", "--max-minutes"),
        ("--draft-layers", "0", "--draft-layers"),
        ("--threads", "0", "--threads"),
    ],
)
def test_bad_options(
    teacher_dir: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    option: str,
    value: str,
    words: str,
) -> None:
    code, err = _run(
        ["--target", str(teacher_dir), "--out", str(tmp_path / "o"), option, value], capsys
    )
    assert code == 2 and err.startswith("error: ") and words in err


def test_a_used_out_needs_resume(
    short_run: tuple[Path, dict], teacher_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out, _ = short_run
    code, err = _run(["--target", str(teacher_dir), "--out", str(out)], capsys)
    assert code == 2 and "--resume" in err


def test_gguf_suffix_is_required_for_a_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "model.bin"
    path.write_bytes(b"\0")
    code, err = _run(["--target", str(path), "--out", str(tmp_path / "o")], capsys)
    assert code == 2 and ".gguf" in err


def test_auto_measures_both_objectives(
    teacher_dir: Path, instructions_file: Path, tmp_path: Path
) -> None:
    record = run_distill(
        teacher_dir, tmp_path, instructions_file, objective="auto", max_minutes=0.15
    )
    assert [p["name"] for p in record["phases"]] == ["kl", "tv", "final"]
    assert set(record["heldout"]) == {"kl", "tv", "final"}
    assert record["objective"] == min(record["heldout"], key=lambda n: record["heldout"][n]["tv"])
    assert record["phases"][2]["started_from"] in ("kl", "tv")
