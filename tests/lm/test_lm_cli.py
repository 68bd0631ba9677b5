"""``specbound generate``: streaming text and a summary, JSON, and exit code 2 on errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from specbound.algorithms import DEFAULT_GAMMA
from specbound.cli import app
from specbound.cli.common import run_app


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = run_app(app, ["generate", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture
def pair_args(tiny_dirs: tuple[Path, Path]) -> list[str]:
    return ["--target", str(tiny_dirs[0]), "--draft", str(tiny_dirs[1]), "--threads", "1"]


@pytest.mark.parametrize(
    "options",
    [
        [],
        ["--algorithm", "batch", "--num-drafts", "4"],
        ["--algorithm", "opt", "--eps", "0.2"],
        ["--algorithm", "uno", "--eps", "0.2", "--gamma", "none"],
        ["--algorithm", "ar", "--top-k", "3", "--top-p", "0.9", "--temperature", "0.8"],
    ],
)
def test_streams_text_then_one_summary_line(
    capsys: pytest.CaptureFixture[str], pair_args: list[str], options: list[str]
) -> None:
    code, out, err = cli(capsys, "a b", *pair_args, "-n", "12", *options)
    assert code == 0, err
    lines = out.rstrip("\n").split("\n")
    assert lines[0].startswith("a b")
    summary = lines[-1]
    for word in ("tokens,", "target calls", "acceptance", "tokens/s"):
        assert word in summary
    assert err == ""


def test_greedy_sd_prints_the_greedy_ar_text(
    capsys: pytest.CaptureFixture[str], pair_args: list[str]
) -> None:
    texts = []
    for algorithm in ("ar", "sd", "batch"):
        args = ("-a", algorithm, "--temperature", "0", "-n", "32")  # the window is 64
        code, out, err = cli(capsys, "b c", *pair_args, *args)
        assert code == 0, err
        texts.append(out.split("\n")[0])
    assert texts[0] == texts[1] == texts[2]


def test_json_output(capsys: pytest.CaptureFixture[str], pair_args: list[str]) -> None:
    code, out, _ = cli(capsys, "a", *pair_args, "-n", "8", "--seed", "3", "--json")
    assert code == 0
    data = json.loads(out)
    assert data["algorithm"] == {"name": "sd", "gamma": DEFAULT_GAMMA}
    assert data["seed"] == 3 and data["prompt"] == "a"
    assert len(data["token_ids"]) == data["stats"]["new_tokens"] <= 8
    again = json.loads(cli(capsys, "a", *pair_args, "-n", "8", "--seed", "3", "--json")[1])
    assert again["token_ids"] == data["token_ids"]


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["a", "--target", "/no/such/dir", "--draft", "/no/such/dir"], "/no/such/dir"),
        (["a", "--algorithm", "opt", "--eps", "-1"], "eps"),
        (["a", "--algorithm", "batch", "--num-drafts", "0"], "--num-drafts"),
        (["a", "--algorithm", "beam"], "algorithm"),
        (["a", "--gamma", "many"], "--gamma"),
        (["a", "--temperature", "-1"], "temperature"),
        (["a", "--max-new-tokens", "0"], "max-new-tokens"),
        (["   "], "prompt"),
        (["a", "--target", "/no/such/dir"], "both"),
    ],
)
def test_user_errors_exit_2(
    capsys: pytest.CaptureFixture[str], args: list[str], needle: str
) -> None:
    code, _, err = cli(capsys, *args)
    assert code == 2
    assert err.startswith("error: ") and err.count("\n") == 1
    assert needle in err


def test_pair_errors_exit_2(
    capsys: pytest.CaptureFixture[str], tiny_dirs: tuple[Path, Path], tmp_path: Path
) -> None:
    code, _, err = cli(capsys, "a", "--target", str(tiny_dirs[0]), "--draft", str(tmp_path))
    assert code == 2 and "config.json" in err


def test_help_does_not_import_torch() -> None:
    code = (
        "import sys\n"
        "from specbound.cli import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        "heavy = [m for m in ('torch', 'transformers') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_auto_threads() -> None:
    from specbound.lm.engine.threads import auto_threads

    assert auto_threads(5_000_000) == 1
    assert auto_threads(7_000_000_000, cores=16) is None
    assert auto_threads(7_000_000_000, cores=2) == 1  # 2 cores: one thread whatever the model
