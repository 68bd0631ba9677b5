"""Turning numbers into :class:`~specbound.experiments.base.Claim` verdicts.

Two kinds of check:

* **exact** — theory against an exact computation (or an identity): holds when the gap is
  below a stated tolerance (``1e-9``: rounding only);
* **statistical** — theory against a Monte Carlo mean: holds when the theory value lies in
  the ``CLAIM_LEVEL`` (99.9%) interval of the mean, i.e. ``|z| < 3.29`` with
  ``z = (mean - theory) / SE``. Many points of one curve are checked together by one
  chi-square test on their z-scores (``sum z^2 ~ chi2(k)``; holds when p > 0.001). The level
  is the test suite's (``tests/stats_helpers.ALPHA = 1e-3``): with some fifteen statistical
  claims in a report, a correct implementation passes them all for ~98% of seeds, where a
  99% level would fail one claim by chance for every seventh seed. The 95% interval is
  reported beside.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import stats

from specbound.estimates import Estimate, z_for_level
from specbound.experiments.base import Claim

__all__ = [
    "CLAIM_LEVEL",
    "EXACT_TOLERANCE",
    "chi_square_pvalue",
    "fisher_claim",
    "joint_claim",
    "running_mean",
    "tolerance_claim",
    "z_claim",
]

#: Confidence level at which a statistical claim is judged.
CLAIM_LEVEL = 0.999
#: Gap below which an exact identity is taken to hold (floating-point rounding only).
EXACT_TOLERANCE = 1e-9
_Z_LEVEL = z_for_level(CLAIM_LEVEL)


def running_mean(samples: ArrayLike, num_points: int = 200) -> tuple[list[int], list[float]]:
    """The running mean of ``samples`` at about ``num_points`` log-spaced run counts."""
    values = np.asarray(samples, dtype=np.float64).ravel()  # (n,)
    means = np.cumsum(values) / np.arange(1, values.size + 1)  # (n,)
    counts = np.unique(np.geomspace(1, values.size, num_points).round().astype(np.int64))
    return counts.tolist(), means[counts - 1].tolist()


def _z(measured: Estimate, theory: float) -> float:
    z = measured.z(theory, tolerance=EXACT_TOLERANCE)
    # NOTE: an undefined spread (one run) cannot support a claim: it fails.
    return float("inf") if z is None else abs(z)


def z_claim(claim_id: str, statement: str, measured: Estimate, theory: float) -> Claim:
    """Holds when ``theory`` lies in the ``CLAIM_LEVEL`` interval of the measured mean."""
    z = _z(measured, theory)
    return Claim(
        id=claim_id,
        statement=statement,
        holds=bool(abs(z) < _Z_LEVEL),
        check=f"|z| = {abs(z):.2f} < {_Z_LEVEL:.2f}",
        theory=float(theory),
        measured=measured.mean,
        ci95=measured.ci95,
    )


def joint_claim(
    claim_id: str,
    statement: str,
    measured: Sequence[Estimate],
    theory: Sequence[float],
) -> Claim:
    """One chi-square test that k Monte Carlo means all agree with their theory values.

    ``sum_i z_i^2`` follows chi2(k) when every mean is unbiased (independent runs); the
    claim holds when its p-value exceeds ``1 - CLAIM_LEVEL``. The table shows the point
    with the largest |z|.
    """
    if len(measured) != len(theory) or not measured:
        raise ValueError("joint_claim needs one theory value per estimate, and at least one")
    z: NDArray[np.float64] = np.array([_z(m, t) for m, t in zip(measured, theory, strict=True)])
    statistic = float(np.sum(z**2))
    pvalue = float(stats.chi2.sf(statistic, df=z.size)) if np.isfinite(statistic) else 0.0
    worst = int(np.argmax(np.abs(z)))
    return Claim(
        id=claim_id,
        statement=statement,
        holds=bool(pvalue > 1 - CLAIM_LEVEL),
        check=(
            f"chi2 = {statistic:.1f} on {z.size} points, p = {pvalue:.2g} > {1 - CLAIM_LEVEL:.2g}"
            f" (worst |z| = {abs(z[worst]):.2f})"
        ),
        theory=float(theory[worst]),
        measured=measured[worst].mean,
        ci95=measured[worst].ci95,
    )


def tolerance_claim(
    claim_id: str,
    statement: str,
    theory: ArrayLike,
    measured: ArrayLike,
    tolerance: float = EXACT_TOLERANCE,
) -> Claim:
    """Holds when ``max |measured - theory| <= tolerance`` (over all points given)."""
    theory_arr, measured_arr = np.broadcast_arrays(
        np.atleast_1d(np.asarray(theory, dtype=np.float64)).ravel(),
        np.atleast_1d(np.asarray(measured, dtype=np.float64)).ravel(),
    )
    gaps = np.abs(measured_arr - theory_arr)  # (k,)
    worst = int(np.argmax(gaps))
    gap = float(gaps[worst])
    return Claim(
        id=claim_id,
        statement=statement,
        holds=bool(gap <= tolerance),
        check=f"max gap {gap:.1e} <= {tolerance:.0e}",
        theory=float(theory_arr[worst]),
        measured=float(measured_arr[worst]),
    )


def chi_square_pvalue(counts: ArrayLike, probs: ArrayLike, min_expected: float = 5.0) -> float:
    """Pearson chi-square p-value of observed ``counts`` against the law ``probs``.

    Cells expected to hold fewer than ``min_expected`` samples are pooled into one, so the
    chi-square approximation holds; a count in a zero-probability cell gives p = 0.
    """
    observed = np.asarray(counts, dtype=np.float64)  # (V,)
    law = np.asarray(probs, dtype=np.float64)  # (V,)
    if np.any(observed[law <= 0] > 0):
        return 0.0
    expected = law * observed.sum()
    big = expected >= min_expected
    obs, exp = list(observed[big]), list(expected[big])
    if (~big).any() and expected[~big].sum() > 0:
        obs.append(observed[~big].sum())
        exp.append(expected[~big].sum())
    if len(obs) < 2:
        return 1.0
    exp_arr = np.asarray(exp) * (sum(obs) / sum(exp))  # guard against rounding in the law
    return float(stats.chisquare(obs, exp_arr).pvalue)


def fisher_claim(claim_id: str, statement: str, pvalues: Sequence[float]) -> Claim:
    """Fisher's combination of k independent p-values: ``-2 sum ln p ~ chi2(2k)``; holds
    when the combined p-value exceeds ``1 - CLAIM_LEVEL``."""
    if not pvalues:
        raise ValueError("fisher_claim needs at least one p-value")
    clipped = np.clip(np.asarray(pvalues, dtype=np.float64), 1e-300, 1.0)
    statistic = float(-2.0 * np.log(clipped).sum())
    combined = float(stats.chi2.sf(statistic, df=2 * clipped.size))
    return Claim(
        id=claim_id,
        statement=statement,
        holds=bool(combined > 1 - CLAIM_LEVEL),
        check=f"Fisher chi2 = {statistic:.1f} on {2 * clipped.size} df, p = {combined:.2g} > "
        f"{1 - CLAIM_LEVEL:.2g} (smallest single p = {clipped.min():.2g})",
    )
