"""Statistical agreement of the simulator with the exact theory (fixed seeds).

* means: every count's sample mean lies within 4 standard errors of the exact value
  (a correct simulator fails one check with probability ~6e-5);
* laws: chi-square of the simulated sequences over all S**T sequences against the exact
  law, p > ALPHA = 1e-3, N = 1e5 runs;
* negative controls: a wrong reference must fail the same checks.
"""

from __future__ import annotations

import numpy as np
import pytest
from chain_cases import tiny_pair

import specbound as sb
from specbound import theory
from specbound.chain import random_pair, simulate, simulate_reference
from specbound.chain.result import METRICS
from specbound.chain.sequences import encode_sequences
from stats_helpers import ALPHA, chi_square_pvalue

Z_MAX = 4.0


def _z(values: np.ndarray, exact: float) -> float:
    sd = values.std(ddof=1)
    if sd == 0:
        return 0.0 if np.all(values == exact) else np.inf
    return abs(values.mean() - exact) / (sd / np.sqrt(values.size))


MEAN_CASES = [
    # (algorithm, T, S, mix, zeros)
    (sb.Autoregressive(), 12, 4, 0.5, 0.0),
    (sb.Speculative(), 30, 7, 0.5, 0.0),
    (sb.Speculative(), 20, 5, 0.8, 0.3),
    (sb.Speculative(gamma=1), 15, 3, 0.6, 0.3),
    (sb.Speculative(gamma=4), 40, 6, 0.5, 0.0),
    (sb.BatchSpeculative(num_drafts=2), 25, 5, 0.7, 0.3),
    (sb.BatchSpeculative(num_drafts=4), 30, 7, 0.5, 0.0),
    (sb.BatchSpeculative(num_drafts=3, gamma=1), 12, 4, 0.9, 0.3),
    (sb.BatchSpeculative(num_drafts=5, gamma=3), 20, 3, 0.6, 0.2),
    (sb.OverAcceptance(eps=0.1, resample="opt"), 25, 6, 0.5, 0.3),
    (sb.OverAcceptance(eps=0.3, resample="uno"), 20, 4, 0.7, 0.0),
    (sb.OverAcceptance(eps=0.05, resample="opt", gamma=3), 30, 5, 0.6, 0.2),
    (sb.OverAcceptance(eps=0.2, resample="uno", gamma=2), 15, 8, 0.9, 0.3),
]


@pytest.mark.parametrize(("algorithm", "T", "S", "mix", "zeros"), MEAN_CASES)
def test_simulated_means_match_theory(algorithm, T, S, mix, zeros) -> None:
    draft, target = random_pair(T, S, mix, seed=T * S, zeros=zeros)
    exact = theory.analyse(draft, target, algorithm)
    result = simulate(draft, target, algorithm, n_runs=20_000, seed=5)
    for metric in METRICS:
        z = _z(getattr(result, metric), getattr(exact, metric))
        assert z < Z_MAX, (metric, z)


def test_means_negative_control_fails() -> None:
    """SD's simulated rejections are far (in standard errors) from batch SD's theory."""
    draft, target = random_pair(30, 7, 0.5, seed=1)
    result = simulate(draft, target, sb.Speculative(), n_runs=20_000, seed=5)
    wrong = theory.expected_rejections(draft, target, sb.BatchSpeculative(num_drafts=4))
    assert _z(result.rejections, wrong) > Z_MAX
    wrong = theory.expected_target_calls(draft, target, sb.Speculative(gamma=3))
    assert _z(result.target_calls, wrong) > Z_MAX


UNBIASED = [
    sb.Autoregressive(),
    sb.Speculative(),
    sb.Speculative(gamma=2),
    sb.BatchSpeculative(num_drafts=2),
    sb.BatchSpeculative(num_drafts=3, gamma=1),
]


def _law_pvalue(result, law: np.ndarray) -> float:
    codes = encode_sequences(result.sequences, law.shape[0])
    return chi_square_pvalue(codes, law.ravel())


@pytest.mark.parametrize("algorithm", UNBIASED, ids=lambda a: f"{a.name}-g{a.gamma}")
def test_unbiased_sequences_follow_the_target(algorithm) -> None:
    draft, target = tiny_pair(21, 4, 3, concentration=0.7)
    result = simulate(draft, target, algorithm, n_runs=100_000, seed=9)
    assert _law_pvalue(result, target.sequence_probs()) > ALPHA


def test_sequence_law_negative_control_fails() -> None:
    """The same test rejects SD's output against the draft chain's law."""
    draft, target = tiny_pair(21, 4, 3, concentration=0.7)
    result = simulate(draft, target, sb.Speculative(), n_runs=100_000, seed=9)
    assert _law_pvalue(result, draft.sequence_probs()) < ALPHA


BIASED = [
    sb.OverAcceptance(eps=0.2, resample="opt"),
    sb.OverAcceptance(eps=0.2, resample="uno"),
    sb.OverAcceptance(eps=0.2, resample="opt", gamma=2),
    sb.OverAcceptance(eps=0.3, resample="uno", gamma=1),
]


@pytest.mark.parametrize("algorithm", BIASED, ids=lambda a: f"{a.resample}-g{a.gamma}")
def test_over_acceptance_sequences_follow_its_exact_law(algorithm) -> None:
    draft, target = tiny_pair(22, 4, 3, concentration=0.7)
    result = simulate(draft, target, algorithm, n_runs=100_000, seed=10)
    law = theory.sequence_law(draft, target, algorithm)
    if algorithm.gamma is None:
        np.testing.assert_allclose(
            theory.output_chain(draft, target, algorithm).sequence_probs(), law, atol=1e-12
        )
    assert _law_pvalue(result, law) > ALPHA
    # negative control: the output is biased, so the target's law is rejected
    assert theory.sequence_tv(draft, target, algorithm) > 0.05
    assert _law_pvalue(result, target.sequence_probs()) < ALPHA


@pytest.mark.parametrize(
    "algorithm",
    [sb.Speculative(), sb.BatchSpeculative(2, gamma=2), sb.OverAcceptance(0.2, "opt", gamma=1)],
    ids=["sd", "batch-g2", "opt-g1"],
)
def test_block_drafting_reference_agrees(algorithm) -> None:
    """The per-run block-drafting loop has the same means and sequence law."""
    draft, target = tiny_pair(23, 4, 3, concentration=0.7)
    ref = simulate_reference(draft, target, algorithm, n_runs=4_000, seed=3)
    exact = theory.analyse(draft, target, algorithm)
    for metric in METRICS:
        assert _z(getattr(ref, metric), getattr(exact, metric)) < Z_MAX, metric
    law = theory.sequence_law(draft, target, algorithm)
    assert _law_pvalue(ref, law) > ALPHA
