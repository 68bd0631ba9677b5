"""The plots of ``specbound sweep summarize``, each written through the one atomic writer.

``calls_per_token_vs_gamma.png``: target calls per token against gamma, one line per
algorithm family. Gamma is spaced by its value (a log2 axis), "none" (to the horizon)
sits apart at the right end, every family has its own marker and a small sideways offset
(block verification's points would otherwise hide under SD's), and the title says which
numbers are drawn: exact theory, simulated or measured. ``table1.png``: OPT's and UNO's
TV per token and OPT's win share against eps.
"""

from __future__ import annotations

import math
from collections import defaultdict
from pathlib import Path
from typing import Any

from specbound.io import atomic_output

__all__ = ["calls_plot", "calls_source", "gamma_axis", "table1_plot"]

#: Markers cycled over the algorithm families (distinct shapes, drawn hollow).
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "<", ">", "*")
#: Sideways offset between families, as a share of one doubling of gamma.
DODGE = 0.06


def _mean(values: list[Any]) -> float | None:
    numbers = [float(v) for v in values if v is not None and math.isfinite(float(v))]
    return sum(numbers) / len(numbers) if numbers else None


def _family(row: dict[str, Any]) -> str:
    name = str(row.get("algorithm") or "")
    if name == "batch":
        verifier = "" if row.get("verifier") in (None, "recursive") else "-optimal"
        return f"batch{verifier} M={row.get('M')}"
    if name in ("opt", "uno"):
        return f"{name} eps={row.get('eps'):g}"
    return name or "-"


def calls_source(rows: list[dict[str, Any]]) -> str:
    """Which numbers a calls-per-token plot of ``rows`` draws: ``exact theory``,
    ``simulated``, ``measured`` (LM cells) or a mix of them."""
    kinds = set()
    for row in rows:
        if row.get("exact_target_calls") is not None:
            kinds.add("exact theory")
        elif row.get("sim_target_calls") is not None:
            kinds.add("simulated")
        elif row.get("target_calls_per_token") is not None:
            kinds.add("measured")
    if kinds == {"exact theory", "simulated"}:
        return "exact theory where computed, else simulated"
    return " and ".join(sorted(kinds)) or "none"


def gamma_axis(gammas: list[int | None]) -> dict[int | None, float]:
    """Where each gamma sits on the plot's x axis: ``log2(gamma)``, and "none" (None) 1.5
    doublings right of the largest finite gamma, apart from the rest."""
    finite = sorted(g for g in gammas if g is not None)
    top = math.log2(finite[-1]) if finite else 0.0
    where: dict[int | None, float] = {g: math.log2(g) for g in finite}
    if None in gammas:
        where[None] = top + 1.5
    return where


def _save(fig: Any, path: Path) -> Path:
    import matplotlib.pyplot as plt

    try:
        with atomic_output(path, "plot", parents=True) as tmp:
            fig.savefig(tmp, dpi=120, format="png")
    finally:
        plt.close(fig)
    return path


def calls_plot(rows: list[dict[str, Any]], path: Path) -> Path | None:
    """Target calls per token against gamma into ``path``; None when no row has them."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    drawn = [
        row
        for row in rows
        if row["status"] == "ok"
        and row.get("target_calls_per_token") is not None
        and row.get("algorithm")
    ]
    points: dict[str, dict[int | None, list[float]]] = defaultdict(lambda: defaultdict(list))
    for row in drawn:
        points[_family(row)][row.get("gamma")].append(float(row["target_calls_per_token"]))
    if not points:
        return None
    every = sorted({g for series in points.values() for g in series}, key=lambda g: g or 0)
    where = gamma_axis(every)
    finite = [g for g in every if g is not None]
    fig, ax = plt.subplots(figsize=(6.8, 4.4))
    families = sorted(points)
    for number, family in enumerate(families):
        series = points[family]
        gammas = sorted(series, key=lambda g: where[g])
        shift = (number - (len(families) - 1) / 2) * DODGE
        ax.plot(
            [where[g] + shift for g in gammas],
            [sum(series[g]) / len(series[g]) for g in gammas],
            marker=MARKERS[number % len(MARKERS)],
            markerfacecolor="none",
            linestyle="-" if number < len(MARKERS) else "--",
            label=family,
        )
    ticks = [where[g] for g in finite]
    labels = [str(g) for g in finite]
    if None in where:
        ticks.append(where[None])
        labels.append("none")
        ax.axvline(where[None] - 0.75, color="grey", lw=0.8, ls=":")
    ax.set_xticks(ticks, labels)
    ax.set_xlabel("gamma (drafted tokens per round, log scale; none = to the horizon)")
    ax.set_ylabel("target calls per token (mean over cells)")
    ax.set_title(f"Target calls per token vs gamma ({calls_source(drawn)})")
    ax.legend(fontsize="small")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return _save(fig, path)


def table1_plot(rows: list[dict[str, Any]], path: Path) -> Path | None:
    """OPT's and UNO's TV per token and OPT's win share against eps; None without them."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ok = [r for r in rows if r["status"] == "ok" and r.get("opt_wins") is not None]
    if not ok:
        return None
    by_eps: dict[float, list[dict[str, Any]]] = defaultdict(list)
    for row in ok:
        by_eps[float(row["eps"])].append(row)
    eps = sorted(by_eps)
    fig, (left, right) = plt.subplots(1, 2, figsize=(9.6, 4.0))
    for name in ("opt", "uno"):
        left.plot(
            eps,
            [_mean([r[f"{name}_tv_per_token"] for r in by_eps[e]]) for e in eps],
            marker="o",
            label=name.upper(),
        )
    left.set_xlabel("eps")
    left.set_ylabel("TV(A, q) per token (measured)")
    left.legend()
    right.plot(eps, [_mean([r["opt_wins"] for r in by_eps[e]]) for e in eps], marker="o")
    right.axhline(0.5, color="grey", lw=0.8)
    right.set_xlabel("eps")
    right.set_ylabel("OPT WinRate over prompts")
    fig.tight_layout()
    return _save(fig, path)
