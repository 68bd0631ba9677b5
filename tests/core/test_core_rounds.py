"""The along-path round recursion equals enumeration of the acceptance outcomes."""

from __future__ import annotations

import numpy as np
import pytest

from round_laws import output_formula
from specbound import core
from specbound.core.batch import RecursiveRejectionRule
from specbound.core.rounds import (
    acceptance_given_output,
    expected_counts_given_path,
    round_start_acceptance_given_output,
)
from specbound.core.rules import OverAcceptanceRule, SpeculativeRule


def _brute_dedup(accept, start_accept, gamma):
    horizon = len(accept)
    depth = horizon if gamma is None else gamma
    results = {"rej": 0.0, "calls": 0.0}

    def walk(n, k, prob, rej, calls):
        if n == horizon:
            results["rej"] += prob * rej
            results["calls"] += prob * calls
            return
        calls += k == 0
        if k == depth:
            walk(n + 1, 0, prob, rej, calls)
            return
        a = start_accept[n] if k == 0 else accept[n]
        walk(n + 1, k + 1, prob * a, rej, calls)
        walk(n + 1, 0, prob * (1 - a), rej + 1, calls)

    walk(0, 0, 1.0, 0, 0)
    return results["rej"], results["calls"]


@pytest.mark.parametrize("gamma", [None, 1, 2, 3, 5])
def test_recursion_equals_enumeration(gamma) -> None:
    rng = np.random.default_rng(0)
    for _ in range(20):
        horizon = int(rng.integers(1, 8))
        accept = rng.random(horizon)
        start = rng.random(horizon)
        counts = expected_counts_given_path(accept, gamma, start)
        rej, calls = _brute_dedup(accept, start, gamma)
        assert float(counts.rejections) == pytest.approx(rej, abs=1e-12)
        assert float(counts.target_calls) == pytest.approx(calls, abs=1e-12)


def test_extremes() -> None:
    ones, zeros = np.ones(10), np.zeros(10)
    assert float(expected_counts_given_path(ones, None).target_calls) == 1.0
    assert float(expected_counts_given_path(ones, 4).target_calls) == 2.0  # 5 + 5 tokens
    assert float(expected_counts_given_path(zeros, 4).rejections) == 10.0
    assert float(expected_counts_given_path(zeros, None).target_calls) == 10.0
    batched = expected_counts_given_path(np.stack([ones, zeros]), 3)
    np.testing.assert_allclose(batched.rejections, [0.0, 10.0])


def test_acceptance_given_output_for_sd_is_min_over_target() -> None:
    rng = np.random.default_rng(1)
    draft, target = rng.dirichlet(np.ones(6), size=2)
    np.testing.assert_allclose(
        acceptance_given_output(SpeculativeRule(), draft, target),
        np.minimum(draft, target) / target,
        atol=1e-12,
    )
    # averaging over the output recovers the unconditional acceptance rate 1 - TV
    assert float((target * acceptance_given_output(SpeculativeRule(), draft, target)).sum()) == (
        pytest.approx(1 - float(core.tv(draft, target)), abs=1e-12)
    )
    rule = OverAcceptanceRule(0.1, "uno")
    law = output_formula(draft, target, ("uno", 0.1))  # written in the test
    rate = float((law * acceptance_given_output(rule, draft, target)).sum())
    assert rate == pytest.approx(1 - float(core.step_rejection_probability(rule, draft, target)))


def test_round_start_acceptance_matches_all_rejected_probability() -> None:
    rng = np.random.default_rng(2)
    for num_drafts in (1, 2, 4):
        draft, target = rng.dirichlet(np.ones(5), size=2)
        rule = RecursiveRejectionRule(num_drafts)
        given = round_start_acceptance_given_output(rule, draft, target)
        assert float((target * (1 - given)).sum()) == pytest.approx(
            float(rule.all_rejected_probability(draft, target)), abs=1e-12
        )
        if num_drafts == 1:
            np.testing.assert_allclose(given, np.minimum(draft, target) / target, atol=1e-12)


def test_monte_carlo_of_the_round_machine_agrees() -> None:
    """Simulate the round state machine with Bernoulli acceptances (alpha = 1e-3, 4 SE)."""
    rng = np.random.default_rng(3)
    accept = rng.uniform(0.3, 0.95, 12)
    start = rng.uniform(0.5, 1.0, 12)
    gamma, runs = 3, 40_000
    counts = expected_counts_given_path(accept, gamma, start)
    rej = np.zeros(runs)
    calls = np.zeros(runs)
    k = np.zeros(runs, dtype=int)
    for n in range(12):
        calls += k == 0
        bonus = k == gamma
        a = np.where(k == 0, start[n], accept[n])
        ok = rng.random(runs) < a
        rej += ~bonus & ~ok
        k = np.where(bonus | ~ok, 0, k + 1)
    for sample, exact in ((rej, counts.rejections), (calls, counts.target_calls)):
        se = sample.std() / np.sqrt(runs)
        assert abs(sample.mean() - float(exact)) < 4 * se
