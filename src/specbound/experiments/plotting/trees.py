"""The "Token trees" figure: tokens per target call against the node budget, best tree
beside best chain, exact (lines) and simulated (points with 95% intervals); and the exact
target calls of random (chain, tree) cases against their simulated means."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from specbound.estimates import Z95
from specbound.experiments.plotting.style import (
    COLORS,
    hollow_points,
    save,
    subplots,
    tokens_per_call_series,
)

__all__ = ["lm_trees_figure", "trees_figure"]


def trees_figure(data: dict[str, Any], path: Path) -> Path:
    budget = data["budget"]
    T, budgets = budget["T"], budget["budgets"]
    fig, axes = subplots(1, 2, width=12.5, height=4.8, title="Token trees")
    ax = axes[0, 0]
    for k, (kind, label) in enumerate((("tree", "best tree"), ("chain", "best chain (SD)"))):
        tokens_per_call_series(
            ax,
            budgets,
            T,
            budget[f"{kind}_exact_calls"],
            budget[f"{kind}_measured_calls"],
            color=COLORS[2 * k],
            marker="os"[k],
            label=label,
        )
    traversal = budget.get("tree_traversal_calls")
    if traversal:  # the best trees' shapes verified by traversal, exact
        tpc = [T / calls for calls in traversal]
        ax.plot(
            budgets,
            tpc,
            color=COLORS[4],
            linestyle="--",
            label="best tree's shape, traversal: exact",
        )
    ax.set_xticks(budgets)
    ax.set_xlabel("node budget (nodes scored per target call)")
    ax.set_ylabel("tokens per target call")
    ax.set_title("best tree vs best chain per node budget")
    ax.legend(fontsize=8)
    _cases_panel(axes[0, 1], data["cases"])
    return save(fig, path)


def _cases_panel(ax: Any, cases: list[dict[str, Any]]) -> None:
    """Exact expected target calls against the simulated mean (95% CI), one point per
    random (chain, tree) case, beside the diagonal."""
    exact = np.asarray([case["exact"] for case in cases])  # (n,)
    means = np.asarray([case["measured"]["mean"] for case in cases])  # (n,)
    half = Z95 * np.asarray([case["measured"]["se"] for case in cases])  # (n,)
    low, high = float(min(exact.min(), means.min())), float(max(exact.max(), means.max()))
    ax.plot([low, high], [low, high], color="0.5", linewidth=1, label="simulated = exact")
    hollow_points(
        ax,
        exact,
        means,
        yerr=half,
        color=COLORS[1],
        marker="o",
        size=6,
        capsize=2,
        label="random (chain, tree) cases (95% CI)",
    )
    ax.set_xlabel("exact expected target calls")
    ax.set_ylabel("simulated mean target calls")
    ax.set_title("exact theory vs Monte Carlo")
    ax.legend(fontsize=8)


def lm_trees_figure(data: dict[str, Any], path: Path) -> Path:
    """Left: tokens per target call against the node budget on a model pair, the best
    tree beside the best chain, predicted (lines) and measured (points with 95%
    intervals). Right: every row's measured target calls against the predicted ones."""
    T, budgets = data["T"], data["budgets"]
    fig, axes = subplots(1, 2, width=12.5, height=4.8, title="Token trees on a model pair")
    ax = axes[0, 0]
    for k, (kind, label) in enumerate((("tree", "best tree"), ("chain", "best chain (SD)"))):
        entries = data[kind]
        tokens_per_call_series(
            ax,
            budgets,
            T,
            [e["predicted_calls"]["mean"] for e in entries],
            [e["measured_calls"] for e in entries],
            color=COLORS[2 * k],
            marker="os"[k],
            label=label,
        )
    ax.set_xticks(budgets)
    ax.set_xlabel("node budget (nodes scored per target call)")
    ax.set_ylabel("tokens per target call")
    ax.set_title("best tree vs best chain per node budget")
    ax.legend(fontsize=8)
    _calls_panel(axes[0, 1], data)
    return save(fig, path)


def _calls_panel(ax: Any, data: dict[str, Any]) -> None:
    """Measured mean target calls (95% CI) against the predicted ones, trees and chains."""
    everything = [*data["tree"], *data["chain"]]
    predicted = np.asarray([e["predicted_calls"]["mean"] for e in everything])  # (n,)
    measured = np.asarray([e["measured_calls"]["mean"] for e in everything])  # (n,)
    low = float(min(predicted.min(), measured.min()))
    high = float(max(predicted.max(), measured.max()))
    ax.plot([low, high], [low, high], color="0.5", linewidth=1, label="measured = predicted")
    for k, kind in enumerate(("tree", "chain")):
        entries = data[kind]
        hollow_points(
            ax,
            np.asarray([e["predicted_calls"]["mean"] for e in entries]),
            np.asarray([e["measured_calls"]["mean"] for e in entries]),
            yerr=Z95 * np.asarray([e["measured_calls"]["se"] for e in entries]),
            color=COLORS[2 * k],
            marker="os"[k],
            size=6,
            capsize=2,
            label=f"best {kind} per budget (95% CI)",
        )
    ax.set_xlabel("predicted target calls per generation")
    ax.set_ylabel("measured target calls per generation")
    ax.set_title("prediction vs measurement")
    ax.legend(fontsize=8)
