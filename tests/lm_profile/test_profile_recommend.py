"""The recommendation never makes decoding slower: constructed cases, no models."""

from __future__ import annotations

import math
from dataclasses import dataclass

from specbound.estimates import Z95, Estimate
from specbound.profiling.recommend import recommend


@dataclass(frozen=True)
class Setting:
    name: str
    lossless: bool
    predicted_speedup: Estimate | None


def speedup(mean: float, half_width: float) -> Estimate:
    """An estimate whose 95% interval is mean +- half_width."""
    return Estimate(mean, half_width / Z95, 100)


def test_best_lossless_setting_whose_interval_lies_above_one() -> None:
    rows = [
        Setting("sd1", True, speedup(1.2, 0.1)),
        Setting("sd3", True, speedup(1.5, 0.2)),
        Setting("opt", False, speedup(3.0, 0.1)),  # lossy: never recommended
    ]
    chosen = recommend(rows)
    assert chosen is not None and chosen.name == "sd3"


def test_interval_reaching_below_one_recommends_plain_decoding() -> None:
    rows = [Setting("sd2", True, speedup(1.05, 0.1)), Setting("sd4", True, speedup(0.9, 0.05))]
    assert recommend(rows) is None


def test_interval_entirely_below_one_recommends_plain_decoding() -> None:
    assert recommend([Setting("sd1", True, speedup(0.8, 0.05))]) is None


def test_undefined_interval_is_not_confidence() -> None:
    rows = [Setting("sd3", True, Estimate(1.6, math.nan, 1))]
    assert recommend(rows) is None


def test_no_costs_no_recommendation() -> None:
    assert recommend([Setting("sd3", True, None)]) is None
    assert recommend([]) is None
