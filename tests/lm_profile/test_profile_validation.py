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


def test_covered_reads_the_predicted_95_interval() -> None:
    predicted = Estimate(1.5, 0.1 / Z95, 50)  # interval 1.4 .. 1.6
    assert covered(predicted, Estimate(1.59, 0.01, 5)) is True
    assert covered(predicted, Estimate(1.61, 0.01, 5)) is False
    assert covered(predicted, Estimate(1.39, 0.01, 5)) is False
    assert covered(Estimate(1.5, math.nan, 1), Estimate(1.5, 0.01, 5)) is None
    assert covered(None, Estimate(1.5, 0.01, 5)) is None
