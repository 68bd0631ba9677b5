"""``specbound chain random``, ``theory``, ``simulate`` and ``bench sim --quick``."""

from __future__ import annotations

import json

import pytest

import specbound as sb
from specbound.chain import load_chains
from specbound.cli import app
from specbound.cli.common import run_app


def _run(args: list[str], capsys) -> tuple[int, str, str]:
    code = run_app(app, [str(a) for a in args])
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.fixture
def pair_file(tmp_path, capsys):
    path = tmp_path / "c.json"
    code, out, _ = _run(["chain", "random", "--T", 12, "--S", 4, "--seed", 0, "-o", path], capsys)
    assert code == 0 and "wrote" in out
    return path


def test_chain_random_writes_the_documented_pair(tmp_path, capsys) -> None:
    path = tmp_path / "p.json"
    args = ["chain", "random", "--T", 5, "--S", 3, "--mix", 0.0, "-o", path, "--json"]
    code, out, _ = _run(args, capsys)
    assert code == 0
    summary = json.loads(out)
    assert summary["theorem1_sum"] == pytest.approx(0.0, abs=1e-12)  # mix 0: draft = target
    draft, _ = load_chains(path)
    assert (draft.horizon, draft.num_states) == (5, 3)
    data = json.loads(path.read_text())
    assert data["start"] == 0 and len(data["draft"]) == 5 and len(data["target"][0][0]) == 3


def test_theory_json_matches_the_library(pair_file, capsys) -> None:
    code, out, _ = _run(["theory", pair_file, "--algorithm", "batch", "-M", 3, "--json"], capsys)
    assert code == 0
    data = json.loads(out)
    draft, target = load_chains(pair_file)
    algorithm = sb.BatchSpeculative(3)
    assert data["rejections"] == pytest.approx(
        sb.theory.expected_rejections(draft, target, algorithm), abs=1e-12
    )
    assert data["batch"]["improvement"] == pytest.approx(
        sb.theory.batch_improvement(draft, target, 3), abs=1e-12
    )
    assert data["batch"]["limit_rejections"] <= data["rejections"] + 1e-12
    assert len(data["per_position"]["rejection_prob"]) == 12


def test_theory_reports_bias_for_over_acceptance(pair_file, capsys) -> None:
    args = ["theory", pair_file, "-a", "uno", "--eps", 0.2, "--gamma", 2, "--json"]
    code, out, _ = _run(args, capsys)
    data = json.loads(out)
    assert code == 0 and data["bias"]["total"] > 0 and data["algorithm"]["gamma"] == 2
    code, out, _ = _run(["theory", pair_file, "-a", "sd"], capsys)
    assert code == 0 and "expected rejections" in out


def test_simulate_json_brackets_the_theory(pair_file, capsys) -> None:
    args = ["simulate", pair_file, "-a", "sd", "--gamma", 3, "--runs", 20000, "--seed", 1]
    code, out, _ = _run([*args, "--json"], capsys)
    assert code == 0
    data = json.loads(out)
    for metric in ("rejections", "target_calls", "draft_calls"):
        entry = data["metrics"][metric]
        assert entry["ci95"][0] <= entry["mean"] <= entry["ci95"][1]
        assert abs(entry["mean"] - entry["theory"]) < 4 * entry["se"]
    code, out, _ = _run([*args[:-4], "--runs", 500], capsys)
    assert code == 0 and "95% interval" in out


@pytest.mark.parametrize(
    "args",
    [
        ["theory", "{file}", "--algorithm", "beam"],
        ["theory", "{file}", "--algorithm", "batch", "-M", 0],
        ["theory", "{file}", "--gamma", 0],
        ["theory", "{file}", "-a", "opt", "--eps", -1],
        ["simulate", "{file}", "--runs", 0],
        ["simulate", "{file}", "--seed", -2],
        ["theory", "{missing}"],
        ["theory", "{bad}"],
        ["chain", "random", "--T", 0, "-o", "{out}"],
        ["chain", "random", "--mix", 2, "-o", "{out}"],
    ],
)
def test_user_errors_exit_2(pair_file, tmp_path, capsys, args) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"start": 0, "draft": [[[0.5, 0.6]]], "target": [[[0.5, 0.5]]]}')
    paths = {
        "{file}": pair_file,
        "{missing}": tmp_path / "missing.json",
        "{bad}": bad,
        "{out}": tmp_path / "o.json",
    }
    code, _, err = _run([paths.get(str(a), a) for a in args], capsys)
    assert code == 2
    assert err.startswith("error: ") and "Traceback" not in err


def test_bench_sim_quick_writes_the_schema(tmp_path, capsys) -> None:
    out = tmp_path / "bench.json"
    code, stdout, _ = _run(["bench", "sim", "--quick", "--out", out], capsys)
    assert code == 0 and "sim_vs_naive" in stdout
    data = json.loads(out.read_text())
    assert data["benchmark"] == "sim" and data["config"]["quick"] is True
    assert data["ratios"]["sim_vs_naive"] == min(
        data["ratios"]["sim_vs_naive_by_algorithm"].values()
    )
    assert data["ratios"]["sim_vs_naive"] > 0
    for row in data["simulator"]:
        assert {"algorithm", "sim_token_steps_per_s", "naive_token_steps_per_s", "ratio"} <= set(
            row
        )
        assert row["sim_rejections"]["se"] >= 0
    for row in data["calculators"]:
        assert {"algorithm", "T", "S", "seconds", "rejections", "kernels"} <= set(row)
        assert row["seconds"] >= 0
    assert {"numpy", "python", "date"} <= set(data["versions"]) and data["date"]
    assert {"sim_vs_naive", "sd_calculator_seconds_T1000_S512"} <= set(data["targets"])
