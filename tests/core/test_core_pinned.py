"""The rules pinned to formulas written here, and their uniforms pinned to the stream.

* ``b``, ``P*`` and UNO's resampling law of every rule equal ``round_laws``' token-by-token
  formulas (and a few values worked out by hand), to 1e-12; so do the split into accepted
  and rejected parts and recursive rejection's residual chain;
* acceptance is ``u < b`` with ``u`` the generator's next **float64** uniform: with the
  uniforms known in advance (a seeded generator replayed here) a drafted token whose
  ``b`` equals its ``u`` exactly must be refused and one whose ``b`` is the next float up
  must be accepted, in every verifier (``accept_drafted``, ``verify_rows``, recursive
  rejection, block verification, the LM round). A float32 uniform, or ``u <= b``, breaks
  these exact decisions; an injected source of zero uniforms must still refuse ``b = 0``.
"""

from __future__ import annotations

import numpy as np
import pytest

import specbound as sb
from round_laws import accept_formula, resample_formula
from specbound import core
from specbound.core import kernels
from specbound.core.batch import RecursiveRejectionRule
from specbound.core.block import BlockVerificationRule
from specbound.core.rules import OverAcceptanceRule, SpeculativeRule, accept_drafted
from specbound.core.sampling import sample_rows
from specbound.lm.verification import verify_round
from stats_helpers import random_pair

TOL = 1e-12
RULES = [
    (SpeculativeRule(), ("sd", 0.0)),
    (OverAcceptanceRule(0.05, "opt"), ("opt", 0.05)),
    (OverAcceptanceRule(0.3, "opt"), ("opt", 0.3)),
    (OverAcceptanceRule(0.05, "uno"), ("uno", 0.05)),
    (OverAcceptanceRule(0.3, "uno"), ("uno", 0.3)),
]


