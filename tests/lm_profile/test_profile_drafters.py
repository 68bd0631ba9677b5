"""``profile(drafter=...)``: model-free drafters predicted along the target's paths.

A model-free drafter is deterministic, so along a given output its rounds are fixed; the
prediction replays it along target-sampled paths. Checks:

* greedy (one path): the predicted rejections and target calls *equal* the decoder's
  (an independent implementation: the decoder counts what it did);
* temperature 1: the predicted expected calls agree with the decoder's mean at the
  two-sided level ALPHA = 1e-3 (|z| < 3.29); with n = 60 paths and 60 runs the combined
  standard error is about 0.45 calls, so a bias of (3.29 + 1.64) * 0.45 ~ 2.2 calls is
  detected with power 0.95. Negative control: the greedy path's counts (a wrong
  predictor for sampling at temperature 1) must be rejected by the same test;
* the cost model folds a lookup round's drafting into its rest and prices its target
  call by rows, with zero draft positions (synthetic timings from stated coefficients);
* the recommendation considers model-free rows; bad drafter names fail before loading.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest

from specbound import lm, profiling
from specbound.algorithms import Speculative
from specbound.cli import app
from specbound.cli.common import run_app
from specbound.errors import InvalidInputError
from specbound.estimates import Estimate, agreement_z
from specbound.lm import loading
from specbound.lm.stats import RoundTiming
from specbound.lm.warping import SamplingConfig
from specbound.profiling.fit import GenerationRecord, fit_cost_model
from specbound.profiling.recommend import recommend
from specbound.profiling.report import Prediction
from stats_helpers import ALPHA

Z_ALPHA = 3.2905  # two-sided normal quantile at ALPHA = 1e-3
COPY = "Once upon a time there was a little girl. Once upon a time there was a little"
GREEDY = SamplingConfig(temperature=0.0)


@pytest.fixture(scope="module")
def target_only() -> Any:
    if not (lm.embedded_pair_path() / "target" / "config.json").is_file():
        pytest.skip("the embedded model pair is not built yet")
    return lm.load_pair(with_draft=False)


def test_greedy_prediction_equals_the_decoders_counts(target_only: Any) -> None:
    report = profiling.profile(
        target_only,
        [COPY, "a b c d a b c d a b"],
        max_new_tokens=12,
        samples_per_prompt=1,
        runs_per_prompt=1,
        timing=False,
        drafter=["ngram", "suffix"],
        drafter_gammas=(2, 5),
        sampling=GREEDY,
    )
    labels = [row.label for row in report.rows]
    assert labels == [
        f"{Speculative(gamma=g).label} drafter={d}" for d in ("ngram", "suffix") for g in (2, 5)
    ]
    assert report.mean_tv is None and report.holds
    for row in report.rows:
        assert row.measurement is not None
        assert row.prediction.expected_calls.mean == row.measurement.calls.mean
        assert row.prediction.expected_rejections.mean == row.measurement.rejections.mean
    # copying pays: at gamma 5 a generation needs fewer calls than tokens
    row = report.find(Speculative(gamma=5), "ngram")
    assert row.prediction.calls_per_token.mean < 1.0


def test_sampled_prediction_agrees_and_the_greedy_control_does_not(target_only: Any) -> None:
    common = {
        "max_new_tokens": 16,
        "timing": False,
        "stop_at_eos": False,
        "drafter": "ngram",
        "drafter_gammas": (4,),
    }
    report = profiling.profile(
        target_only,
        [COPY],
        samples_per_prompt=60,
        runs_per_prompt=60,
        seed=3,
        sampling=SamplingConfig(temperature=1.0),
        **common,
    )
    row = report.rows[0]
    assert row.measurement is not None
    assert abs(agreement_z(row.prediction.expected_calls, row.measurement.calls)) < Z_ALPHA
    greedy = profiling.profile(
        target_only, [COPY], samples_per_prompt=1, measure=False, sampling=GREEDY, **common
    )
    wrong = greedy.rows[0].prediction.expected_calls  # one path: se undefined, use 0
    control = Estimate(wrong.mean, 0.0, 1)
    assert abs(agreement_z(control, row.measurement.calls)) > Z_ALPHA
    assert ALPHA == 1e-3


def _lookup_records() -> list[GenerationRecord]:
    """Autoregressive steps and lookup rounds timed by stated coefficients (ms): a target
    call of n rows costs 1.0 + 0.1 n, a lookup round's drafting 0.05 and its rest
    0.08 + 0.01 k; an autoregressive step 1.2; fixed costs 0.5."""
    rng = np.random.default_rng(0)
    records = []
    for repeat in range(4):
        records.append(
            GenerationRecord(
                "autoregressive",
                1,
                0,
                repeat,
                tuple(RoundTiming(0, 1, 1, 10 + i, 0.0, 1.2e-3, 0.0) for i in range(20)),
                0.5e-3,
            )
        )
        rounds = []
        for i in range(30):
            k = int(rng.integers(0, 9))
            rounds.append(
                RoundTiming(k, k + 1, 1, 10 + i, 0.05e-3, (1.0 + 0.1 * (k + 1)) * 1e-3,
                            (0.08 + 0.01 * k) * 1e-3)
            )  # fmt: skip
        records.append(GenerationRecord("lookup", 1, 1, repeat, tuple(rounds), 0.5e-3))
    return records


def test_lookup_rounds_are_priced_by_rows_with_their_drafting_in_the_rest() -> None:
    costs = fit_cost_model(_lookup_records(), bootstrap=4)
    col = costs.basis.columns.index
    assert costs.coefficients[col("other@lookup")] == pytest.approx(0.13e-3, rel=1e-6)
    assert costs.coefficients[col("draft_first")] == 0.0  # no draft forwards were fitted
    # a round drafting k = 3 with 10 tokens left: target 1.0 + 0.4, rest 0.13 + 0.03 (ms)
    seconds = costs.seconds(costs.basis.lookup_features([3], [10], [0]))[0]
    assert seconds == pytest.approx(1.56e-3, rel=1e-6)
    # at the horizon (3 left) the call scores k = 3 rows: 1.0 + 0.3 + 0.16
    assert costs.seconds(costs.basis.lookup_features([3], [3], [0]))[0] == pytest.approx(
        1.46e-3, rel=1e-6
    )


def _prediction(drafter: str, speedup: float) -> Prediction:
    one = Estimate(1.0, 0.01, 10)
    return Prediction(
        Speculative(gamma=8), one, one, one, one, Estimate(0.0, 0.0, 10), one,
        Estimate(speedup, 0.02, 10), drafter,
    )  # fmt: skip


def test_the_recommendation_considers_model_free_rows() -> None:
    chosen = recommend([_prediction("model", 1.3), _prediction("ngram", 2.0)])
    assert chosen is not None and chosen.label.endswith("drafter=ngram")
    assert recommend([_prediction("ngram", 0.9)]) is None


@pytest.mark.parametrize("name", ["bogus", "model+ngram"])
def test_unknown_drafters_are_refused_by_name(target_only: Any, name: str) -> None:
    with pytest.raises(InvalidInputError, match="drafter"):
        profiling.profile(target_only, ["a b"], drafter=name, timing=False, measure=False)


def test_the_model_rows_need_the_draft(target_only: Any) -> None:
    with pytest.raises(InvalidInputError, match="with_draft=False"):
        profiling.profile(target_only, ["a b"], drafter=["model", "ngram"], measure=False)


def test_cli_profiles_model_free_drafters_with_the_target_alone(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    roles: list[str] = []
    real = loading._load_model
    monkeypatch.setattr(
        loading, "_load_model", lambda s, role, *a: roles.append(role) or real(s, role, *a)
    )
    args = ["profile", "--drafter", "suffix", "--drafter-gamma", "3", "--num-prompts", "1"]
    args += ["-n", "6", "--samples-per-prompt", "2", "--runs-per-prompt", "1", "--threads", "1"]
    assert run_app(app, [*args, "--json", "-q"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert roles == ["target"]
    assert [row["label"] for row in data["rows"]] == ["sd gamma=3 drafter=suffix"]
    assert data["rows"][0]["prediction"]["predicted_speedup"] is not None


@pytest.mark.parametrize(
    ("option", "value", "match"),
    [
        ("--drafter", "ngram+bogus", "--drafter"),
        ("--drafter", "bogus", "--drafter"),
        ("--drafter-gamma", "0", "--drafter-gamma"),
        ("--ngram-min", "4", "ngram_min"),
    ],
)
def test_cli_refuses_bad_drafter_options_before_loading(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    option: str,
    value: str,
    match: str,
) -> None:
    monkeypatch.setattr(loading, "_load_model", lambda *a: pytest.fail("a model loaded"))
    assert run_app(app, ["profile", "--drafter", "ngram", option, value]) == 2
    assert match in capsys.readouterr().err


@pytest.mark.parametrize(
    ("args", "match"),
    [
        (["--ngram-max", "4"], "--ngram-max applies to model-free drafters"),
        (["--workload", "poems"], "--workload"),
        (["--workload", "open", "--prompts", "p.txt"], "not both"),
    ],
)
def test_cli_refuses_options_that_would_be_ignored(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    args: list[str],
    match: str,
) -> None:
    monkeypatch.setattr(loading, "_load_model", lambda *a: pytest.fail("a model loaded"))
    assert run_app(app, ["profile", *args]) == 2
    assert match in capsys.readouterr().err
