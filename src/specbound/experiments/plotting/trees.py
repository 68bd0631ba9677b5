"""The "Token trees" figure: tokens per target call against the node budget, best tree
beside best chain, exact (lines) and simulated (points with 95% intervals)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from specbound.estimates import Z95
from specbound.experiments.plotting.style import COLORS, hollow_points, save, subplots

__all__ = ["trees_figure"]


def trees_figure(data: dict[str, Any], path: Path) -> Path:
    budget = data["budget"]
    T, budgets = budget["T"], budget["budgets"]
    fig, axes = subplots(1, 1, width=6.0, height=4.2, title="Token trees vs chains")
    ax = axes[0, 0]
    for k, (kind, label) in enumerate((("tree", "best tree"), ("chain", "best chain (SD)"))):
        color, marker = COLORS[2 * k], "os"[k]
        ax.plot(
            budgets,
            [T / c for c in budget[f"{kind}_exact_calls"]],
            color=color,
            label=f"{label}: exact",
        )
        points = budget[f"{kind}_measured_calls"]
        means = np.asarray([p["mean"] for p in points])  # (B,)
        half = Z95 * np.asarray([p["se"] for p in points])  # (B,)
        hollow_points(
            ax,
            budgets,
            T / means,
            yerr=np.abs(T / (means - half) - T / means),
            color=color,
            marker=marker,
            size=7,
            capsize=3,
            label=f"{label}: simulated (95% CI)",
        )
    ax.set_xticks(budgets)
    ax.set_xlabel("node budget (nodes scored per target call)")
    ax.set_ylabel("tokens per target call")
    ax.legend(fontsize=8)
    return save(fig, path)
