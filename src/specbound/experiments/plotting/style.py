"""The shared style of every figure: palette, sizes, and the helpers the figures draw with.

A figure module asks for a figure (:func:`subplots`), draws on the axes it returns (with
:func:`band`, :func:`hollow_points`, :func:`log2_axis` where they fit), and hands the
figure back to :func:`save`. matplotlib is imported on first use (with the headless
``Agg`` backend), so ``specbound --help`` stays fast.

Colours are the Okabe–Ito palette (distinguishable with every common colour-vision
deficiency); the figures are 150 dpi with fonts readable at 100% on a laptop screen.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = [
    "COLORS",
    "DPI",
    "band",
    "hollow_points",
    "log2_axis",
    "save",
    "subplots",
]

#: Okabe–Ito: blue, vermillion, bluish green, orange, reddish purple, sky blue, yellow, black.
COLORS = (
    "#0072B2",
    "#D55E00",
    "#009E73",
    "#E69F00",
    "#CC79A7",
    "#56B4E9",
    "#F0E442",
    "#000000",
)
DPI = 150

_STYLE: dict[str, Any] = {
    "font.size": 11,
    "axes.titlesize": 12,
    "axes.titleweight": "bold",
    "axes.labelsize": 11,
    "legend.fontsize": 9.5,
    "legend.framealpha": 0.9,
    "xtick.labelsize": 10,
    "ytick.labelsize": 10,
    "figure.titlesize": 14,
    "figure.titleweight": "bold",
    "axes.grid": True,
    "grid.alpha": 0.3,
    "grid.linewidth": 0.6,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "lines.linewidth": 1.8,
    "lines.markersize": 5,
    "savefig.dpi": DPI,
    "figure.dpi": DPI,
}


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    style: dict[Any, Any] = {**_STYLE, "axes.prop_cycle": plt.cycler(color=list(COLORS))}
    plt.rcParams.update(style)
    return plt


def subplots(
    nrows: int, ncols: int, *, width: float, height: float, title: str | None = None
) -> tuple[Figure, np.ndarray]:
    """A styled figure with an (nrows, ncols) array of axes, laid out without overlaps."""
    plt = _pyplot()
    fig, axes = plt.subplots(
        nrows, ncols, figsize=(width, height), squeeze=False, layout="constrained"
    )
    if title:
        fig.suptitle(title)
    return fig, axes


def band(
    ax: Axes,
    x: Sequence[float] | np.ndarray,
    low: Sequence[float] | np.ndarray,
    high: Sequence[float] | np.ndarray,
    *,
    color: str,
    label: str | None = None,
    alpha: float = 0.18,
) -> None:
    """A shaded interval between ``low`` and ``high`` along ``x``."""
    ax.fill_between(x, low, high, color=color, alpha=alpha, linewidth=0, label=label)


def hollow_points(
    ax: Axes,
    x: Sequence[float] | np.ndarray,
    y: Sequence[float] | np.ndarray,
    *,
    color: str,
    marker: str,
    size: float,
    xerr: Any = None,
    yerr: Any = None,
    capsize: float | None = None,
    label: str | None = None,
) -> None:
    """Measured points: hollow markers with error bars (beside the exact lines they check)."""
    ax.errorbar(
        x,
        y,
        xerr=xerr,
        yerr=yerr,
        fmt=marker,
        color=color,
        markerfacecolor="none",
        markersize=size,
        markeredgewidth=1.3,
        capsize=capsize,
        label=label,
    )


def log2_axis(ax: Axes, ticks: Sequence[float], labels: Sequence[str] | None = None) -> None:
    """A base-2 log x axis ticked at ``ticks`` (a draft length, a threshold eps)."""
    ax.set_xscale("log", base=2)
    ax.set_xticks(ticks, labels if labels is not None else [f"{t:g}" for t in ticks])


def save(fig: Figure, path: str | Path) -> Path:
    """Save ``fig`` as a PNG atomically (:func:`specbound.io.atomic_output`) and close it."""
    from specbound.io import atomic_output

    plt = _pyplot()
    try:
        with atomic_output(path, "figure", parents=True) as tmp:
            fig.savefig(tmp, dpi=DPI, format="png", metadata={"Software": None})
    finally:
        plt.close(fig)
    return Path(path)


def tokens_per_call_series(
    ax: Axes,
    x: Sequence[float],
    horizon: int,
    exact_calls: Sequence[float],
    measured_calls: Sequence[dict[str, float]],
    *,
    color: str,
    marker: str,
    label: str,
) -> None:
    """Tokens per target call (``horizon / calls``): the exact values as a line, the
    simulated means as hollow points with their 95% intervals (``measured_calls``: dicts
    with ``mean`` and ``se`` of the target calls)."""
    from specbound.estimates import Z95

    ax.plot(x, [horizon / c for c in exact_calls], color=color, label=f"{label}: exact")
    means = np.asarray([p["mean"] for p in measured_calls])  # (n,)
    half = Z95 * np.asarray([p["se"] for p in measured_calls])  # (n,)
    hollow_points(
        ax,
        x,
        horizon / means,
        yerr=np.abs(horizon / (means - half) - horizon / means),
        color=color,
        marker=marker,
        size=7,
        capsize=3,
        label=f"{label}: simulated (95% CI)",
    )
