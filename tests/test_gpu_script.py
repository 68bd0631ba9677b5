"""``benchmarks/gpu.sh`` stays runnable without a GPU to try it on: its syntax, every
``specbound`` command it runs (parsed against the CLI), the test files it names, and its
refusals (no argument; a Python whose torch sees no CUDA)."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from test_docs import parse_specbound

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "benchmarks" / "gpu.sh"


def script_commands() -> list[list[str]]:
    """The script's ``step NAME LIMIT COMMAND...`` lines (continuations joined), split."""
    text = re.sub(r"\\\n\s*", " ", SCRIPT.read_text(encoding="utf-8"))
    return [shlex.split(line)[1:] for line in text.splitlines() if line.startswith("step ")]


def test_the_script_parses_as_bash() -> None:
    subprocess.run(["bash", "-n", str(SCRIPT)], check=True)


def test_every_step_is_a_known_command_with_known_options() -> None:
    steps = script_commands()
    names = [s[0] for s in steps]
    assert names == ["device_tests", "bench_embedded", "bench_smollm2"]
    assert sum(int(s[1]) for s in steps) <= 8 * 60  # the 8-minute budget
    for name, _, python, *argv in steps:
        assert python == "$PY"
        if argv[:2] == ["-m", "specbound"]:
            args = [a.replace("$OUT", "/tmp/out") for a in argv[2:]]
            assert args[:2] == ["bench", "lm"] and "--device" in args, name
            assert args[args.index("--device") + 1] == "cuda"
            parse_specbound(args)
        else:
            assert argv[:2] == ["-m", "pytest"], name
            files = [a for a in argv if a.startswith("tests/")]
            assert "tests/lm/test_lm_device_path.py" in files
            assert all((ROOT / f).is_file() for f in files), files
    pairs = {s[s.index("--pair") + 1] for s in steps if "--pair" in s}
    assert pairs == {"embedded", "smollm2"}


def test_a_missing_argument_is_a_usage_error() -> None:
    result = subprocess.run(["bash", str(SCRIPT)], capture_output=True, text=True)
    assert result.returncode == 2 and result.stderr.startswith("usage: benchmarks/gpu.sh")


@pytest.mark.skipif(torch.cuda.is_available(), reason="this torch sees CUDA")
def test_a_torch_without_cuda_is_refused_before_any_step(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHON": sys.executable}
    result = subprocess.run(
        ["bash", str(SCRIPT), str(tmp_path / "out")], capture_output=True, text=True, env=env
    )
    assert result.returncode == 2 and "sees no CUDA device" in result.stderr
    assert not (tmp_path / "out" / "status.txt").exists()
