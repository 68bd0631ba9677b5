"""One conditional test of one verification round, shared by every rule (old and new).

A round is tested *conditionally*: the drafted tokens (and the laws they were drafted
from) are fixed, and the rule's sampled outcome — a cell such as (tokens kept, next
token) — is compared with the exact law of that outcome, which the test computes from a
formula it states itself. Conditioning removes the drafting noise, so the test sees
small errors a chi-square over whole sequences cannot.

Sample sizes are chosen for a stated **power**: :func:`sample_size` is the smallest N at
which a Pearson chi-square test at level ``ALPHA`` rejects a given wrong law (the
"mutant") with probability ``POWER``; the power is computed from the noncentral
chi-square law with noncentrality ``N * sum (p1 - p0)^2 / p0`` over the test's cells.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy import stats

from stats_helpers import ALPHA, chi_square_pvalue

__all__ = ["POWER", "assert_law", "chi_square_power", "joint_sample_size", "sample_size"]

#: The probability with which every conditional test detects its stated mutant.
POWER = 0.99


def _pooled(p0: np.ndarray, p1: np.ndarray, n: int, min_expected: float = 5.0):
    """The cells the chi-square test uses at sample size n (small cells pooled)."""
    big = p0 * n >= min_expected
    a, b = list(p0[big]), list(p1[big])
    if (~big).any():
        a.append(p0[~big].sum())
        b.append(p1[~big].sum())
    return np.asarray(a), np.asarray(b)


def chi_square_power(p0: np.ndarray, p1: np.ndarray, n: int, alpha: float = ALPHA) -> float:
    """Power of the level-``alpha`` chi-square test of ``p0`` when the truth is ``p1``.

    The test (``stats_helpers.chi_square_pvalue``) rejects outright when a sample falls in
    a cell of probability 0 under ``p0``; with ``m0`` the mutant's mass there, the power is
    ``1 - (1 - m0)^n (1 - power of the chi-square on the other cells)``.
    """
    p0, p1 = np.ravel(p0), np.ravel(p1)
    zero = p0 == 0
    m0 = float(p1[zero].sum())
    if m0 > 0:
        if m0 >= 1.0:
            return 1.0
        rest = np.where(zero, 0.0, p1) / (1.0 - m0)
        return 1.0 - (1.0 - m0) ** n * (1.0 - chi_square_power(p0, rest, n, alpha))
    a, b = _pooled(p0, p1, n)
    keep = a > 0
    df = int(keep.sum()) - 1
    if df < 1:
        return 0.0
    noncentrality = n * float(np.sum((b[keep] - a[keep]) ** 2 / a[keep]))
    critical = stats.chi2.isf(alpha, df)
    return float(stats.ncx2.sf(critical, df, noncentrality))


def sample_size(
    p0: np.ndarray, p1: np.ndarray, power: float = POWER, alpha: float = ALPHA, cap: int = 2_000_000
) -> int:
    """The smallest N (to 5%) at which the test rejects ``p0`` under ``p1`` with ``power``."""
    n = 100
    while chi_square_power(p0, p1, n, alpha) < power:
        n = int(n * 1.05) + 1
        if n > cap:
            raise AssertionError(f"no sample size below {cap} reaches power {power}")
    return n


def assert_law(
    draw: Callable[[int, np.random.Generator], np.ndarray],
    law: np.ndarray,
    n: int,
    seed: int = 0,
) -> float:
    """Sample ``n`` cells with ``draw(n, rng)`` and assert they follow ``law`` (p > ALPHA)."""
    cells = draw(n, np.random.default_rng(seed))
    pvalue = chi_square_pvalue(cells, np.ravel(law))
    assert pvalue > ALPHA, f"chi-square p = {pvalue:.3g} <= {ALPHA}"
    return pvalue


def joint_sample_size(
    p0: np.ndarray, mutants: list[np.ndarray], power: float = POWER, alpha: float = ALPHA
) -> int:
    """The smallest N (to 5%) at which the test rejects ``p0`` under *every* mutant law
    with ``power`` (the pooling of small cells makes the power non-monotone in N, so the
    mutants are checked together at the same N)."""
    n = 100
    while min(chi_square_power(p0, m, n, alpha) for m in mutants) < power:
        n = int(n * 1.05) + 1
        if n > 2_000_000:
            raise AssertionError(f"no sample size below 2000000 reaches power {power}")
    return n
