"""``bench lm``'s reading of profile runs: predicted speed-ups, the ceiling, gamma.

The median over profile runs of each prediction (one profile run per repeat, so each sees
the load of its repeat), the overhead-free ceiling of SD (``sd_vs_ceiling``), the gamma
with the best predicted speed-up, and every contender's predicted and measured speed-up.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from specbound.algorithms import Algorithm, Speculative
from specbound.bench.lm_summary import median_of, ratio
from specbound.profiling import CostModel, ProfileReport

if TYPE_CHECKING:
    from specbound.bench.lm import Contender

__all__ = ["best_gamma", "ceiling", "predicted", "record_speedups", "sd_ceiling"]


def _prediction(
    report: ProfileReport, algorithm: Algorithm, drafter: str = "model"
) -> dict[str, Any] | None:
    try:
        row = report.find(algorithm, drafter)
    except KeyError:
        return None
    speedup = row.prediction.predicted_speedup
    return {
        "predicted_speedup": None if speedup is None else speedup.mean,
        "predicted_speedup_ci95": None
        if speedup is None or speedup.ci95 is None
        else list(speedup.ci95),
        "calls_per_token": row.prediction.calls_per_token.mean,
    }


def predicted(
    reports: Sequence[ProfileReport], algorithm: Algorithm, drafter: str = "model"
) -> dict[str, Any] | None:
    """The median over profile runs of the predicted speed-up (and each run's value) of
    ``algorithm`` drafted by ``drafter``; None when it was not profiled.

    NOTE: each profile run times its per-call costs in a few hundred milliseconds; on a
    shared machine a burst of load during that window moves one run's prediction by tens
    of percent, so the benchmark takes the median over several runs.
    """
    runs = [_prediction(report, algorithm, drafter) for report in reports]
    if not runs or any(run is None for run in runs):
        return None
    speedups = [run["predicted_speedup"] for run in runs if run is not None]
    first = runs[0]
    assert first is not None
    if any(value is None for value in speedups):
        return {**first, "predicted_speedup": None, "predicted_speedup_runs": speedups}
    return {
        "predicted_speedup": float(np.median(speedups)),
        "predicted_speedup_runs": speedups,
        "predicted_speedup_ci95": first["predicted_speedup_ci95"],
        "calls_per_token": first["calls_per_token"],
    }


def sd_ceiling(calls_per_token: float, costs: CostModel, gamma: int) -> float:
    """The overhead-free ceiling of SD's speed-up over autoregressive decoding.

    Expected tokens per target call times one autoregressive step, over what a round
    must cost at least: its scoring call (gamma + 1 positions) and its gamma draft
    positions — no verification, bookkeeping or per-generation cost. All from the cost
    model fitted to the decoder's rounds, at its median context. ``sd_vs_ceiling`` is the
    measured speed-up over this.
    """
    one_token = costs.autoregressive_per_token()
    scoring = float(costs.target_seconds(1, float(gamma + 1))[0])
    drafting = float(costs.seconds(costs.basis.draft_features(gamma, 1, costs.context))[0])
    return (1.0 / calls_per_token) * one_token / (scoring + drafting)


def ceiling(reports: Sequence[ProfileReport], gamma: int) -> float | None:
    """The median over profile runs of :func:`sd_ceiling` for SD at ``gamma``."""
    values = []
    for report in reports:
        prediction = _prediction(report, Speculative(gamma=gamma))
        if prediction is None or report.costs is None:
            return None
        values.append(sd_ceiling(prediction["calls_per_token"], report.costs, gamma))
    return float(np.median(values)) if values else None


def best_gamma(reports: Sequence[ProfileReport], gammas: Sequence[int]) -> int:
    best, best_speedup = gammas[0], -np.inf
    for g in gammas:
        prediction = predicted(reports, Speculative(gamma=g))
        speedup = None if prediction is None else prediction["predicted_speedup"]
        if speedup is not None and speedup > best_speedup:
            best, best_speedup = g, speedup
    return best


def record_speedups(
    summaries: dict[str, Any], reports: Sequence[ProfileReport], items: Sequence[Contender]
) -> None:
    """Record every specbound contender's predicted and measured speed-up over
    specbound's autoregressive decoding (prefill excluded, as in the prediction)."""
    baseline = median_of(summaries, "specbound_ar", "decode_tokens_per_second")
    for contender in items:
        if contender.hf or contender.algorithm is None:
            continue
        summary = summaries[contender.name]
        measured = median_of(summaries, contender.name, "decode_tokens_per_second")
        summary["measured_speedup"] = ratio(measured, baseline)
        prediction = (
            predicted(reports, contender.algorithm, contender.drafter)
            if contender.algorithm.drafts
            else None
        )
        summary["predicted_speedup"] = (
            None if prediction is None else prediction["predicted_speedup"]
        )
