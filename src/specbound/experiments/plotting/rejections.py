"""Figures 2 and 3: the rejections of SD and batch SD on a chain (Theorems 1 and 3,
Proposition 1) and the batch improvement of one round start as the drafts grow."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from specbound.estimates import Z95
from specbound.experiments.plotting.style import COLORS, band, save, subplots

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["fig2_figure", "fig3_figure"]

#: The running mean is drawn from this many runs on (before, it is noise at any scale).
_FIRST_RUN = 10


def _running_panel(
    ax: Axes, entries: Sequence[tuple[str, dict[str, Any], float]], theory_name: str
) -> None:
    """Running means of simulated rejections converging into the 95% band around the exact
    value; ``entries``: (label, stored measurement with its trace, exact value)."""
    for k, (label, entry, exact) in enumerate(entries):
        color = COLORS[k if len(entries) == 1 else k + 1]
        runs = np.asarray(entry["trace_runs"], dtype=np.float64)
        keep = runs >= _FIRST_RUN
        runs, means = runs[keep], np.asarray(entry["trace_mean"])[keep]
        half = Z95 * entry["std"] / np.sqrt(runs)
        band(ax, runs, exact - half, exact + half, color=color, alpha=0.12)
        for edge in (exact - half, exact + half):
            ax.plot(runs, edge, color=color, linewidth=0.6, alpha=0.6)
        ax.plot(runs, means, color=color, label=f"{label}: running mean")
        ax.axhline(exact, color=color, linestyle="--", linewidth=1.2)
    ax.plot([], [], color="0.3", linestyle="--", linewidth=1.2, label=f"{theory_name} (exact)")
    ax.fill_between([], [], [], color="0.5", alpha=0.25, label="95% band around it")
    ax.set_xscale("log")
    ax.set_xlim(_FIRST_RUN, None)
    ax.set_xlabel("number of runs")
    ax.set_ylabel("mean rejections")
    ax.legend(loc="upper right")


def _sweep_panel(ax: Axes, sweep: dict[str, Any]) -> None:
    """Exact batch rejections against M (Theorem 3), simulated points, the M -> infinity
    limit (Proposition 1)."""
    ax.plot(
        sweep["M"],
        sweep["exact"],
        color=COLORS[0],
        marker="o",
        markersize=3.5,
        label="exact (Theorem 3)",
    )
    points = sweep["points"]
    ax.errorbar(
        [p["M"] for p in points],
        [p["mean"] for p in points],
        yerr=[Z95 * p["se"] for p in points],
        fmt="s",
        color=COLORS[1],
        markersize=5,
        capsize=3,
        label="simulated (95% CI)",
    )
    ax.axhline(
        sweep["limit"], color="0.2", linestyle=":", linewidth=1.5, label="M → ∞ limit (Prop. 1)"
    )
    ax.set_xlabel("number of drafts M")
    ax.set_ylabel("expected rejections")
    ax.set_xticks([1, 5, 10, 15, 20])
    ax.legend(loc="upper right")


def fig2_figure(data: dict[str, Any], path: Path) -> Path:
    """One row per horizon: SD vs Theorem 1, batch SD vs Theorem 3, rejections vs M."""
    panels = data["panels"]
    fig, axes = subplots(
        len(panels),
        3,
        width=12.5,
        height=3.9 * len(panels),
        title="Figure 2: rejections of SD and batch SD on a non-stationary 7-state chain",
    )
    for row, panel in zip(axes, panels, strict=True):
        T = panel["T"]
        _running_panel(row[0], [("SD", panel["sd"], panel["theorem1"])], "Theorem 1")
        row[0].set_title(f"SD vs Theorem 1 (T = {T})")
        _running_panel(
            row[1],
            [(f"batch M={b['M']}", b, b["exact"]) for b in panel["batch"]],
            "Theorem 3",
        )
        row[1].set_title(f"Batch SD vs Theorem 3 (T = {T})")
        _sweep_panel(row[2], panel["sweep"])
        row[2].set_title(f"Rejections vs M (T = {T})")
    return save(fig, path)


def fig3_figure(
    data: dict[str, Any],
    improvement: np.ndarray,
    relative: np.ndarray,
    uniform_relative: Sequence[np.ndarray],
    path: Path,
) -> Path:
    """The Bernoulli improvement (exact and sampled), the improvement relative to SD's
    rejection probability per family, and the relative gain of the M-th draft.

    ``improvement``/``relative``: the Bernoulli family's exact expected improvement and
    that divided by E[TV], M = 1..; ``uniform_relative``: the latter for each uniform V.
    """
    drafts = np.asarray(data["M"])
    fig, axes = subplots(
        1, 3, width=13.5, height=4.6, title="Figure 3: batch improvement at a round start vs M"
    )
    ax = axes[0, 0]
    ax.plot(drafts, improvement, color=COLORS[0], label="exact: 1/3 − 1/(M+2)")
    sample = data["bernoulli"]["sample"]
    ax.errorbar(
        drafts,
        sample["mean"],
        yerr=Z95 * np.asarray(sample["se"]),
        fmt="o",
        markersize=3.5,
        capsize=2,
        color=COLORS[1],
        label=f"mean over {sample['pairs']} random pairs (95% CI)",
    )
    ax.axhline(1 / 3, color="0.2", linestyle=":", label="M → ∞: E[TV] = 1/3")
    ax.set_title("Bernoulli pairs")
    ax.set_xlabel("number of drafts M")
    ax.set_ylabel("expected improvement\n(rejection probability saved)")
    ax.legend(loc="lower right")
    colors = [COLORS[k % len(COLORS)] for k in (0, 5, 2, 3, 1, 4, 7)]
    for k, (family, curve) in enumerate(zip(data["uniform"], uniform_relative, strict=True)):
        color = colors[k % len(colors)]
        label = f"V = {family['V']}"
        axes[0, 1].plot(drafts, curve, color=color, marker="o", markersize=3, label=label)
        axes[0, 2].plot(
            drafts[1:], np.diff(curve), color=color, marker="o", markersize=3, label=label
        )
    for ax_k, values, x in (
        (axes[0, 1], relative, drafts),
        (axes[0, 2], np.diff(relative), drafts[1:]),
    ):
        ax_k.plot(x, values, color="0.35", linestyle="--", label="Bernoulli")
    axes[0, 1].set_title("Improvement relative to SD")
    axes[0, 1].set_xlabel("number of drafts M")
    axes[0, 1].set_ylabel("E[improvement] / E[TV]")
    axes[0, 1].set_ylim(0, 1.0)
    axes[0, 1].legend(
        loc="lower right", bbox_to_anchor=(1.0, 0.36), ncol=2, title="uniform support"
    )
    axes[0, 2].set_yscale("log")
    axes[0, 2].set_title("Gain of the M-th draft (relative)")
    axes[0, 2].set_xlabel("number of drafts M")
    axes[0, 2].set_ylabel("ΔE[improvement] / E[TV]  (log scale)")
    for ax in axes[0]:
        ax.set_xticks([1, 5, 10, 15, 20] if drafts[-1] >= 20 else [1, 4, 8, 12, 16])
    return save(fig, path)
