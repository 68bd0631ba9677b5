"""Monte Carlo estimates with their intervals, the normal quantiles, and derived seeds.

One type, :class:`Estimate`, carries every average specbound reports — a chain
simulation's mean rejections, a profile's predicted calls per token, an experiment's
measured point — with its standard error and the number of independent samples.

Conventions, the same everywhere:

* the standard error of a mean is ``sd / sqrt(n)`` (sample standard deviation, ``ddof=1``);
* from **one** sample the spread is unknown: ``se`` is NaN, :attr:`Estimate.defined` is
  False, intervals and z-scores are ``None`` and the JSON form writes ``null`` (never an
  infinite interval, never a bogus zero);
* a ratio of two means (calls per token, seconds per token) gets its standard error from
  the delta method.

Pure Python and NumPy; no model code.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from statistics import NormalDist
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from specbound.errors import InvalidInputError

__all__ = [
    "Z95",
    "Z99",
    "Z999",
    "Estimate",
    "agreement_z",
    "derive_seed",
    "inverse_ratio",
    "quotient",
    "z_for_level",
]

#: Two-sided normal quantiles: 95%, 99% and 99.9% levels.
Z95 = 1.959963984540054
Z99 = 2.5758293035489004
Z999 = 3.2905267314919255


def z_for_level(level: float) -> float:
    """The two-sided normal quantile of ``level`` (0.95 -> 1.96)."""
    if not 0.0 < level < 1.0:
        raise InvalidInputError(f"level must lie in (0, 1), got {level}")
    return NormalDist().inv_cdf(0.5 + level / 2.0)


def _finite_or_none(value: float) -> float | None:
    return value if math.isfinite(value) else None


@dataclass(frozen=True)
class Estimate:
    """A Monte Carlo estimate: ``mean``, standard error ``se`` (NaN: undefined), from ``n``
    independent samples (None when a stored value did not record it)."""

    mean: float
    se: float
    n: int | None = None

    # ------------------------------------------------------------------ construction

    @classmethod
    def from_samples(cls, samples: ArrayLike) -> Estimate:
        """Mean and standard error of independent ``samples`` (one sample: se undefined)."""
        values = np.asarray(samples, dtype=np.float64).ravel()  # (n,)
        if values.size == 0:
            raise InvalidInputError("an estimate needs at least one sample")
        se = float(values.std(ddof=1) / math.sqrt(values.size)) if values.size > 1 else math.nan
        return cls(float(values.mean()), se, int(values.size))

    @classmethod
    def ratio(cls, numerators: ArrayLike, denominators: ArrayLike) -> Estimate:
        """``sum(num) / sum(den)`` over paired samples, with its delta-method error.

        ``se = sd(num_i - R den_i) / (sqrt(n) mean(den))``: the usual ratio estimator, e.g.
        target calls per generated token when generations have different lengths.
        """
        num = np.asarray(numerators, dtype=np.float64).ravel()  # (n,)
        den = np.asarray(denominators, dtype=np.float64).ravel()  # (n,)
        if num.size == 0 or num.size != den.size:
            raise InvalidInputError("a ratio estimate needs paired, non-empty samples")
        total = den.sum()
        if total <= 0:
            raise InvalidInputError("a ratio estimate needs denominators with a positive sum")
        ratio = float(num.sum() / total)
        if num.size < 2:
            return cls(ratio, math.nan, 1)
        residual = num - ratio * den  # (n,)
        se = float(residual.std(ddof=1) / (math.sqrt(num.size) * den.mean()))
        return cls(ratio, se, int(num.size))

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> Estimate:
        """Rebuild an estimate from :meth:`to_dict` (``se`` null means undefined)."""
        se = raw.get("se")
        n = raw.get("n")
        return cls(float(raw["mean"]), math.nan if se is None else float(se), n)

    # ------------------------------------------------------------------ reading

    @property
    def defined(self) -> bool:
        """Whether the spread is known (at least two samples)."""
        return math.isfinite(self.se)

    def interval(self, level: float = 0.95) -> tuple[float, float] | None:
        """The normal interval ``mean +- z se`` at ``level``; None when undefined."""
        if not self.defined:
            return None
        half = z_for_level(level) * self.se
        return (self.mean - half, self.mean + half)

    @property
    def ci95(self) -> tuple[float, float] | None:
        """The 95% interval ``mean +- 1.96 se`` (None when undefined)."""
        return None if not self.defined else (self.mean - Z95 * self.se, self.mean + Z95 * self.se)

    def z(self, value: float, tolerance: float = 1e-12) -> float | None:
        """``(mean - value) / se``; with zero spread 0 for a match and +-inf otherwise;
        None when the spread is undefined."""
        if not self.defined:
            return None
        gap = self.mean - value
        if self.se > 0:
            return gap / self.se
        # NOTE: zero spread (every sample equal): only an exact match agrees.
        return 0.0 if abs(gap) <= tolerance else math.copysign(math.inf, gap)

    def contains(self, value: float, level: float = 0.95, slack: float = 1e-9) -> bool | None:
        """Whether ``value`` lies in the ``level`` interval (``slack`` covers a zero-width
        one); None when the interval is undefined."""
        bounds = self.interval(level)
        if bounds is None:
            return None
        return bounds[0] - slack <= value <= bounds[1] + slack

    def scaled(self, factor: float) -> Estimate:
        """``factor * self`` (an exact constant keeps the relative error)."""
        return Estimate(self.mean * factor, abs(factor) * self.se, self.n)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: ``mean``, ``se``, ``n``, ``ci95``; ``null`` where undefined."""
        out: dict[str, Any] = {
            "mean": _finite_or_none(self.mean),
            "se": _finite_or_none(self.se),
            "n": self.n,
            "ci95": None if self.ci95 is None else list(self.ci95),
        }
        if not self.defined:
            out["note"] = "spread undefined: a single sample"
        return out


