"""The simulator's contract: shapes, reproducibility, chunking, and deterministic edge cases
where the counts are known exactly (theory and simulation must both hit them)."""

from __future__ import annotations

import math

import numpy as np
import pytest

import specbound as sb
from specbound import theory
from specbound.chain import MarkovChain, random_chain, random_pair, simulate
from specbound.chain.simulator import chunk_size
from specbound.errors import InvalidInputError

ALL = [
    sb.Autoregressive(),
    sb.Speculative(),
    sb.Speculative(gamma=3),
    sb.BatchSpeculative(3),
    sb.BatchSpeculative(2, gamma=2),
    sb.OverAcceptance(0.1),
    sb.OverAcceptance(0.1, "uno", gamma=2),
]


@pytest.mark.parametrize("algorithm", ALL, ids=lambda a: f"{a.name}-g{a.gamma}")
def test_result_shapes_and_reproducibility(algorithm) -> None:
    draft, target = random_pair(9, 4, 0.5, seed=0, zeros=0.2)
    a = simulate(draft, target, algorithm, n_runs=500, seed=3)
    b = simulate(draft, target, algorithm, n_runs=500, seed=3)
    c = simulate(draft, target, algorithm, n_runs=500, seed=4)
    assert a.sequences.shape == (500, 9) and a.sequences.dtype == np.int64
    for name in ("rejections", "target_calls", "draft_calls"):
        arr = getattr(a, name)
        assert arr.shape == (500,) and arr.dtype == np.int64
        np.testing.assert_array_equal(arr, getattr(b, name))
    np.testing.assert_array_equal(a.sequences, b.sequences)
    assert not np.array_equal(a.sequences, c.sequences)
    assert a.n_runs == 500 and a.algorithm["name"] == algorithm.name
    assert ((a.sequences >= 0) & (a.sequences < 4)).all()
    # a run never makes more calls than tokens, and each rejection ends a round
    assert (a.target_calls <= 9).all() and (a.rejections <= a.target_calls).all()


def test_runs_beyond_one_chunk_are_independent_streams() -> None:
    draft, target = random_pair(3, 2, 0.5, seed=0)
    size = chunk_size(2, 1)
    result = simulate(draft, target, sb.Speculative(), n_runs=size + 10, seed=1)
    head = simulate(draft, target, sb.Speculative(), n_runs=size, seed=1)
    np.testing.assert_array_equal(result.sequences[:size], head.sequences)
    assert result.n_runs == size + 10


def test_summary_has_intervals() -> None:
    draft, target = random_pair(5, 3, 0.5, seed=0)
    summary = simulate(draft, target, sb.Speculative(), n_runs=100, seed=0).summary()
    assert set(summary) == {"rejections", "target_calls", "draft_calls"}
    low, high = summary["rejections"]["ci95"]
    assert low <= summary["rejections"]["mean"] <= high


def _expect_exact(draft, target, algorithm, rejections, calls, draft_calls) -> None:
    exact = theory.analyse(draft, target, algorithm)
    assert exact.rejections == pytest.approx(rejections, abs=1e-12)
    assert exact.target_calls == pytest.approx(calls, abs=1e-12)
    assert exact.draft_calls == pytest.approx(draft_calls, abs=1e-12)
    result = simulate(draft, target, algorithm, n_runs=200, seed=0)
    assert (result.rejections == rejections).all()
    assert (result.target_calls == calls).all()
    assert (result.draft_calls == draft_calls).all()


@pytest.mark.parametrize("T", [1, 2, 7])
def test_identical_draft_never_rejects(T) -> None:
    chain = random_chain(T, 3, seed=T)
    _expect_exact(chain, chain, sb.Speculative(), 0, 1, T)
    _expect_exact(chain, chain, sb.BatchSpeculative(3), 0, 1, T)
    _expect_exact(chain, chain, sb.OverAcceptance(0.2, "uno"), 0, 1, T)
    _expect_exact(chain, chain, sb.Autoregressive(), 0, T, 0)
    for gamma in (1, 2, 3):
        # each round: gamma drafted tokens and a bonus, until the horizon
        calls = math.ceil(T / (gamma + 1))
        drafted = sum(min(gamma, T - n) for n in range(0, T, gamma + 1))
        _expect_exact(chain, chain, sb.Speculative(gamma=gamma), 0, calls, drafted)
        _expect_exact(chain, chain, sb.BatchSpeculative(2, gamma=gamma), 0, calls, drafted)


@pytest.mark.parametrize("T", [1, 3, 6])
def test_disjoint_supports_reject_every_draft(T) -> None:
    """Draft always proposes token 0, target never emits it: every drafted token is
    refused, and a rejection at the last position needs no new round."""
    draft = MarkovChain(np.broadcast_to([1.0, 0.0], (T, 2, 2)))
    target = MarkovChain(np.broadcast_to([0.0, 1.0], (T, 2, 2)))
    whole = T * (T + 1) // 2  # rounds start at 0..T-1, each drafting to the horizon
    _expect_exact(draft, target, sb.Speculative(), T, T, whole)
    _expect_exact(draft, target, sb.BatchSpeculative(4), T, T, whole)
    _expect_exact(
        draft, target, sb.Speculative(gamma=2), T, T, sum(min(2, T - n) for n in range(T))
    )
    result = simulate(draft, target, sb.Speculative(), n_runs=10, seed=0)
    assert (result.sequences == 1).all()


def test_single_state_chain() -> None:
    chain = MarkovChain(np.ones((4, 1, 1)))
    _expect_exact(chain, chain, sb.Speculative(), 0, 1, 4)
    _expect_exact(chain, chain, sb.BatchSpeculative(2, gamma=1), 0, 2, 2)


def test_over_acceptance_with_huge_eps_accepts_everything() -> None:
    draft, target = random_pair(6, 3, 1.0, seed=2)
    _expect_exact(draft, target, sb.OverAcceptance(eps=1.0), 0, 1, 6)
    law = theory.output_chain(draft, target, sb.OverAcceptance(eps=1.0))
    np.testing.assert_allclose(law.transitions, draft.transitions, atol=1e-15)


@pytest.mark.parametrize("bad", [0, -3, 2.5, True])
def test_bad_run_counts(bad) -> None:
    draft, target = random_pair(3, 2, 0.5, seed=0)
    with pytest.raises(InvalidInputError, match="n_runs"):
        simulate(draft, target, sb.Speculative(), n_runs=bad)
    with pytest.raises(InvalidInputError, match="seed"):
        simulate(draft, target, sb.Speculative(), n_runs=3, seed=-1)
