"""The profiler's predictions against the decoder's measurements on the embedded pair.

Statistical tests with fixed seeds at the 99% level: the predicted expected rejections
(and calls) of SD (gamma None) and batch SD (M = 3) must lie within the combined 99%
interval of the measured mean over >= 200 runs, |z| < 2.576 with
``z = (measured - predicted) / sqrt(se_p^2 + se_m^2)`` (independent seeds on both sides).
Negative control: SD's prediction against batch SD's measurement must fail the same test.
"""

from __future__ import annotations

import json

import pytest

from specbound.algorithms import BatchSpeculative, BlockSpeculative, Speculative
from specbound.estimates import agreement_z
from specbound.profiling import AGREEMENT_Z

SEED = 20240611
RUNS = 200


@pytest.fixture(scope="module")
def report(embedded_pair):  # type: ignore[no-untyped-def]
    from specbound.lm.prompts import load_prompts
    from specbound.profiling import profile

    return profile(
        embedded_pair,
        load_prompts(limit=10),
        max_new_tokens=10,
        samples_per_prompt=40,
        runs_per_prompt=RUNS // 10,
        gammas=(),
        num_drafts=(3,),
        eps=(),
        timing=False,
        stop_at_eos=False,
        common_seeds=False,
        seed=SEED,
    )


def test_sd_prediction_agrees_with_measurement(report) -> None:  # type: ignore[no-untyped-def]
    row = report.find(Speculative(gamma=None))
    assert row.measurement is not None and row.measurement.runs >= RUNS
    assert abs(row.z_rejections) < AGREEMENT_Z, row.to_dict()
    assert abs(row.z_calls) < AGREEMENT_Z, row.to_dict()


def test_batch_prediction_agrees_with_measurement(report) -> None:  # type: ignore[no-untyped-def]
    row = report.find(BatchSpeculative(num_drafts=3, gamma=None))
    assert row.measurement is not None and row.measurement.runs >= RUNS
    assert abs(row.z_rejections) < AGREEMENT_Z, row.to_dict()
    assert abs(row.z_calls) < AGREEMENT_Z, row.to_dict()


def test_block_prediction_agrees_with_measurement(report) -> None:  # type: ignore[no-untyped-def]
    """Block verification's along-path estimate (profiling.blocks) against the decoder."""
    row = report.find(BlockSpeculative(gamma=None))
    assert row.measurement is not None and row.measurement.runs >= RUNS
    assert abs(row.z_rejections) < AGREEMENT_Z, row.to_dict()
    assert abs(row.z_calls) < AGREEMENT_Z, row.to_dict()
    sd = report.find(Speculative(gamma=None)).prediction
    assert row.prediction.expected_calls.mean < sd.expected_calls.mean


def test_headroom_of_an_optimal_batch_verifier_is_positive(report) -> None:  # type: ignore[no-untyped-def]
    (item,) = report.headroom
    assert item.num_drafts == 3
    assert item.gap.mean > 3 * item.gap.se > 0
    assert item.optimal.mean == pytest.approx(item.recursive.mean + item.gap.mean, abs=1e-12)


def test_negative_control_sd_prediction_fails_against_batch_measurement(report) -> None:  # type: ignore[no-untyped-def]
    sd = report.find(Speculative(gamma=None)).prediction
    batch = report.find(BatchSpeculative(num_drafts=3, gamma=None)).measurement
    assert abs(agreement_z(sd.expected_rejections, batch.rejections)) > AGREEMENT_Z


def test_batch_predicts_fewer_rejections_than_sd(report) -> None:  # type: ignore[no-untyped-def]
    sd = report.find(Speculative(gamma=None)).prediction.expected_rejections
    batch = report.find(BatchSpeculative(num_drafts=3, gamma=None)).prediction
    assert batch.expected_rejections.mean < sd.mean
    # gamma None with a fixed horizon: calls = rejections + 1 - P(last position refused)
    assert batch.expected_calls.mean <= batch.expected_rejections.mean + 1 + 1e-9


def test_report_is_json_ready_and_without_timing_has_no_speedup(report) -> None:  # type: ignore[no-untyped-def]
    data = json.loads(json.dumps(report.to_dict()))
    assert data["costs"] is None and data["recommended"] is None
    assert data["autoregressive"] is None  # the clock's baseline is not run without timing
    assert {row["label"] for row in data["rows"]} == {
        "sd gamma=none",
        "block gamma=none",
        "batch M=3 gamma=none",
    }
    for row in data["rows"]:
        prediction = row["prediction"]
        assert prediction["predicted_speedup"] is None
        low, high = prediction["expected_rejections"]["ci95"]
        assert low <= prediction["expected_rejections"]["mean"] <= high
        assert prediction["expected_tokens"]["mean"] == 10.0
    assert 0.0 < data["mean_tv"]["mean"] < 1.0
