"""The law of generated continuations equals the target's law, by enumeration.

Tiny random GPT-NeoX pair (tests/lm/conftest.py), one-token prompt, horizon 2-3, so the
target's law over all V**H continuations is computed exactly by brute force. Each
decoder's samples pass a Pearson chi-square test against it at ALPHA = 1e-3 (fixed
seeds: the runs are deterministic); negative controls must fail the same test.
p = draft, q = target (paper notation).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from lm_enumeration import sequence_index, sequence_law

import specbound as sb
from controls import FirstFailureBlock
from round_laws import output_formula
from specbound.core.rules import output_distribution
from specbound.lm import SamplingConfig
from specbound.lm.drafting import Drafter
from stats_helpers import ALPHA, chi_square_pvalue

PROMPT = [3]


def sample_sequences(
    pair: sb.lm.ModelPair,
    algorithm: sb.Algorithm,
    n: int,
    horizon: int,
    sampling: SamplingConfig,
    drafter: type[Drafter] = Drafter,
) -> np.ndarray:
    """``n`` independent generations (seeds 0..n-1), as base-V sequence indices."""
    out = np.empty(n, dtype=np.int64)
    for seed in range(n):
        result = sb.lm.generate(
            pair,
            PROMPT,
            algorithm,
            max_new_tokens=horizon,
            seed=seed,
            sampling=sampling,
            stop_at_eos=False,
            drafter=drafter,
        )
        assert len(result.token_ids) == horizon
        out[seed] = sequence_index(result.token_ids, pair.vocab_size)
    return out


class MisreportingDrafter(Drafter):
    """Negative control: samples drafts from a flatter law (the warped law squared-rooted,
    i.e. temperature x2) than the one it hands to verification. This is the bug of a
    decoder whose draft and target are not warped by one function: SD stays exact for any
    draft law, but only if verification sees the law the draft tokens were drawn from."""

    def sample(self, draft_probs: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
        flatter = draft_probs.sqrt()  # (M, V)
        return super().sample(flatter / flatter.sum(dim=-1, keepdim=True), u)


PLAIN = SamplingConfig()
WARPED = SamplingConfig(temperature=0.7, top_k=5, top_p=0.9)
# top-k alone binds (no top-p to make it redundant): a target that lost its top-k in the
# scoring call would put mass on tokens the warped law excludes
TOP_K = SamplingConfig(top_k=3)

CASES = [
    # (id, pair fixture, algorithm, horizon, samples, sampling)
    ("sd-horizon", "tiny_pair", sb.Speculative(), 2, 10_000, PLAIN),
    ("sd-gamma1", "tiny_pair", sb.Speculative(gamma=1), 3, 3_000, PLAIN),
    ("batch3-gamma2", "tiny_pair", sb.BatchSpeculative(num_drafts=3, gamma=2), 3, 3_000, PLAIN),
    ("sd-warped", "tiny_pair", sb.Speculative(gamma=2), 2, 3_000, WARPED),
    ("sd-topk3", "tiny_pair", sb.Speculative(gamma=2), 3, 3_000, TOP_K),
    ("block-gamma2", "tiny_pair", sb.BlockSpeculative(gamma=2), 3, 3_000, PLAIN),
    ("block-horizon", "tiny_pair", sb.BlockSpeculative(), 3, 3_000, WARPED),
    # the lean Llama path (its own preallocated cache: crop / fan-out / select)
    ("llama-sd-gamma2", "llama_pair", sb.Speculative(gamma=2), 2, 3_000, PLAIN),
    (
        "llama-batch2-gamma1",
        "llama_pair",
        sb.BatchSpeculative(num_drafts=2, gamma=1),
        3,
        2_000,
        PLAIN,
    ),
]


@pytest.mark.parametrize(
    ("pair_name", "algorithm", "horizon", "n", "sampling"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_output_law_is_target_law(
    request: pytest.FixtureRequest,
    pair_name: str,
    algorithm: sb.Algorithm,
    horizon: int,
    n: int,
    sampling: SamplingConfig,
) -> None:
    pair = request.getfixturevalue(pair_name)
    law = sequence_law(pair, PROMPT, horizon, sampling)
    samples = sample_sequences(pair, algorithm, n, horizon, sampling)
    assert chi_square_pvalue(samples, law) > ALPHA
    if sampling != PLAIN:
        # power check: the same samples reject the *unwarped* target law
        assert chi_square_pvalue(samples, sequence_law(pair, PROMPT, horizon, PLAIN)) < ALPHA


def test_negative_control_misreported_draft_law_fails(tiny_pair: sb.lm.ModelPair) -> None:
    law = sequence_law(tiny_pair, PROMPT, 2, WARPED)
    samples = sample_sequences(
        tiny_pair, sb.Speculative(gamma=2), 2_000, 2, WARPED, drafter=MisreportingDrafter
    )
    assert chi_square_pvalue(samples, law) < ALPHA


@pytest.mark.parametrize("resample", ["opt", "uno"])
def test_over_acceptance_law_is_core_prediction(tiny_pair: sb.lm.ModelPair, resample: str) -> None:
    """Section 4: each position outputs ``A = p*b + r(b) P`` (``round_laws.output_formula``,
    written in the test; the library's ``core.output_distribution`` must agree);
    with gamma=None (no bonus positions) the sequence law is the product of these steps.
    The target's own law (unbiased) must be rejected: over-acceptance is lossy."""
    algorithm = sb.OverAcceptance(eps=0.2, resample=resample, gamma=None)  # type: ignore[arg-type]
    rule = algorithm.step_rule

    def step_law(draft: np.ndarray, target: np.ndarray) -> np.ndarray:
        law = output_formula(draft, target, (resample, 0.2))  # written in the test
        np.testing.assert_allclose(output_distribution(rule, draft, target), law, atol=1e-12)
        return law

    predicted = sequence_law(tiny_pair, PROMPT, 2, PLAIN, step_law=step_law)
    samples = sample_sequences(tiny_pair, algorithm, 3_000, 2, PLAIN)
    assert chi_square_pvalue(samples, predicted) > ALPHA
    assert chi_square_pvalue(samples, sequence_law(tiny_pair, PROMPT, 2, PLAIN)) < ALPHA


def test_negative_control_block_first_failure_fails(tiny_pair: sb.lm.ModelPair) -> None:
    """Block verification with tau = the first failure (not the last success) is biased;
    the same chi-square test that passes the real rule rejects it."""
    law = sequence_law(tiny_pair, PROMPT, 3, PLAIN)
    samples = sample_sequences(tiny_pair, FirstFailureBlock(gamma=3), 3_000, 3, PLAIN)
    assert chi_square_pvalue(samples, law) < ALPHA
