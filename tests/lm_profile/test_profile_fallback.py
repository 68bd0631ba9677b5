"""``ngram+model`` / ``suffix+model`` in profile: the recursion over round starts along a
path, checked three ways.

* Against a hand formula (L = 3, gamma = 2, the index never matches, acceptances a, b, c
  given the path): a round starts at 0; it refuses at 0 (prob 1 - a: next round at 1),
  at 1 (a (1 - b): next at 2) or keeps both (a b: the bonus token is x_2, the end). So
  P(start at 1) = 1 - a, and a round at 1 drafts x_1, x_2: it starts a round at 2 with
  probability (1 - a)(1 - b) (refusing x_1) and refuses x_2 with (1 - a) b (1 - c)
  (then the end); P(start at 2) = a (1 - b) + (1 - a)(1 - b) = 1 - b, and the round at 2
  drafts x_2 only (one token left), refused with probability 1 - c. So E[calls] =
  1 + (1 - a) + (1 - b) and E[rejections] = (1 - a) + a (1 - b) + (1 - a)(1 - b) +
  (1 - a) b (1 - c) + (1 - b)(1 - c).
* Against SD's own along-path recursion (an independent implementation) when the index
  never matches, and against the point-mass replay when it always matches.
* Against the decoder on the embedded pair: greedy counts equal exactly; at temperature 1
  the expected calls agree at ALPHA = 1e-3 (|z| < 3.29) over 40 paths and 40 runs per
  prompt (3 prompts), and the negative control — the model-free-only prediction, which
  ignores the model's rounds — is rejected.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pytest

from specbound import lm, profiling
from specbound.algorithms import Speculative
from specbound.core.rounds import expected_counts_given_path
from specbound.estimates import agreement_z
from specbound.lm.drafters import NgramIndex, replay_rounds
from specbound.lm.warping import SamplingConfig
from specbound.profiling.fallback import fallback_rounds

Z_ALPHA = 3.2905  # two-sided, ALPHA = 1e-3
PROMPTS = [
    "Once upon a time there was a little girl. Once upon a time there was a little",
    "a b c d a b c d a b",
    "The cat sat on the",
]


class Never:
    """An index that never proposes (every round is the draft model's)."""

    def __init__(self) -> None:
        self.size = 0

    def __len__(self) -> int:
        return self.size

    def extend(self, tokens: Sequence[int]) -> None:
        self.size += len(tokens)

    def propose(self, length: int) -> list[int]:
        return []


def test_the_recursion_matches_the_hand_formula() -> None:
    a, b, c = 0.7, 0.4, 0.9
    rounds = fallback_rounds(Never(), [1], [5, 6, 7], np.array([a, b, c]), 2, 3)
    assert rounds.calls == pytest.approx(1 + (1 - a) + (1 - b))
    want = (1 - a) + a * (1 - b) + (1 - a) * (1 - b) + (1 - a) * b * (1 - c) + (1 - b) * (1 - c)
    assert rounds.rejections == pytest.approx(want)
    assert rounds.starts[:3] == pytest.approx([1.0, 1 - a, 1 - b])


@pytest.mark.parametrize("gamma", [1, 3, 5])
def test_without_matches_it_is_sd_along_the_path(gamma: int) -> None:
    accept = np.random.default_rng(gamma).uniform(size=(6, 12))  # (R, L)
    sd = expected_counts_given_path(accept, gamma)
    for row in range(accept.shape[0]):
        path = list(range(100, 112))  # distinct tokens: prompt lookup never matches
        rounds = fallback_rounds(Never(), [1], path, accept[row], gamma, 12)
        assert rounds.calls == pytest.approx(sd.target_calls[row])
        assert rounds.rejections == pytest.approx(sd.rejections[row])


def test_when_every_round_matches_it_is_the_point_mass_replay() -> None:
    prompt = [3, 4, 5, 3, 4, 3]  # 3, 4 and 5 each have a follower: every position matches
    path = [4, 3, 5, 3, 4, 5, 4, 3, 4, 3, 5, 3]
    accept = np.zeros(len(path))  # unused: the index matches at every position
    rounds = fallback_rounds(NgramIndex(1, 2), prompt, path, accept, 4, len(path))
    replayed = replay_rounds(NgramIndex(1, 2), prompt, path, Speculative(gamma=4), len(path))
    assert min(replayed.drafted) > 0 and replayed.rejections > 0
    assert rounds.calls == replayed.target_calls
    assert rounds.rejections == replayed.rejections


@pytest.fixture(scope="module")
def pair() -> Any:
    if not (lm.embedded_pair_path() / "target" / "config.json").is_file():
        pytest.skip("the embedded model pair is not built yet")
    return lm.load_pair()


def _profile(pair: Any, temperature: float, paths: int, drafter: str) -> Any:
    return profiling.profile(
        pair,
        PROMPTS,
        max_new_tokens=16,
        samples_per_prompt=paths,
        runs_per_prompt=paths,
        timing=False,
        stop_at_eos=False,
        drafter=drafter,
        drafter_gammas=(5,),
        sampling=SamplingConfig(temperature=temperature),
        seed=11,
    )


@pytest.mark.parametrize("drafter", ["ngram+model", "suffix+model"])
def test_greedy_prediction_equals_the_decoders_counts(pair: Any, drafter: str) -> None:
    row = _profile(pair, 0.0, 1, drafter).rows[0]
    assert row.label.endswith(f"drafter={drafter}")
    assert row.prediction.expected_calls.mean == row.measurement.calls.mean
    assert row.prediction.expected_rejections.mean == row.measurement.rejections.mean


def test_sampled_prediction_agrees_and_the_model_free_control_does_not(pair: Any) -> None:
    row = _profile(pair, 1.0, 40, "ngram+model").rows[0]
    assert abs(agreement_z(row.prediction.expected_calls, row.measurement.calls)) < Z_ALPHA
    control = _profile(pair, 1.0, 40, "ngram").rows[0].prediction.expected_calls
    assert abs(agreement_z(control, row.measurement.calls)) > Z_ALPHA
