"""``generate`` on the tiny pair: greedy equivalence, reproducibility, counting, EOS,
streaming, dtypes."""

from __future__ import annotations

from pathlib import Path

import pytest

import specbound as sb
from specbound.lm import GenerationOutput, ModelPair, SamplingConfig, generate

HORIZON = 24


def run(pair: ModelPair, algorithm: sb.Algorithm, **kwargs: object) -> GenerationOutput:
    """``generate`` on "a b"; ``temperature``/``top_k``/``top_p`` build its SamplingConfig."""
    warp = {k: kwargs.pop(k) for k in ("temperature", "top_k", "top_p") if k in kwargs}
    options: dict = {"max_new_tokens": HORIZON, "seed": 7, "stop_at_eos": False, **kwargs}
    if warp:
        options["sampling"] = SamplingConfig(**warp)  # type: ignore[arg-type]
    return generate(pair, "a b", algorithm, **options)


SPECULATIVE = [
    sb.Speculative(),
    sb.Speculative(gamma=1),
    sb.Speculative(gamma=3),
    sb.BatchSpeculative(num_drafts=3, gamma=2),
    sb.BatchSpeculative(num_drafts=2),
    sb.BlockSpeculative(gamma=3),
    sb.BlockSpeculative(),
]


@pytest.mark.parametrize("algorithm", SPECULATIVE, ids=lambda a: str(a.to_dict()))
@pytest.mark.parametrize("top_k", [None, 3])
def test_greedy_speculative_equals_greedy_autoregressive(
    tiny_pair: ModelPair, algorithm: sb.Algorithm, top_k: int | None
) -> None:
    reference = run(tiny_pair, sb.Autoregressive(), temperature=0, top_k=top_k)
    out = run(tiny_pair, algorithm, temperature=0, top_k=top_k, seed=123)
    assert out.token_ids == reference.token_ids
    assert out.text == reference.text


