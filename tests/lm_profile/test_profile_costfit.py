"""The cost model fitted to instrumented rounds: features, least squares, bootstrap, drift.

Synthetic timings are generated from known coefficients by the formulas written here
(not the library's features), so a fit that recovers them checks the features and the
solver together; a timing law outside the model (quadratic in the context) must show in
the residuals.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pytest

from specbound.lm.stats import RoundTiming
from specbound.profiling.costs import CostBasis, CostFit, CostModel, hat_weights
from specbound.profiling.fit import GenerationRecord, fit_cost_model

MS = 1e-3

# The true costs (seconds), context ``L`` in tokens.
TRUE = {
    "draft_first": 0.30 * MS,
    "draft_rows@1": 0.20 * MS,
    "draft_rows@2": 0.26 * MS,
    "draft_context": 0.50 * MS,  # per drafted token per 1000 tokens of context
    "target_context": 0.05 * MS,  # per scored token-row per 1000 tokens of context
    "target_fanout": 0.40 * MS,  # per extra row per 1000 tokens of context
    "other@sequence": 0.10 * MS,
    "other_tokens@sequence": 0.01 * MS,
    "other@batch": 0.20 * MS,
    "other_tokens@batch": 0.02 * MS,
    "other@block": 0.12 * MS,
    "other_tokens@block": 0.03 * MS,
    "fixed@sequence": 0.8 * MS,
    "fixed@batch": 0.9 * MS,
    "fixed@block": 0.85 * MS,
    "fixed@autoregressive": 0.7 * MS,
    "autoregressive_token": 1.6 * MS,
    "autoregressive_context": 2.0 * MS,
}


def target_rows_cost(n: int) -> float:
    """A kernel that changes algorithm at 4 rows: flat to 3, then a jump, then linear."""
    return (1.5 + 0.05 * n + (0.6 if n >= 4 else 0.0)) * MS


# (kind, M, gamma): the configurations calibrated
CONFIGS = [
    ("autoregressive", 1, 1),
    ("sequence", 1, 2),
    ("sequence", 1, None),
    ("batch", 2, 2),
    ("block", 1, 3),
]


def synthetic_records(
    rng: np.random.Generator,
    *,
    repeats: int = 6,
    tokens: int = 24,
    noise: float = 0.01,
    extra: Callable[[int], float] = lambda context: 0.0,
    slower_odd_repeats: float = 1.0,
) -> list[GenerationRecord]:
    """Generations timed by the formulas above, times (1 + noise N(0, 1)) per phase;
    ``extra(L)`` is added to every target call (a law outside the model);
    ``slower_odd_repeats`` scales the sequence kind's rounds in odd repeats (drift)."""

    def jitter(seconds: float) -> float:
        return seconds * (1.0 + noise * rng.standard_normal())

    records = []
    for repeat in range(repeats):
        for config, (kind, rows, gamma) in enumerate(CONFIGS):
            prompt = int(rng.integers(5, 400))
            position, rounds = 0, []
            while position < tokens:
                context = prompt + position
                at = context / 1000.0
                left = tokens - position
                if kind == "autoregressive":
                    cost = TRUE["autoregressive_token"] + TRUE["autoregressive_context"] * at
                    rounds.append(RoundTiming(0, 1, 1, context, 0.0, jitter(cost), 0.0))
                    position += 1
                    continue
                k = left if gamma is None else min(gamma, left)
                scored = left if gamma is None else min(gamma + 1, left)
                n = scored * rows
                target = target_rows_cost(n) + TRUE["target_context"] * n * at
                target += TRUE["target_fanout"] * (rows - 1) * at + extra(context)
                draft = TRUE["draft_first"] + TRUE[f"draft_rows@{rows}"] * (k - 1)
                draft += TRUE["draft_context"] * k * at
                other = TRUE[f"other@{kind}"] + TRUE[f"other_tokens@{kind}"] * k * rows
                scale = slower_odd_repeats if (kind == "sequence" and repeat % 2) else 1.0
                rounds.append(
                    RoundTiming(
                        k,
                        scored,
                        rows,
                        context,
                        jitter(draft) * scale,
                        jitter(target) * scale,
                        jitter(other) * scale,
                    )
                )
                position += int(rng.integers(1, k + 2)) if scored > k else k
            records.append(
                GenerationRecord(
                    kind=kind,
                    rows=rows,
                    config=config,
                    repeat=repeat,
                    rounds=tuple(rounds),
                    fixed=jitter(TRUE[f"fixed@{kind}"]),
                )
            )
    return records


