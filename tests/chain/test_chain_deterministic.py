"""Deterministic drafters on chains: point-mass draft rows, the copy family, and the
theory that prices them.

The formulas stated here (not the library's): with a deterministic draft proposing
``d_n(s)`` after state ``s``, TV(1_{d}, q) = 1 - q(d), so Theorem 1's sum is

    sum_n sum_s P_target(x_n = s) * (1 - q_n(d_n(s) | s)),

computed below from the target's marginals by a loop written in the test. Monte Carlo
agreement: the exact mean lies inside the simulation's 99.9% interval (fixed seeds, 20k
runs; a correct pair of implementations fails one such check with probability 1e-3).
"""

from __future__ import annotations

import numpy as np
import pytest

import specbound as sb
from specbound.chain import (
    copy_pair,
    deterministic_draft,
    proposed_states,
    random_chain,
    simulate,
    window_tokens,
)
from specbound.chain.sequences import encode_sequences
from specbound.errors import InvalidInputError, ShapeMismatchError
from stats_helpers import ALPHA, chi_square_pvalue

LEVEL = 0.999


def point_mass_sum(draft_map: np.ndarray, target: sb.MarkovChain) -> float:
    """The module docstring's sum, by a loop over positions and states."""
    q = target.transitions
    law = np.zeros(target.num_states)
    law[target.start] = 1.0
    total = 0.0
    for n in range(target.horizon):
        for s in range(target.num_states):
            total += law[s] * (1.0 - q[n, s, draft_map[n, s]])
        law = law @ q[n]
    return total


def test_argmax_draft_has_point_mass_rows_on_the_mode() -> None:
    target = random_chain(5, 4, seed=3)
    draft = deterministic_draft(target)
    assert draft.start == target.start and draft.transitions.shape == (5, 4, 4)
    assert np.array_equal(draft.transitions.sum(-1), np.ones((5, 4)))
    assert np.array_equal(proposed_states(draft), target.transitions.argmax(-1))
    fixed = deterministic_draft(target, np.array([1, 2, 3, 0]))
    assert np.array_equal(proposed_states(fixed), np.tile([1, 2, 3, 0], (5, 1)))


def test_deterministic_draft_refuses_bad_maps() -> None:
    target = random_chain(3, 4, seed=1)
    with pytest.raises(InvalidInputError, match="choose"):
        deterministic_draft(target, "mode")
    with pytest.raises(ShapeMismatchError, match="choose"):
        deterministic_draft(target, np.zeros((2, 4), dtype=int))
    with pytest.raises(InvalidInputError, match="choose"):
        deterministic_draft(target, np.array([0, 1, 2, 4]))
    with pytest.raises(InvalidInputError, match="point mass"):
        proposed_states(target)


def test_copy_target_repeats_the_token_period_back() -> None:
    S, period, p_copy = 3, 2, 0.6
    draft, target = copy_pair(4, S, period, p_copy, seed=2)
    N = S**period
    assert target.num_states == N and target.start == 0 * S + 1  # window (0, 1)
    for s in range(N):
        w1, w2 = divmod(s, S)  # window (w_1, w_2), w_2 the most recent
        successors = [w2 * S + y for y in range(S)]
        row = target.transitions[1, s]
        assert row[successors].sum() == pytest.approx(1.0)  # only shifts are possible
        assert row[w2 * S + w1] >= p_copy  # the copy: p_copy plus the Dirichlet's share
        assert proposed_states(draft)[1, s] == w2 * S + w1
    runs = simulate(draft, target, sb.Autoregressive(), n_runs=5, seed=0).sequences
    tokens = window_tokens(runs, S)  # (5, T) the emitted tokens
    windows = np.concatenate([np.full((5, 1), target.start), runs], axis=1)
    assert np.array_equal(tokens, runs % S)
    assert np.array_equal(windows[:, 1:] // S, windows[:, :-1] % S)  # one token shifts in


@pytest.mark.parametrize(
    ("T", "S", "period", "p_copy"), [(12, 3, 2, 0.7), (10, 2, 3, 0.9), (15, 4, 1, 0.5)]
)
def test_theorem1_prices_the_copy_draft(T: int, S: int, period: int, p_copy: float) -> None:
    draft, target = copy_pair(T, S, period, p_copy, seed=T)
    expected = point_mass_sum(proposed_states(draft), target)
    assert sb.theory.theorem1_sum(draft, target) == pytest.approx(expected, rel=1e-12)
    assert sb.theory.expected_rejections(draft, target, sb.Speculative()) == pytest.approx(
        expected, rel=1e-12
    )


ALGORITHMS = [sb.Speculative(), sb.Speculative(gamma=3), sb.BlockSpeculative(gamma=3)]


@pytest.mark.parametrize("algorithm", ALGORITHMS)
@pytest.mark.parametrize("case", ["copy", "argmax"])
def test_exact_theory_matches_monte_carlo(algorithm: object, case: str) -> None:
    if case == "copy":
        draft, target = copy_pair(12, 3, 2, 0.7, seed=5)
    else:
        target = random_chain(15, 5, concentration=0.3, seed=6)
        draft = deterministic_draft(target)
    exact = sb.theory.analyse(draft, target, algorithm)  # type: ignore[arg-type]
    result = simulate(draft, target, algorithm, n_runs=20_000, seed=7)  # type: ignore[arg-type]
    for metric in ("rejections", "target_calls"):
        low, high = result.estimate(metric).interval(LEVEL)  # type: ignore[misc]
        assert low <= getattr(exact, metric) <= high, (metric, low, high)


def test_sd_with_a_point_mass_draft_outputs_the_target_chain() -> None:
    """Sequences of SD (gamma 2) with the copy draft against the target's law by
    enumeration (chi-square, alpha 1e-3), and the exact output law by the enumerator."""
    draft, target = copy_pair(5, 2, 2, 0.8, seed=9)
    algorithm = sb.Speculative(gamma=2)
    assert sb.theory.sequence_tv(draft, target, algorithm) == pytest.approx(0.0, abs=1e-12)
    runs = simulate(draft, target, algorithm, n_runs=20_000, seed=11).sequences
    cells = encode_sequences(runs, target.num_states)
    assert chi_square_pvalue(cells, target.sequence_probs().ravel()) > ALPHA
