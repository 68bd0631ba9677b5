"""The "Beyond Theorem 2" figure: block verification's tokens per call against gamma, and
a batch round start's acceptance against M (recursive rejection, the i.i.d. optimum, the
optimum without replacement), on chains, pair families and the embedded model pair."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from specbound.experiments.plotting.style import (
    COLORS,
    save,
    subplots,
    tokens_per_call_series,
)

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["beyond_figure"]

_TITLES = {"homogeneous": "Figure 2's chain", "phased": "phased chain"}
_FAMILY_TITLES = {
    "bernoulli": "Bernoulli pairs",
    "uniform": "uniform-support pairs",
    "dirichlet": "Dirichlet(1) pairs",
}


def _calls_panel(ax: Axes, chain: dict[str, Any], title: str) -> None:
    """Tokens per target call (T / calls) of SD and block verification against gamma."""
    T, gammas = chain["T"], chain["gammas"]
    for k, (name, label) in enumerate((("sd", "SD"), ("block", "block verification"))):
        tokens_per_call_series(
            ax,
            gammas,
            T,
            chain[name]["exact"],
            chain[name]["measured"],
            color=COLORS[2 * k],
            marker="os"[k],
            label=label,
        )
    ax.set_xticks(gammas)
    ax.set_xlabel("draft length gamma")
    ax.set_ylabel("tokens per target call")
    ax.set_title(f"{title} (T = {T})")
    ax.legend(loc="lower right")


def _acceptance_panel(
    ax: Axes, drafts: list[int], curves: dict[str, list[float]], title: str
) -> None:
    styles = {
        "recursive": ("recursive rejection (paper)", COLORS[0], "o", "-"),
        "optimal": ("optimum, i.i.d. drafts", COLORS[2], "s", "-"),
        "without": ("optimum, without replacement", COLORS[1], "^", "--"),
    }
    for key, values in curves.items():
        if not values:
            continue
        label, color, marker, line = styles[key]
        ax.plot(
            drafts[: len(values)], values, color=color, marker=marker, linestyle=line, label=label
        )
    ax.set_xlabel("number of drafts M")
    ax.set_ylabel("round-start acceptance")
    ax.set_title(title)
    ax.legend(loc="lower right")


def beyond_figure(data: dict[str, Any], path: Path) -> Path:
    fig, axes = subplots(
        2,
        3,
        width=13.5,
        height=8.0,
        title="Beyond Theorem 2: block verification and the M-draft optimum",
    )
    for ax, (key, chain) in zip(axes[0, :2], data["chains"].items(), strict=True):
        _calls_panel(ax, chain, _TITLES.get(key, key))
    rows = data["lm"]["rows"]
    _acceptance_panel(
        axes[0, 2],
        [r["num_drafts"] for r in rows],
        {
            "recursive": [r["recursive"]["mean"] for r in rows],
            "optimal": [r["optimal"]["mean"] for r in rows],
        },
        f"embedded pair, per position ({data['lm']['target']})",
    )
    for ax, (family, item) in zip(axes[1], data["families"].items(), strict=True):
        _acceptance_panel(
            ax,
            item["drafts"],
            {k: item[k] for k in ("recursive", "optimal", "without")},
            f"{_FAMILY_TITLES.get(family, family)} (V = {item['vocab']})",
        )
    return save(fig, path)
