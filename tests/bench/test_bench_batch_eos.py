"""Regression: batch SD whose followed draft holds an end-of-sequence token mid-round
(verification is cut there; draft and target laws must be cut alike)."""

from __future__ import annotations

import numpy as np

import specbound as sb
from specbound.lm.verification import verify_round


def test_batch_round_cut_at_eos_verifies_equal_lengths() -> None:
    rng = np.random.default_rng(0)
    vocab, k, eos = 5, 6, 0
    laws = rng.dirichlet(np.ones(vocab), size=(2, k + 1))  # (M, k+1, V)
    tokens = np.array([[1, 2, 0, 3, 4, 1], [2, 3, 4, 1, 2, 3]], dtype=np.int64)  # (M, k)
    for seed in range(20):
        outcome = verify_round(
            sb.BatchSpeculative(num_drafts=2, gamma=k),
            laws[:, :k],
            laws,  # q = p: every draft is accepted, so the EOS row ends the round
            tokens,
            np.random.default_rng(seed),
            eos_token_id=eos,
        )
        if outcome.row == 0:
            assert (outcome.accepted, outcome.next_token) == (3, None)
        else:
            assert (outcome.accepted, outcome.rejected) == (k, False)
