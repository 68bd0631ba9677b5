"""A peer oracle: transformers' own speculative sampling gives the same round law.

transformers' assisted generation verifies a round with
``transformers.generation.utils._speculative_sampling`` (Leviathan et al.'s Algorithm 1,
written independently of specbound; a private function of theirs, called here as a
reference implementation). Given the same drafted tokens and the same draft and target
laws (passed as log-probabilities: its softmax gives them back), its outcome — the number
of drafted tokens kept and the token after them — must have the law of
``round_laws.round_law`` (the paper's formulas), and the same law as specbound's
``verify_round``.

On the tiny pair (prompt [3], drafts [5, 4]) and on the real pair (SmolLM2 after "The
alphabet is a", drafts " series of"), temperature 1, k = 2 with a bonus position:

* n peer rounds against the exact law, Pearson chi-square at ALPHA = 1e-3, n sized for
  power >= 0.99 against both mutants (acceptance x 0.98; residual from 0.9 x the draft;
  n = 2.6k on the tiny pair, 1k on SmolLM2);
* 2n peer rounds against 2n specbound rounds, a two-sample chi-square (homogeneity) at
  ALPHA: no formula involved. With equal samples of 2n the two-sample noncentrality is
  about ``2n * sum (p1 - p0)^2 / (p0 + p1) ~ n * sum (p1 - p0)^2 / p0``, the one-sample
  test's at n, so the power is about the same; the negative control — specbound's
  verifier with every acceptance x 0.98 against the peer — must be rejected.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
import torch
from lm_round import cell, cells_of, powered_n, round_laws_of
from real_pair_models import named_smollm2
from scipy import stats

import specbound as sb
from round_laws import round_law
from round_mutants import ScaledAccept, Spec
from stats_helpers import ALPHA, chi_square_pvalue

SD = ("sd", 0.0)


@pytest.fixture(scope="module")
def smollm2() -> Iterator[Any]:
    with named_smollm2() as pair:
        yield pair


def peer_cells(p: np.ndarray, q: np.ndarray, x: np.ndarray, n: int, seed: int) -> np.ndarray:
    """``n`` rounds of transformers' speculative sampling: p (k, V) draft, q (k+1, V)
    target, x (k,) drafted tokens; cells as ``lm_round.cell`` (row 0)."""
    from transformers.generation import utils

    sample = utils._speculative_sampling
    extra = (
        {"is_done_candidate": False}
        if "is_done_candidate" in inspect.signature(sample).parameters
        else {}
    )
    k, vocab = len(x), p.shape[-1]
    ids = torch.tensor([[int(t) for t in x]])  # (1, k): its last k entries are the drafts
    with np.errstate(divide="ignore"):
        draft_logits = torch.from_numpy(np.log(p))[None]  # (1, k, V)
        target_logits = torch.from_numpy(np.log(q))[None]  # (1, k+1, V)
    torch.manual_seed(seed)
    out = np.empty(n, dtype=np.int64)
    for i in range(n):
        tokens, matches = sample(ids, draft_logits, k, target_logits, **extra)
        out[i] = cell(0, int(matches), int(tokens[0, -1]), k, vocab)
    return out


def two_sample_pvalue(a: np.ndarray, b: np.ndarray, size: int) -> float:
    """Chi-square test that two samples of cells come from one law (cells whose expected
    count is below 5 in either sample pooled into one)."""
    ca = np.bincount(a, minlength=size).astype(float)
    cb = np.bincount(b, minlength=size).astype(float)
    total = ca + cb
    share = min(a.size, b.size) / (a.size + b.size)
    big = total * share >= 5
    rows = [list(ca[big]), list(cb[big])]
    if (~big).any() and total[~big].sum() > 0:
        rows[0].append(ca[~big].sum())
        rows[1].append(cb[~big].sum())
    return float(stats.chi2_contingency(np.array(rows), correction=False).pvalue)


CASES = [
    # (id, pair fixture, prompt (user text or ids), greedy prefix, drafts, temperature, top_k)
    ("tiny", "tiny_pair", [3], [], [5, 4], 1.0, None),
    ("smollm2", "smollm2", "Write the alphabet.", [504, 12567, 314, 253], [3086, 282], 1.0, None),
]


@pytest.mark.parametrize(
    ("fixture", "prompt", "prefix", "tokens", "temperature", "top_k"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_transformers_speculative_sampling_has_the_same_law(
    request: pytest.FixtureRequest,
    fixture: str,
    prompt: Any,
    prefix: list[int],
    tokens: list[int],
    temperature: float,
    top_k: int | None,
) -> None:
    pair = request.getfixturevalue(fixture)
    ids = [*sb.lm.encode_prompt(pair, prompt), *prefix] if isinstance(prompt, str) else prompt
    drafted = np.array([tokens])
    p, q = round_laws_of(pair, ids, drafted, temperature, top_k)  # (1, 2, V), (1, 3, V)
    x = drafted[0]
    law = round_law(p[0], q[0], x, SD)
    mutants = [
        round_law(p[0], q[0], x, SD, accept_scale=0.98),
        round_law(p[0], q[0], x, SD, residual_draft_scale=0.9),
    ]
    n = powered_n(law, *mutants)
    peer = peer_cells(p[0], q[0], x, 2 * n, seed=3)
    assert chi_square_pvalue(peer[:n], law.ravel()) > ALPHA
    algorithm = sb.Speculative(gamma=2)
    ours = cells_of(algorithm, p, q, drafted, 2 * n, np.random.default_rng(3))
    assert two_sample_pvalue(ours, peer, law.size) > ALPHA
    wrong = Spec(ScaledAccept(algorithm.step_rule), gamma=2)
    biased = cells_of(wrong, p, q, drafted, 2 * n, np.random.default_rng(3))
    assert two_sample_pvalue(biased, peer, law.size) < ALPHA
