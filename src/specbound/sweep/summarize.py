"""``specbound sweep summarize DIR``: a table of a sweep's results and its plots.

The table groups the finished cells by algorithm setting (``label``) and averages the
headline numbers over the rest of the grid (chains, seeds, prompts); the plots, written
into ``DIR/plots``, show target calls per token against gamma, one line per algorithm
family (chain sweeps: exact where computed, else simulated; LM sweeps: measured), and for
Table 1 sweeps OPT's and UNO's TV per token and OPT's win share against eps.
"""

from __future__ import annotations

import math
from collections import defaultdict
from pathlib import Path
from typing import Any

from specbound.errors import InvalidInputError
from specbound.sweep.store import RESULTS_NAME, ResultsStore, read_results

__all__ = ["PLOTS_DIR", "group_rows", "summarize"]

PLOTS_DIR = "plots"
#: The headline columns the table averages, when present, with their short headers.
SHOWN = {
    "exact_rejections": "exact rej",
    "sim_rejections": "sim rej",
    "exact_target_calls": "exact calls",
    "sim_target_calls": "sim calls",
    "target_calls_per_token": "calls/token",
    "tokens_per_call": "tokens/call",
    "opt_tv_per_token": "OPT TV/token",
    "uno_tv_per_token": "UNO TV/token",
    "opt_wins": "OPT WinRate",
}


def _mean(values: list[Any]) -> float | None:
    numbers = [float(v) for v in values if v is not None and math.isfinite(float(v))]
    return sum(numbers) / len(numbers) if numbers else None


def group_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One summary row per ``label`` (algorithm setting), in grid order: cell counts and
    the mean of every headline column over the cells of that setting."""
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in sorted(rows, key=lambda r: r["index"]):
        groups[str(row.get("label") or row.get("algorithm") or "-")].append(row)
    summary = []
    for label, members in groups.items():
        ok = [r for r in members if r["status"] == "ok"]
        entry: dict[str, Any] = {
            "label": label,
            "cells": len(members),
            "failed": len(members) - len(ok),
        }
        for column in SHOWN:
            values = [r.get(column) for r in ok]
            if any(v is not None for v in values):
                entry[column] = _mean(values)
        summary.append(entry)
    return summary


def _family(row: dict[str, Any]) -> str:
    name = str(row.get("algorithm") or "")
    if name == "batch":
        verifier = "" if row.get("verifier") in (None, "recursive") else "-optimal"
        return f"batch{verifier} M={row.get('M')}"
    if name in ("opt", "uno"):
        return f"{name} eps={row.get('eps'):g}"
    return name or "-"


def _calls_plot(rows: list[dict[str, Any]], path: Path) -> Path | None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    points: dict[str, dict[int | None, list[float]]] = defaultdict(lambda: defaultdict(list))
    for row in rows:
        value = row.get("target_calls_per_token")
        if row["status"] == "ok" and value is not None and row.get("algorithm"):
            points[_family(row)][row.get("gamma")].append(float(value))
    if not points:
        return None
    finite = sorted({g for series in points.values() for g in series if g is not None})
    position: dict[int | None, int] = {g: i for i, g in enumerate(finite)}
    position[None] = len(finite)  # "none": to the horizon, drawn last
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    for family, series in sorted(points.items()):
        gammas = sorted(series, key=lambda g: position[g])
        ax.plot(
            [position[g] for g in gammas],
            [sum(series[g]) / len(series[g]) for g in gammas],
            marker="o",
            label=family,
        )
    labels = [str(g) for g in finite] + (
        ["none"] if any(None in s for s in points.values()) else []
    )
    ax.set_xticks(range(len(labels)), labels)
    ax.set_xlabel("gamma (drafted tokens per round; none = to the horizon)")
    ax.set_ylabel("target calls per token (mean over cells)")
    ax.set_title("Target calls per token vs gamma")
    ax.legend(fontsize="small")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def _table1_plot(rows: list[dict[str, Any]], path: Path) -> Path | None:
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
    left.set_ylabel("TV(A, q) per token")
    left.legend()
    right.plot(eps, [_mean([r["opt_wins"] for r in by_eps[e]]) for e in eps], marker="o")
    right.axhline(0.5, color="grey", lw=0.8)
    right.set_xlabel("eps")
    right.set_ylabel("OPT WinRate over prompts")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def summarize(folder: str | Path) -> tuple[list[dict[str, Any]], list[Path]]:
    """(summary rows, plot files) of the sweep in ``folder``."""
    folder = Path(folder)
    ResultsStore(folder).compact()  # parts left by a killed run join the table
    rows = read_results(folder)
    if not rows:
        raise InvalidInputError(f"{str(folder)!r} holds no sweep results ({RESULTS_NAME})")
    plots_dir = folder / PLOTS_DIR
    plots_dir.mkdir(parents=True, exist_ok=True)
    plots = [
        _calls_plot(rows, plots_dir / "calls_per_token_vs_gamma.png"),
        _table1_plot(rows, plots_dir / "table1.png"),
    ]
    return group_rows(rows), [p for p in plots if p is not None]
