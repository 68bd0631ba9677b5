"""Paths the sweep tests share: the repository and its example specs."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
SMOKE = EXAMPLES / "sweep_smoke.toml"
