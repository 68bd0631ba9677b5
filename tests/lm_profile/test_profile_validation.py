"""The wall-clock validation fields' arithmetic, on constructed numbers."""

from __future__ import annotations

import math

import pytest

from specbound.estimates import Z95, Estimate
from specbound.profiling.validation import covered, speedup_coverage, speedup_median_abs_error


def test_median_abs_error_is_the_median_of_relative_misses() -> None:
    # misses of 10%, 2%, 30% (and an undefined row): the median is 10%
    assert speedup_median_abs_error([1.1, 0.98, 0.7, None]) == pytest.approx(0.1)
    assert speedup_median_abs_error([None]) is None


def test_coverage_is_the_share_of_rows_inside_their_interval() -> None:
    assert speedup_coverage([True, False, True, True, None]) == pytest.approx(0.75)
    assert speedup_coverage([]) is None


def test_covered_reads_the_interval_predicted_for_the_measurement() -> None:
    """Inside when |measured - predicted| <= 1.96 sqrt(se_p^2 + se_m^2)."""
    predicted = Estimate(1.5, 0.06 / Z95, 50)
    measured_se = 0.08 / Z95  # together: half-width sqrt(0.06^2 + 0.08^2) = 0.10
    assert covered(predicted, Estimate(1.59, measured_se, 5)) is True
    assert covered(predicted, Estimate(1.61, measured_se, 5)) is False
    assert covered(predicted, Estimate(1.39, measured_se, 5)) is False
    assert covered(predicted, Estimate(1.59, 0.0, 5)) is False  # exact: 0.06 only
    assert covered(Estimate(1.5, math.nan, 1), Estimate(1.5, 0.01, 5)) is None
    assert covered(None, Estimate(1.5, 0.01, 5)) is None
