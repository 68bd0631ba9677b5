"""The only module that imports matplotlib: one clean, shared style for every figure.

Experiment modules ask this module for a figure (:func:`subplots`), draw on the axes it
returns, and hand the figure back to :func:`save`. matplotlib is imported on first use
(with the headless ``Agg`` backend), so ``specbound --help`` stays fast.

Colours are the Okabe–Ito palette (distinguishable with every common colour-vision
deficiency); the figures are 150 dpi with fonts readable at 100% on a laptop screen.
"""

from __future__ import annotations

import os
import tempfile
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


def save(fig: Figure, path: str | Path) -> Path:
    """Save ``fig`` as a PNG atomically (temporary file, then rename) and close it."""
    plt = _pyplot()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=".png", dir=path.parent)
    os.close(fd)
    try:
        fig.savefig(tmp, dpi=DPI, format="png", metadata={"Software": None})
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    finally:
        plt.close(fig)
    return path
