"""The gamma study's figure: exact expected target calls against the draft length gamma
(the phase recursion behind Theorems 1 and 3, per position in a round), simulated points,
and the i.i.d. approximation with its error. p = draft, q = target."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from specbound.estimates import Z95
from specbound.experiments.plotting.style import (
    COLORS,
    hollow_points,
    log2_axis,
    save,
    subplots,
)

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["gamma_figure"]

_GAMMA_TICKS = (1, 2, 4, 8, 16, 32, 64)


def _calls_panel(ax: Axes, chain: dict[str, Any], M: int, title: str) -> None:
    """One chain: exact and simulated calls of SD and batch SD, the i.i.d. approximation."""
    gammas = chain["gammas"]
    styles = (
        ("sd", "SD", COLORS[0], "o"),
        ("batch", f"batch SD, M={M}", COLORS[2], "s"),
    )
    for name, label, color, marker in styles:
        ax.plot(gammas, chain["exact"][name], color=color, label=f"{label}: exact")
        points = chain["measured"][name]
        hollow_points(
            ax,
            [p["gamma"] for p in points],
            [p["mean"] for p in points],
            yerr=[Z95 * p["se"] for p in points],
            color=color,
            marker=marker,
            size=7,
            capsize=3,
            label=f"{label}: simulated (95% CI)",
        )
    ax.plot(
        gammas,
        chain["iid"],
        color=COLORS[1],
        linestyle="--",
        label=f"i.i.d. approx., a = {chain['acceptance']:.3f}",
    )
    ax.axhline(
        chain["to_horizon"]["sd"],
        color="0.4",
        linestyle=":",
        linewidth=1.2,
        label="SD drafting to the horizon",
    )
    log2_axis(ax, _GAMMA_TICKS)
    ax.set_xlabel("draft length γ")
    ax.set_ylabel(f"expected target calls (T = {chain['T']})")
    ax.set_title(title)
    ax.legend(loc="upper right")


def gamma_figure(
    data: dict[str, Any], relative_error: Mapping[str, np.ndarray], path: Path
) -> Path:
    """Calls vs gamma on both chains, and the i.i.d. approximation's relative error.

    ``relative_error``: per chain key, ``(i.i.d. - exact) / exact`` for SD at each gamma.
    """
    chains = data["chains"]
    M = data["num_drafts"]
    fig, axes = subplots(
        1,
        3,
        width=13.5,
        height=4.6,
        title="Target calls vs draft length γ: exact, simulated, and the i.i.d. approximation",
    )
    _calls_panel(axes[0, 0], chains["homogeneous"], M, "Figure 2's chain (positions alike)")
    _calls_panel(axes[0, 1], chains["phased"], M, "Phased chain (easy / hard blocks)")
    ax = axes[0, 2]
    for key, color, label in (
        ("homogeneous", COLORS[0], "Figure 2's chain"),
        ("phased", COLORS[1], "phased chain"),
    ):
        ax.plot(
            chains[key]["gammas"],
            100 * relative_error[key],
            marker="o",
            markersize=4,
            color=color,
            label=label,
        )
    ax.axhline(0, color="0.2", linewidth=1)
    log2_axis(ax, _GAMMA_TICKS)
    ax.set_xlabel("draft length γ")
    ax.set_ylabel("(i.i.d. approx. − exact) / exact  [%]")
    ax.set_title("Error of the i.i.d. approximation (SD)")
    ax.legend(loc="lower left")
    return save(fig, path)
