"""Block verification (Sun et al. 2024), one round: exact law of (tokens kept, next token).

The formula is written here from the paper, in plain loops (p = draft, q = target):
``w_0 = 1``, ``w_i = min(w_{i-1} q_i(X_i)/p_i(X_i), 1)``; for i < k
``Z_{i+1} = sum_x [w_i q_{i+1}(x) - p_{i+1}(x)]_+``, ``h_i = Z_{i+1}/(Z_{i+1} + 1 - w_i)``
(1 where w_i = 1); ``h_k = w_k``; ``tau`` = the last i with ``eta_i < h_i`` (0 if none);
``Y ~ [w_tau q_{tau+1} - p_{tau+1}]_+`` normalised if tau < k, else the bonus ``q_{k+1}``.
Tiers: the library's law equals the formula to 1e-12; a conditional chi-square of
sampled rounds (fixed block) at ALPHA with N sized for 99% power against a rule whose
stop probabilities are 2% too small; negative controls (tau = the first failure instead
of the last success; h scaled by 0.98) fail the same test.
"""

from __future__ import annotations

import numpy as np
import pytest

from block_formula import formula_law
from controls import FirstFailure
from round_harness import assert_law, chi_square_power, sample_size
from specbound.core.block import BlockVerificationRule
from stats_helpers import ALPHA, chi_square_pvalue

V, K = 4, 3


class Shrunk(BlockVerificationRule):
    """Negative control: every stop probability 2% too small."""

    def stop_probs(self, draft, target, weights):  # type: ignore[no-untyped-def]
        return 0.98 * super().stop_probs(draft, target, weights)


def _case(
    seed: int, bonus: bool, saturate: bool = True
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Laws and a fixed block; ``saturate``: the first token has q/p > 1 (w_1 = 1, h_1 = 1)."""
    rng = np.random.default_rng(seed)
    p = rng.dirichlet(np.ones(V), size=K)
    q = rng.dirichlet(np.ones(V), size=K + int(bonus))
    if saturate:
        x = rng.integers(V, size=K)
        x[0] = int(np.argmax(q[0] / p[0]))
    else:  # every ratio q/p near 0.7: all stop probabilities strictly between 0 and 1
        x = np.argmin(np.abs(q[:K] / p - 0.7), axis=-1)
    return p, q, x


def _library_law(rule: BlockVerificationRule, p, q, x) -> np.ndarray:
    k = len(x)
    w = rule.weights(p, q, x)
    tau = rule.tau_law(rule.stop_probs(p, q, w))
    law = np.zeros((k + 1, V + 1))
    for t in range(k):
        law[t, :V] = tau[t] * rule.recovery_law(p, q, w, t)
    if len(q) > k:
        law[k, :V] = tau[k] * q[k]
    else:
        law[k, V] = tau[k]
    return law


def _draw(rule: BlockVerificationRule, p, q, x):  # type: ignore[no-untyped-def]
    def draw(n: int, rng: np.random.Generator) -> np.ndarray:
        outcome = rule.verify(
            np.broadcast_to(p, (n, *p.shape)),
            np.broadcast_to(q, (n, *q.shape)),
            np.broadcast_to(x, (n, K)),
            rng,
        )
        nxt = np.where(outcome.token < 0, V, outcome.token)
        return outcome.tau * (V + 1) + nxt

    return draw


@pytest.mark.parametrize("bonus", [True, False])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_library_law_equals_the_formula(seed: int, bonus: bool) -> None:
    p, q, x = _case(seed, bonus)
    law = _library_law(BlockVerificationRule(), p, q, x)
    assert np.allclose(law, formula_law(p, q, x), atol=1e-12, rtol=0)
    assert law.sum() == pytest.approx(1.0, abs=1e-12)


def test_one_token_block_is_speculative_decoding() -> None:
    rng = np.random.default_rng(5)
    p, q = rng.dirichlet(np.ones(V), size=1), rng.dirichlet(np.ones(V), size=2)
    for token in range(V):
        law = formula_law(p, q, np.array([token]))
        accept = min(1.0, q[0][token] / p[0][token])
        assert law[1].sum() == pytest.approx(accept, abs=1e-12)
        residual = np.clip(q[0] - p[0], 0, None)
        assert np.allclose(law[0, :V], (1 - accept) * residual / residual.sum(), atol=1e-12)
        library = _library_law(BlockVerificationRule(), p, q, np.array([token]))
        assert np.allclose(library[:2], law[:2], atol=1e-12)


def test_first_output_token_follows_the_target() -> None:
    """Lossless at the first position: averaging the round over blocks drafted from p
    (here X_2, X_3 laws fixed), the first output token has law q_1 exactly."""
    rng = np.random.default_rng(9)
    p = rng.dirichlet(np.ones(V), size=K)
    q = rng.dirichlet(np.ones(V), size=K + 1)
    first = np.zeros(V)
    for x1 in range(V):
        for x2 in range(V):
            for x3 in range(V):
                x = np.array([x1, x2, x3])
                prob = p[0][x1] * p[1][x2] * p[2][x3]
                law = formula_law(p, q, x)
                first += prob * law[0, :V]  # tau = 0: Y is the first token
                first[x1] += prob * law[1:].sum()  # tau >= 1: X_1 is kept
    assert np.allclose(first, q[0], atol=1e-12)


@pytest.mark.parametrize("bonus", [True, False])
def test_sampled_rounds_follow_the_exact_law_and_controls_fail(bonus: bool) -> None:
    p, q, x = _case(3, bonus, saturate=False)
    law = formula_law(p, q, x)
    shrunk = formula_law(p, q, x, scale=0.98)
    n = sample_size(law, shrunk)
    assert chi_square_power(law, shrunk, n) >= 0.99
    assert_law(_draw(BlockVerificationRule(), p, q, x), law, n)
    for control in (Shrunk(), FirstFailure()):
        cells = _draw(control, p, q, x)(n, np.random.default_rng(0))
        assert chi_square_pvalue(cells, law.ravel()) < ALPHA
