"""A lighter install: the core, the chains, the theory and the simulator need no torch,
no transformers and no Ray; the LM commands then name the extra to install.

Each case runs in a fresh interpreter whose import system refuses ``torch``,
``transformers``, ``safetensors``, ``ray``, ``pyarrow`` and ``pandas`` (as if they were
not installed). Negative control: the same blocker makes ``import torch`` fail.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

BLOCKED = ("torch", "transformers", "safetensors", "ray", "pyarrow", "pandas")

BLOCKER = textwrap.dedent(
    f"""
    import sys
    class _NotInstalled:
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in {BLOCKED!r}:
                raise ModuleNotFoundError(f"No module named {{name!r}}")
            return None
    sys.meta_path.insert(0, _NotInstalled())
    """
)


def _run(code: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    script = tmp_path / "case.py"
    script.write_text(BLOCKER + textwrap.dedent(code))
    return subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=300, cwd=tmp_path
    )


def _cli(args: list[str]) -> str:
    return f"""
    sys.argv = ["specbound", *{args!r}]
    from specbound.cli import main
    main()
    """


def test_the_blocker_blocks(tmp_path: Path) -> None:
    """Negative control: under the blocker torch cannot be imported."""
    result = _run("import torch\n", tmp_path)
    assert result.returncode != 0 and "No module named 'torch'" in result.stderr


def test_library_without_the_extras(tmp_path: Path) -> None:
    result = _run(
        """
        import numpy as np
        import specbound as sb
        tv = sb.core.tv(np.array([0.5, 0.5]), np.array([0.9, 0.1]))
        draft, target = sb.chain.random_pair(6, 3, 0.5, 0)
        exact = sb.theory.expected_rejections(draft, target, sb.Speculative())
        mc = sb.simulate(draft, target, sb.Speculative(), n_runs=2000, seed=0)
        assert not any(m.split(".")[0] in {blocked!r} for m in sys.modules), "imported"
        print(float(tv), exact, float(mc.rejections.mean()))
        """.replace("{blocked!r}", repr(BLOCKED)),
        tmp_path,
    )
    assert result.returncode == 0, result.stderr
    tv, exact, mean = map(float, result.stdout.split())
    assert tv == pytest.approx(0.4)
    assert abs(mean - exact) < 0.2


def test_chain_commands_without_the_extras(tmp_path: Path) -> None:
    pair = tmp_path / "pair.json"
    steps = [
        ["step", "[0.5,0.5]", "[0.9,0.1]", "--json"],
        ["chain", "random", "--T", "5", "--S", "3", "--out", str(pair)],
        ["theory", str(pair), "--json"],
        ["simulate", str(pair), "--runs", "500", "--json"],
    ]
    for args in steps:
        result = _run(_cli(args), tmp_path)
        assert result.returncode == 0, (args, result.stderr)
        if "--json" in args:
            json.loads(result.stdout)


@pytest.mark.parametrize(
    ("args", "extra"),
    [(["generate", "Hello", "-n", "2"], "lm"), (["profile", "--num-prompts", "1"], "lm")],
)
def test_lm_commands_name_the_extra(tmp_path: Path, args: list[str], extra: str) -> None:
    result = _run(_cli(args), tmp_path)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert f"specbound[{extra}]" in lines[0] and "Traceback" not in result.stderr
