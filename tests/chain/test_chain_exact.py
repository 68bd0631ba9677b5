"""Exactness: every calculator equals brute-force enumeration on tiny chains, to 1e-12.

The reference is ``chain_enumerator`` (every drafted token, candidate tuple, accept /
reject outcome, recovered and bonus token), written independently of the library.
"""

from __future__ import annotations

import numpy as np
import pytest
from chain_cases import random_member, tiny_pair
from chain_enumerator import enumerate_algorithm

import specbound as sb
from specbound import theory

TOL = 1e-12

# (algorithm, T, S): sizes keep each enumeration well under a second.
CASES = [
    (sb.Autoregressive(), 4, 3),
    (sb.Speculative(), 4, 3),
    (sb.Speculative(gamma=1), 4, 3),
    (sb.Speculative(gamma=2), 4, 3),
    (sb.Speculative(gamma=3), 4, 2),
    (sb.BatchSpeculative(num_drafts=2), 4, 2),
    (sb.BatchSpeculative(num_drafts=2), 3, 3),
    (sb.BatchSpeculative(num_drafts=3, gamma=1), 3, 2),
    (sb.BatchSpeculative(num_drafts=2, gamma=2), 3, 3),
    (sb.OverAcceptance(eps=0.15, resample="opt"), 4, 3),
    (sb.OverAcceptance(eps=0.3, resample="uno"), 4, 3),
    (sb.OverAcceptance(eps=0.1, resample="opt", gamma=2), 4, 3),
    (sb.OverAcceptance(eps=0.2, resample="uno", gamma=1), 4, 2),
    (sb.BlockSpeculative(gamma=1), 4, 3),
    (sb.BlockSpeculative(gamma=2), 4, 3),
    (sb.BlockSpeculative(gamma=3), 4, 2),
    (sb.BlockSpeculative(), 4, 3),
]
IDS = [f"{a.name}-g{a.gamma}-T{T}-S{S}" for a, T, S in CASES]


@pytest.mark.parametrize(("algorithm", "T", "S"), CASES, ids=IDS)
@pytest.mark.parametrize("seed", [0, 1])
def test_counts_equal_enumeration(algorithm, T, S, seed) -> None:
    draft, target = tiny_pair(100 * seed + T * 10 + S, T, S)
    ref = enumerate_algorithm(draft, target, algorithm)
    assert ref.total == pytest.approx(1.0, abs=TOL)
    exact = theory.analyse(draft, target, algorithm)
    assert exact.rejections == pytest.approx(ref.rejections, abs=TOL)
    assert exact.target_calls == pytest.approx(ref.target_calls, abs=TOL)
    assert exact.draft_calls == pytest.approx(ref.draft_calls, abs=TOL)
    assert theory.expected_rejections(draft, target, algorithm) == exact.rejections
    assert theory.expected_target_calls(draft, target, algorithm) == exact.target_calls
    assert theory.expected_draft_calls(draft, target, algorithm) == exact.draft_calls


@pytest.mark.parametrize(("algorithm", "T", "S"), CASES, ids=IDS)
def test_sequence_law_and_bias_equal_enumeration(algorithm, T, S) -> None:
    draft, target = tiny_pair(7 + T + S, T, S)
    ref = enumerate_algorithm(draft, target, algorithm)
    law = theory.sequence_law(draft, target, algorithm)
    np.testing.assert_allclose(law, ref.law_array(), rtol=0, atol=TOL)
    target_law = target.sequence_probs()
    if algorithm.unbiased:
        np.testing.assert_allclose(ref.law_array(), target_law, rtol=0, atol=TOL)
    bias = theory.expected_bias(draft, target, algorithm)
    np.testing.assert_allclose(
        bias.per_position, ref.bias_per_position(target.transitions), rtol=0, atol=TOL
    )
    assert bias.total == pytest.approx(bias.per_position.sum(), abs=TOL)
    seq_tv = 0.5 * np.abs(ref.law_array() - target_law).sum()
    assert bias.sequence_tv == pytest.approx(seq_tv, abs=TOL)
    assert theory.sequence_tv(draft, target, algorithm) == pytest.approx(seq_tv, abs=TOL)


@pytest.mark.parametrize("seed", range(4))
def test_theorem1_sum_is_sd_rejections_by_enumeration(seed) -> None:
    draft, target = tiny_pair(seed, 4, 3)
    ref = enumerate_algorithm(draft, target, sb.Speculative())
    assert theory.theorem1_sum(draft, target) == pytest.approx(ref.rejections, abs=TOL)
    check = theory.check_theorem2(draft, target, sb.Speculative())
    assert check.attains and check.holds and check.in_family


@pytest.mark.parametrize(("M", "gamma", "T", "S"), [(2, None, 4, 2), (2, None, 3, 3), (2, 2, 3, 3)])
def test_batch_improvement_equals_enumeration(M, gamma, T, S) -> None:
    draft, target = tiny_pair(11, T, S)
    sd = enumerate_algorithm(draft, target, sb.Speculative(gamma=gamma)).rejections
    batch = enumerate_algorithm(draft, target, sb.BatchSpeculative(M, gamma)).rejections
    assert theory.batch_improvement(draft, target, M, gamma) == pytest.approx(sd - batch, abs=TOL)


def test_output_chain_of_over_acceptance_equals_enumerated_law() -> None:
    for seed, resample in [(0, "opt"), (1, "uno"), (2, "opt")]:
        draft, target = tiny_pair(seed, 4, 3)
        algorithm = sb.OverAcceptance(eps=0.2, resample=resample)
        chain = theory.output_chain(draft, target, algorithm)
        ref = enumerate_algorithm(draft, target, algorithm)
        np.testing.assert_allclose(chain.sequence_probs(), ref.law_array(), rtol=0, atol=TOL)


def test_unbiased_output_chain_is_the_target() -> None:
    draft, target = tiny_pair(3, 4, 3)
    for algorithm in (sb.Speculative(), sb.BatchSpeculative(3, 2), sb.Autoregressive()):
        assert theory.output_chain(draft, target, algorithm) is target


@pytest.mark.parametrize("seed", range(3))
def test_algorithm2_members_equal_enumeration(seed) -> None:
    rng = np.random.default_rng(seed)
    draft, target = tiny_pair(seed + 40, 4, 3)
    for gamma in (None, 2):
        member = random_member(rng, gamma=gamma)
        ref = enumerate_algorithm(draft, target, member)
        exact = theory.analyse(draft, target, member)
        assert exact.rejections == pytest.approx(ref.rejections, abs=TOL)
        assert exact.target_calls == pytest.approx(ref.target_calls, abs=TOL)
        np.testing.assert_allclose(ref.law_array(), target.sequence_probs(), atol=TOL)
