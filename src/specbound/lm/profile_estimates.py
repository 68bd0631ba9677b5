"""Monte Carlo estimates with their intervals: means, ratios of means, and their z-scores.

Every number :func:`specbound.lm.profile` reports is an average over independent runs
(prompts x samples): a plain mean with its standard error, or a ratio of two means (calls
per token, time per token, speed-up), whose standard error comes from the delta method.
Pure numpy; no model code.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

__all__ = [
    "Z95",
    "Estimate",
    "agreement_z",
    "inverse_ratio",
    "mean_estimate",
    "quotient",
    "ratio_estimate",
]

#: Two-sided 95% normal quantile.
Z95 = 1.959963984540054


@dataclass(frozen=True)
class Estimate:
    """A Monte Carlo estimate: ``mean``, standard error ``se``, from ``n`` runs."""

    mean: float
    se: float
    n: int

    @property
    def ci95(self) -> tuple[float, float]:
        """The normal 95% interval ``mean +- 1.96 se``."""
        return (self.mean - Z95 * self.se, self.mean + Z95 * self.se)

    def interval(self, z: float) -> tuple[float, float]:
        """``mean +- z se``."""
        return (self.mean - z * self.se, self.mean + z * self.se)

    def scaled(self, factor: float) -> Estimate:
        """``factor * self`` (exact constants keep the relative error)."""
        return Estimate(self.mean * factor, abs(factor) * self.se, self.n)

    def to_dict(self) -> dict[str, Any]:
        low, high = self.ci95
        return {"mean": self.mean, "se": self.se, "n": self.n, "ci95": [low, high]}


def mean_estimate(samples: ArrayLike) -> Estimate:
    """Mean and standard error (sample sd / sqrt(n)) of independent ``samples``.

    NOTE: one sample says nothing about the spread; its se is reported as 0 (a NaN would
    poison every derived ratio) and ``n = 1`` flags it.
    """
    values = np.asarray(samples, dtype=np.float64).ravel()  # (n,)
    if values.size == 0:
        raise ValueError("an estimate needs at least one sample")
    se = float(values.std(ddof=1) / math.sqrt(values.size)) if values.size > 1 else 0.0
    return Estimate(float(values.mean()), se, int(values.size))


def ratio_estimate(numerators: ArrayLike, denominators: ArrayLike) -> Estimate:
    """``sum(num) / sum(den)`` over paired runs, with its delta-method standard error.

    ``se = sd(num_i - R den_i) / (sqrt(n) mean(den))``: the usual ratio estimator, e.g.
    target calls per generated token when generations have different lengths.
    """
    num = np.asarray(numerators, dtype=np.float64).ravel()  # (n,)
    den = np.asarray(denominators, dtype=np.float64).ravel()  # (n,)
    if num.size == 0 or num.size != den.size:
        raise ValueError("ratio_estimate needs paired, non-empty samples")
    total = den.sum()
    if total <= 0:
        raise ValueError("ratio_estimate: the denominators sum to 0")
    ratio = float(num.sum() / total)
    if num.size < 2:
        return Estimate(ratio, 0.0, 1)
    residual = num - ratio * den  # (n,)
    se = float(residual.std(ddof=1) / (math.sqrt(num.size) * den.mean()))
    return Estimate(ratio, se, int(num.size))


def inverse_ratio(numerator: float, estimate: Estimate) -> Estimate:
    """``numerator / estimate`` (a constant over an estimate), by the delta method."""
    if estimate.mean <= 0:
        raise ValueError("inverse_ratio needs a positive estimate")
    value = numerator / estimate.mean
    return Estimate(value, abs(value) * estimate.se / estimate.mean, estimate.n)


def quotient(top: Estimate, bottom: Estimate) -> Estimate:
    """``top / bottom`` for two independent estimates (delta method on the logarithm)."""
    if top.mean <= 0 or bottom.mean <= 0:
        raise ValueError("quotient needs positive estimates")
    value = top.mean / bottom.mean
    relative = math.hypot(top.se / top.mean, bottom.se / bottom.mean)
    return Estimate(value, value * relative, min(top.n, bottom.n))


def agreement_z(predicted: Estimate, measured: Estimate) -> float:
    """``(measured - predicted) / sqrt(se_p^2 + se_m^2)``: two independent estimates of
    one expectation agree when |z| is small (|z| < 2.58 at the 99% level)."""
    spread = math.hypot(predicted.se, measured.se)
    gap = measured.mean - predicted.mean
    if spread > 0:
        return gap / spread
    # NOTE: zero spread on both sides (e.g. greedy decoding): only equality agrees.
    return 0.0 if abs(gap) <= 1e-12 else math.copysign(math.inf, gap)
