"""The ``lm_clock`` figure: predicted vs measured wall-clock speed-up, every setting."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from specbound.experiments.plotting.style import COLORS, save, subplots

__all__ = ["lm_clock_figure"]

_Z95 = 1.959963984540054


def lm_clock_figure(data: dict[str, Any], path: Path) -> Path:
    """Each setting's measured speed-up against the predicted one, both with 95%
    intervals, and the line y = x (``lm_clock``)."""
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
        ax.errorbar(
            [r["predicted"]["mean"] for r in rows],
            [r["measured"]["mean"] for r in rows],
            xerr=[_Z95 * r["predicted"]["se"] for r in rows],
            yerr=[_Z95 * r["measured"]["se"] for r in rows],
            fmt="os^Dv"[f % 5],
            color=COLORS[f % len(COLORS)],
            markersize=5,
            capsize=2,
            label=family,
        )
    values = [r[side]["mean"] for r in data["rows"] for side in ("predicted", "measured")]
    low, high = min(values) * 0.85, max(values) * 1.1
    ax.plot([low, high], [low, high], color="0.3", linestyle="--", linewidth=1.0, label="y = x")
    ax.axhline(1.0, color="0.6", linewidth=0.8)
    ax.set_xlim(low, high)
    ax.set_ylim(low, high)
    ax.set_xlabel("predicted speed-up (95% interval)")
    ax.set_ylabel("measured speed-up (95% interval)")
    ax.legend(loc="upper left", fontsize=8)
    return save(fig, path)
