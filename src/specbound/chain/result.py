"""The record a chain simulation returns, and the mean with its confidence interval."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from statistics import NormalDist
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from specbound.errors import InvalidInputError

__all__ = ["METRICS", "MeanInterval", "SimulationResult", "mean_interval"]

Metric = Literal["rejections", "target_calls", "draft_calls"]
#: The per-run counts a simulation records.
METRICS: tuple[Metric, ...] = ("rejections", "target_calls", "draft_calls")


@dataclass(frozen=True)
class MeanInterval:
    """Sample mean, its standard error and a normal-approximation interval."""

    mean: float
    stderr: float
    low: float
    high: float
    level: float

    def contains(self, value: float, slack: float = 1e-9) -> bool:
        """Whether ``value`` lies in the interval (``slack`` covers a zero-width one)."""
        return self.low - slack <= value <= self.high + slack

    def to_dict(self) -> dict[str, Any]:
        return {
            "mean": self.mean,
            "stderr": self.stderr,
            "ci": [self.low, self.high],
            "level": self.level,
        }


def mean_interval(values: NDArray[Any], level: float = 0.95) -> MeanInterval:
    """``mean +- z * sd / sqrt(n)`` with ``z`` the normal ``(1 + level) / 2`` quantile."""
    if not 0.0 < level < 1.0:
        raise InvalidInputError(f"level must lie in (0, 1), got {level}")
    x = np.asarray(values, dtype=np.float64)
    n = x.size
    mean = float(x.mean())
    stderr = float(x.std(ddof=1) / math.sqrt(n)) if n > 1 else math.inf
    z = NormalDist().inv_cdf(0.5 + level / 2.0)
    return MeanInterval(mean, stderr, mean - z * stderr, mean + z * stderr, level)


@dataclass(frozen=True)
class SimulationResult:
    """Per-run counts of a simulation (counting rules: ``docs/chains.md``).

    ``rejections``, ``target_calls``, ``draft_calls``: (n_runs,) int64;
    ``sequences``: (n_runs, T) int64, the emitted tokens ``x_1..x_T``.
    """

    rejections: NDArray[np.int64] = field(repr=False)
    target_calls: NDArray[np.int64] = field(repr=False)
    draft_calls: NDArray[np.int64] = field(repr=False)
    sequences: NDArray[np.int64] = field(repr=False)
    algorithm: dict[str, Any]
    seed: int

    @property
    def n_runs(self) -> int:
        return int(self.rejections.shape[0])

    def interval(self, metric: Metric, level: float = 0.95) -> MeanInterval:
        """Mean of one per-run count with its ``level`` confidence interval."""
        if metric not in METRICS:
            raise InvalidInputError(f"metric must be one of {METRICS}, got {metric!r}")
        return mean_interval(getattr(self, metric), level)

    def summary(self, level: float = 0.95) -> dict[str, Any]:
        """JSON-ready means and intervals of every count."""
        return {metric: self.interval(metric, level).to_dict() for metric in METRICS}
