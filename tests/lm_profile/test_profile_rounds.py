"""Exact checks of the profiler's math, no model: round starts, estimates, cost model.

``round_starts_given_path`` is checked against brute-force enumeration of every accept /
reject outcome of a short path (tolerance 1e-12); a wrong recursion (negative control)
fails the same check.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from specbound.core.rounds import expected_counts_given_path
from specbound.estimates import Estimate, agreement_z, inverse_ratio, quotient
from specbound.profiling import round_starts_given_path

mean_estimate = Estimate.from_samples
ratio_estimate = Estimate.ratio


def _enumerate(
    accept: np.ndarray, gamma: int | None, start: np.ndarray
) -> tuple[float, float, np.ndarray]:
    """E[rejections], E[calls], P(round starts at n) by summing over all outcome patterns.

    Each position draws one outcome (accepted or refused) with its probability; only the
    outcomes of drafted positions matter (a bonus position ignores its draw), so summing
    over all 2^L patterns with their probabilities gives the exact expectations.
    """
    length = accept.size
    rejections = calls = 0.0
    starts = np.zeros(length)
    for pattern in itertools.product((True, False), repeat=length):
        prob, state, rej, call = 1.0, 0, 0, 0
        hits = np.zeros(length)
        for n, ok in enumerate(pattern):
            a = start[n] if state == 0 else accept[n]
            if gamma is not None and state == gamma:
                # bonus token: never refused; both draws continue alike (weight 1/2 each)
                prob *= 0.5
                state = 0
                continue
            prob *= a if ok else 1 - a
            if state == 0:
                call += 1
                hits[n] = 1
            if ok:
                state += 1
            else:
                rej += 1
                state = 0
        rejections += prob * rej
        calls += prob * call
        starts += prob * hits
    return rejections, calls, starts


@pytest.mark.parametrize("gamma", [1, 2, 3, None])
@pytest.mark.parametrize("batch", [False, True])
def test_round_starts_match_enumeration(gamma: int | None, batch: bool) -> None:
    rng = np.random.default_rng(7)
    for length in (1, 2, 5, 6):
        accept = rng.uniform(size=(3, length))
        start = rng.uniform(size=(3, length)) if batch else None
        rejections, calls, starts = round_starts_given_path(accept, gamma, start)
        for row in range(3):
            first = accept[row] if start is None else start[row]
            exact = _enumerate(accept[row], gamma, first)
            assert rejections[row] == pytest.approx(exact[0], abs=1e-12)
            assert calls[row] == pytest.approx(exact[1], abs=1e-12)
            np.testing.assert_allclose(starts[row], exact[2], atol=1e-12)
        np.testing.assert_allclose(starts.sum(axis=-1), calls, atol=1e-12)
        counts = expected_counts_given_path(accept, gamma, start)
        np.testing.assert_allclose(rejections, counts.rejections, atol=1e-12)


def test_negative_control_a_wrong_round_model_fails_the_enumeration() -> None:
    """Treating every position as a round start (a wrong model) must not match."""
    rng = np.random.default_rng(3)
    accept = rng.uniform(size=(1, 5))
    _, calls, _ = round_starts_given_path(accept, 2, accept)
    exact = _enumerate(accept[0], 2, accept[0])
    wrong = float(np.sum(1 - accept[0]) + 1)  # "one call per rejection, plus one"
    assert calls[0] == pytest.approx(exact[1], abs=1e-12)
    assert abs(wrong - exact[1]) > 1e-3


def test_estimates_and_intervals() -> None:
    est = mean_estimate([1.0, 2.0, 3.0, 4.0])
    assert est.mean == 2.5 and est.n == 4
    assert est.se == pytest.approx(np.std([1, 2, 3, 4], ddof=1) / 2)
    low, high = est.ci95
    assert low < 2.5 < high
    ratio = ratio_estimate([2.0, 4.0, 6.0], [1.0, 2.0, 3.0])
    assert ratio.mean == pytest.approx(2.0) and ratio.se == pytest.approx(0.0, abs=1e-15)
    assert inverse_ratio(4.0, ratio).mean == pytest.approx(2.0)
    assert quotient(est, est.scaled(2.0)).mean == pytest.approx(0.5)
    assert agreement_z(est, est) == 0.0
    with pytest.raises(ValueError):
        mean_estimate([])
    with pytest.raises(ValueError):
        ratio_estimate([1.0], [0.0])
