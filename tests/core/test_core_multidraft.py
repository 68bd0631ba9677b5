"""The multi-draft optimum: closed form = linear program, and the optimal sampler's law.

The test's own linear program couples every *ordered tuple* of M drafts (i.i.d. from p,
or drawn without replacement) with Y ~ q and maximises P(Y is one of the drafts) — no
code shared with the library, which uses the ratio-prefix closed form (i.i.d.), an
enumeration over token sets (without replacement) and a set-level LP for its sampler.
Recursive rejection's acceptance is written here from the paper (r_1 = q,
r_{m+1} = [r_m - p]_+ normalised, acceptance 1 - prod_m TV(p, r_m)).
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy.optimize import linprog

from round_harness import assert_law, chi_square_power, sample_size
from specbound import core
from specbound.core.multidraft import OptimalMultiDraftRule, optimal_accepted_law
from specbound.errors import InvalidAlgorithmError
from stats_helpers import ALPHA, chi_square_pvalue


def tuples_law(p: np.ndarray, m: int, replacement: bool) -> dict[tuple[int, ...], float]:
    law: dict[tuple[int, ...], float] = {}
    support = [x for x in range(p.size) if p[x] > 0]
    if replacement:
        for draw in itertools.product(support, repeat=m):
            law[draw] = float(np.prod(p[list(draw)]))
        return law
    for draw in itertools.permutations(support, min(m, len(support))):
        prob, left = 1.0, 1.0
        for x in draw:
            prob, left = prob * p[x] / left, left - p[x]
        law[draw] = prob
    return law


def lp_optimum(p: np.ndarray, q: np.ndarray, m: int, replacement: bool = True) -> float:
    """max sum_{t, y in t} pi(t, y) s.t. rows sum to P(t), columns to q(y), pi >= 0."""
    law = tuples_law(p, m, replacement)
    tuples, V = list(law), p.size
    cost = np.zeros(len(tuples) * V)
    rows, rhs = [], []
    for i, t in enumerate(tuples):
        for y in set(t):
            cost[i * V + y] = -1.0
        row = np.zeros(len(tuples) * V)
        row[i * V : (i + 1) * V] = 1.0
        rows.append(row)
        rhs.append(law[t])
    for y in range(V):
        row = np.zeros(len(tuples) * V)
        row[y::V] = 1.0
        rows.append(row)
        rhs.append(q[y])
    solution = linprog(
        cost,
        A_eq=np.array(rows),
        b_eq=rhs,
        bounds=(0, None),
        method="highs-ds",
        options={"presolve": False},
    )
    assert solution.status == 0
    return float(-solution.fun)


def recursive_acceptance(p: np.ndarray, q: np.ndarray, m: int) -> float:
    r, rejected = q.copy(), 1.0
    for _ in range(m):
        tv = np.clip(r - p, 0, None).sum()
        rejected *= tv
        r = np.clip(r - p, 0, None) / tv if tv > 1e-12 else q
    return 1.0 - rejected


def _pairs(seed: int, count: int, vocab: int) -> list[tuple[np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(seed)
    out = []
    for i in range(count):
        p, q = rng.dirichlet(np.ones(vocab)), rng.dirichlet(np.ones(vocab))
        if i % 3 == 1:  # exact zeros on either side
            p[rng.integers(vocab)] = 0.0
            q[rng.integers(vocab)] = 0.0
            p, q = p / p.sum(), q / q.sum()
        out.append((p, q))
    return out


@pytest.mark.parametrize(("vocab", "m"), [(3, 1), (3, 2), (4, 2), (4, 3), (5, 2)])
@pytest.mark.parametrize("replacement", [True, False])
def test_closed_form_equals_the_linear_program(vocab: int, m: int, replacement: bool) -> None:
    for p, q in _pairs(vocab * 10 + m, 6, vocab):
        exact = float(core.optimal_multidraft_acceptance(p, q, m, replacement=replacement))
        assert exact == pytest.approx(lp_optimum(p, q, m, replacement), abs=1e-9)


def test_one_draft_is_one_minus_tv_and_batches_over_leading_axes() -> None:
    pairs = _pairs(1, 8, 6)
    draft = np.stack([p for p, _ in pairs])
    target = np.stack([q for _, q in pairs])
    tv = 0.5 * np.abs(draft - target).sum(axis=-1)
    assert np.allclose(core.optimal_multidraft_acceptance(draft, target, 1), 1 - tv, atol=1e-12)


def test_recursive_rejection_never_beats_the_optimum_and_without_replacement_helps() -> None:
    gaps = []
    for p, q in _pairs(7, 200, 6):
        for m in (2, 3, 4):
            optimum = float(core.optimal_multidraft_acceptance(p, q, m))
            recursive = recursive_acceptance(p, q, m)
            without = float(core.optimal_multidraft_acceptance(p, q, m, replacement=False))
            assert recursive <= optimum + 1e-12
            assert optimum <= without + 1e-12
            gaps.append(optimum - recursive)
    assert max(gaps) > 0.05  # the headroom is real, not rounding


def test_greedy_accepted_law_is_realisable_and_optimal() -> None:
    for p, q in _pairs(11, 30, 5):
        for m in (1, 2, 3):
            a = optimal_accepted_law(p, q, m)
            assert np.all(a <= q + 1e-15) and np.all(a >= 0)
            for size in range(1, 6):  # Hall: a(H) <= P(some draft in H) for every H
                for h in itertools.combinations(range(5), size):
                    assert a[list(h)].sum() <= 1 - (1 - p[list(h)].sum()) ** m + 1e-12
            assert a.sum() == pytest.approx(lp_optimum(p, q, m), abs=1e-9)


P = np.array([0.45, 0.25, 0.2, 0.1, 0.0])
Q = np.array([0.1, 0.2, 0.3, 0.25, 0.15])
M = 2


class RejectsToTarget(OptimalMultiDraftRule):
    """Negative control: after a rejection it draws Y from q, not from (q - a)/(1 - alpha)."""

    def coupling(self, draft, target):  # type: ignore[no-untyped-def]
        base = super().coupling(draft, target)
        return type(base)(base.masks, base.accept, target, base.accepted_law)


class AcceptsLess(OptimalMultiDraftRule):
    """Negative control: every acceptance probability 2% too small."""

    def coupling(self, draft, target):  # type: ignore[no-untyped-def]
        base = super().coupling(draft, target)
        return type(base)(base.masks, 0.98 * base.accept, base.rejected, base.accepted_law)


def _draw(rule: OptimalMultiDraftRule):  # type: ignore[no-untyped-def]
    def draw(n: int, rng: np.random.Generator) -> np.ndarray:
        candidates = rng.choice(P.size, size=(n, M), p=P)  # the drafts: i.i.d. from p
        winner, token = rule.verify(P, Q, candidates, rng)
        accepted = winner >= 0
        chosen = candidates[np.arange(n), np.maximum(winner, 0)]
        assert np.all(chosen[accepted] == token[accepted])  # it follows a draft it names
        return accepted * Q.size + token  # cell (accepted, Y)

    return draw


def test_optimal_round_start_law_and_controls() -> None:
    """Conditional on the drafts being i.i.d. from p: P(accept, Y = y) = a(y) and
    P(reject, Y = y) = q(y) - a(y), with a written as the test's LP-optimal total."""
    a = optimal_accepted_law(P, Q, M)
    assert a.sum() == pytest.approx(lp_optimum(P, Q, M), abs=1e-9)
    law = np.concatenate([Q - a, a])  # cells: rejected y, then accepted y
    less = 0.98 * a
    mutant = np.concatenate([Q - a + (a - less).sum() * (Q - a) / (Q - a).sum(), less])
    n = sample_size(law, mutant)
    assert chi_square_power(law, mutant, n) >= 0.99
    assert_law(_draw(OptimalMultiDraftRule(M)), law, n)
    for control in (RejectsToTarget(M), AcceptsLess(M)):
        cells = _draw(control)(n, np.random.default_rng(0))
        assert chi_square_pvalue(cells, law) < ALPHA


def test_split_is_accepted_and_rejected_parts_of_the_target() -> None:
    split = OptimalMultiDraftRule(3).split(P, Q)
    assert np.allclose(split.output, Q, atol=1e-15)
    assert split.reject == pytest.approx(1 - lp_optimum(P, Q, 3), abs=1e-9)


def test_sampler_refuses_a_large_vocabulary_before_building_anything() -> None:
    rule = OptimalMultiDraftRule(3)
    big = np.full(4096, 1 / 4096)
    with pytest.raises(InvalidAlgorithmError, match="100000"):
        rule.coupling(big, big)
