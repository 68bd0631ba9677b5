"""The claims of "Token trees on real models" (:mod:`.lm_trees` computes them).

Counts (target calls per generation of T tokens) are Monte Carlo means on both sides:
the prediction averages the positional-acceptance model over sampled target paths, the
measurement over decoder runs; their difference is tested with both standard errors.

1. ``lm-trees-tokens``: at every node budget the best tree's measured target calls are
   not above the best chain's: one-sided z = (tree - chain) / sqrt(se_t^2 + se_c^2) below
   the report's 99.9% quantile (the tree's search space holds the chain, so its predicted
   tokens per call are at least the chain's).
2. ``lm-trees-prediction``: predicted and measured target calls agree on every tree and
   chain row: one chi-square test of the rows' z values at the report's level.
3. ``lm-trees-chosen``: the measured speed-up of the tree chosen for this machine agrees
   with its prediction: |z| = |measured - predicted| / sqrt(se_p^2 + se_m^2) below the
   report's two-sided 99.9% quantile (whether the measurement lies inside the predicted
   95% interval alone is reported beside it: with the few timed runs of ``--quick`` the
   measurement's own spread exceeds that interval).
4. ``lm-trees-recommendation``: the recommendation is a tree only where that tree
   measured faster than the fastest chain measured.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy import stats

from specbound.experiments.base import Claim
from specbound.experiments.checks import CLAIM_LEVEL

__all__ = ["claims"]


def _z(a: dict[str, float], b: dict[str, float]) -> float:
    """(a - b) / its standard error, for two independent means."""
    se = math.hypot(a["se"], b["se"])
    gap = a["mean"] - b["mean"]
    return 0.0 if gap == 0 else (gap / se if se > 0 else math.copysign(math.inf, gap))


def _tokens_claim(data: dict[str, Any]) -> Claim:
    T, bound = data["T"], float(stats.norm.ppf(CLAIM_LEVEL))
    z = [
        _z(t["measured_calls"], c["measured_calls"])
        for t, c in zip(data["tree"], data["chain"], strict=True)
    ]
    worst = int(np.argmax(z))
    tree, chain = data["tree"][-1], data["chain"][-1]
    return Claim(
        id="lm-trees-tokens",
        statement="At every node budget the best tree's measured tokens per target call are "
        "at least the best chain's",
        holds=bool(max(z) < bound),
        check=f"largest z (tree calls above chain calls) = {z[worst]:.2f} < {bound:.2f} "
        f"(budget {data['budgets'][worst]})",
        theory=T / chain["measured_calls"]["mean"],
        measured=T / tree["measured_calls"]["mean"],
    )


def _prediction_claim(data: dict[str, Any]) -> Claim:
    rows = [*data["tree"], *data["chain"]]
    z = np.array([_z(r["measured_calls"], r["predicted_calls"]) for r in rows])
    statistic = float(np.sum(z**2))
    pvalue = float(stats.chi2.sf(statistic, df=z.size)) if np.isfinite(statistic) else 0.0
    worst = int(np.argmax(np.abs(z)))
    return Claim(
        id="lm-trees-prediction",
        statement="Predicted target calls (positional acceptance along target paths) agree "
        "with the measured ones on every tree and chain",
        holds=bool(pvalue > 1 - CLAIM_LEVEL),
        check=f"chi2 = {statistic:.1f} on {z.size} rows, p = {pvalue:.2g} > "
        f"{1 - CLAIM_LEVEL:.2g} (worst |z| = {abs(z[worst]):.2f}, {rows[worst]['label']})",
        theory=rows[worst]["predicted_calls"]["mean"],
        measured=rows[worst]["measured_calls"]["mean"],
    )


def _chosen_claim(data: dict[str, Any]) -> Claim:
    chosen = data["chosen"]
    predicted, measured = chosen["predicted_speedup"], chosen["measured_speedup"]
    z, bound = _z(measured, predicted), float(stats.norm.ppf(1 - (1 - CLAIM_LEVEL) / 2))
    return Claim(
        id="lm-trees-chosen",
        statement=f"The measured speed-up of the shape chosen for this machine "
        f"({chosen['label']}) agrees with its prediction",
        holds=bool(abs(z) < bound),
        check=f"|z| = {abs(z):.2f} < {bound:.2f}: measured {measured['mean']:.3f}, predicted "
        f"{predicted['mean']:.3f} ({'inside' if chosen['covered'] else 'outside'} its 95% "
        "interval)",
        theory=predicted["mean"],
        measured=measured["mean"],
    )


def _recommendation_claim(data: dict[str, Any]) -> Claim:
    fastest_chain = data["fastest_chain_measured"]
    picked = data["recommended_measured"]
    holds = not data["recommended_is_tree"] or (picked is not None and picked > fastest_chain)
    what = data["recommended"] or "plain decoding"
    return Claim(
        id="lm-trees-recommendation",
        statement="The recommendation picks a tree only where it measured faster than the "
        "fastest chain",
        holds=bool(holds),
        check=f"recommended {what} (tree: {'yes' if data['recommended_is_tree'] else 'no'}); "
        f"fastest chain measured {fastest_chain:.3f}x",
        theory=fastest_chain,
        measured=picked,
    )


def claims(config: Any, data: dict[str, Any]) -> list[Claim]:
    return [
        _tokens_claim(data),
        _prediction_claim(data),
        _chosen_claim(data),
        _recommendation_claim(data),
    ]