def test_hat_weights_interpolate_and_extend_the_last_segment() -> None:
    knots = (1, 2, 4)
    values = np.array([10.0, 20.0, 30.0])
    # at knots: the knot values; between: linear; above: the last segment's line
    # (slope (30 - 20) / (4 - 2) = 5 per row); below the first knot: the first value
    x = np.array([1, 2, 3, 4, 6, 0.5])
    want = np.array([10.0, 20.0, 25.0, 30.0, 40.0, 10.0])
    np.testing.assert_allclose(hat_weights(x, knots) @ values, want)


def test_round_features_follow_the_decoder() -> None:
    """gamma 2 with 10 tokens left drafts 2 and scores 3 positions; at the horizon (2 left)
    it scores 2; gamma None drafts and scores every token left."""
    basis = CostBasis(knots=(1, 2, 3, 4, 8), rows=(1, 4), kinds=("sequence", "batch"))
    col = basis.columns.index

    def row(kind: str, rows: int, gamma: int | None, left: int) -> np.ndarray:
        return basis.round_features(kind, rows, gamma, np.array([left]), np.array([500]))[0]

    far = row("sequence", 1, 2, 10)
    assert far[col("target@3")] == 1.0 and far[col("draft_rows@1")] == 1.0
    assert far[col("draft_first")] == 1.0 and far[col("draft_context")] == pytest.approx(1.0)
    assert far[col("target_context")] == pytest.approx(3 * 0.5)
    assert far[col("other@sequence")] == 1.0 and far[col("other_tokens@sequence")] == 2.0
    assert row("sequence", 1, 2, 2)[col("target@2")] == 1.0
    batch = row("batch", 4, 1, 10)  # 2 tokens in 4 rows = 8 token-rows; fan-out 3 rows
    assert batch[col("target@8")] == 1.0 and batch[col("target_fanout")] == pytest.approx(1.5)
    horizon = row("sequence", 1, None, 3)
    assert horizon[col("target@3")] == 1.0 and horizon[col("draft_rows@1")] == 2.0
    with pytest.raises(ValueError, match="not calibrated for 'block'"):
        row("block", 1, 2, 10)
    with pytest.raises(ValueError, match="not calibrated for 2 draft rows"):
        row("batch", 2, 2, 10)


def test_fit_recovers_known_coefficients() -> None:
    model = fit_cost_model(synthetic_records(np.random.default_rng(3)), bootstrap=50)
    fitted = dict(zip(model.basis.columns, model.coefficients, strict=True))
    for column, value in TRUE.items():
        weak = ("context", "fanout", "tokens@")  # slopes over narrow ranges: noisier
        tolerance = 0.15 if any(w in column for w in weak) else 0.03
        assert fitted[column] == pytest.approx(value, rel=tolerance), column
    for knot in model.basis.knots:
        assert fitted[f"target@{knot}"] == pytest.approx(target_rows_cost(knot), rel=0.03), knot
    assert model.fit.residual_spread < 0.03  # per-phase noise 1%
    assert model.fit.held_out_error is not None and model.fit.held_out_error < 0.02
    # the bootstrap spread of a well-determined coefficient is the size its noise implies:
    # 144 autoregressive steps with 1% noise on ~1.9 ms: se ~ 1.9e-5 / sqrt(144) ~ 1.6e-6
    index = model.basis.columns.index("autoregressive_token")
    spread = model.bootstrap[:, index].std(ddof=1)
    assert 0.3e-6 < spread < 8e-6


def test_a_law_outside_the_model_shows_in_the_residuals() -> None:
    """A target cost quadratic in the context: the straight context term cannot follow it,
    and the residual spread grows far beyond the 1% timing noise."""
    right = fit_cost_model(synthetic_records(np.random.default_rng(4)), bootstrap=2)
    wrong = fit_cost_model(
        synthetic_records(np.random.default_rng(4), extra=lambda L: 3e-8 * L**2),
        bootstrap=2,
    )
    assert right.fit.residual_spread < 0.03
    assert wrong.fit.residual_spread > 3 * right.fit.residual_spread


