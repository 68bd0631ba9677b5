"""Bad input gives a named SpecboundError, never a deep traceback or a silent answer."""

from __future__ import annotations

import numpy as np
import pytest

import specbound as sb
from specbound import core
from specbound.errors import (
    InvalidAlgorithmError,
    InvalidDistributionError,
    ShapeMismatchError,
    SpecboundError,
)


@pytest.mark.parametrize(
    ("draft", "message"),
    [
        ([0.5, np.nan, 0.5], r"draft_probs: entry \[1\] is nan"),
        ([0.5, -0.1, 0.6], r"draft_probs: entry \[1\] is -0.1"),
        ([0.5, 0.3, 0.1], r"draft_probs: the vector sums to 0.9"),
        ([0.5, np.inf, 0.5], r"must be finite"),
        ([], r"at least one probability"),
        ("abc", r"draft_probs"),
    ],
)
def test_invalid_distribution_names_the_argument_and_value(draft, message) -> None:
    with pytest.raises(InvalidDistributionError, match=message):
        core.tv(draft, [0.2, 0.3, 0.5])


def test_offending_row_is_named() -> None:
    target = np.array([[0.5, 0.5], [0.7, 0.2]])
    with pytest.raises(InvalidDistributionError, match=r"target_probs: row \[1\] sums to 0.9"):
        core.residual(np.full((2, 2), 0.5), target)


def test_shape_mismatch_and_vocabulary_mismatch() -> None:
    with pytest.raises(ShapeMismatchError, match=r"vocabulary sizes 2 vs 3"):
        core.tv([0.5, 0.5], [0.2, 0.3, 0.5])
    with pytest.raises(ShapeMismatchError, match=r"shape \(2, 2\)"):
        core.tv(np.full((2, 2), 0.5), [0.5, 0.5])


def test_accept_probs_out_of_range() -> None:
    with pytest.raises(InvalidDistributionError, match=r"accept_probs: entry \[0\] is 1.5"):
        core.min_bias([0.5, 0.5], [0.5, 0.5], [1.5, 0.5])


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: sb.Speculative(gamma=0), r"gamma must be >= 1"),
        (lambda: sb.Speculative(gamma=2.5), r"gamma must be None or an integer"),
        (lambda: sb.BatchSpeculative(num_drafts=0), r"num_drafts must be >= 1, got 0"),
        (lambda: sb.BatchSpeculative(num_drafts=2, gamma=-1), r"gamma must be >= 1"),
        (lambda: sb.OverAcceptance(eps=-0.1), r"eps must be a finite number >= 0"),
        (lambda: sb.OverAcceptance(eps=float("nan")), r"eps must be a finite number >= 0"),
        (lambda: sb.OverAcceptance(eps=0.1, resample="best"), r"resample must be 'opt' or 'uno'"),
        (lambda: core.all_rejected_probability([1.0], [1.0], 0), r"num_drafts must be >= 1"),
    ],
)
def test_algorithm_specs_validate_on_construction(build, message) -> None:
    with pytest.raises(InvalidAlgorithmError, match=message):
        build()


def test_errors_share_one_base_class() -> None:
    for cls in (InvalidDistributionError, ShapeMismatchError, InvalidAlgorithmError):
        assert issubclass(cls, SpecboundError)


def test_specs_expose_core_rules() -> None:
    assert isinstance(sb.Speculative().step_rule, core.SpeculativeRule)
    batch = sb.BatchSpeculative(num_drafts=3, gamma=4)
    assert isinstance(batch.round_start_rule, core.RecursiveRejectionRule)
    assert batch.round_start_rule.num_drafts == 3
    assert sb.OverAcceptance(eps=0.2, resample="uno").step_rule == core.OverAcceptanceRule(
        0.2, "uno"
    )
    assert sb.OverAcceptance(eps=0.0).unbiased and not sb.OverAcceptance(eps=0.1).unbiased
    assert sb.Autoregressive().step_rule is None
    assert sb.BatchSpeculative(num_drafts=3).to_dict() == {
        "name": "batch",
        "num_drafts": 3,
        "gamma": None,
    }
