"""The law of continuations decoded with model-free drafters is the target's law.

Tiny random pair, a repetitive prompt (so prompt lookup and suffix decoding do propose,
and also fail to match), horizon 3: the target's law over all V**3 continuations by brute
force (``lm_enumeration``, no decoder), and the decoder's samples against it with a
Pearson chi-square at ALPHA = 1e-3 (fixed seeds). The same samples reject the law of the
target at temperature 1.3 (a power check on these very samples).
"""

from __future__ import annotations

import numpy as np
import pytest
from lm_enumeration import sequence_index, sequence_law

import specbound as sb
from specbound.lm import SamplingConfig
from specbound.lm.drafters import drafter_factory
from stats_helpers import ALPHA, chi_square_pvalue

PROMPT = [1, 2, 3, 1, 2]
HORIZON = 3
RUNS = 2_000


@pytest.mark.slow
@pytest.mark.parametrize(
    ("name", "algorithm"),
    [("ngram", sb.Speculative(gamma=2)), ("suffix+model", sb.Speculative(gamma=3))],
)
def test_output_law_is_target_law(tiny_pair: sb.lm.ModelPair, name: str, algorithm) -> None:  # type: ignore[no-untyped-def]
    plain = SamplingConfig()
    samples = np.empty(RUNS, dtype=np.int64)
    drafted = 0
    for seed in range(RUNS):
        out = sb.lm.generate(
            tiny_pair,
            PROMPT,
            algorithm,
            max_new_tokens=HORIZON,
            seed=seed,
            stop_at_eos=False,
            drafter=drafter_factory(name),
        )
        samples[seed] = sequence_index(out.token_ids, tiny_pair.vocab_size)
        drafted += out.stats.drafted_tokens - out.stats.draft_calls
    assert drafted > RUNS  # model-free proposals did happen
    assert chi_square_pvalue(samples, sequence_law(tiny_pair, PROMPT, HORIZON, plain)) > ALPHA
    hotter = sequence_law(tiny_pair, PROMPT, HORIZON, SamplingConfig(temperature=1.3))
    assert chi_square_pvalue(samples, hotter) < ALPHA
