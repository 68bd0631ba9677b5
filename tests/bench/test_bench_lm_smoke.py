"""``specbound bench lm`` at tiny sizes: it runs end to end and writes the documented JSON.

Benchmarks are not tests: nothing here asserts on a timing, only on the record's schema
and on the counts that do not depend on the clock.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from specbound.cli import app
from specbound.cli.common import run_app
from specbound.lm import embedded_pair_path

RATIOS = ("sd_vs_hf_assisted", "sd_vs_autoregressive", "sd_vs_predicted", "sd_vs_ceiling")
SPECBOUND = (
    "specbound_ar",
    "specbound_sd",
    "specbound_block",
    "specbound_sd_k20",
    "specbound_batch_m2",
    "specbound_batch_m4",
    "specbound_opt_eps0.2",
)
HF = ("hf_ar", "hf_assisted", "hf_assisted_default")


def _run(args: list[Any], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = run_app(app, [str(a) for a in args])
    out = capsys.readouterr()
    return code, out.out, out.err


def _check_record(data: dict[str, Any], tokens: int, hf: bool) -> None:
    assert data["benchmark"] == "lm" and data["date"] and data["command"].startswith("specbound")
    assert {"python", "torch", "transformers", "numpy"} <= set(data["versions"])
    assert data["machine"]["torch_threads"] >= 1
    assert data["config"]["max_new_tokens"] == tokens and data["config"]["repeats"] == 1
    gamma = data["gamma"]["value"]
    assert isinstance(gamma, int) and gamma >= 1
    expected = set(SPECBOUND) | (set(HF) if hf else set())
    assert set(data["contenders"]) == expected
    for name, row in data["contenders"].items():
        assert row["tokens"] == tokens * len(data["config"]["prompts"]), name
        assert row["tokens_per_second"]["median"] > 0
        assert len(row["tokens_per_second"]["values"]) == 1
        assert 0 < row["target_calls_per_token"] <= 1
        assert len(row["runs"]) == 1 and row["runs"][0][0]["tokens"] == tokens
    assert data["contenders"]["specbound_ar"]["target_calls_per_token"] == 1.0
    assert 0 <= data["contenders"]["specbound_sd"]["acceptance_rate"] <= 1
    ratios = data["ratios"]
    assert set(RATIOS) <= set(ratios)
    for name in RATIOS:
        if name == "sd_vs_hf_assisted" and not hf:
            assert ratios[name] is None
        else:
            assert isinstance(ratios[name], float) and ratios[name] > 0, name
    assert set(data["targets"]) == {
        "sd_vs_hf_assisted",
        "sd_vs_autoregressive",
        "sd_vs_ceiling",
        "sd_vs_predicted",
    }
    assert data["recommendation"] == "autoregressive" or data["recommendation"].startswith(
        ("sd", "batch", "block")
    )
    for name in SPECBOUND:
        assert data["contenders"][name]["measured_speedup"] > 0, name
    assert data["contenders"]["specbound_sd"]["predicted_speedup"] > 0
    paired = data["ratios_paired"]["sd_vs_autoregressive"]
    assert paired["pairs"] == len(data["config"]["prompts"]) and paired["median"] > 0
    per_repeat = data["ratios_per_repeat"]
    assert len(per_repeat["sd_vs_autoregressive"]) == len(per_repeat["sd_vs_predicted"]) == 1
    assert data["profile"]["predictions"]["specbound_sd"]["predicted_speedup"] > 0


@pytest.mark.skipif(
    not (embedded_pair_path() / "target" / "config.json").is_file(),
    reason="the embedded pair is not built",
)
def test_bench_lm_embedded_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The issue's smoke test: embedded pair, 8 tokens, 1 repeat, every contender."""
    out = tmp_path / "bench_lm.json"
    args = ["bench", "lm", "--max-new-tokens", 8, "--repeats", 1, "--num-prompts", 1]
    code, stdout, _ = _run([*args, "--quick", "--json", "--out", out], capsys)
    assert code == 0
    printed = json.loads(stdout)
    assert printed == json.loads(out.read_text())
    _check_record(printed, tokens=8, hf=True)
    assert printed["contenders"]["hf_assisted"]["num_assistant_tokens"] == printed["gamma"]["value"]


def test_bench_lm_tiny_pair_table(
    tiny_dirs: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A user's pair (paths), a prompts file, a fixed gamma, no HF contenders, the table."""
    target, draft = tiny_dirs
    prompts = tmp_path / "prompts.txt"
    prompts.write_text("a b c\nd e\n")
    out = tmp_path / "nested" / "bench.json"
    out.parent.mkdir()  # a missing parent folder is refused (a typo, not a request)
    code, stdout, _ = _run(
        [
            "bench",
            "lm",
            "--target",
            target,
            "--draft",
            draft,
            "--prompts",
            prompts,
            "--max-new-tokens",
            6,
            "--repeats",
            1,
            "--gamma",
            2,
            "--no-hf",
            "--quick",
            "--out",
            out,
        ],
        capsys,
    )
    assert code == 0
    assert "sd_vs_autoregressive" in stdout and f"wrote {out}" in stdout
    data = json.loads(out.read_text())
    _check_record(data, tokens=6, hf=False)
    assert data["gamma"] == {**data["gamma"], "value": 2, "source": "option"}
    assert list(data["gamma"]["predicted_speedup_by_gamma"]) == ["2"]  # the only one profiled
    assert len(data["config"]["prompts"]) == 2


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--target", "x"], "both --target and --draft"),
        (["--num-prompts", 0], "--num-prompts"),
        (["--gamma", -1], "--gamma"),
        (["--num-drafts", "1"], "--num-drafts"),
        (["--repeats", 0], "repeats"),
        (["--prompts", "/no/such/file.txt"], "prompts file"),
    ],
)
def test_bench_lm_user_errors(
    args: list[Any], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = _run(["bench", "lm", *args], capsys)
    assert code == 2
    assert err.startswith("error: ") and message in err and "Traceback" not in err
