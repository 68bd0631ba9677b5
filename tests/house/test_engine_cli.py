"""``specbound engine``: the fast paths, the kernel cache and clearing it; the engine
that ran is recorded by ``generate --json``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from specbound.lm.engine import FALLBACK, engine_name


def _specbound(args: list[str], cache: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SPECBOUND_CACHE_DIR": str(cache)}
    command = [sys.executable, "-m", "specbound", *args]
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=300)


def test_clear_kernel_cache(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "kernels.json").write_text(json.dumps({"key": ["linear"]}))
    listed = _specbound(["engine", "--json"], cache)
    assert listed.returncode == 0, listed.stderr
    info = json.loads(listed.stdout)
    assert info["kernel_cache"] == str(cache / "kernels.json")
    assert info["kernel_cache_entries"] == 1 and "neox" in info["fast_paths"]
    cleared = _specbound(["engine", "--clear-kernel-cache", "--json"], cache)
    assert json.loads(cleared.stdout)["cleared"] is True
    assert not (cache / "kernels.json").exists()
    again = _specbound(["engine", "--clear-kernel-cache", "--json"], cache)
    assert json.loads(again.stdout)["cleared"] is False


def test_engine_names() -> None:
    """The embedded pair runs the lean GPT-NeoX path; forced off, the fallback."""
    import specbound as sb

    embedded = sb.lm.load_pair()
    assert embedded.engines == {"target": "neox", "draft": "neox"}
    assert engine_name(embedded.target, fast=False) == FALLBACK
