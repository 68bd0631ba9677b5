"""Sampling each rule reproduces its output law (chi-square, fixed seeds, alpha = 1e-3),
and a deliberately wrong sampler fails the same test (negative controls)."""

from __future__ import annotations

import numpy as np
import pytest

from round_laws import output_formula
from specbound import core
from specbound.core.batch import RecursiveRejectionRule
from specbound.core.rules import OverAcceptanceRule, SpeculativeRule, StepRule
from stats_helpers import ALPHA, chi_square_pvalue

N = 200_000
DRAFT = np.array([0.35, 0.25, 0.2, 0.1, 0.1, 0.0])
TARGET = np.array([0.05, 0.15, 0.2, 0.3, 0.1, 0.2])


def _run_step(rule: StepRule, seed: int, wrong_resample: bool = False) -> np.ndarray:
    """N independent steps: draft a token, verify it, recover on rejection."""
    rng = np.random.default_rng(seed)
    draft = np.broadcast_to(DRAFT, (N, DRAFT.size))  # (N, V)
    target = np.broadcast_to(TARGET, (N, TARGET.size))
    drafted = core.sample_categorical(draft, rng)  # (N,)
    accepted = core.accept_drafted(rule, draft, target, drafted, rng)  # (N,)
    if wrong_resample:  # negative control: resample from the target, not the residual
        recovered = core.sample_categorical(target, rng)
    else:
        recovered = rule.sample_recovered(draft, target, rng)
    return np.where(accepted, drafted, recovered)


def test_sd_sampling_reproduces_the_target() -> None:
    samples = _run_step(SpeculativeRule(), seed=0)
    assert chi_square_pvalue(samples, TARGET) > ALPHA


def test_negative_control_resampling_from_target_is_rejected() -> None:
    samples = _run_step(SpeculativeRule(), seed=0, wrong_resample=True)
    assert chi_square_pvalue(samples, TARGET) < ALPHA


@pytest.mark.parametrize("resample", ["opt", "uno"])
@pytest.mark.parametrize("eps", [0.05, 0.2])
def test_over_acceptance_sampling_reproduces_its_output_law(resample: str, eps: float) -> None:
    rule = OverAcceptanceRule(eps, resample)  # type: ignore[arg-type]
    samples = _run_step(rule, seed=1)
    law = output_formula(DRAFT, TARGET, (resample, eps))  # written in the test
    assert chi_square_pvalue(samples, law) > ALPHA
    # and it is biased: the same samples are rejected as draws from the target
    assert chi_square_pvalue(samples, TARGET) < ALPHA


def test_measured_rejection_rate_matches_tv() -> None:
    rng = np.random.default_rng(2)
    draft = np.broadcast_to(DRAFT, (N, DRAFT.size))
    target = np.broadcast_to(TARGET, (N, TARGET.size))
    accepted = core.accept_drafted(
        SpeculativeRule(), draft, target, core.sample_categorical(draft, rng), rng
    )
    tv = float(core.tv(DRAFT, TARGET))
    se = np.sqrt(tv * (1 - tv) / N)
    assert abs((1 - accepted.mean()) - tv) < 4 * se


class _NoResidualUpdate(RecursiveRejectionRule):
    """Negative control: every candidate is verified against the target itself."""

    def residuals(self, draft: np.ndarray, target: np.ndarray) -> np.ndarray:
        chain = super().residuals(draft, target)
        chain[..., :-1, :] = target[..., None, :]
        return chain


@pytest.mark.parametrize("num_drafts", [2, 3, 5])
def test_recursive_rejection_sampling_reproduces_the_target(num_drafts: int) -> None:
    rng = np.random.default_rng(10 + num_drafts)
    draft = np.broadcast_to(DRAFT, (N, DRAFT.size))
    target = np.broadcast_to(TARGET, (N, TARGET.size))
    candidates = core.sample_categorical(
        np.broadcast_to(DRAFT, (N, num_drafts, DRAFT.size)), rng
    )  # (N, M)
    winner, token = RecursiveRejectionRule(num_drafts).verify(draft, target, candidates, rng)
    assert chi_square_pvalue(token, TARGET) > ALPHA
    rejected = float(RecursiveRejectionRule(num_drafts).all_rejected_probability(DRAFT, TARGET))
    se = np.sqrt(rejected * (1 - rejected) / N)
    assert abs((winner < 0).mean() - rejected) < 4 * se
    # the winner is always the first accepted candidate
    won = winner >= 0
    np.testing.assert_array_equal(token[won], candidates[won, winner[won]])


def test_negative_control_recursive_rejection_without_residual_update() -> None:
    rng = np.random.default_rng(20)
    draft = np.broadcast_to(DRAFT, (N, DRAFT.size))
    target = np.broadcast_to(TARGET, (N, TARGET.size))
    candidates = core.sample_categorical(np.broadcast_to(DRAFT, (N, 3, DRAFT.size)), rng)
    _, token = _NoResidualUpdate(3).verify(draft, target, candidates, rng)
    assert chi_square_pvalue(token, TARGET) < ALPHA
