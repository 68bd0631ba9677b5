"""``bench lm --drafter``: the drafters comparison (model-free SD against HF prompt lookup).

Benchmarks are not tests: nothing asserts on a timing, only on the record's schema, the
counts that do not depend on the clock, which models load, the ratios' arithmetic (stated
here on made-up summaries) and the refusals before any model loads.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from specbound.algorithms import Autoregressive, Speculative
from specbound.bench.hf_baseline import hf_generate
from specbound.bench.lm_contenders import Contender, drafters_only, recommended_contender
from specbound.bench.lm_drafters import drafter_ratios, drafter_targets
from specbound.cli import app
from specbound.cli.common import run_app
from specbound.estimates import Estimate
from specbound.lm import embedded_pair_path, encode_prompt, load_pair, loading
from specbound.lm.warping import SamplingConfig
from specbound.profiling import Prediction

needs_embedded = pytest.mark.skipif(
    not (embedded_pair_path() / "target" / "config.json").is_file(),
    reason="the embedded pair is not built",
)


@pytest.fixture
def loaded_roles(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    roles: list[str] = []
    real = loading._load_model

    def spy(source: str, role: str, *args: Any) -> Any:
        roles.append(role)
        return real(source, role, *args)

    monkeypatch.setattr(loading, "_load_model", spy)
    return roles


@needs_embedded
def test_drafters_only_run_loads_the_target_alone_and_writes_the_record(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], loaded_roles: list[str]
) -> None:
    out = tmp_path / "bench.json"
    args = ["bench", "lm", "--drafter", "ngram,suffix", "--drafters-only", "--workload"]
    args += ["grounded", "--num-prompts", "1", "-n", "6", "--repeats", "1", "--quick"]
    args += ["--threads", "1", "--temperature", "0", "--drafter-gamma", "4", "--out", str(out)]
    assert run_app(app, [*args, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert loaded_roles == ["target"]
    names = ["specbound_ar", "hf_ar", "specbound_ngram", "hf_prompt_lookup", "specbound_suffix"]
    # (profile's recommendation, chosen on timed costs, runs too if none of these runs it)
    assert set(names) <= set(data["contenders"]) <= {*names, "specbound_recommended"}
    assert data["drafter_gamma"]["values"] == {"ngram": 4, "suffix": 4}
    assert data["contenders"]["hf_prompt_lookup"]["description"].startswith("HF prompt lookup")
    for row in data["contenders"].values():
        assert row["tokens"] == 6
    # greedy: every lossless contender outputs the same tokens, so the counts that do not
    # depend on the clock agree with their predictions
    ngram = data["contenders"]["specbound_ngram"]
    assert data["profile"]["predictions"]["specbound_ngram"]["calls_per_token"] == pytest.approx(
        ngram["target_calls_per_token"]
    )
    assert data["targets"]["ngram_vs_autoregressive"] == 2.0
    assert set(data["meets_targets"]) == set(data["targets"])
    assert data["ratios"]["recommended_contender"] in {*data["contenders"], None}
    assert "--drafters-only" in data["command"] and "--workload grounded" in data["command"]


@needs_embedded
def test_hf_prompt_lookup_is_lossless_greedy_and_saves_calls_on_a_repeat() -> None:
    pair = load_pair(with_draft=False)
    ids = encode_prompt(pair, "one two three four one two three four one two three four one")
    greedy = SamplingConfig(temperature=0.0)
    plain = hf_generate(pair, ids, max_new_tokens=12, seed=0, sampling=greedy)
    lookup = hf_generate(
        pair, ids, max_new_tokens=12, seed=0, sampling=greedy, prompt_lookup=4,
        max_matching_ngram_size=3,
    )  # fmt: skip
    assert lookup.token_ids == plain.token_ids
    assert lookup.target_calls <= plain.target_calls


def _summary(tps: float, measured: float | None = None, predicted: float | None = None) -> Any:
    return {
        "tokens_per_second": {"median": tps},
        "measured_speedup": measured,
        "predicted_speedup": predicted,
    }


def test_drafter_ratios_are_the_stated_quotients() -> None:
    items = [
        Contender("specbound_ar", "", Autoregressive()),
        Contender("specbound_ngram", "", Speculative(gamma=8), drafter="ngram"),
        Contender("hf_prompt_lookup", "", prompt_lookup=8),
        Contender("specbound_sd", "", Speculative(gamma=4)),
    ]
    summaries = {
        "specbound_ar": _summary(100.0),
        "specbound_ngram": _summary(250.0, measured=2.4, predicted=2.5),
        "hf_prompt_lookup": _summary(200.0),
        "specbound_sd": _summary(150.0),
    }
    one = Estimate(1.0, 0.01, 4)
    choice = Prediction(Speculative(gamma=8), one, one, one, one, one, one, one, "ngram")
    ratios = drafter_ratios(summaries, items, choice)
    assert ratios["ngram_vs_autoregressive"] == 250.0 / 100.0
    assert ratios["ngram_vs_hf_prompt_lookup"] == 250.0 / 200.0
    assert ratios["ngram_vs_predicted"] == pytest.approx(2.4 / 2.5)
    assert ratios["ngram_prediction_accuracy"] == pytest.approx(1 - abs(2.4 / 2.5 - 1))
    assert ratios["recommended_contender"] == "specbound_ngram"
    # the best measured lossless specbound contender is ngram itself (HF excluded)
    assert ratios["recommendation_vs_best_measured"] == 1.0
    # plain decoding recommended: AR's tokens/s over the best
    assert drafter_ratios(summaries, items, None)["recommendation_vs_best_measured"] == 0.4


def test_the_recommendation_runs_when_no_contender_does() -> None:
    one = Estimate(1.0, 0.01, 4)
    choice = Prediction(Speculative(gamma=16), one, one, one, one, one, one, one, "suffix")
    items = [Contender("specbound_ar", "", Autoregressive())]
    (added,) = recommended_contender(choice, items)
    assert added.name == "specbound_recommended"
    assert (added.algorithm, added.drafter) == (Speculative(gamma=16), "suffix")
    runs_it = [*items, Contender("specbound_suffix", "", Speculative(gamma=16), drafter="suffix")]
    assert recommended_contender(choice, runs_it) == []
    assert recommended_contender(None, items) == []  # plain decoding: specbound_ar


def test_targets_follow_the_workload() -> None:
    grounded = drafter_targets("grounded", ("ngram", "suffix", "ngram+model"))
    assert grounded == {
        "ngram_vs_autoregressive": 2.0,
        "ngram_vs_hf_prompt_lookup": 1.3,
        "ngram_prediction_accuracy": 0.95,
        "suffix_prediction_accuracy": 0.95,
        "ngram_model_prediction_accuracy": 0.95,
    }
    assert drafter_targets("open", ("suffix",)) == {
        "recommendation_vs_best_measured": 0.95,
        "suffix_prediction_accuracy": 0.95,
    }


def test_drafters_only_names_its_contenders() -> None:
    assert drafters_only(("ngram",), model=True, hf=True) == (
        "specbound_ar",
        "hf_ar",
        "specbound_sd",
        "specbound_ngram",
        "hf_prompt_lookup",
    )
    assert drafters_only(("suffix+model",), model=False, hf=False) == (
        "specbound_ar",
        "specbound_suffix_model",
    )


@pytest.mark.parametrize(
    ("args", "match"),
    [
        (["--drafter", "bogus"], "--drafter"),
        (["--drafters-only"], "--drafters-only needs --drafter"),
        (["--drafter", "ngram", "--drafters-only", "--contenders", "hf_ar"], "not both"),
        (["--contenders", "specbound_ngram"], "need --drafter"),
        (["--workload", "poems"], "--workload"),
        (["--workload", "open", "--prompts", "x.txt"], "not both"),
        (["--drafter", "ngram", "--drafter-gamma", "-1"], "--drafter-gamma"),
    ],
)
def test_bad_options_are_refused_before_loading(
    args: list[str], match: str, capsys: pytest.CaptureFixture[str], tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    monkeypatch.setattr(loading, "_load_model", lambda *a: pytest.fail("a model loaded"))
    code = run_app(app, ["bench", "lm", *args, "--out", str(tmp_path / "b.json")])
    assert code == 2
    assert match in capsys.readouterr().err


@needs_embedded
@pytest.mark.parametrize("flag", [True, False])
def test_stop_at_eos_reaches_every_generation_and_the_profile(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, flag: bool
) -> None:
    """``--stop-at-eos`` is what every specbound run, every HF run and the profile's
    prediction use (off: none of them), so measured and predicted describe the same runs."""
    from specbound.bench import lm as bench_lm

    seen: dict[str, set[bool]] = {"generate": set(), "hf": set(), "profile": set()}

    def spy(name: str, real: Any) -> Any:
        def call(*args: Any, **kwargs: Any) -> Any:
            seen[name].add(kwargs["stop_at_eos"])
            return real(*args, **kwargs)

        return call

    monkeypatch.setattr(bench_lm, "generate", spy("generate", bench_lm.generate))
    monkeypatch.setattr(bench_lm, "hf_generate", spy("hf", bench_lm.hf_generate))
    monkeypatch.setattr(bench_lm, "profile", spy("profile", bench_lm.profile))
    out = tmp_path / "bench.json"
    args = ["bench", "lm", "--drafter", "ngram", "--drafters-only", "--workload", "grounded"]
    args += ["--num-prompts", "1", "-n", "6", "--repeats", "1", "--quick", "--threads", "1"]
    args += ["--temperature", "0", "--drafter-gamma", "4", "--out", str(out)]
    args += ["--stop-at-eos"] if flag else []
    assert run_app(app, args) == 0
    assert seen == {"generate": {flag}, "hf": {flag}, "profile": {flag}}
    data = json.loads(out.read_text())
    assert data["config"]["stop_at_eos"] is flag
    assert ("--stop-at-eos" in data["command"]) is flag
