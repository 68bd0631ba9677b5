"""``specbound sweep summarize DIR``: a table of a sweep's results and its plots.

The table groups the finished cells by algorithm setting (``label``) and averages the
headline numbers over the rest of the grid (chains, seeds, prompts); the plots, written
into ``DIR/plots``, show target calls per token against gamma, one line per algorithm
family (chain sweeps: exact where computed, else simulated; LM sweeps: measured; the
title says which), and for Table 1 sweeps OPT's and UNO's TV per token and OPT's win
share against eps (:mod:`specbound.sweep.plots`). A folder that cannot be written still
gives the table; the plots are then skipped with the reason.
"""

from __future__ import annotations

import contextlib
import math
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from specbound.errors import InvalidInputError, OutputPathError
from specbound.sweep.plots import calls_plot, table1_plot
from specbound.sweep.store import RESULTS_NAME, ResultsStore, read_results

__all__ = ["PLOTS_DIR", "SweepSummary", "group_rows", "summarize"]

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


@dataclass(frozen=True)
class SweepSummary:
    """What :func:`summarize` gives: the summary ``rows``, the ``plots`` written, and
    ``plot_error`` — why the plots could not be written (a read-only folder), else None."""

    rows: list[dict[str, Any]]
    plots: list[Path] = field(default_factory=list)
    plot_error: str | None = None


def summarize(folder: str | Path, *, plots: bool = True) -> SweepSummary:
    """The summary of the sweep in ``folder``, and (``plots``) its plots in ``DIR/plots``.

    A folder that cannot be written (read-only, another user's) still gives the table:
    parts left by a killed run are read without being merged, and the reason the plots
    were not written is in :attr:`SweepSummary.plot_error`.
    """
    folder = Path(folder)
    # parts left by a killed run join the table; read-only: read_results reads them in place
    with contextlib.suppress(OSError, OutputPathError):
        ResultsStore(folder).compact()
    rows = read_results(folder)
    if not rows:
        raise InvalidInputError(f"{str(folder)!r} holds no sweep results ({RESULTS_NAME})")
    if not plots:
        return SweepSummary(group_rows(rows))
    plots_dir = folder / PLOTS_DIR
    try:
        plots_dir.mkdir(parents=True, exist_ok=True)
        written = [
            calls_plot(rows, plots_dir / "calls_per_token_vs_gamma.png"),
            table1_plot(rows, plots_dir / "table1.png"),
        ]
    except (OSError, OutputPathError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        return SweepSummary(
            group_rows(rows), [], f"plots not written: {str(plots_dir)!r}: {reason}"
        )
    return SweepSummary(group_rows(rows), [p for p in written if p is not None])
