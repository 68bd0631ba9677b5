"""The experiment-specific math, against brute force: Figure 3's exact expectations, the
i.i.d. approximation, the phased chain, the derived seeds."""

from __future__ import annotations

from itertools import combinations

import numpy as np
import pytest

import specbound as sb
from specbound.chain import bernoulli_pairs
from specbound.estimates import derive_seed as sub_seed
from specbound.experiments.common import ChainSpec, truncate
from specbound.experiments.fig3_batch_gain import (
    bernoulli_expected_rejection,
    rejection_curves,
    uniform_support_expectation,
)
from specbound.experiments.gamma_study import PhasedChainSpec, iid_calls


def test_rejection_curves_match_core_for_every_m() -> None:
    draft, target = bernoulli_pairs(50, seed=3)
    tv, rejected = rejection_curves(draft, target, 5)
    assert tv == pytest.approx(sb.core.tv(draft, target), abs=1e-15)
    for M in range(1, 6):
        exact = sb.core.all_rejected_probability(draft, target, M)
        assert rejected[:, M - 1] == pytest.approx(exact, abs=1e-14)


def test_bernoulli_closed_form_against_quadrature() -> None:
    grid = (np.arange(400) + 0.5) / 400  # midpoint rule on [0, 1]^2
    a, b = np.meshgrid(grid, grid, indexing="ij")
    draft = np.stack([1 - a.ravel(), a.ravel()], axis=-1)
    target = np.stack([1 - b.ravel(), b.ravel()], axis=-1)
    _, rejected = rejection_curves(draft, target, 6)
    assert rejected.mean(axis=0) == pytest.approx(bernoulli_expected_rejection(6), abs=1e-4)


@pytest.mark.parametrize("V", [2, 3, 4])
def test_uniform_support_expectation_against_enumeration_of_supports(V: int) -> None:
    supports = [s for k in range(1, V + 1) for s in combinations(range(V), k)]
    weight = {s: 1.0 / (V * len(list(combinations(range(V), len(s))))) for s in supports}
    tv_sum, rejection_sum, limit_sum = 0.0, np.zeros(4), 0.0
    for sa in supports:
        for sb_ in supports:
            draft, target = np.zeros(V), np.zeros(V)
            draft[list(sa)] = 1 / len(sa)
            target[list(sb_)] = 1 / len(sb_)
            w = weight[sa] * weight[sb_]
            tv, rejected = rejection_curves(draft[None], target[None], 4)
            tv_sum += w * tv[0]
            rejection_sum += w * rejected[0]
            limit_sum += w * target[draft == 0].sum()
    exact = uniform_support_expectation(V, 4)
    assert exact["tv"] == pytest.approx(tv_sum, abs=1e-12)
    assert exact["rejection"] == pytest.approx(rejection_sum, abs=1e-12)
    assert exact["limit_rejection"] == pytest.approx(limit_sum, abs=1e-12)


def test_iid_approximation_formula() -> None:
    assert iid_calls(100, 0.0, 4) == pytest.approx(100.0)  # every draft refused: 1 token/call
    assert iid_calls(100, 1.0, 4) == pytest.approx(20.0)  # all accepted: gamma + 1 per call
    a, g = 0.7, 3
    tokens_per_call = sum(a**k for k in range(g + 1))
    assert iid_calls(60, a, g) == pytest.approx(60 / tokens_per_call)


def test_phased_chain_alternates_easy_and_hard_blocks() -> None:
    spec = PhasedChainSpec(
        num_states=4, horizon=12, block=3, mix_easy=0.0, mix_hard=1.0, concentration=1.0, seed=2
    )
    draft, target = spec.draw()
    same = np.all(np.isclose(draft.transitions, target.transitions), axis=(1, 2))
    assert same.tolist() == [True] * 3 + [False] * 3 + [True] * 3 + [False] * 3


def test_chain_spec_truncation_is_a_prefix() -> None:
    spec = ChainSpec(num_states=3, horizon=10, mix=0.5, concentration=1.0, seed=4)
    draft, target = spec.draw()
    short_draft, short_target = truncate((draft, target), 4)
    assert short_draft.horizon == 4
    assert np.array_equal(short_target.transitions, target.transitions[:4])
    assert "seed=4" in spec.describe() and "mix=0.5" in spec.describe()


def test_sub_seeds_are_stable_and_distinct() -> None:
    assert sub_seed(0, "sd", 50) == sub_seed(0, "sd", 50)
    seeds = {
        sub_seed(0, "sd", 50),
        sub_seed(0, "sd", 100),
        sub_seed(1, "sd", 50),
        sub_seed(0, "batch", 50),
    }
    assert len(seeds) == 4
