"""Figure 4: the rejection/bias trade-off of lossy decoding — Decoding-OPT on Theorem 5's
front ``rejection + bias = TV(p, q)`` with Theorem 4's least bias, Decoding-UNO above it;
one step, and summed over a chain's positions. p = draft, q = target."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from specbound.estimates import Z95
from specbound.experiments.plotting.style import COLORS, hollow_points, save, subplots

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["fig4_figure"]

#: (resampling rule, colour, marker, name) of the two decoders, in every panel.
_DECODER_STYLES = (("opt", COLORS[0], "o", "OPT"), ("uno", COLORS[1], "s", "UNO"))


def _pareto_panel(ax: Axes, step: dict[str, Any]) -> None:
    """One step: the unattainable triangle, the front, exact and simulated points."""
    tv = step["tv"]
    ax.fill(
        [0, tv, 0],
        [0, 0, tv],
        color="0.6",
        alpha=0.3,
        linewidth=0,
        label="unattainable (Theorem 5)",
    )
    ax.plot([0, tv], [tv, 0], color="0.15", linewidth=1.4, label="front: rejection + bias = TV")
    sweep = step["sweep"]
    rejection = [p["rejection"] for p in sweep]
    blue, red = COLORS[0], COLORS[1]
    ax.plot(
        rejection,
        [p["bias_opt"] for p in sweep],
        "o",
        color=blue,
        markersize=5,
        label="Decoding-OPT (exact)",
    )
    ax.plot(
        rejection,
        [p["bias_uno"] for p in sweep],
        "s-",
        color=red,
        markersize=4,
        linewidth=1.2,
        label="Decoding-UNO (exact)",
    )
    points = step["measured"]
    for k, (resample, color, marker, _) in enumerate(_DECODER_STYLES):
        hollow_points(
            ax,
            [p[resample]["rejection_mean"] for p in points],
            [p[resample]["plugin_bias"] for p in points],
            xerr=[Z95 * p[resample]["rejection_se"] for p in points],
            color=color,
            marker=marker,
            size=9,
            label="simulated (hollow)" if k == 0 else None,
        )
    arrow = {"arrowstyle": "->", "color": "0.3", "linewidth": 0.9}
    ax.annotate(
        "SD (ε = 0)",
        (tv, 0),
        xytext=(0.7 * tv, 0.07 * tv),
        arrowprops=arrow,
        ha="right",
        va="center",
        fontsize=10,
    )
    ax.annotate(
        "ε ≥ max(p − q):\nalways accept",
        (0, tv),
        xytext=(0.04 * tv, 0.5 * tv),
        arrowprops=arrow,
        ha="left",
        va="center",
        fontsize=10,
    )
    ax.set_xlim(-0.01, tv * 1.08)
    ax.set_ylim(-0.01, max(max(p["bias_uno"] for p in sweep), tv) * 1.18)
    ax.set_xlabel("rejection probability r(b)")
    ax.set_ylabel("bias TV(output, target)")
    ax.set_title("One step: Pareto front")
    ax.legend(loc="upper right", fontsize=9)


def _eps_panel(ax: Axes, step: dict[str, Any]) -> None:
    """One step: rejection and bias against eps, with Theorem 4's minimum."""
    sweep = step["sweep"]
    eps = [p["eps"] for p in sweep]
    ax.plot(eps, [p["rejection"] for p in sweep], color="0.15", label="rejection (OPT = UNO)")
    ax.plot(eps, [p["bias_opt"] for p in sweep], color=COLORS[0], label="bias, OPT")
    ax.plot(
        eps,
        [p["min_bias"] for p in sweep],
        "o",
        color=COLORS[0],
        markerfacecolor="none",
        markersize=6,
        label="Theorem 4 minimum",
    )
    ax.plot(eps, [p["bias_uno"] for p in sweep], color=COLORS[1], label="bias, UNO")
    ax.axvline(step["max_excess"], color="0.4", linestyle=":", linewidth=1.2)
    ax.annotate(
        "max(p − q)",
        (step["max_excess"], 0.0),
        xytext=(4, 4),
        textcoords="offset points",
        fontsize=9,
        color="0.3",
    )
    ax.set_xlabel("over-acceptance threshold ε")
    ax.set_ylabel("probability")
    ax.set_title("One step: rejection and bias vs ε")
    ax.legend(loc="center right")


def _chain_panel(ax: Axes, chain: dict[str, Any]) -> None:
    """A chain: expected rejections against total bias, Theorem 5 summed over positions."""
    sweep = chain["sweep"]
    t1 = chain["theorem1"]
    ax.plot(
        [0, t1],
        [t1, 0],
        color="0.5",
        linestyle="--",
        linewidth=1.2,
        label="E[N_rej] + bias = Theorem 1's value",
    )
    points = chain["measured"]
    for resample, color, marker, name in _DECODER_STYLES:
        ax.plot(
            [p[resample]["rejections"] for p in sweep],
            [p[resample]["total_bias"] for p in sweep],
            marker=marker,
            color=color,
            markersize=4,
            linewidth=1.4,
            label=f"Decoding-{name} (exact)",
        )
        hollow_points(
            ax,
            [p[resample]["rejection_mean"] for p in points],
            [p[resample]["total_bias"] for p in points],
            xerr=[Z95 * p[resample]["rejection_se"] for p in points],
            color=color,
            marker=marker,
            size=9,
            label="simulated rejections (hollow)" if resample == "opt" else None,
        )
    ax.set_xlabel("expected rejections E[N_rej]")
    ax.set_ylabel("total expected bias (sum over positions)")
    ax.set_title(f"Chain, T = {chain['spec']['horizon']}: sequence level")
    ax.legend(loc="upper right")


def fig4_figure(data: dict[str, Any], path: Path) -> Path:
    """The one-step front, rejection and bias against eps, and the chain's trade-off."""
    fig, axes = subplots(
        1,
        3,
        width=13.5,
        height=4.6,
        title="Figure 4: lossy decoding — Decoding-OPT on the Pareto front, Decoding-UNO above",
    )
    _pareto_panel(axes[0, 0], data["step"])
    _eps_panel(axes[0, 1], data["step"])
    _chain_panel(axes[0, 2], data["chain"])
    return save(fig, path)
