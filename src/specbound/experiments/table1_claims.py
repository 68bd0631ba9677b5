"""Table 1 analog, the claims: what the scored responses of Decoding-OPT and Decoding-UNO
must show (paper Section 4; p = draft, q = target).

Exact, at every position of every response: OPT's TV(A_n, q_n) is Theorem 4's minimum and
at most UNO's; OPT lies on Theorem 5's line ``r_n + TV(A_n, q_n) = TV(p_n, q_n)``, UNO on
or above it. Statistical: the measured rejections match ``sum_n r_n`` (a martingale with a
known variance), OPT is nowhere significantly further from the target along its own
responses, its WinRate over UNO is not significantly below one half (and above it at the
smallest eps when there are enough prompts), and the two KL estimators agree.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from specbound.estimates import Estimate
from specbound.experiments.base import Claim
from specbound.experiments.checks import (
    EXACT_TOLERANCE,
    joint_claim,
    tolerance_claim,
)
from specbound.experiments.common import DECODERS
from specbound.experiments.table1_compute import Table1Config

__all__ = ["WINRATE_MIN_PROMPTS", "Z_CLAIM", "claims"]


#: Below this many prompts (``--quick``) the WinRate cannot be significant: no claim on it.
WINRATE_MIN_PROMPTS = 30
#: One-sided z at the claims' level (99.9%, as :mod:`specbound.experiments.checks`).
Z_CLAIM = 3.090232306167813


def _z_or_exact(gap: Estimate) -> float:
    """z of a paired mean difference; with zero spread, 0 for an exact tie, else +-inf."""
    if gap.se > 0:
        return gap.mean / gap.se
    return 0.0 if abs(gap.mean) <= EXACT_TOLERANCE else math.copysign(math.inf, gap.mean)


def _martingale(counts: ArrayLike, expected: ArrayLike, variance: ArrayLike) -> Estimate:
    """Mean of ``count - sum_n r_n`` over responses, with its exact standard error.

    Given the prefixes, position n is rejected with probability r_n, independently of
    the past, so ``count - sum_n r_n`` is a martingale with variance ``E[sum_n r_n (1 -
    r_n)]``. That model-based error is used instead of the sample spread, which a few
    dozen responses cannot estimate when rejections are rare (most responses have none:
    the sample spread is then near 0 and every |z| huge).
    """
    gaps = np.asarray(counts, dtype=np.float64) - np.asarray(expected, dtype=np.float64)
    return Estimate(gaps.mean(), math.sqrt(float(np.sum(variance))) / gaps.size)


def _paired(first: ArrayLike, second: ArrayLike) -> Estimate:
    """Mean and standard error of ``first - second`` over paired responses."""
    return Estimate.from_samples(np.asarray(first) - np.asarray(second))


def claims(config: Table1Config, data: dict[str, Any]) -> list[Claim]:
    series, gaps, table = data["series"], data["position_gaps"], data["table"]
    keys = [f"{eps:g}" for eps in config.eps]
    eps_text = ", ".join(keys)
    theorem4 = [gaps[k]["theorem4"] for k in keys]
    opt_minus_uno = max(gaps[k]["opt_minus_uno"] for k in keys)
    front_opt = [gaps[k]["front_opt"] for k in keys]
    front_uno = min(gaps[k]["front_uno"] for k in keys)
    out = [
        tolerance_claim(
            "opt-theorem4",
            f"At every position of every response (eps = {eps_text}), OPT's TV(A_n, q_n) "
            "equals Theorem 4's minimum Σ [p·b − q]_+",
            [0.0] * len(keys),
            theorem4,
        ),
        Claim(
            id="opt-below-uno",
            statement="At every position of every response (same prefix, every eps), OPT's "
            "per-token TV to the target is at most UNO's (Theorem 4)",
            holds=bool(opt_minus_uno <= EXACT_TOLERANCE),
            check=f"max of TV_OPT − TV_UNO = {opt_minus_uno:.2e} <= {EXACT_TOLERANCE:.0e}",
            theory=0.0,
            measured=opt_minus_uno,
        ),
        tolerance_claim(
            "opt-front",
            "At every position: OPT lies on Theorem 5's line, r_n + TV(A_n, q_n) = TV(p_n, q_n)",
            [0.0] * len(keys),
            front_opt,
        ),
        Claim(
            id="uno-above-front",
            statement="At every position: UNO lies on or above Theorem 5's line, "
            "r_n + TV(A_n, q_n) ≥ TV(p_n, q_n)",
            holds=bool(front_uno >= -EXACT_TOLERANCE),
            check=f"min of r + TV_UNO − TV(p, q) = {front_uno:.2e} >= −{EXACT_TOLERANCE:.0e}",
            theory=0.0,
            measured=front_uno,
        ),
    ]
    rejection_gaps = [
        _martingale(
            series[k][name]["rejections"],
            series[k][name]["expected_rejections"],
            series[k][name]["rejection_variance"],
        )
        for k in keys
        for name in DECODERS
    ]
    runs = len(series[keys[0]]["opt"]["tokens"])
    out.append(
        joint_claim(
            "rejections-theory",
            f"Measured rejections of OPT and UNO agree with Σ_n r_n along their own responses "
            f"({len(keys)} eps × 2 decoders, {runs} responses each)",
            rejection_gaps,
            [0.0] * len(rejection_gaps),
        )
    )
    tv_gaps = [
        _paired(
            np.asarray(series[k]["uno"]["tv"]) / np.maximum(series[k]["uno"]["tokens"], 1),
            np.asarray(series[k]["opt"]["tv"]) / np.maximum(series[k]["opt"]["tokens"], 1),
        )
        for k in keys
    ]
    z_values = [_z_or_exact(gap) for gap in tv_gaps]
    worst = min(range(len(keys)), key=lambda k: z_values[k])
    out.append(
        Claim(
            id="opt-not-further-own-samples",
            statement="Along each decoder's own responses (paired by seed), OPT's per-token TV "
            f"to the target is nowhere significantly above UNO's (eps = {eps_text}; equal "
            "where nothing can be rejected)",
            holds=bool(min(z_values) > -Z_CLAIM),
            check=f"smallest z of UNO − OPT = {z_values[worst]:.2f} > −{Z_CLAIM:.2f} "
            f"(eps = {keys[worst]})",
            theory=0.0,
            measured=tv_gaps[worst].mean,
            ci95=tv_gaps[worst].ci95,
        )
    )
    lowest = min(range(len(table)), key=lambda k: table[k]["winrate"]["ci95"][1])
    low_row = table[lowest]["winrate"]
    out.append(
        Claim(
            id="winrate-not-below-half",
            statement="WinRate of OPT over UNO (closer to the target by (b), ties count ½) is "
            f"not significantly below 50% at any eps ({eps_text})",
            holds=bool(low_row["ci95"][1] >= 0.5),
            check=f"smallest Wilson 95% upper bound {low_row['ci95'][1]:.0%} >= 50% "
            f"(eps = {keys[lowest]})",
            theory=0.5,
            measured=low_row["rate"],
            ci95=(low_row["ci95"][0], low_row["ci95"][1]),
        )
    )
    if config.num_prompts >= WINRATE_MIN_PROMPTS:
        first = table[0]["winrate"]
        out.append(
            Claim(
                id="winrate-above-half",
                statement=f"WinRate of OPT over UNO is above 50% at the smallest eps, "
                f"{keys[0]} ({first['prompts']} prompts; Wilson 95% lower bound)",
                holds=bool(first["ci95"][0] > 0.5),
                check=f"lower bound {first['ci95'][0]:.0%} > 50%",
                theory=0.5,
                measured=first["rate"],
                ci95=(first["ci95"][0], first["ci95"][1]),
            )
        )
    log_ratio_gaps = [
        _paired(series[k][name]["log_ratio"], series[k][name]["kl"])
        for k in keys
        for name in DECODERS
    ]
    out.append(
        joint_claim(
            "kl-estimators",
            "The raw log-ratio estimate of KL(decoder ‖ target) agrees with its "
            "Rao-Blackwellised form Σ_n KL(A_n ‖ q_n) (both unbiased)",
            log_ratio_gaps,
            [0.0] * len(log_ratio_gaps),
        )
    )
    return out
