"""Beyond Theorem 2 on chains: block verification and the optimal multi-draft verifier.

Exact theory against Monte Carlo (both simulators) inside the 99.9% interval, against
token-level SD (never more calls, on every chain tried), and losslessness: the exact
sequence law equals the target's to 1e-12, and simulated sequences pass a chi-square
test against it at ALPHA while a wrong verifier (tau = first failure) fails it.
"""

from __future__ import annotations

import numpy as np
import pytest
from chain_cases import tiny_pair

import specbound as sb
from controls import FirstFailureBlock
from specbound import theory
from specbound.chain import random_pair, simulate, simulate_reference
from specbound.chain.sequences import encode_sequences
from specbound.errors import InvalidInputError
from specbound.estimates import Z999
from stats_helpers import ALPHA, chi_square_pvalue

GAMMAS = [1, 2, 3, 4, None]


def test_block_never_needs_more_calls_than_sd_and_gamma_one_is_sd() -> None:
    for seed in range(30):
        draft, target = random_pair(6, 4, (0.3, 0.6, 0.9)[seed % 3], seed=seed)
        for gamma in GAMMAS:
            block = theory.analyse(draft, target, sb.BlockSpeculative(gamma))
            sd = theory.analyse(draft, target, sb.Speculative(gamma))
            assert block.target_calls <= sd.target_calls + 1e-12
            if gamma == 1:
                assert block.target_calls == pytest.approx(sd.target_calls, abs=1e-12)
                assert block.rejections == pytest.approx(sd.rejections, abs=1e-12)


def test_optimal_batch_beats_recursive_rejection_on_every_chain_tried() -> None:
    for seed in range(20):
        draft, target = random_pair(8, 4, (0.3, 0.6, 0.9)[seed % 3], seed=seed)
        for gamma in (1, 3, None):
            for m in (2, 3):
                recursive = theory.analyse(draft, target, sb.BatchSpeculative(m, gamma))
                optimal = theory.analyse(
                    draft, target, sb.BatchSpeculative(m, gamma, verifier="optimal")
                )
                assert optimal.target_calls <= recursive.target_calls + 1e-12


@pytest.mark.parametrize(
    "algorithm",
    [
        sb.BlockSpeculative(2),
        sb.BlockSpeculative(4),
        sb.BlockSpeculative(),
        sb.BatchSpeculative(2, 2, verifier="optimal"),
        sb.BatchSpeculative(3, verifier="optimal"),
    ],
    ids=lambda a: a.label,
)
def test_simulated_counts_agree_with_the_exact_theory(algorithm: sb.Algorithm) -> None:
    draft, target = random_pair(7, 4, 0.6, seed=3)
    exact = theory.analyse(draft, target, algorithm)
    for result in (
        simulate(draft, target, algorithm, 40_000, seed=1),
        simulate_reference(draft, target, algorithm, 2_000, seed=1),
    ):
        for metric in ("rejections", "target_calls", "draft_calls"):
            z = result.estimate(metric).z(getattr(exact, metric))
            assert z is not None and abs(z) < Z999, (metric, z)


@pytest.mark.parametrize(
    "algorithm",
    [sb.BlockSpeculative(2), sb.BlockSpeculative(), sb.BatchSpeculative(2, 1, verifier="optimal")],
    ids=lambda a: a.label,
)
def test_lossless_exactly_and_by_chi_square(algorithm: sb.Algorithm) -> None:
    draft, target = tiny_pair(21, 3, 3)
    law = target.sequence_probs()
    assert np.abs(theory.sequence_law(draft, target, algorithm) - law).max() < 1e-12
    samples = simulate(draft, target, algorithm, 60_000, seed=4).sequences
    assert chi_square_pvalue(encode_sequences(samples, 3), law.ravel()) > ALPHA


def test_first_failure_control_is_rejected() -> None:
    draft, target = tiny_pair(21, 3, 3)
    law = target.sequence_probs().ravel()
    samples = simulate(draft, target, FirstFailureBlock(2), 60_000, seed=4).sequences
    assert chi_square_pvalue(encode_sequences(samples, 3), law) < ALPHA


def test_exact_theory_refuses_a_block_too_big_to_enumerate() -> None:
    draft, target = random_pair(40, 7, 0.5, seed=0)
    with pytest.raises(InvalidInputError, match=r"7\^40"):
        theory.analyse(draft, target, sb.BlockSpeculative())
    result = simulate(draft, target, sb.BlockSpeculative(), 200, seed=0)  # the simulator works
    assert result.target_calls.mean() >= 1
