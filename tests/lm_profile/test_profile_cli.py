"""`specbound profile`: well-formed JSON and table on two short prompts; clear errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from specbound.cli import app
from specbound.cli.common import run_app

FAST = [
    "--max-new-tokens",
    "4",
    "--samples-per-prompt",
    "2",
    "--runs-per-prompt",
    "2",
    "--gamma",
    "1,2",
    "--num-drafts",
    "2",
    "--eps",
    "0.1",
]


@pytest.fixture
def two_prompts(tmp_path: Path) -> Path:
    path = tmp_path / "prompts.txt"
    path.write_text("# two short prompts\nThe with statement\n\nA list comprehension\n")
    return path


def test_profile_json_is_well_formed(
    embedded_pair, two_prompts: Path, capsys: pytest.CaptureFixture[str]
) -> None:  # type: ignore[no-untyped-def]
    code = run_app(app, ["profile", "--prompts", str(two_prompts), *FAST, "--json"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    data = json.loads(captured.out)
    assert data["prompts"] == ["The with statement", "A list comprehension"]
    labels = [row["label"] for row in data["rows"]]
    assert labels == [
        "sd gamma=none",
        "sd gamma=1",
        "sd gamma=2",
        "block gamma=none",
        "block gamma=1",
        "block gamma=2",
        "batch M=2 gamma=none",
        "batch M=2 gamma=1",
        "batch M=2 gamma=2",
        "opt eps=0.1 gamma=none",
        "uno eps=0.1 gamma=none",
    ]
    for row in data["rows"]:
        prediction, measurement = row["prediction"], row["measurement"]
        for key in ("expected_rejections", "calls_per_token", "predicted_speedup"):
            assert set(prediction[key]) == {"mean", "se", "n", "ci95"}
        assert prediction["predicted_speedup"]["mean"] > 0
        assert measurement["runs"] == 4 and measurement["speedup"]["mean"] > 0
        assert isinstance(row["holds"], bool)
        assert row["speedup_ratio"] > 0
    recommended = data["recommended"]
    lossless = [row["prediction"] for row in data["rows"] if row["prediction"]["lossless"]]
    best = max(lossless, key=lambda p: p["predicted_speedup"]["mean"])
    if recommended is None:  # plain decoding: the best setting is not surely faster
        assert best["predicted_speedup"]["ci95"][0] <= 1.0
    else:
        assert recommended["lossless"] is True and recommended["label"] == best["label"]
        assert recommended["predicted_speedup"]["ci95"][0] > 1.0
    assert data["speedup_median_abs_error"] >= 0
    assert 0 <= data["speedup_coverage"] <= 1
    assert [item["num_drafts"] for item in data["headroom"]] == [2]
    headroom = data["headroom"][0]
    assert headroom["optimal"]["mean"] >= headroom["recursive"]["mean"] > 0
    assert data["costs"]["autoregressive_seconds_per_token"] > 0
    assert data["autoregressive"]["runs"] == 4


def test_profile_table(
    embedded_pair, two_prompts: Path, capsys: pytest.CaptureFixture[str]
) -> None:  # type: ignore[no-untyped-def]
    code = run_app(
        app, ["profile", "--prompts", str(two_prompts), *FAST, "--no-measure", "--eps", "none"]
    )
    out = capsys.readouterr().out
    assert code == 0
    assert "sd gamma=1" in out and "batch M=2 gamma=2" in out and "opt eps" not in out
    assert "recommended: " in out and "predicted speed-up" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--prompts", "/no/such/prompts.txt"], "does not exist"),
        (["--gamma", "x"], "--gamma"),
        (["--gamma", "0"], "--gamma"),
        (["--num-drafts", "0"], "--num-drafts"),
        (["--eps", "-1"], "--eps"),
        (["--num-prompts", "0"], "--num-prompts"),
        (["--target", "/tmp"], "both --target and --draft"),
    ],
)
def test_bad_options_give_one_clear_error(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code = run_app(app, ["profile", *args])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("error: ") and message in err and "Traceback" not in err


def test_empty_prompts_file_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "empty.txt"
    path.write_text("# only a comment\n\n")
    code = run_app(app, ["profile", "--prompts", str(path)])
    err = capsys.readouterr().err
    assert code == 2 and "no prompts found" in err
