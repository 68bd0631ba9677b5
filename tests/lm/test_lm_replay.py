"""A deterministic drafter's rounds are a function of the output (lm.drafters.replay).

Given SD's output, a round that proposed d keeps the longest common prefix of d and the
output, and refuses the next proposed token iff the prefix ends before d does (the
recovered token is drawn with the refused token removed). So replaying the drafter on the
*output* of any run must reproduce that run's accepted lengths, rejections and target
calls exactly, at any temperature, for SD and block verification, with stop tokens.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import specbound as sb
from specbound.errors import InvalidAlgorithmError
from specbound.lm.drafters import (
    drafter_factory,
    index_factory,
    predict_along_paths,
    replay_rounds,
)
from specbound.lm.warping import SamplingConfig

ALGORITHMS = [sb.Speculative(gamma=3), sb.Speculative(), sb.BlockSpeculative(gamma=2)]


@pytest.mark.parametrize("algorithm", ALGORITHMS)
@pytest.mark.parametrize("name", ["ngram", "suffix"])
def test_replay_on_the_output_reproduces_every_run(
    tiny_pair: Any, name: str, algorithm: Any
) -> None:
    """12 runs at temperature 1 (odd seeds stop at the end-of-sequence token)."""
    prompt = [1, 2, 3, 1, 2, 3, 1]
    options = {"ngram_min": 1, "ngram_max": 2}
    kept = rejected = 0
    for seed in range(12):
        stop = seed % 2 == 1
        factory = drafter_factory(name, max_draft=2, **options)
        out = sb.lm.generate(
            tiny_pair,
            prompt,
            algorithm,
            max_new_tokens=16,
            seed=seed,
            stop_at_eos=stop,
            drafter=factory,
        )
        eos = tiny_pair.eos_token_id if stop else None
        index = index_factory(name, **options)()
        rounds = replay_rounds(
            index, out.prompt_ids, out.token_ids, algorithm, 16, eos, max_draft=2
        )
        s = out.stats
        assert rounds.accepted == s.accepted_lengths, seed
        assert (rounds.rejections, rounds.target_calls) == (s.rejections, s.target_calls)
        assert sum(rounds.drafted) == s.drafted_tokens
        kept += sum(s.accepted_lengths)
        rejected += s.rejections
    assert kept > 0 and rejected > 0  # the runs exercised both outcomes


def test_prediction_along_greedy_paths_is_the_greedy_run(tiny_pair: Any) -> None:
    from specbound.profiling import sample_paths

    prompt = [4, 5, 6, 4, 5, 6, 4]
    greedy = SamplingConfig(temperature=0.0)
    algorithm = sb.Speculative(gamma=4)
    out = sb.lm.generate(
        tiny_pair,
        prompt,
        algorithm,
        max_new_tokens=20,
        sampling=greedy,
        drafter=drafter_factory("suffix"),
    )
    paths = sample_paths(tiny_pair, prompt, 3, 20, greedy, np.random.default_rng(0))
    predicted = predict_along_paths(
        index_factory("suffix"),
        prompt,
        paths.tokens,
        paths.lengths,
        algorithm,
        20,
        tiny_pair.eos_token_id,
    )
    assert predicted["rejections"].mean == out.stats.rejections
    assert predicted["target_calls"].mean == out.stats.target_calls
    assert predicted["rejections"].se == 0.0


def test_replay_refuses_batch_sd() -> None:
    with pytest.raises(InvalidAlgorithmError, match="--drafter"):
        replay_rounds(index_factory("ngram")(), [1, 2], [1], sb.BatchSpeculative(num_drafts=2), 1)