@pytest.mark.parametrize(
    "algorithm",
    [sb.Speculative(gamma=3), sb.BatchSpeculative(num_drafts=3, gamma=2)],
    ids=["sd", "batch"],
)
@pytest.mark.parametrize("lean", [True, False], ids=["lean-llama", "transformers"])
def test_greedy_equivalence_on_llama_both_engines(
    llama_pair: ModelPair, algorithm: sb.Algorithm, lean: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On the lean Llama forward, and on transformers' forward with a DynamicCache (the
    fallback of every model no fast path supports; here forced by hiding the fast paths)."""
    if not lean:
        import specbound.lm.cache as cache

        monkeypatch.setattr(cache, "fast_path", lambda model: None)
    reference = run(llama_pair, sb.Autoregressive(), temperature=0)
    assert run(llama_pair, algorithm, temperature=0).token_ids == reference.token_ids


def test_greedy_speculative_stops_where_autoregressive_stops(tiny_pair: ModelPair) -> None:
    """With EOS on, both stop at the same place (the prompt 'c' reaches EOS greedily)."""
    stops = []
    for prompt in ["a", "b", "c", "d", "e", "f", "g"]:
        reference = generate(
            tiny_pair,
            prompt,
            sb.Autoregressive(),
            max_new_tokens=30,
            sampling=SamplingConfig(temperature=0),
        )
        out = generate(
            tiny_pair,
            prompt,
            sb.Speculative(gamma=4),
            max_new_tokens=30,
            sampling=SamplingConfig(temperature=0),
        )
        assert out.token_ids == reference.token_ids
        stops.append(len(out.token_ids) < 30)
    assert any(stops), "no greedy run reached EOS: the EOS branch went untested"


@pytest.mark.parametrize("algorithm", [sb.Autoregressive(), *SPECULATIVE, sb.OverAcceptance()])
def test_seeded_runs_are_reproducible(tiny_pair: ModelPair, algorithm: sb.Algorithm) -> None:
    first, again = run(tiny_pair, algorithm), run(tiny_pair, algorithm)
    assert first.token_ids == again.token_ids
    assert first.stats.accepted_lengths == again.stats.accepted_lengths
    others = {run(tiny_pair, algorithm, seed=s).token_ids for s in range(1, 6)}
    assert len(others | {first.token_ids}) > 1


@pytest.mark.parametrize("algorithm", [*SPECULATIVE, sb.OverAcceptance(eps=0.3, gamma=2)])
def test_counting_invariants(tiny_pair: ModelPair, algorithm: sb.Algorithm) -> None:
    """The counting rules of ``specbound.algorithms``: one target call per round, at most
    one rejection per round, every round emits its accepted drafts plus one token unless
    it reached the horizon."""
    for seed in range(10):
        s = run(tiny_pair, algorithm, seed=seed).stats
        rounds = s.rounds
        assert s.new_tokens == HORIZON
        assert s.target_calls == rounds >= 1
        assert 0 <= s.rejections <= rounds
        emitted_without_last = sum(s.accepted_lengths) + rounds
        assert s.new_tokens in (emitted_without_last, emitted_without_last - 1)
        gamma = algorithm.gamma
        if gamma is not None:
            assert max(s.accepted_lengths) <= gamma
        num_drafts = getattr(algorithm, "num_drafts", 1)
        assert s.drafted_tokens == num_drafts * s.draft_calls
        assert s.acceptance_rate == pytest.approx(
            sum(s.accepted_lengths) / (sum(s.accepted_lengths) + s.rejections)
        )
        assert s.wall_time == pytest.approx(s.draft_time + s.target_time + s.overhead_time)
        assert 0 < s.prefill_time <= s.draft_time + s.target_time


def test_draft_calls_of_sd_to_the_horizon(tiny_pair: ModelPair) -> None:
    """gamma=None: each round drafts every remaining token, one draft forward each."""
    s = run(tiny_pair, sb.Speculative()).stats
    remaining, expected = HORIZON, 0
    for accepted in s.accepted_lengths:
        expected += remaining
        remaining -= accepted + 1
    assert s.draft_calls == expected


def test_autoregressive_counts(tiny_pair: ModelPair) -> None:
    s = run(tiny_pair, sb.Autoregressive()).stats
    assert (s.target_calls, s.draft_calls, s.rejections, s.rounds) == (HORIZON, 0, 0, 0)
    assert s.acceptance_rate is None
    assert s.tokens_per_target_call == 1.0


def test_streaming_delivers_every_token_once(tiny_pair: ModelPair) -> None:
    for algorithm in (sb.Autoregressive(), sb.Speculative(gamma=3)):
        chunks: list[list[int]] = []
        out = run(tiny_pair, algorithm, on_tokens=chunks.append)
        assert [t for chunk in chunks for t in chunk] == list(out.token_ids)
        assert all(chunks)


def test_eos_ends_the_output_and_is_kept(tiny_pair: ModelPair) -> None:
    eos = tiny_pair.eos_token_id
    ended = 0
    for seed in range(20):
        ids = generate(
            tiny_pair, "a", sb.Speculative(gamma=3), max_new_tokens=40, seed=seed
        ).token_ids
        if eos in ids:
            assert ids.index(eos) == len(ids) - 1
            ended += 1
    assert ended > 0


def test_prompt_as_token_ids_and_text_agree(tiny_pair: ModelPair) -> None:
    from_text = run(tiny_pair, sb.Speculative(gamma=2))
    from_ids = generate(
        tiny_pair,
        [1, 2],
        sb.Speculative(gamma=2),
        max_new_tokens=HORIZON,
        seed=7,
        stop_at_eos=False,
    )
    assert from_text.prompt_ids == (1, 2)
    assert from_ids.token_ids == from_text.token_ids


def test_default_algorithm_is_sd_gamma_4(tiny_pair: ModelPair) -> None:
    out = generate(tiny_pair, "a", max_new_tokens=5, seed=0)
    assert out.algorithm == {"name": "sd", "gamma": sb.lm.DEFAULT_GAMMA}


def test_bfloat16_pair_runs_greedy(tiny_dirs: tuple[Path, Path]) -> None:
    target_dir, draft_dir = tiny_dirs
    pair = sb.lm.load_pair(target=target_dir, draft=draft_dir, dtype="bfloat16")
    assert pair.dtype.is_floating_point and str(pair.dtype) == "torch.bfloat16"
    reference = run(pair, sb.Autoregressive(), temperature=0)
    assert run(pair, sb.Speculative(gamma=3), temperature=0).token_ids == reference.token_ids


def test_output_to_dict_is_json(tiny_pair: ModelPair) -> None:
    import json

    data = run(tiny_pair, sb.BatchSpeculative(num_drafts=2, gamma=2)).to_dict()
    text = json.dumps(data, allow_nan=False)
    assert json.loads(text)["stats"]["target_calls"] == data["stats"]["target_calls"]
