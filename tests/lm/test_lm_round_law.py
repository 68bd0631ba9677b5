"""One verification round on the tiny LM pair, conditional on fixed drafted tokens.

The prompt and the drafted tokens are fixed; the draft and target laws at every drafted
position are computed in the tests from the models' logits (a full forward, no cache) and
warped there (``torch.softmax(logits / temperature)`` after a top-k mask written in
``lm_round.py``), not by the library's warp. The exact law of (row, accepted count,
next token) comes from ``round_laws`` (formulas written from the paper, no library call), and
:func:`specbound.lm.verification.verify_round` — the decoder's verification — is sampled
``N`` times against it with a Pearson chi-square at ALPHA = 1e-3.

Sizing: ``N`` is computed in each test (``round_harness.sample_size``) from the noncentral
chi-square so that the test rejects, with power >= 0.99 at alpha = 1e-3, both the law with
every acceptance probability scaled by 0.98 and the law with the residual built from
0.9 x the draft. With the tokens below N is 0.4k-8.1k rounds (at most ~1 s per test);
the same test, run on :mod:`round_mutants`' deliberately wrong verifiers, rejects them.
"""

from __future__ import annotations

import numpy as np
import pytest
from lm_round import cells_of, powered_n, round_laws_of

import specbound as sb
from round_harness import assert_law
from round_laws import Kind, batch_round_law, round_law
from round_mutants import ResidualFromScaledDraft, ScaledAccept, ScaledDraftStart, ScaledStart, Spec
from specbound.core.batch import RecursiveRejectionRule
from stats_helpers import ALPHA, chi_square_pvalue

PROMPT = [3]

SINGLE = [
    # (id, algorithm, kind, drafted tokens, temperature, top_k)
    ("sd", sb.Speculative(gamma=2), ("sd", 0.0), [5, 4], 1.0, None),
    ("sd-warped", sb.Speculative(gamma=2), ("sd", 0.0), [3, 6], 0.8, 6),
    ("opt", sb.OverAcceptance(0.1, "opt", gamma=2), ("opt", 0.1), [5, 2], 1.0, None),
    ("uno", sb.OverAcceptance(0.1, "uno", gamma=2), ("uno", 0.1), [1, 5], 1.0, None),
]


@pytest.mark.parametrize(
    ("algorithm", "kind", "tokens", "temperature", "top_k"),
    [case[1:] for case in SINGLE],
    ids=[case[0] for case in SINGLE],
)
def test_one_round_follows_its_exact_law(
    tiny_pair, algorithm, kind: Kind, tokens: list[int], temperature: float, top_k
) -> None:  # type: ignore[no-untyped-def]
    """SD / OPT / UNO: P(accepted = a, next = y | drafted tokens) from the formulas;
    power >= 0.99 against acceptance x 0.98 and against the 0.9-draft residual; both
    wrong verifiers are rejected by the same test."""
    drafted = np.array([tokens])
    p, q = round_laws_of(tiny_pair, PROMPT, drafted, temperature, top_k)
    x = drafted[0]
    law = round_law(p[0], q[0], x, kind)
    assert law.sum() == pytest.approx(1.0, abs=1e-12)
    scaled = round_law(p[0], q[0], x, kind, accept_scale=0.98)
    residual = round_law(p[0], q[0], x, kind, residual_draft_scale=0.9)
    n = powered_n(law, scaled, residual)

    def draw(size: int, rng: np.random.Generator) -> np.ndarray:
        return cells_of(algorithm, p, q, drafted, size, rng)

    assert_law(draw, law, n, seed=1)
    rule = algorithm.step_rule
    for wrong in (ScaledAccept(rule), ResidualFromScaledDraft(rule, sd=kind[0] == "sd")):
        cells = cells_of(Spec(wrong, gamma=2), p, q, drafted, n, np.random.default_rng(1))
        assert chi_square_pvalue(cells, law.ravel()) < ALPHA, type(wrong).__name__


def test_batch_round_follows_its_exact_law(tiny_pair) -> None:  # type: ignore[no-untyped-def]
    """Batch SD, M = 2, k = 2: recursive rejection at the round start, then SD along the
    winning row; P(row, accepted, next | the 2 x 2 drafted tokens) from Algorithm 4 written
    in ``round_laws``. Power >= 0.99 against both mutants (N ~ 1.2k); both wrong round
    starts are rejected."""
    drafted = np.array([[4, 1], [0, 4]])
    p, q = round_laws_of(tiny_pair, PROMPT, drafted)
    law = batch_round_law(p, q, drafted)
    assert law.sum() == pytest.approx(1.0, abs=1e-12)
    scaled = batch_round_law(p, q, drafted, accept_scale=0.98)
    residual = batch_round_law(p, q, drafted, residual_draft_scale=0.9)
    n = powered_n(law, scaled, residual)
    algorithm = sb.BatchSpeculative(num_drafts=2, gamma=2)
    assert isinstance(algorithm.round_start_rule, RecursiveRejectionRule)

    def draw(size: int, rng: np.random.Generator) -> np.ndarray:
        return cells_of(algorithm, p, q, drafted, size, rng)

    assert_law(draw, law, n, seed=2)
    for start in (ScaledStart(2), ScaledDraftStart(2)):
        step = ScaledAccept(algorithm.step_rule) if isinstance(start, ScaledStart) else None
        wrong = Spec(step or algorithm.step_rule, round_start_rule=start, gamma=2)
        cells = cells_of(wrong, p, q, drafted, n, np.random.default_rng(2))
        assert chi_square_pvalue(cells, law.ravel()) < ALPHA, type(start).__name__