def _pairs(count: int = 40) -> list[tuple[np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(123)
    return [
        random_pair(rng, int(rng.integers(2, 8)), float(rng.choice([0.3, 1.0])))
        for _ in range(count)
    ]


@pytest.mark.parametrize(("rule", "kind"), RULES, ids=lambda v: str(v))
def test_b_and_resampling_law_equal_the_formulas(rule, kind) -> None:  # type: ignore[no-untyped-def]
    for p, q in _pairs():
        b = accept_formula(p, q, kind)
        np.testing.assert_allclose(rule.accept_probs(p, q), b, atol=TOL)
        np.testing.assert_allclose(
            rule.resample_probs(p, q, b), resample_formula(p, q, kind, b), atol=TOL
        )
        np.testing.assert_allclose(
            rule.resample_law(p, q), resample_formula(p, q, kind, b), atol=TOL
        )
        split = rule.split(p, q)
        reject = sum(p[x] * (1.0 - b[x]) for x in range(len(p)))
        assert float(split.reject) == pytest.approx(reject, abs=TOL)
        np.testing.assert_allclose(split.accepted, p * b, atol=TOL)
        np.testing.assert_allclose(
            split.rejected, reject * resample_formula(p, q, kind, b), atol=TOL
        )
        assert float(core.step_rejection_probability(rule, p, q)) == pytest.approx(reject, abs=TOL)


def test_values_worked_out_by_hand() -> None:
    p, q = np.array([0.5, 0.3, 0.2, 0.0]), np.array([0.2, 0.3, 0.1, 0.4])
    np.testing.assert_allclose(SpeculativeRule().accept_probs(p, q), [0.4, 1.0, 0.5, 0.0])
    np.testing.assert_allclose(core.residual(p, q), [0.0, 0.0, 0.0, 1.0])
    assert float(core.tv(p, q)) == pytest.approx(0.4)
    rule = OverAcceptanceRule(0.1, "opt")
    np.testing.assert_allclose(rule.accept_probs(p, q), [0.6, 1.0, 1.0, 0.0])
    # P* = [q - p b]_+ = [0.2 - 0.3, 0, 0.1 - 0.2, 0.4]_+ -> all on token 3
    np.testing.assert_allclose(rule.resample_probs(p, q, rule.accept_probs(p, q)), [0, 0, 0, 1])
    uno = OverAcceptanceRule(0.1, "uno")
    np.testing.assert_allclose(uno.resample_probs(p, q, uno.accept_probs(p, q)), q)
    # a general b (not the rule's): P* = [q - p b]_+ normalised, its value sum [p b - q]_+
    b = np.array([0.2, 0.5, 1.0, 0.0])
    np.testing.assert_allclose(
        core.optimal_resampling(p, q, b), np.array([0.1, 0.15, 0, 0.4]) / 0.65
    )
    assert float(core.min_bias(p, q, b)) == pytest.approx(0.1)
    assert float(core.rejection_probability(p, b)) == pytest.approx(0.4 + 0.15)


def test_recursive_rejection_chain_equals_the_formula() -> None:
    for p, q in _pairs(30):
        chain, rejected = [q.copy()], 1.0
        for _ in range(4):
            excess = np.array([max(a - b, 0.0) for a, b in zip(chain[-1], p, strict=True)])
            rejected *= excess.sum()
            chain.append(excess / excess.sum() if excess.sum() > 1e-12 else chain[-1])
        rule = RecursiveRejectionRule(4)
        np.testing.assert_allclose(rule.residuals(p, q), np.stack(chain), atol=TOL)
        assert float(rule.all_rejected_probability(p, q)) == pytest.approx(rejected, abs=TOL)
        split = rule.split(p, q)
        np.testing.assert_allclose(split.rejected, rejected * chain[-1], atol=TOL)


@pytest.mark.parametrize(("rule", "kind"), RULES[2:], ids=["opt", "uno-small", "uno"])
def test_sampled_recovered_tokens_follow_the_formula(rule, kind) -> None:  # type: ignore[no-untyped-def]
    from stats_helpers import ALPHA, chi_square_pvalue

    p, q = np.array([0.45, 0.25, 0.2, 0.1, 0.0]), np.array([0.05, 0.15, 0.2, 0.3, 0.3])
    n = 50_000
    law = resample_formula(p, q, kind, accept_formula(p, q, kind))
    tokens = rule.sample_recovered(
        np.broadcast_to(p, (n, 5)), np.broadcast_to(q, (n, 5)), np.random.default_rng(7)
    )
    assert chi_square_pvalue(tokens, law) > ALPHA


# ---- uniforms: float64, replayed from the seed, strict comparison ----------------------


def _boundary(seed: int, n: int, above: bool) -> tuple[np.ndarray, np.ndarray]:
    """Rows (n, 2): one-hot drafts on token 0 and targets with q(0) = u (or the next float
    up), u the generator's first n float64 uniforms: b(0) = min(1, q(0)/1) = q(0)."""
    u = np.random.default_rng(seed).random(n)  # float64, as the rules draw them
    b = np.nextafter(u, 1.0) if above else u
    draft = np.zeros((n, 2))
    draft[:, 0] = 1.0
    return draft, np.stack([b, 1.0 - b], axis=-1)


@pytest.mark.parametrize("above", [False, True])
def test_accept_is_u_below_b_with_float64_uniforms(above: bool) -> None:
    n, seed = 2_000, 11
    draft, target = _boundary(seed, n, above)
    tokens = np.zeros(n, dtype=np.int64)
    rule = SpeculativeRule()
    ok = accept_drafted(rule, draft, target, tokens, np.random.default_rng(seed))
    assert ok.all() if above else not ok.any()
    ok, _ = rule.verify_rows(draft, target, np.arange(n), tokens, np.random.default_rng(seed))
    assert ok.all() if above else not ok.any()
    start = RecursiveRejectionRule(1)
    winner, _ = start.verify(draft, target, tokens[:, None], np.random.default_rng(seed))
    assert (winner == 0).all() if above else (winner == -1).all()
    winner, _ = start.verify_rows(
        draft, target, np.arange(n), tokens[:, None], np.random.default_rng(seed)
    )
    assert (winner == 0).all() if above else (winner == -1).all()
    block = BlockVerificationRule().verify(
        draft[:, None], target[:, None], tokens[:, None], np.random.default_rng(seed)
    )
    assert (block.tau == 1).all() if above else (block.tau == 0).all()


@pytest.mark.parametrize("above", [False, True])
def test_lm_round_decides_with_the_next_float64_uniform(above: bool) -> None:
    for seed in range(40):
        draft, target = _boundary(seed, 1, above)  # the round's first uniform decides
        out = verify_round(
            sb.Speculative(),
            draft[None],
            target[None],
            np.zeros((1, 1), np.int64),
            np.random.default_rng(seed),
        )
        assert out.rejected is (not above) and out.accepted == int(above)


def test_sample_categorical_is_the_inverse_cdf_of_the_next_uniform() -> None:
    """probs = (u, 1 - u) with u in [0.5, 1): cdf(0) = u exactly, so the first index with
    cdf > u is 1; with probs (nextafter(u), ...) it is 0 (``sample_categorical`` and
    ``sample_rows`` alike)."""
    for seed in range(200):
        u = float(np.random.default_rng(seed).random())
        if u < 0.5:
            continue
        at = core.sample_categorical(np.array([u, 1.0 - u]), np.random.default_rng(seed))
        up = np.nextafter(u, 1.0)
        above = core.sample_categorical(np.array([up, 1.0 - up]), np.random.default_rng(seed))
        assert (int(at), int(above)) == (1, 0), seed
        rows = np.zeros(1, dtype=np.int64)
        at = sample_rows(np.array([[u, 1.0 - u]]), rows, np.random.default_rng(seed))
        above = sample_rows(np.array([[up, 1.0 - up]]), rows, np.random.default_rng(seed))
        assert (int(at[0]), int(above[0])) == (1, 0), seed


class _ZeroUniforms:
    """An injected uniform source that always returns 0.0 (in the dtype asked for)."""

    def random(self, size, dtype=np.float64):  # type: ignore[no-untyped-def]
        return np.zeros(size, dtype=dtype)


def test_b_zero_refuses_even_a_zero_uniform() -> None:
    """q(x) = 0 gives b(x) = 0: P(accept) = 0, so u = 0 must refuse (u < b, not u <= b)."""
    draft, target = np.array([[0.5, 0.5]] * 3), np.array([[0.0, 1.0]] * 3)
    tokens = np.zeros(3, dtype=np.int64)
    rng = _ZeroUniforms()
    assert not accept_drafted(SpeculativeRule(), draft, target, tokens, rng).any()  # type: ignore[arg-type]
    ok, recovered = SpeculativeRule().verify_rows(draft, target, np.arange(3), tokens, rng)  # type: ignore[arg-type]
    assert not ok.any() and (recovered == 1).all()
    winner, token = RecursiveRejectionRule(2).verify(draft, target, np.zeros((3, 2), np.int64), rng)  # type: ignore[arg-type]
    assert (winner == -1).all() and (token == 1).all()


def _first_index_above(probs: np.ndarray, u: float) -> int:
    """The inverse-CDF rule, written here: the first x with cdf(x) > min(u * total,
    the largest float below total), by a plain loop."""
    running, cdf = 0.0, []
    for mass in probs:
        running += float(mass)
        cdf.append(running)
    level = min(u * cdf[-1], float(np.nextafter(cdf[-1], 0.0)))
    return next(x for x, c in enumerate(cdf) if c > level)


@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_inverse_cdf_one_row_and_many_rows_follow_the_rule(backend: str) -> None:
    """One row (binary search) and many rows (counting) both return the first index with
    cdf > level, on sparse laws with zero-mass runs and on u at the top of [0, 1) where
    u * total rounds onto total; the index always has mass."""
    rng = np.random.default_rng(5)
    top = float(np.nextafter(1.0, 0.0))
    for trial in range(600):
        size = int(rng.integers(1, 40))
        probs = rng.random(size) * (rng.random(size) < 0.5)
        probs[int(rng.integers(size))] += 0.1  # some mass
        u = top if trial % 4 == 0 else float(rng.random())
        want = _first_index_above(probs, u)
        assert probs[want] > 0
        rows, us = np.stack([probs, probs[::-1]]), np.array([u, u])
        wants = [want, _first_index_above(probs[::-1], u)]
        if backend == "torch":
            import torch

            got_one = kernels.inverse_cdf(
                torch.from_numpy(probs), torch.tensor(u, dtype=torch.float64)
            )
            got_row = kernels.inverse_cdf(
                torch.from_numpy(probs)[None], torch.tensor([u], dtype=torch.float64)
            )
            got_rows = kernels.inverse_cdf(torch.from_numpy(rows), torch.from_numpy(us))
        else:
            got_one = kernels.inverse_cdf(probs, np.asarray(u))
            got_row = kernels.inverse_cdf(probs[None], np.array([u]))
            got_rows = kernels.inverse_cdf(rows, us)
        assert tuple(got_one.shape) == () and tuple(got_row.shape) == (1,)
        assert int(got_one) == int(got_row[0]) == want, trial
        assert [int(t) for t in got_rows] == wants, trial


def test_inverse_cdf_negative_control_off_by_one_is_caught() -> None:
    """A sampler counting ``cdf < level`` (not ``<=``) differs from the rule above on the
    exact boundary cdf(0) = u: the check of the test above would reject it."""
    u = 0.75
    probs = np.array([0.75, 0.25])
    cdf = np.cumsum(probs)
    wrong = int((cdf < u * cdf[-1]).sum())
    assert wrong != _first_index_above(probs, u) == int(kernels.inverse_cdf(probs, np.asarray(u)))
