"""What a new user trips on in ``reproduce`` (issue 26): two progress bars with one title,
``--only`` names the docs leave out, and the ``lm_clock`` figure's labels and axes."""

from __future__ import annotations

import re
from pathlib import Path

from specbound.experiments.plotting.clock import clock_limits, point_label
from specbound.experiments.registry import REGISTRY, load

ROOT = Path(__file__).resolve().parents[2]


def test_every_experiment_has_its_own_progress_title() -> None:
    titles = {name: load(name).title.split(" — ")[0] for name in REGISTRY}
    assert len(set(titles.values())) == len(titles), titles


def test_reproduce_docs_list_every_only_name() -> None:
    text = (ROOT / "docs" / "reproduce.md").read_text(encoding="utf-8")
    row = next(line for line in text.splitlines() if line.startswith("| `--only a,b`"))
    assert set(re.findall(r"`([a-z0-9_]+)`", row)) == set(REGISTRY)


def _row(label: str, family: str, predicted: float, se: float) -> dict[str, object]:
    return {
        "label": label,
        "family": family,
        "predicted": {"mean": predicted, "se": se},
        "measured": {"mean": predicted * 0.9, "se": se},
    }


def test_lm_clock_points_are_labelled_and_their_bars_fit() -> None:
    rows = [
        _row("sd gamma=4", "SD", 1.2, 0.3),
        _row("batch M=2 gamma=1", "batch SD, M = 2", 0.6, 0.4),
    ]
    assert point_label(rows[0]) == "gamma=4"
    assert point_label(rows[1]) == "gamma=1"  # M is in the legend already
    lossy = _row("opt eps=0.1 gamma=none", "Decoding-OPT (lossy)", 1.4, 0.1)
    assert point_label(lossy) == "eps=0.1 gamma=none"
    low, high = clock_limits(rows)
    assert low == 0.0  # 0.54 - 1.96 * 0.4 < 0: clipped, never a negative speed-up
    assert high >= 1.2 + 1.96 * 0.3  # the widest bar fits
