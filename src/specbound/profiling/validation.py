"""How well the predicted wall-clock speed-ups match the measured ones, in two numbers.

* ``speedup_median_abs_error``: the median over rows of ``|measured / predicted - 1|``;
* ``speedup_coverage``: the share of rows whose measured speed-up lies inside the
  predicted 95% interval (an interval that means what it says covers ~95% of them).

Both are taken over the lossless rows (the settings a user would deploy); pure
arithmetic, so the profile report and ``bench lm`` compute them the same way.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from specbound.estimates import Estimate

__all__ = ["covered", "speedup_coverage", "speedup_median_abs_error"]


def covered(predicted: Estimate | None, measured: Estimate | None) -> bool | None:
    """Whether ``measured``'s mean lies in ``predicted``'s 95% interval (None: undefined)."""
    if predicted is None or measured is None or predicted.ci95 is None:
        return None
    low, high = predicted.ci95
    return bool(low <= measured.mean <= high)


def speedup_median_abs_error(ratios: Sequence[float | None]) -> float | None:
    """Median of ``|ratio - 1|`` over the defined ``ratios`` (measured / predicted)."""
    values = [abs(r - 1.0) for r in ratios if r is not None]
    return float(np.median(values)) if values else None


def speedup_coverage(flags: Sequence[bool | None]) -> float | None:
    """Share of the defined ``flags`` that are True."""
    values = [f for f in flags if f is not None]
    return sum(values) / len(values) if values else None
