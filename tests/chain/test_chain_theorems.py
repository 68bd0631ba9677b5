"""Theorem 2 (optimality of SD in Algorithm 2) and Proposition 1 (batch SD as M -> inf)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from chain_cases import random_member, tiny_pair

import specbound as sb
from specbound import theory
from specbound.chain import MarkovChain, random_pair
from specbound.core.batch import all_rejected_probability, limit_round_start_split


@pytest.mark.parametrize("seed", range(12))
def test_random_unbiased_members_never_beat_theorem1(seed) -> None:
    rng = np.random.default_rng(seed)
    T, S = int(rng.integers(1, 9)), int(rng.integers(2, 6))
    draft, target = random_pair(T, S, float(rng.uniform(0.2, 1.0)), seed=seed, zeros=0.2)
    bound = theory.theorem1_sum(draft, target)
    for _ in range(5):
        member = random_member(rng)
        check = theory.check_theorem2(draft, target, member)
        assert check.in_family and check.unbiased and check.holds
        assert check.rejections >= bound - 1e-12
        if S**T <= 4096:  # the member really is unbiased: its output law is the target's
            assert theory.sequence_tv(draft, target, member) < 1e-12
    sd = theory.check_theorem2(draft, target, sb.Speculative())
    assert sd.attains and sd.gap == pytest.approx(0.0, abs=1e-12)


def test_theorem2_bound_needs_unbiasedness_and_the_family() -> None:
    """Negative controls: a biased rule, batch SD and finite gamma all go below the bound,
    and the check says why (not unbiased / not in the family)."""
    draft, target = random_pair(20, 5, 0.7, seed=3)
    bound = theory.theorem1_sum(draft, target)
    for algorithm in (
        sb.OverAcceptance(eps=0.1),
        sb.BatchSpeculative(num_drafts=3),
        sb.Speculative(gamma=2),
    ):
        check = theory.check_theorem2(draft, target, algorithm)
        assert check.rejections < bound - 1e-3 and check.holds
        assert not (check.in_family and check.unbiased)


def test_shrinking_acceptance_costs_rejections() -> None:
    """A member that accepts strictly less than SD pays strictly more (the bound is tight
    only for SD)."""
    draft, target = random_pair(10, 4, 0.6, seed=8)
    member = random_member(np.random.default_rng(0))
    assert theory.check_theorem2(draft, target, member).gap > 1e-3


def _iterated_limit(draft_row: np.ndarray, target_row: np.ndarray, m_max: int) -> float:
    return float(all_rejected_probability(draft_row, target_row, m_max))


def test_limit_kernel_matches_large_m_on_single_steps() -> None:
    rng = np.random.default_rng(0)
    for _ in range(30):
        V = int(rng.integers(2, 7))
        target = rng.dirichlet(np.ones(V))
        draft = rng.dirichlet(np.ones(V)) * 0.5 + 0.5 / V  # min entry >= 0.5/V
        if rng.random() < 0.5:  # a token the draft never proposes
            draft[rng.integers(V)] = 0.0
            draft /= draft.sum()
        limit = limit_round_start_split(draft[None], target[None])
        assert float(limit.reject[0]) == pytest.approx(target[draft == 0].sum(), abs=1e-15)
        assert _iterated_limit(draft, target, 3000) == pytest.approx(
            float(limit.reject[0]), abs=1e-12
        )


@pytest.mark.parametrize(("zeros", "gamma"), [(0.0, None), (0.3, None), (0.3, 3)])
def test_batch_limit_is_the_large_m_limit(zeros, gamma) -> None:
    draft, target = random_pair(12, 4, 0.8, seed=4, zeros=zeros, concentration=5.0)
    limit = theory.batch_limit(draft, target, gamma=gamma)
    values = [
        theory.expected_rejections(draft, target, sb.BatchSpeculative(m, gamma))
        for m in (1, 2, 4, 8, 16)
    ]
    if gamma is None:  # Theorem 3: each extra draft can only help at round starts
        assert all(a >= b - 1e-12 for a, b in itertools.pairwise(values))
    large = theory.analyse(draft, target, sb.BatchSpeculative(2000, gamma))
    assert large.rejections == pytest.approx(limit.rejections, abs=1e-9)
    assert large.target_calls == pytest.approx(limit.target_calls, abs=1e-9)
    assert limit.rejections <= values[-1] + 1e-12
    # Proposition 1: the limit stays positive (positions inside a round still pay TV)
    assert limit.rejections > 0.1


def test_limit_is_zero_only_when_nothing_is_left_to_reject() -> None:
    """One step (T = 1): the limit is q({p = 0}); with full-support draft rows it is 0."""
    S = 3
    target = np.broadcast_to(np.array([0.2, 0.3, 0.5]), (1, S, S))
    full = MarkovChain(np.broadcast_to(np.array([0.6, 0.3, 0.1]), (1, S, S)))
    holes = MarkovChain(np.broadcast_to(np.array([0.6, 0.4, 0.0]), (1, S, S)))
    tgt = MarkovChain(target)
    assert theory.batch_limit(full, tgt).rejections == pytest.approx(0.0, abs=1e-15)
    assert theory.batch_limit(holes, tgt).rejections == pytest.approx(0.5, abs=1e-15)
    # the finite-M values reach it: u_2 = [q - p]_+ = (0, 0, 0.5) already
    exact = theory.expected_rejections(holes, tgt, sb.BatchSpeculative(1))
    assert exact == pytest.approx(0.5, abs=1e-15)


def test_batch_improvement_is_nonnegative_and_zero_for_one_draft() -> None:
    for seed in range(5):
        draft, target = tiny_pair(seed, 6, 4)
        assert theory.batch_improvement(draft, target, 1) == pytest.approx(0.0, abs=1e-12)
        assert theory.batch_improvement(draft, target, 3) >= -1e-12
