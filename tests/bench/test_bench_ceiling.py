"""``sd_ceiling``: the overhead-free ceiling of SD's speed-up, against the formula."""

from __future__ import annotations

import pytest

from specbound.bench.lm_predictions import sd_ceiling
from specbound.profiling import CostModel


def test_ceiling_is_tokens_per_call_times_one_token_call_over_scoring_and_drafts() -> None:
    # one-token call 2.0 ms, a 4-position scoring call 2.4 ms, a draft forward 0.2 ms
    costs = CostModel(
        context=64,
        target={1: {1: 2.0e-3, 4: 2.4e-3}},
        draft={1: 0.2e-3},
        round_overhead={1: 0.0},
        token_overhead=0.0,
    )
    calls_per_token = 1 / 2.2  # 2.2 tokens per target call
    expected = 2.2 * 2.0e-3 / (2.4e-3 + 3 * 0.2e-3)
    assert sd_ceiling(calls_per_token, costs, gamma=3) == pytest.approx(expected, rel=1e-12)


def test_ceiling_falls_when_drafting_costs_more() -> None:
    cheap = CostModel(64, {1: {1: 2e-3, 3: 2.2e-3}}, {1: 0.1e-3}, {1: 0.0}, 0.0)
    dear = CostModel(64, {1: {1: 2e-3, 3: 2.2e-3}}, {1: 0.5e-3}, {1: 0.0}, 0.0)
    assert sd_ceiling(0.5, dear, 2) < sd_ceiling(0.5, cheap, 2)