def inverse_ratio(numerator: float, estimate: Estimate) -> Estimate:
    """``numerator / estimate`` (a constant over an estimate), by the delta method."""
    if estimate.mean <= 0:
        raise InvalidInputError("inverse_ratio needs a positive estimate")
    value = numerator / estimate.mean
    return Estimate(value, abs(value) * estimate.se / estimate.mean, estimate.n)


def quotient(top: Estimate, bottom: Estimate) -> Estimate:
    """``top / bottom`` for two independent estimates (delta method on the logarithm)."""
    if top.mean <= 0 or bottom.mean <= 0:
        raise InvalidInputError("quotient needs positive estimates")
    value = top.mean / bottom.mean
    relative = math.hypot(top.se / top.mean, bottom.se / bottom.mean)
    sizes = [n for n in (top.n, bottom.n) if n is not None]
    return Estimate(value, value * relative, min(sizes) if sizes else None)


def agreement_z(predicted: Estimate, measured: Estimate) -> float | None:
    """``(measured - predicted) / sqrt(se_p^2 + se_m^2)``: two independent estimates of
    one expectation agree when |z| is small (|z| < 2.58 at the 99% level). None when a
    spread is undefined."""
    spread = math.hypot(predicted.se, measured.se)
    if not math.isfinite(spread):
        return None
    return Estimate(measured.mean, spread).z(predicted.mean)


def derive_seed(seed: int, *keys: str | int) -> int:
    """A seed for one part of a computation, derived from ``seed`` and ``keys``.

    Distinct keys give independent streams (``numpy.random.SeedSequence`` spawn keys;
    strings enter by their CRC-32), so adding a part never changes the numbers of the
    others. The result is a 32-bit integer, usable as a seed anywhere.
    """
    spawn_key = tuple(k if isinstance(k, int) else zlib.crc32(k.encode()) for k in keys)
    sequence = np.random.SeedSequence(seed, spawn_key=spawn_key)
    return int(sequence.generate_state(1, dtype=np.uint32)[0])
