"""Deterministic edge cases of the single-step rules (paper Section 3, Algorithms 1-2)."""

from __future__ import annotations

import numpy as np
import pytest

from specbound import core
from specbound.core.batch import RecursiveRejectionRule
from specbound.core.rules import OverAcceptanceRule, SpeculativeRule, output_distribution

SD = SpeculativeRule()


def test_tv_identities_and_example() -> None:
    draft = np.array([0.5, 0.3, 0.2])
    target = np.array([0.2, 0.3, 0.5])
    assert core.tv(draft, target) == pytest.approx(0.3, abs=1e-15)
    assert core.tv(draft, target) == pytest.approx(0.5 * np.abs(draft - target).sum())
    assert core.tv(draft, target) == pytest.approx(1 - np.minimum(draft, target).sum())


def test_equal_draft_and_target_never_reject() -> None:
    rng = np.random.default_rng(0)
    probs = rng.dirichlet(np.ones(6), size=4)  # (4, 6)
    assert np.all(SD.accept_probs(probs, probs) == 1.0)
    assert np.all(core.step_rejection_probability(SD, probs, probs) == 0.0)
    tokens = core.sample_categorical(probs, rng)
    for _ in range(50):
        assert core.accept_drafted(SD, probs, probs, tokens, rng).all()
    # residual has no mass: documented fallback to the target
    np.testing.assert_array_equal(core.residual(probs, probs), probs)


def test_disjoint_supports_always_reject() -> None:
    draft = np.array([0.5, 0.5, 0.0, 0.0])
    target = np.array([0.0, 0.0, 0.25, 0.75])
    assert core.tv(draft, target) == 1.0
    np.testing.assert_array_equal(SD.accept_probs(draft, target), [0, 0, 0, 0])
    np.testing.assert_allclose(core.residual(draft, target), target)
    rng = np.random.default_rng(1)
    tokens = np.array([0, 1] * 100)
    assert not core.accept_drafted(
        SD, np.tile(draft, (200, 1)), np.tile(target, (200, 1)), tokens, rng
    ).any()


def test_one_hot_draft_and_target() -> None:
    one_hot = np.array([0.0, 1.0, 0.0])
    target = np.array([0.2, 0.5, 0.3])
    # one-hot draft: accept token 1 with probability q(1) = 0.5
    assert SD.accept_probs(one_hot, target)[1] == 0.5
    np.testing.assert_allclose(core.residual(one_hot, target), [0.4, 0.0, 0.6])
    # one-hot target: the draft's token 1 always passes, others never
    np.testing.assert_array_equal(SD.accept_probs(target, one_hot), [0, 1, 0])
    np.testing.assert_allclose(core.residual(target, one_hot), one_hot)
    np.testing.assert_allclose(output_distribution(SD, target, one_hot), one_hot, atol=1e-15)


def test_draft_zero_where_target_has_mass_never_accepts_that_token() -> None:
    draft = np.array([0.0, 0.6, 0.4])
    target = np.array([0.5, 0.3, 0.2])
    accept = SD.accept_probs(draft, target)
    assert accept[0] == 0.0  # NOTE: draft probability 0 never accepts
    np.testing.assert_allclose(core.residual(draft, target), [1.0, 0.0, 0.0])
    np.testing.assert_allclose(output_distribution(SD, draft, target), target, atol=1e-15)
    rng = np.random.default_rng(2)
    forced = np.zeros(1000, dtype=np.int64)  # a token the draft could not have proposed
    assert not core.accept_drafted(
        SD, np.tile(draft, (1000, 1)), np.tile(target, (1000, 1)), forced, rng
    ).any()


def test_tiny_probabilities_near_1e_300() -> None:
    draft = np.array([1e-300, 1.0 - 1e-300, 0.0])
    target = np.array([2e-300, 0.5, 0.5])
    accept = SD.accept_probs(draft, target)
    assert np.all(np.isfinite(accept)) and accept[0] == 1.0
    out = output_distribution(SD, draft, target)
    np.testing.assert_allclose(out, target, atol=1e-15)
    assert np.isfinite(core.residual(draft, target)).all()
    # a subnormal draft probability must not overflow the ratio
    draft = np.array([5e-324, 1.0, 0.0])
    target = np.array([0.5, 0.25, 0.25])
    assert SD.accept_probs(draft, target)[0] == 1.0


def test_residual_mass_lost_to_rounding_falls_back_to_target() -> None:
    target = np.array([0.1, 0.2, 0.7])
    draft = target + np.array([1e-17, -1e-17, 0.0])  # differs only by rounding
    res = core.residual(draft, target)
    np.testing.assert_allclose(res, target)
    assert np.isclose(res.sum(), 1.0)
    # the same guard in Theorem 4's P*
    np.testing.assert_allclose(core.optimal_resampling(target, target, np.ones(3)), target)


def test_sampling_never_returns_zero_probability_index() -> None:
    rng = np.random.default_rng(3)
    probs = np.array([0.0, 0.3, 0.0, 0.7, 0.0])
    draws = core.sample_categorical(np.tile(probs, (20000, 1)), rng)
    assert set(np.unique(draws)) == {1, 3}


def test_over_acceptance_with_zero_eps_is_sd() -> None:
    rng = np.random.default_rng(4)
    draft, target = rng.dirichlet(np.ones(7), size=(2, 5))
    rule = OverAcceptanceRule(0.0, "opt")
    np.testing.assert_allclose(rule.accept_probs(draft, target), SD.accept_probs(draft, target))
    accept = rule.accept_probs(draft, target)
    np.testing.assert_allclose(
        rule.resample_probs(draft, target, accept),
        SD.resample_probs(draft, target, accept),
        atol=1e-15,
    )


def test_over_acceptance_accepts_outright_within_eps() -> None:
    draft = np.array([0.6, 0.3, 0.1])
    target = np.array([0.4, 0.4, 0.2])
    accept = OverAcceptanceRule(0.2, "uno").accept_probs(draft, target)
    np.testing.assert_allclose(accept, [1.0, 1.0, 1.0])  # p - q = 0.2 <= eps
    accept = OverAcceptanceRule(0.1, "uno").accept_probs(draft, target)
    np.testing.assert_allclose(accept, [0.5 / 0.6, 1.0, 1.0])


def test_batched_over_leading_axes_matches_row_by_row() -> None:
    rng = np.random.default_rng(5)
    draft = rng.dirichlet(np.ones(5), size=(3, 4))  # (3, 4, 5)
    target = rng.dirichlet(np.ones(5), size=(3, 4))
    batched = RecursiveRejectionRule(3).all_rejected_probability(draft, target)  # (3, 4)
    for i in range(3):
        for j in range(4):
            single = RecursiveRejectionRule(3).all_rejected_probability(draft[i, j], target[i, j])
            assert batched[i, j] == pytest.approx(float(single), abs=1e-15)
    np.testing.assert_allclose(core.tv(draft, target)[1], core.tv(draft[1], target[1]))
