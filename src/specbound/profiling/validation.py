"""How well the predicted wall-clock speed-ups match the measured ones, in two numbers.

* ``speedup_median_abs_error``: the median over rows of ``|measured / predicted - 1|``;
* ``speedup_coverage``: the share of rows whose measured speed-up lies inside the 95%
  interval predicted *for that measurement* (an interval that means what it says covers
  ~95% of them). A measurement is itself an average of finitely many timed runs, so the
  interval a measured value is checked against is the prediction's widened by the
  measurement's own error: ``predicted +- 1.96 sqrt(se_p^2 + se_m^2)``.

Both are taken over the lossless rows (the settings a user would deploy); pure
arithmetic, so the profile report and ``bench lm`` compute them the same way.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from specbound.estimates import Z95, Estimate

__all__ = [
    "MIN_INTERVAL_SAMPLES",
    "coverage_interval",
    "covered",
    "speedup_coverage",
    "speedup_median_abs_error",
]

#: Fewer independent samples than this make a normal 95% interval unreliable (the sample
#: standard deviation of a handful of runs is itself far off, often 0); reports warn.
MIN_INTERVAL_SAMPLES = 10


def coverage_interval(
    predicted: Estimate | None, measured: Estimate | None
) -> tuple[float, float] | None:
    """The 95% interval predicted *for the measurement*: ``predicted.mean +- 1.96
    sqrt(se_p^2 + se_m^2)``, its lower end never below 0 (a speed-up is positive);
    None when a spread is undefined."""
    if predicted is None or measured is None:
        return None
    spread = math.hypot(predicted.se, measured.se)
    if not math.isfinite(spread):
        return None
    return (max(predicted.mean - Z95 * spread, 0.0), predicted.mean + Z95 * spread)


def covered(predicted: Estimate | None, measured: Estimate | None) -> bool | None:
    """Whether ``measured``'s mean lies in :func:`coverage_interval` (None: a spread is
    undefined)."""
    bounds = coverage_interval(predicted, measured)
    if bounds is None or measured is None:
        return None
    return bool(bounds[0] <= measured.mean <= bounds[1])


def speedup_median_abs_error(ratios: Sequence[float | None]) -> float | None:
    """Median of ``|ratio - 1|`` over the defined ``ratios`` (measured / predicted)."""
    values = [abs(r - 1.0) for r in ratios if r is not None]
    return float(np.median(values)) if values else None


def speedup_coverage(flags: Sequence[bool | None]) -> float | None:
    """Share of the defined ``flags`` that are True."""
    values = [f for f in flags if f is not None]
    return sum(values) / len(values) if values else None
