"""The ``lm_clock`` figure: predicted vs measured wall-clock speed-up, every setting.

Each point is labelled by its setting (``gamma=4``, ``M=2 gamma=1``: a family has several
points), and the axes hold every error bar whole (:func:`clock_limits`).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from specbound.experiments.plotting.style import COLORS, save, subplots

__all__ = ["clock_limits", "lm_clock_figure", "point_label"]

_Z95 = 1.959963984540054
#: Room left around the outermost error bar, as a share of the plotted range.
_MARGIN = 0.06


def point_label(row: dict[str, Any]) -> str:
    """A point's setting, less what its family's legend entry says: ``"sd gamma=4"`` ->
    ``"gamma=4"``; ``"batch M=2 gamma=1"`` of family ``"batch SD, M = 2"`` -> ``"gamma=1"``."""
    label, family = str(row["label"]), str(row["family"])
    parts = label.split()[1:]
    kept = [part for part in parts if part.replace("=", " = ") not in family and part not in family]
    return " ".join(kept) or label


def _half(estimate: dict[str, Any]) -> float:
    se = estimate.get("se")
    return _Z95 * se if se is not None and math.isfinite(se) else 0.0


def clock_limits(rows: list[dict[str, Any]]) -> tuple[float, float]:
    """One range for both axes that holds every point and its 95% error bar (never
    below 0: a speed-up is positive), with a small margin."""
    ends = [
        (r[side]["mean"] - _half(r[side]), r[side]["mean"] + _half(r[side]))
        for r in rows
        for side in ("predicted", "measured")
    ]
    low = min(end[0] for end in ends)
    high = max(end[1] for end in ends)
    room = _MARGIN * max(high - low, 1e-9)
    return max(low - room, 0.0), high + room


def lm_clock_figure(data: dict[str, Any], path: Path) -> Path:
    """Each setting's measured speed-up against the predicted one, both with 95%
    intervals, labelled by setting, and the line y = x (``lm_clock``)."""
    fig, axes = subplots(
        1,
        1,
        width=8.6,
        height=5.6,
        title="Wall-clock speed-up over autoregressive decoding: predicted vs measured",
    )
    ax = axes[0, 0]
    families: dict[str, list[dict[str, Any]]] = {}
    for row in data["rows"]:
        families.setdefault(row["family"], []).append(row)
    for f, (family, rows) in enumerate(families.items()):
        color = COLORS[f % len(COLORS)]
        ax.errorbar(
            [r["predicted"]["mean"] for r in rows],
            [r["measured"]["mean"] for r in rows],
            xerr=[_half(r["predicted"]) for r in rows],
            yerr=[_half(r["measured"]) for r in rows],
            fmt="os^Dv"[f % 5],
            color=color,
            markersize=5,
            capsize=2,
            label=family,
        )
        for r in rows:
            ax.annotate(
                point_label(r),
                (r["predicted"]["mean"], r["measured"]["mean"]),
                textcoords="offset points",
                xytext=(5, 4),
                fontsize=7,
                color=color,
            )
    low, high = clock_limits(data["rows"])
    ax.plot([low, high], [low, high], color="0.3", linestyle="--", linewidth=1.0, label="y = x")
    ax.axhline(1.0, color="0.6", linewidth=0.8)
    ax.set_xlim(low, high)
    ax.set_ylim(low, high)
    ax.set_xlabel("predicted speed-up (95% interval)")
    ax.set_ylabel("measured speed-up (95% interval)")
    ax.legend(loc="upper left", fontsize=8)
    return save(fig, path)
