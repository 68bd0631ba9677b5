"""The draft's catch-up in ``ngram+model`` rounds: counted, fitted and priced.

A model round after model-free rounds feeds the draft every token its cache missed in
one first forward. Four checks:

* the recursion's law of that count (``fed``) against a hand case: a point-mass round
  that keeps one of two proposed tokens emits 2 tokens, so the model round after it feeds
  the pending token plus those 2 (3 tokens); that round refuses its first draft with
  probability 1 - c, and the round after feeds 1 token;
* against Monte Carlo of the round structure (simulated in the test, random acceptances,
  20,000 runs): the expected number of model rounds feeding each count, with a negative
  control that forgets what point-mass rounds emit;
* against the decoder on the embedded pair, greedy (every acceptance 0 or 1): the counts
  the decoder reports round by round (``RoundTiming.fed``) equal the recursion's law
  exactly, and the run has catch-ups of more than 2 tokens (else nothing is checked);
* the fit: synthetic generations timed with a catch-up cost of 0.09 ms per token beyond
  2 (written here), with model-free rounds (``fed == 0``) mixed in: the fitted
  ``draft_catch_up`` recovers the slope within 5%, the model-free rounds are fitted as
  ``lookup`` rounds; a fit that ignores the catch-up (the negative control: every
  ``fed`` withheld) misprices a 14-token catch-up by more than a third of its cost.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import numpy as np
import pytest

from specbound import lm
from specbound.algorithms import Speculative
from specbound.core import kernels
from specbound.core.rounds import acceptance_given_output
from specbound.core.rules import SpeculativeRule
from specbound.lm.drafters import NgramIndex
from specbound.lm.stats import RoundTiming
from specbound.lm.warping import SamplingConfig
from specbound.profiling.fallback import fallback_rounds
from specbound.profiling.fit import GenerationRecord, fit_cost_model
from specbound.profiling.paths import sample_paths

MS = 1e-3


class Scripted:
    """An index that proposes ``script[m]`` at position m (nothing where absent)."""

    def __init__(self, script: dict[int, list[int]], prompt_length: int) -> None:
        self.script = script
        self.prompt_length = prompt_length
        self.size = 0

    def __len__(self) -> int:
        return self.size

    def extend(self, tokens: Sequence[int]) -> None:
        self.size += len(tokens)

    def propose(self, length: int) -> list[int]:
        return self.script.get(self.size - self.prompt_length, [])[:length]


def test_the_catch_up_law_matches_the_hand_case() -> None:
    c, d = 0.3, 0.6
    path = [5, 6, 7, 8]
    # position 0: proposes x_0 and a wrong token: x_0 kept, x_1 recovered (2 emitted)
    index = Scripted({0: [5, 99]}, prompt_length=1)
    rounds = fallback_rounds(index, [1], path, np.array([0.0, 0.0, c, d]), 2, 4)
    # a model round at 2 feeds 1 + 2 tokens; it refuses x_2 with 1 - c (a round at 3
    # feeding 1 token), else it drafts x_2, x_3 to the end
    want = np.zeros(6)
    want[3] = 1.0
    want[1] = 1.0 - c
    np.testing.assert_allclose(rounds.fed, want)
    assert rounds.calls == pytest.approx(1 + 1 + (1 - c))


@pytest.fixture(scope="module")
def pair() -> Any:
    if not (lm.embedded_pair_path() / "target" / "config.json").is_file():
        pytest.skip("the embedded model pair is not built yet")
    return lm.load_pair()


PROMPTS = [
    "Once upon a time there was a little girl. Once upon a time there was a little",
    "a b c d a b c d a b",
]


@pytest.mark.parametrize("prompt", PROMPTS)
def test_greedy_catch_ups_equal_the_decoders(pair: Any, prompt: str) -> None:
    greedy, n, gamma = SamplingConfig(temperature=0.0), 40, 4
    rounds: list[RoundTiming] = []
    lm.generate(
        pair,
        prompt,
        Speculative(gamma=gamma),
        max_new_tokens=n,
        sampling=greedy,
        stop_at_eos=False,
        drafter=lm.drafter_factory("ngram+model", ngram_max=3),
        on_round=rounds.append,
    )
    fed = [t.fed for t in rounds if t.fed]  # the model's rounds
    assert fed and max(fed) > 2  # a catch-up happened: the check below can fail
    prompt_ids = lm.encode_prompt(pair, prompt)
    paths = sample_paths(
        pair, prompt_ids, 1, n, greedy, np.random.default_rng(0), stop_at_eos=False
    )
    accept = kernels.gather(
        acceptance_given_output(SpeculativeRule(), paths.draft_probs, paths.target_probs),
        paths.tokens,
    )[0]
    law = fallback_rounds(
        NgramIndex(1, 3), prompt_ids, paths.tokens[0].tolist(), accept, gamma, n
    ).fed
    decoder = np.bincount(fed, minlength=law.size)
    np.testing.assert_array_equal(law, decoder[: law.size])
    assert decoder[law.size :].sum() == 0


# The catch-up cost per token beyond 2 (seconds).
SLOPE = 0.09 * MS


def catch_up(u: int) -> float:
    return SLOPE * max(u - 2, 0)


def combined_records(rng: np.random.Generator, repeats: int = 6) -> list[GenerationRecord]:
    """Autoregressive generations and ``ngram+model`` ones: model rounds feeding 1..16
    tokens, model-free rounds (``fed == 0``) between them; every phase timed by the
    formulas here, times (1 + 0.01 N(0, 1))."""

    def jitter(seconds: float) -> float:
        return seconds * (1.0 + 0.01 * rng.standard_normal())

    records = []
    for repeat in range(repeats):
        steps = tuple(RoundTiming(0, 1, 1, 50 + i, 0.0, jitter(2.0 * MS), 0.0) for i in range(30))
        records.append(GenerationRecord("autoregressive", 1, 0, repeat, steps, jitter(0.5 * MS)))
        rounds = []
        for i in range(60):
            fed = int(rng.choice([0, 0, 1, 2, 3, 4, 6, 8, 11, 14, 16]))
            k = int(rng.integers(1, 5))
            target = jitter((2.0 + 0.3 * k) * MS)
            if fed == 0:  # model-free: its lookup is Python, timed as drafting
                rounds.append(
                    RoundTiming(k, k + 1, 1, 50 + i, jitter(0.05 * MS), target, 0.1 * MS, fed=0)
                )
                continue
            draft = 0.5 * MS + 0.3 * MS * (k - 1) + catch_up(fed)
            rounds.append(
                RoundTiming(k, k + 1, 1, 50 + i, jitter(draft), target, jitter(0.1 * MS), fed=fed)
            )
        records.append(GenerationRecord("sequence", 1, 1, repeat, tuple(rounds), jitter(0.6 * MS)))
    return records


def test_the_fit_recovers_the_catch_up_cost() -> None:
    records = combined_records(np.random.default_rng(3))
    model = fit_cost_model(records, bootstrap=10)
    basis = model.basis
    assert basis.catch_up
    assert "lookup" in basis.kinds  # the fed == 0 rounds
    fitted = dict(zip(basis.columns, model.coefficients, strict=True))
    assert fitted["draft_catch_up"] == pytest.approx(SLOPE, rel=0.05)
    for u in (1, 2, 3, 8, 14):
        priced = float(model.seconds(basis.catch_up_features([u]))[0])
        assert priced == pytest.approx(catch_up(u), abs=0.05 * MS)
    # negative control: withhold every count (model-free rounds still marked): the fit
    # has no catch-up column, and the draft forwards' average absorbs the catch-ups
    blind = [
        replace(r, rounds=tuple(replace(t, fed=None if t.fed else t.fed) for t in r.rounds))
        for r in records
    ]
    control = fit_cost_model(blind, bootstrap=10)
    assert not control.basis.catch_up
    priced = float(model.seconds(model.basis.draft_features([1], 1, [50], fed=[14]))[0])
    assert priced == pytest.approx(0.5 * MS + catch_up(14), rel=0.05)
    blind_price = float(control.seconds(control.basis.draft_features([1], 1, [50]))[0])
    assert abs(blind_price - priced) > catch_up(14) / 3


def simulate_fed(
    script: dict[int, list[int]],
    path: list[int],
    accept: np.ndarray,
    gamma: int,
    rng: np.random.Generator,
) -> list[int]:
    """One run of the decoder's round structure along ``path``, written here: a scripted
    point-mass round keeps its matching prefix and emits one more token; a model round
    keeps each draft with its probability; the draft's pending count grows by what
    point-mass rounds emit and resets to 1 (refusal) or 2 (all kept) after a model round.
    Returns the pending counts the model rounds fed."""
    m, pending, fed, length = 0, 1, [], len(path)
    while m < length:
        proposal = script.get(m, [])[: min(gamma, length - m)]
        if proposal:
            kept = next((i for i, t in enumerate(proposal) if t != path[m + i]), len(proposal))
            emitted = min(kept + 1, length - m)
            m, pending = m + emitted, pending + emitted
            continue
        fed.append(pending)
        end = min(m + gamma, length)
        i = m
        while i < end and rng.random() < accept[i]:
            i += 1
        m, pending = (i + 1, 1) if i < end else (end + 1, 2)
    return fed


def test_the_catch_up_law_matches_monte_carlo() -> None:
    """Expected model rounds per fed count: the recursion against 20,000 simulated runs
    (each count's mean within 4 standard errors, a 99.99% level per cell; the negative
    control — a law that forgets the point-mass rounds' tokens — is 10+ errors off)."""
    rng = np.random.default_rng(5)
    path = list(range(10, 26))  # 16 tokens
    script = {0: [10, 11, 99], 7: [17, 18], 12: [22, 23, 24]}
    accept = rng.uniform(0.3, 0.9, size=len(path))
    law = fallback_rounds(Scripted(script, 1), [1], path, accept, 3, len(path)).fed
    runs = 20_000
    counts = np.zeros((runs, law.size))
    for r in range(runs):
        for u in simulate_fed(script, path, accept, 3, rng):
            counts[r, u] += 1
    mean, se = counts.mean(axis=0), counts.std(axis=0, ddof=1) / np.sqrt(runs)
    assert (law[3:] > 0.05).any()  # catch-ups beyond 2 are part of the check
    np.testing.assert_array_less(np.abs(mean - law), 4 * se + 1e-12)
    forgetful = np.zeros_like(law)
    forgetful[1] = law[1] + law[3:].sum()  # every long catch-up counted as 1 token
    forgetful[2] = law[2]
    assert np.max(np.abs(mean - forgetful) / (se + 1e-12)) > 10
