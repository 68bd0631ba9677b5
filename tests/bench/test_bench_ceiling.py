"""``sd_ceiling``: the overhead-free ceiling of SD's speed-up, against the formula."""

from __future__ import annotations

import numpy as np
import pytest

from specbound.bench.lm_predictions import sd_ceiling
from specbound.profiling.costs import CostBasis, CostFit, CostModel


def _costs(draft_position: float) -> CostModel:
    """One autoregressive step 2.0 ms; target calls 2.0 ms for 1 token, 2.4 ms for 4; the
    first draft position 0.3 ms, the next ones ``draft_position``; context terms zero."""
    basis = CostBasis(knots=(1, 4), rows=(1,), kinds=("sequence",))
    values = {
        "target@1": 2.0e-3,
        "target@4": 2.4e-3,
        "draft_first": 0.3e-3,
        "draft_rows@1": draft_position,
        "autoregressive_token": 2.0e-3,
        "other@sequence": 0.5e-3,  # bookkeeping: not part of the ceiling
    }
    coefficients = np.array([values.get(c, 0.0) for c in basis.columns])
    fit = CostFit(1, 1, 0.0, None, 0, {"sequence": 0.0})
    return CostModel(basis, coefficients, coefficients[None, :], fit, context=64)


def test_ceiling_is_tokens_per_call_times_one_token_call_over_scoring_and_drafts() -> None:
    calls_per_token = 1 / 2.2  # 2.2 tokens per target call
    expected = 2.2 * 2.0e-3 / (2.4e-3 + 0.3e-3 + 2 * 0.2e-3)  # gamma 3: 3 draft positions
    assert sd_ceiling(calls_per_token, _costs(0.2e-3), gamma=3) == pytest.approx(
        expected, rel=1e-12
    )


def test_ceiling_falls_when_drafting_costs_more() -> None:
    assert sd_ceiling(0.5, _costs(0.5e-3), 2) < sd_ceiling(0.5, _costs(0.1e-3), 2)
