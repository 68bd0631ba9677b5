"""The record a chain simulation returns: per-run counts and sequences, with their means."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from specbound.errors import InvalidInputError
from specbound.estimates import Estimate

__all__ = ["METRICS", "SimulationResult"]

Metric = Literal["rejections", "target_calls", "draft_calls"]
#: The per-run counts a simulation records.
METRICS: tuple[Metric, ...] = ("rejections", "target_calls", "draft_calls")


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

    def estimate(self, metric: Metric) -> Estimate:
        """Mean of one per-run count with its standard error (its ``interval(level)``)."""
        if metric not in METRICS:
            raise InvalidInputError(f"metric must be one of {METRICS}, got {metric!r}")
        return Estimate.from_samples(getattr(self, metric))

    def summary(self) -> dict[str, Any]:
        """JSON-ready means, standard errors and 95% intervals of every count."""
        return {metric: self.estimate(metric).to_dict() for metric in METRICS}
