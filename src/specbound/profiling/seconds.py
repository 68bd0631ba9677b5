"""Seconds from the cost model: a path's expected cost features, and the predicted speed-up.

Paper notation: p = draft, q = target. Along a sampled output path the prediction
(:mod:`specbound.profiling.predict`) knows the probability that each position starts a
round; weighting each position's round features (:mod:`specbound.profiling.costs`) by it
and adding the generation's fixed cost gives the path's expected cost *features*, whose
product with the coefficients is its expected seconds. Keeping features rather than
seconds lets the same paths be priced under every bootstrap refit of the coefficients,
which is how the timing uncertainty enters the predicted speed-up's interval.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from specbound.algorithms import Algorithm
from specbound.estimates import Estimate
from specbound.profiling.costs import CostModel, round_kind

if TYPE_CHECKING:  # the accumulator of per-path values lives with the prediction
    from specbound.profiling.predict import PathSamples

__all__ = ["autoregressive_features", "path_features", "predicted_speedup"]

Array = NDArray[np.float64]


def path_features(
    costs: CostModel,
    algorithm: Algorithm,
    starts: Array,
    max_new_tokens: int,
    prompt_length: int,
) -> Array:
    """Expected cost features of R paths of length L from their round-start probabilities
    ``starts`` (R, L): the rounds' features weighted by the probability that each position
    starts one, plus the generation's fixed cost: (R, P)."""
    length = starts.shape[-1]
    positions = np.arange(length)
    kind = round_kind(algorithm)
    per_round = costs.basis.round_features(
        kind,
        algorithm.num_drafts,
        algorithm.gamma,
        max_new_tokens - positions,  # tokens left when a round starts at each position
        prompt_length + positions,  # the context it starts at
    )  # (L, P)
    return np.asarray(starts @ per_round + costs.basis.fixed_features(kind)[None, :])


def autoregressive_features(costs: CostModel, length: int, prompt_length: int) -> Array:
    """Cost features of one autoregressive generation of ``length`` tokens: (P,)."""
    steps = costs.basis.autoregressive_features(prompt_length + np.arange(length))  # (L, P)
    return np.asarray(steps.sum(axis=0) + costs.basis.fixed_features("autoregressive"))


def _per_token(costs: CostModel, samples: PathSamples) -> tuple[Estimate, Array]:
    """Seconds per token: the estimate over paths (path-sampling error, coefficients
    fixed) and its value under each bootstrap refit of the cost model (B,)."""
    features = np.asarray(samples.features)  # (R, P)
    tokens = np.asarray(samples.tokens)  # (R,)
    estimate = Estimate.ratio(costs.seconds(features), tokens)
    replicates = costs.bootstrap_seconds(features).sum(axis=0) / tokens.sum()  # (B,)
    return estimate, replicates


def _with_cost_spread(estimate: Estimate, replicates: Array) -> Estimate:
    """``estimate`` with the bootstrap spread of the cost model added in quadrature."""
    spread = float(replicates.std(ddof=1)) if replicates.size > 1 else 0.0
    return Estimate(estimate.mean, float(np.hypot(estimate.se, spread)), estimate.n)


def predicted_speedup(
    costs: CostModel, samples: PathSamples, baseline: PathSamples, kind: str
) -> tuple[Estimate, Estimate]:
    """Seconds per token and the speed-up over autoregressive decoding (``baseline``: its
    cost along the target's paths) of rounds of ``kind``. The errors combine, in
    quadrature, path sampling (delta method over paths), the coefficients' timing
    uncertainty (the spread over bootstrap refits) and, for the speed-up, the kind's drift
    against autoregressive decoding between timing repeats (``costs.fit.drift``): the
    intervals are 95% intervals for all three together."""
    seconds, seconds_b = _per_token(costs, samples)
    reference, reference_b = _per_token(costs, baseline)
    speedup = reference.mean / seconds.mean
    path_se = speedup * float(np.hypot(seconds.se / seconds.mean, reference.se / reference.mean))
    drift_se = speedup * costs.fit.drift.get(kind, 0.0)
    speedup_b = reference_b / seconds_b  # (B,)
    path = Estimate(speedup, float(np.hypot(path_se, drift_se)), seconds.n)
    return _with_cost_spread(seconds, seconds_b), _with_cost_spread(path, speedup_b)
