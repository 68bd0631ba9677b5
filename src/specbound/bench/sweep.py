"""``specbound bench sweep``: cells per second of the local executor, 1 worker vs 2.

CPU-bound chain cells (a simulation of ``n_runs`` runs each; no I/O, no torch) run
through :class:`~specbound.sweep.executors.LocalExecutor` with 1 and with 2 worker
processes, the two interleaved (1, 2, 1, 2, ...) so that a machine whose load changes
during the benchmark affects both alike. Each measurement starts its pool and warms it
up with one cell per worker before the clock starts (pool start-up is a fixed cost, not
throughput). The record gives every repeat's cells/s and the median ratio, against the
target of :data:`TARGET_SPEEDUP`.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import asdict, dataclass
from typing import Any

from specbound.io import environment_info
from specbound.sweep.executors import LocalExecutor
from specbound.sweep.grid import expand
from specbound.sweep.spec import parse_spec

__all__ = ["TARGET_SPEEDUP", "SweepBenchConfig", "run_sweep_benchmark"]

#: 2 workers vs 1 on CPU-bound chain cells (issue 15).
TARGET_SPEEDUP = 1.7


@dataclass(frozen=True)
class SweepBenchConfig:
    """The cells (``seeds`` x algorithms x gammas chains of ``T`` x ``S``, ``n_runs`` runs
    each) and the interleaved ``repeats``."""

    T: int = 40
    S: int = 6
    n_runs: int = 100_000
    seeds: int = 6
    repeats: int = 3
    seed: int = 0

    @classmethod
    def quick(cls) -> SweepBenchConfig:
        """Tiny sizes (a smoke test of the benchmark itself)."""
        return cls(T=8, S=3, n_runs=500, seeds=2, repeats=1)

    def spec_text(self) -> str:
        """The sweep spec of the benchmark's cells."""
        return (
            f'[sweep]\nname = "bench"\nseed = {self.seed}\n[chains]\ncompute = "simulate"\n'
            f'n_runs = {self.n_runs}\nalgorithms = ["sd", "batch"]\ngamma = [2, 4]\nM = [2]\n'
            f"[[chains.random]]\nT = {self.T}\nS = {self.S}\n"
            f"seeds = {list(range(self.seeds))}\n"
        )


def _cells_per_second(cells: list[Any], workers: int) -> dict[str, Any]:
    executor = LocalExecutor(workers)
    try:
        list(executor.run(cells[:workers]))  # start and warm the pool
        started = time.perf_counter()
        records = list(executor.run(cells))
        seconds = time.perf_counter() - started
    finally:
        executor.close()
    failed = sum(record["status"] != "ok" for record in records)
    return {
        "workers": workers,
        "cells": len(records),
        "failed": failed,
        "seconds": seconds,
        "cells_per_s": len(records) / seconds,
    }


def run_sweep_benchmark(config: SweepBenchConfig) -> dict[str, Any]:
    """Interleaved 1- and 2-worker runs of the same cells; the JSON-ready record."""
    cells = expand(parse_spec(config.spec_text(), "<bench>"))
    runs = []
    for _ in range(config.repeats):
        for workers in (1, 2):
            runs.append(_cells_per_second(cells, workers))
    one = [r["cells_per_s"] for r in runs if r["workers"] == 1]
    two = [r["cells_per_s"] for r in runs if r["workers"] == 2]
    ratios = [b / a for a, b in zip(one, two, strict=True)]
    speedup = statistics.median(ratios)
    return {
        "benchmark": "sweep",
        "config": asdict(config),
        "cells": len(cells),
        "runs": runs,
        "cells_per_s": {"1": statistics.median(one), "2": statistics.median(two)},
        "speedup_2_vs_1": speedup,
        "speedup_per_repeat": ratios,
        "target": TARGET_SPEEDUP,
        "meets_target": speedup >= TARGET_SPEEDUP,
        "environment": environment_info(),
    }