def test_drift_between_repeats_is_measured() -> None:
    """The sequence kind 20% slower in odd repeats: its drift against autoregressive
    decoding is the spread over repeats of log(measured / fitted), i.e. about that of
    [0, log 1.2, 0, log 1.2, ...]."""
    records = synthetic_records(
        np.random.default_rng(5), repeats=6, noise=0.002, slower_odd_repeats=1.2
    )
    model = fit_cost_model(records, bootstrap=2)
    expected = float(np.std([0.0, math.log(1.2)] * 3, ddof=1))
    assert model.fit.drift["sequence"] == pytest.approx(expected, rel=0.15)
    assert model.fit.drift["batch"] < 0.1 * expected


def test_outlier_spikes_are_dropped_only_when_absurd() -> None:
    records = synthetic_records(np.random.default_rng(6), repeats=2)
    first = records[1]  # a sequence generation
    spiked = first.rounds[0]
    slow = RoundTiming(
        spiked.drafted,
        spiked.scored,
        spiked.rows,
        spiked.context,
        spiked.draft,
        spiked.target + 0.060,  # descheduled for 60 ms
        spiked.other,
    )
    records[1] = GenerationRecord(
        first.kind, first.rows, first.config, first.repeat, (slow, *first.rounds[1:]), first.fixed
    )
    model = fit_cost_model(records, bootstrap=2)
    assert model.fit.outliers == 1


def _model(bootstrap: np.ndarray, drift: float) -> CostModel:
    basis = CostBasis(knots=(1,), rows=(1,), kinds=("sequence",))
    coefficients = np.zeros(len(basis.columns))
    coefficients[basis.columns.index("autoregressive_token")] = 2.0
    coefficients[basis.columns.index("other@sequence")] = 1.0
    fit = CostFit(10, 2, 0.0, None, 0, {"sequence": drift})
    return CostModel(basis, coefficients, bootstrap, fit, context=10)


def test_speedup_interval_adds_the_three_errors_in_quadrature() -> None:
    """Speed-up S = (AR s/token) / (SD s/token) = 2 / 1 with path, bootstrap and drift
    errors: se = sqrt(se_path^2 + se_drift^2 + se_bootstrap^2)."""
    from specbound.profiling.predict import PathSamples
    from specbound.profiling.seconds import predicted_speedup

    basis = CostBasis(knots=(1,), rows=(1,), kinds=("sequence",))
    ar, other = basis.columns.index("autoregressive_token"), basis.columns.index("other@sequence")
    rng = np.random.default_rng(0)
    replicates = np.zeros((400, len(basis.columns)))
    replicates[:, ar] = 2.0 + 0.02 * rng.standard_normal(400)
    replicates[:, other] = 1.0
    model = _model(replicates, drift=0.05)
    samples, baseline = PathSamples(), PathSamples()
    per_path = np.array([1.0, 1.2, 0.8, 1.0])  # SD rounds per token along 4 paths
    sd = np.zeros((4, len(basis.columns)))
    sd[:, other] = per_path * 10
    samples.add(np.zeros(4), np.zeros(4), 10, np.zeros(4), sd)
    base = np.zeros((4, len(basis.columns)))
    base[:, ar] = 10.0
    baseline.add(np.zeros(4), np.zeros(4), 10, np.zeros(4), base)
    seconds, speedup = predicted_speedup(model, samples, baseline, "sequence")
    assert speedup.mean == pytest.approx(2.0) and seconds.mean == pytest.approx(1.0)
    residual = per_path - 1.0  # ratio estimator: sd(num - R den) / (sqrt(n) mean(den))
    se_path = 2.0 * residual.std(ddof=1) / math.sqrt(4)
    se_drift = 2.0 * 0.05
    se_boot = float((replicates[:, ar] / 1.0).std(ddof=1))
    assert speedup.se == pytest.approx(math.sqrt(se_path**2 + se_drift**2 + se_boot**2))
