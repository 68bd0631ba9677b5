"""Exactness: each rule's output law equals what its theorem states, to 1e-12.

Output laws are computed two ways: with the library's closed forms, and by brute-force
enumeration of the rule's randomness (every drafted token / candidate tuple, accept or
reject) written here independently of the library.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from round_laws import accept_formula, resample_formula
from specbound import core
from specbound.core.batch import RecursiveRejectionRule
from specbound.core.rules import OverAcceptanceRule, SpeculativeRule, output_distribution
from stats_helpers import random_pair

TOL = 1e-12


def _pairs(seed: int, count: int = 60) -> list[tuple[np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(count):
        vocab = int(rng.integers(2, 9))
        out.append(random_pair(rng, vocab, concentration=float(rng.choice([0.2, 1.0, 5.0]))))
    return out


def _enumerate_step(draft, target, accept_of, resample_of) -> np.ndarray:
    """Output law of Algorithm 2 by summing over the drafted token (independent code)."""
    out = np.zeros_like(target)
    for x in range(len(draft)):
        b = accept_of(x)
        out[x] += draft[x] * b
        out += draft[x] * (1 - b) * resample_of()
    return out


def test_sd_step_outputs_the_target() -> None:
    for draft, target in _pairs(0):
        law = output_distribution(SpeculativeRule(), draft, target)
        np.testing.assert_allclose(law, target, atol=TOL)
        res = np.clip(target - draft, 0, None)
        res = res / res.sum() if res.sum() > 0 else target
        brute = _enumerate_step(
            draft,
            target,
            lambda x: 0.0 if draft[x] == 0 else min(1.0, target[x] / draft[x]),  # noqa: B023
            lambda: res,  # noqa: B023
        )
        np.testing.assert_allclose(brute, target, atol=TOL)
        assert core.step_rejection_probability(SpeculativeRule(), draft, target) == pytest.approx(
            core.tv(draft, target), abs=TOL
        )


def _brute_recursive(draft: np.ndarray, target: np.ndarray, num_drafts: int):
    """Enumerate all M-tuples of candidates; return (output law, P(all rejected))."""
    vocab = len(draft)
    out = np.zeros(vocab)
    all_rejected = 0.0
    for cands in itertools.product(range(vocab), repeat=num_drafts):
        weight = float(np.prod(draft[list(cands)]))
        if weight == 0:
            continue
        current = target.copy()
        reach = 1.0
        for x in cands:
            b = min(1.0, current[x] / draft[x])
            out[x] += weight * reach * b
            reach *= 1 - b
            nxt = np.clip(current - draft, 0, None)
            current = nxt / nxt.sum() if nxt.sum() > 1e-12 else current
        out += weight * reach * current
        all_rejected += weight * reach
    return out, all_rejected


@pytest.mark.parametrize("num_drafts", [1, 2, 3, 4, 5, 6])
def test_recursive_rejection_outputs_the_target(num_drafts: int) -> None:
    rule = RecursiveRejectionRule(num_drafts)
    for draft, target in _pairs(num_drafts, count=25):
        np.testing.assert_allclose(rule.output_distribution(draft, target), target, atol=TOL)
        if len(draft) ** num_drafts <= 5000:
            brute_law, brute_rej = _brute_recursive(draft, target, num_drafts)
            np.testing.assert_allclose(brute_law, target, atol=TOL)
            assert float(rule.all_rejected_probability(draft, target)) == pytest.approx(
                brute_rej, abs=TOL
            )


def test_recursive_rejection_probability_is_product_of_tvs_and_decreases() -> None:
    for draft, target in _pairs(11, count=30):
        chain = core.recursive_residuals(draft, target, 6)  # (7, V)
        product = 1.0
        previous = 1.0
        for m in range(1, 7):
            product *= float(core.tv(draft, chain[m - 1]))
            value = float(core.all_rejected_probability(draft, target, m))
            assert value == pytest.approx(product, abs=TOL)
            assert value <= previous + TOL
            previous = value
        assert float(core.all_rejected_probability(draft, target, 1)) == pytest.approx(
            float(core.tv(draft, target)), abs=TOL
        )


@pytest.mark.parametrize("resample", ["opt", "uno"])
def test_over_acceptance_output_law_matches_enumeration(resample: str) -> None:
    for eps in (0.0, 0.05, 0.2, 1.0):
        rule = OverAcceptanceRule(eps, resample)  # type: ignore[arg-type]
        for draft, target in _pairs(7, count=30):
            # b and the resampling law from the formulas written in the test (round_laws)
            accept = accept_formula(draft, target, (resample, eps))
            np.testing.assert_allclose(rule.accept_probs(draft, target), accept, atol=TOL)
            law = output_distribution(rule, draft, target)
            resample_law = resample_formula(draft, target, (resample, eps), accept)
            brute = _enumerate_step(draft, target, lambda x: accept[x], lambda: resample_law)  # noqa: B023
            np.testing.assert_allclose(law, brute, atol=TOL)
            assert law.sum() == pytest.approx(1.0, abs=TOL)


def test_opt_attains_theorem4_minimum_and_uno_does_not_beat_it() -> None:
    for eps in (0.01, 0.1, 0.3):
        opt, uno = OverAcceptanceRule(eps, "opt"), OverAcceptanceRule(eps, "uno")
        for draft, target in _pairs(8, count=40):
            accept = accept_formula(draft, target, ("opt", eps))
            bias_opt = float(core.tv(output_distribution(opt, draft, target), target))
            bias_uno = float(core.tv(output_distribution(uno, draft, target), target))
            theorem4 = float(core.min_bias(draft, target, accept))
            assert bias_opt == pytest.approx(theorem4, abs=TOL)
            assert bias_uno >= theorem4 - TOL


@settings(max_examples=200, deadline=None)
@given(
    st.integers(2, 8).flatmap(
        lambda v: st.tuples(
            st.lists(st.floats(0, 1), min_size=v, max_size=v),
            st.lists(st.floats(0, 1), min_size=v, max_size=v),
            st.lists(st.floats(0, 1), min_size=v, max_size=v),
        )
    )
)
def test_theorem4_pstar_is_optimal_against_random_resampling(data) -> None:
    raw_draft, raw_target, raw_accept = (np.asarray(a) for a in data)
    if raw_draft.sum() == 0 or raw_target.sum() == 0:
        return
    draft, target, accept = raw_draft / raw_draft.sum(), raw_target / raw_target.sum(), raw_accept
    rejection = float(core.rejection_probability(draft, accept))
    p_star = core.optimal_resampling(draft, target, accept)
    best = float(core.tv(draft * accept + rejection * p_star, target))
    assert best == pytest.approx(float(core.min_bias(draft, target, accept)), abs=1e-9)
    rng = np.random.default_rng(0)
    for other in rng.dirichlet(np.ones(len(draft)), size=20):
        assert float(core.tv(draft * accept + rejection * other, target)) >= best - 1e-12


def test_theorem5_identity_on_and_above_the_front() -> None:
    rng = np.random.default_rng(9)
    strict_seen = False
    for draft, target in _pairs(10, count=60):
        sd_accept = core.SpeculativeRule().accept_probs(draft, target)
        front = core.pareto_front(draft, target)
        # b >= min(1, q/p): rejection + min_bias == TV
        for lift in (0.0, 0.3, 1.0):
            accept = sd_accept + lift * (1 - sd_accept) * rng.random(len(draft))
            r = core.rejection_probability(draft, accept)
            loss = core.min_bias(draft, target, accept)
            assert float(front.gap(r, loss)) == pytest.approx(0.0, abs=TOL)
        # b below min(1, q/p) somewhere p > 0: strictly above the line
        lowered = sd_accept * rng.uniform(0.0, 0.9, len(draft))
        gap = float(
            front.gap(
                core.rejection_probability(draft, lowered), core.min_bias(draft, target, lowered)
            )
        )
        assert gap >= -TOL
        strict_seen |= gap > 1e-6
    assert strict_seen
    draft, target = np.array([0.5, 0.3, 0.2]), np.array([0.2, 0.3, 0.5])
    lowered = np.array([0.2, 1.0, 1.0])  # below min(1, q/p) = 0.4 at token 0
    gap = core.pareto_front(draft, target).gap(
        core.rejection_probability(draft, lowered), core.min_bias(draft, target, lowered)
    )
    assert float(gap) == pytest.approx(0.1, abs=TOL)
