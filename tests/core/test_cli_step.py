"""`specbound step`, `--help`, `--version` and the CLI's error contract."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from specbound.cli import app
from specbound.cli.common import run_app


def _run(args: list[str], capsys) -> tuple[int, str, str]:
    code = run_app(app, args)
    out = capsys.readouterr()
    return code, out.out, out.err


def test_step_json_prints_tv_and_rejection(capsys) -> None:
    code, out, _ = _run(["step", "[0.5,0.3,0.2]", "[0.2,0.3,0.5]", "--json"], capsys)
    assert code == 0
    data = json.loads(out)
    assert data["tv"] == pytest.approx(0.3, abs=1e-12)
    assert data["rejection"] == pytest.approx(0.3, abs=1e-12)
    assert data["sd_residual"] == pytest.approx([0.0, 0.0, 1.0])
    assert data["position"] == "on the front"


def test_step_with_uno_sits_above_the_front(capsys) -> None:
    code, out, _ = _run(
        ["step", "[0.5,0.3,0.2]", "[0.2,0.3,0.5]", "--eps", "0.1", "--resample", "uno", "--json"],
        capsys,
    )
    data = json.loads(out)
    assert code == 0 and data["position"] == "above the front"
    assert data["rejection"] == pytest.approx(0.2) and data["min_bias"] == pytest.approx(0.1)
    assert data["bias"] == pytest.approx(0.2)


def test_step_table_output(capsys) -> None:
    code, out, _ = _run(["step", "[0.5,0.3,0.2]", "[0.2,0.3,0.5]", "--eps", "0.1"], capsys)
    assert code == 0 and "TV(draft, target)" in out and "[target - draft]_+" in out


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["step", "[0.5,0.5]", "[0.2,0.3]"], "target_probs: the vector sums to 0.5"),
        (["step", "[0.5,0.5]", "[0.2,0.3,0.5]"], "vocabulary sizes 2 vs 3"),
        (["step", "[0.5,0.5", "[0.5,0.5]"], "DRAFT_PROBS: expected a JSON list"),
        (["step", "[0.5,0.5]", "[0.5,0.5]", "--eps", "-1"], "eps must be a finite number >= 0"),
        (["step", "[0.5,0.5]", "[0.5,0.5]", "--resample", "x"], "--resample must be"),
    ],
)
def test_user_errors_print_one_line_and_exit_2(args, needle, capsys) -> None:
    code, out, err = _run(args, capsys)
    assert code == 2
    assert err.startswith("error: ") and needle in err
    assert len(err.strip().splitlines()) == 1
    assert "Traceback" not in err + out


def test_console_script_help_version_and_exit_code() -> None:
    exe = [sys.executable, "-m", "specbound"]
    help_run = subprocess.run([*exe, "--help"], capture_output=True, text=True, check=False)
    assert help_run.returncode == 0 and "step" in help_run.stdout
    version = subprocess.run([*exe, "--version"], capture_output=True, text=True, check=False)
    assert version.returncode == 0 and version.stdout.startswith("specbound ")
    bad = subprocess.run(
        [*exe, "step", "[0.5,0.5]", "[0.2,0.3]"], capture_output=True, text=True, check=False
    )
    assert bad.returncode == 2
    assert bad.stderr.strip().startswith("error: ") and "Traceback" not in bad.stderr
