"""The claim checks: each must hold on correct numbers and fail on wrong ones."""

from __future__ import annotations

import numpy as np
import pytest

from specbound.estimates import Estimate
from specbound.experiments.base import Claim, config_hash
from specbound.experiments.checks import (
    chi_square_pvalue,
    fisher_claim,
    joint_claim,
    running_mean,
    tolerance_claim,
    z_claim,
)


def test_estimate_and_its_95_interval() -> None:
    est = Estimate.from_samples([1.0, 2.0, 3.0, 4.0])
    assert est.mean == pytest.approx(2.5)
    assert est.se == pytest.approx(np.std([1, 2, 3, 4], ddof=1) / 2)
    low, high = est.ci95
    assert low == pytest.approx(2.5 - 1.959964 * est.se) and high > est.mean


def test_z_claim_holds_near_and_fails_far() -> None:
    near = z_claim("x", "s", Estimate(10.0, 0.1), theory=10.2)
    far = z_claim("x", "s", Estimate(10.0, 0.1), theory=10.5)
    assert near.holds and "|z| = 2.00" in near.check
    assert not far.holds and near.ci95 is not None


def test_z_claim_with_zero_spread_needs_an_exact_match() -> None:
    assert z_claim("x", "s", Estimate(0.0, 0.0), theory=0.0).holds
    assert not z_claim("x", "s", Estimate(0.0, 0.0), theory=1e-3).holds


def test_joint_claim_is_calibrated_and_has_power() -> None:
    rng = np.random.default_rng(0)
    truth = np.linspace(1, 2, 20)
    good = [Estimate(t + rng.normal(0, 0.01), 0.01) for t in truth]
    assert joint_claim("j", "s", good, list(truth)).holds
    # negative control: every mean off by 2 standard errors is jointly implausible
    biased = [Estimate(t + 0.02, 0.01) for t in truth]
    assert not joint_claim("j", "s", biased, list(truth)).holds


def test_tolerance_claim_broadcasts_and_reports_the_worst_gap() -> None:
    claim = tolerance_claim("t", "s", 0.0, [1e-12, -3e-10, 2e-11])
    assert claim.holds and claim.measured == pytest.approx(-3e-10)
    assert not tolerance_claim("t", "s", [1.0, 2.0], [1.0, 2.0 + 1e-6]).holds


def test_chi_square_and_fisher_accept_the_right_law_and_reject_a_wrong_one() -> None:
    rng = np.random.default_rng(1)
    law = np.array([0.5, 0.3, 0.2, 0.0])
    counts = np.bincount(rng.choice(4, size=50_000, p=law), minlength=4)
    p_right = chi_square_pvalue(counts, law)
    p_wrong = chi_square_pvalue(counts, [0.48, 0.32, 0.2, 0.0])
    assert p_right > 1e-3 and p_wrong < 1e-6
    assert chi_square_pvalue([5, 0, 1], [0.5, 0.5, 0.0]) == 0.0  # mass on an impossible cell
    assert fisher_claim("f", "s", [p_right, 0.3, 0.7]).holds
    assert not fisher_claim("f", "s", [p_wrong, 0.3, 0.7]).holds


def test_running_mean_ends_at_the_mean() -> None:
    counts, means = running_mean(np.arange(1000.0), num_points=50)
    assert counts[0] == 1 and counts[-1] == 1000 and len(counts) <= 50
    assert means[-1] == pytest.approx(499.5)


def test_claim_round_trips_through_a_dict() -> None:
    claim = Claim("id", "statement", True, "check", 1.0, 2.0, (1.5, 2.5))
    assert Claim.from_dict(claim.to_dict()) == claim


def test_config_hash_changes_with_config_revision_and_name() -> None:
    from dataclasses import dataclass

    @dataclass(frozen=True)
    class Config:
        seed: int
        runs: int = 10

    base = config_hash("fig", 1, Config(0))
    assert base == config_hash("fig", 1, Config(0))
    assert (
        len(
            {
                base,
                config_hash("fig", 2, Config(0)),
                config_hash("fig", 1, Config(1)),
                config_hash("fig", 1, Config(0, 11)),
                config_hash("other", 1, Config(0)),
            }
        )
        == 5
    )
