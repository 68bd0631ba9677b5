"""``specbound bench sim``: simulator throughput and exact-calculator cost, in one run.

Two measurements, side by side in one process:

* **simulator** — token-steps per second (runs x T / wall time) of the vectorised
  :func:`~specbound.chain.simulator.simulate` against the straightforward per-run loop
  :func:`~specbound.chain.reference.simulate_reference`, for each algorithm on the same
  chain pair; both estimates of ``E[N_rej]`` are recorded beside the exact value;
* **calculators** — wall time (best of ``calc_repeats``) of
  :func:`~specbound.chain.recursion.analyse` for a grid of (T, S). Chains of more than
  :data:`MAX_RANDOM_ENTRIES` kernel entries use one random (S, S) kernel broadcast over
  T (a read-only view, so T = 1000, S = 512 needs 4 MiB, not 4 GiB); the recursion does
  the same work per position either way.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from specbound.algorithms import (
    Algorithm,
    Autoregressive,
    BatchSpeculative,
    OverAcceptance,
    Speculative,
)
from specbound.chain.generators import random_pair
from specbound.chain.model import MarkovChain
from specbound.chain.recursion import analyse
from specbound.chain.reference import simulate_reference
from specbound.chain.simulator import simulate

__all__ = ["SimBenchConfig", "run_sim_benchmark"]

#: Above this many entries per chain, calculator timings use a broadcast stationary kernel.
MAX_RANDOM_ENTRIES = 1 << 25

#: The targets the benchmark reports against (issue 3 / issue 7).
TARGETS = {"sim_vs_naive": 200.0, "sd_calculator_seconds_T1000_S512": 2.0}


def _sim_algorithms() -> list[Algorithm]:
    return [
        Autoregressive(),
        Speculative(),
        Speculative(gamma=4),
        BatchSpeculative(num_drafts=4),
        BatchSpeculative(num_drafts=4, gamma=4),
        OverAcceptance(eps=0.1, resample="opt"),
        OverAcceptance(eps=0.1, resample="uno", gamma=4),
    ]


@dataclass(frozen=True)
class SimBenchConfig:
    """Sizes of one benchmark run (``quick()`` for a smoke test, ``full()`` for the record)."""

    sim_horizon: int = 50
    sim_states: int = 7
    mix: float = 0.5
    sim_runs: int = 200_000
    naive_runs: int = 300
    calc_grid: tuple[tuple[int, int], ...] = tuple(
        (T, S) for T in (10, 100, 1000) for S in (8, 64, 512)
    )
    calc_grid_other: tuple[tuple[int, int], ...] = ((100, 8), (100, 64), (100, 512), (1000, 64))
    calc_repeats: int = 3
    seed: int = 0
    quick: bool = False

    @classmethod
    def full(cls, seed: int = 0) -> SimBenchConfig:
        return cls(seed=seed)

    @classmethod
    def quick_config(cls, seed: int = 0) -> SimBenchConfig:
        return cls(
            sim_horizon=10,
            sim_states=3,
            sim_runs=2_000,
            naive_runs=20,
            calc_grid=((5, 3), (10, 4)),
            calc_grid_other=((5, 3),),
            calc_repeats=1,
            seed=seed,
            quick=True,
        )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _timed(fn: Any) -> tuple[Any, float]:
    start = time.perf_counter()
    value = fn()
    return value, time.perf_counter() - start


def _simulator_rows(config: SimBenchConfig) -> list[dict[str, Any]]:
    draft, target = random_pair(config.sim_horizon, config.sim_states, config.mix, config.seed)
    rows = []
    for algorithm in _sim_algorithms():
        fast, fast_s = _timed(
            lambda a=algorithm: simulate(draft, target, a, config.sim_runs, config.seed)
        )
        slow, slow_s = _timed(
            lambda a=algorithm: simulate_reference(draft, target, a, config.naive_runs, config.seed)
        )
        fast_rate = config.sim_runs * config.sim_horizon / fast_s
        slow_rate = config.naive_runs * config.sim_horizon / slow_s
        fast_rej = fast.estimate("rejections")
        slow_rej = slow.estimate("rejections")
        rows.append(
            {
                "algorithm": algorithm.label,
                "T": config.sim_horizon,
                "S": config.sim_states,
                "sim_runs": config.sim_runs,
                "naive_runs": config.naive_runs,
                "sim_seconds": fast_s,
                "naive_seconds": slow_s,
                "sim_token_steps_per_s": fast_rate,
                "naive_token_steps_per_s": slow_rate,
                "ratio": fast_rate / slow_rate,
                "theory_rejections": analyse(draft, target, algorithm).rejections,
                "sim_rejections": fast_rej.to_dict(),
                "naive_rejections": slow_rej.to_dict(),
            }
        )
    return rows


def _timing_pair(T: int, S: int, seed: int) -> tuple[MarkovChain, MarkovChain, str]:
    if T * S * S <= MAX_RANDOM_ENTRIES:
        draft, target = random_pair(T, S, 0.5, seed)
        return draft, target, "random"
    rng = np.random.default_rng(seed)
    target_kernel = rng.dirichlet(np.ones(S), size=S)  # (S, S)
    draft_kernel = 0.5 * target_kernel + 0.5 * rng.dirichlet(np.ones(S), size=S)  # (S, S)
    draft = MarkovChain(np.broadcast_to(draft_kernel, (T, S, S)), copy=False, name="draft")
    target = MarkovChain(np.broadcast_to(target_kernel, (T, S, S)), copy=False, name="target")
    return draft, target, "broadcast"


def _calculator_rows(config: SimBenchConfig) -> list[dict[str, Any]]:
    jobs: list[tuple[Algorithm, int, int]] = [(Speculative(), T, S) for T, S in config.calc_grid]
    others: list[Algorithm] = [
        Speculative(gamma=4),
        BatchSpeculative(num_drafts=4),
        OverAcceptance(eps=0.1, resample="opt"),
    ]
    jobs += [(a, T, S) for a in others for T, S in config.calc_grid_other]
    rows = []
    for algorithm, T, S in jobs:
        draft, target, kernels = _timing_pair(T, S, config.seed)
        best = np.inf
        for _ in range(config.calc_repeats):
            theory, seconds = _timed(lambda a=algorithm, d=draft, t=target: analyse(d, t, a))
            best = min(best, seconds)
        rows.append(
            {
                "algorithm": algorithm.label,
                "T": T,
                "S": S,
                "kernels": kernels,
                "seconds": best,
                "repeats": config.calc_repeats,
                "rejections": theory.rejections,
            }
        )
    return rows


def run_sim_benchmark(config: SimBenchConfig) -> dict[str, Any]:
    """Run both measurements; return the JSON-ready record."""
    from specbound.io import environment_info

    simulator = _simulator_rows(config)
    calculators = _calculator_rows(config)
    by_algorithm = {row["algorithm"]: row["ratio"] for row in simulator}
    headline = [
        row["seconds"]
        for row in calculators
        if row["algorithm"] == Speculative().label and (row["T"], row["S"]) == (1000, 512)
    ]
    env = environment_info()
    return {
        "benchmark": "sim",
        "config": config.to_dict(),
        "ratios": {
            "sim_vs_naive": min(by_algorithm.values()),
            "sim_vs_naive_by_algorithm": by_algorithm,
        },
        "simulator": simulator,
        "calculators": calculators,
        "targets": TARGETS,
        "meets_targets": {
            "sim_vs_naive": min(by_algorithm.values()) >= TARGETS["sim_vs_naive"],
            "sd_calculator_seconds_T1000_S512": (
                headline[0] <= TARGETS["sd_calculator_seconds_T1000_S512"] if headline else None
            ),
        },
        "versions": env,
        "date": env["date"],
    }
