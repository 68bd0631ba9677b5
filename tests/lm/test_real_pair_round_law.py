"""One decoder round on the real pair (SmolLM2-135M-Instruct and its shipped distilled
draft), conditional on fixed drafted tokens; greedy SD equals greedy autoregressive.

The tiny pair's conditional tests (``test_lm_round_law.py``) on a Llama model of a 49152-
token vocabulary, through the decoder: ``generate`` runs one round with a drafter that
proposes fixed tokens (the law it reports is the draft model's law, warped by the
decoder's cached Llama forward), and the laws the decoder hands to
``verify_round`` are captured. They must equal, to 1e-5, the laws computed in the test
(a full forward without cache, ``softmax(logits / temperature)`` after a top-k mask
written in ``lm_round.py``). The decoder's round is then ``verify_round`` on the captured
laws; it is sampled N times and its cell (row, accepted count, next token) compared with
the exact law of ``round_laws`` (formulas from the paper) by a Pearson chi-square at
ALPHA = 1e-3.

Power. N is the smallest size at which the test rejects, with power >= 0.99 at alpha =
1e-3, both mutants (every acceptance probability x 0.98; the residual built from 0.9 x the
draft). On this pair most rounds need 1e4-1e6 rounds for that (the draft is far from the
target, held-out TV 0.72, and a residual spreads over thousands of tokens), so the rounds
below were chosen where the power is high at a few thousand rounds (a scan of the first
greedy positions of two prompts; every drafted token has a positive draft probability):
N = 230-4.1k, 1-15 s per test. The same
chi-square rejects ``round_mutants``' wrong verifiers run on the same captured laws, and a
drafter that reports a law warped at another temperature (the decoder bug that leaves the
output exact but the acceptance wrong) is caught by the law comparison.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import pytest
import torch
from lm_round import cells_of, powered_n, round_laws_of
from real_pair_models import named_smollm2

import specbound as sb
import specbound.lm.decode as decode
from round_harness import assert_law
from round_laws import Kind, batch_round_law, round_law
from round_mutants import ResidualFromScaledDraft, ScaledAccept, ScaledDraftStart, ScaledStart, Spec
from specbound.lm import SamplingConfig
from specbound.lm.drafting import Drafter
from specbound.lm.warping import warp_probs
from stats_helpers import ALPHA, chi_square_pvalue

#: How far the decoder's laws may be from the test's (float32 forwards, cache vs none).
LAW_TOLERANCE = 1e-5
#: Chat prompts (user turns) and the greedy tokens that follow them.
COUNT = "Count from one to ten."  # greedy: "1. 1\n2. 2\n3."
COUNT_1 = [33, 30, 216]  # "1. "
WRITE = "Write the alphabet."  # greedy: "The alphabet is a series of ..."
WRITE_4 = [504, 12567, 314, 253]  # "The alphabet is a"


@pytest.fixture(scope="module")
def smollm2() -> Iterator[Any]:
    with named_smollm2() as pair:
        yield pair


class FixedDrafter(Drafter):
    """Drafts ``rows`` (M, k) whatever its law says, and reports the draft model's law
    (the conditional round: verification sees the law, the tokens are fixed)."""

    def __init__(self, lm: Any, sampling: SamplingConfig, eos: int | None, rows: Any) -> None:
        super().__init__(lm, sampling, eos)
        self.rows = torch.as_tensor(rows, dtype=torch.long)  # (M, k)
        self.position = 0

    def sample(self, draft_probs: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
        column = self.rows[:, self.position % self.rows.shape[1]]  # (M,)
        self.position += 1
        return column.to(draft_probs.device)


class HotFixedDrafter(FixedDrafter):
    """The decoder bug: the draft's law warped 20% hotter than the target's."""

    def draft_law(self, logits: torch.Tensor) -> torch.Tensor:
        hot = SamplingConfig(temperature=1.2 * self.sampling.temperature, top_k=self.sampling.top_k)
        return warp_probs(logits, hot)


def decoder_round(
    pair: Any,
    prompt: Sequence[int],
    algorithm: Any,
    rows: np.ndarray,
    sampling: SamplingConfig,
    monkeypatch: pytest.MonkeyPatch,
    drafter: type[FixedDrafter] = FixedDrafter,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(p, q, tokens) that the decoder's first round hands to ``verify_round``."""
    seen: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    real = decode.verify_round

    def spy(algorithm: Any, p: Any, q: Any, tokens: Any, rng: Any, **kw: Any) -> Any:
        seen.append((np.array(p), np.array(q), np.array(tokens)))
        return real(algorithm, p, q, tokens, rng, **kw)

    monkeypatch.setattr(decode, "verify_round", spy)
    sb.lm.generate(
        pair,
        list(prompt),
        algorithm,
        max_new_tokens=rows.shape[1] + 1,  # one round of k drafts and a bonus position
        sampling=sampling,
        stop_at_eos=False,
        drafter=lambda lm, s, eos: drafter(lm, s, eos, rows),
    )
    return seen[0]


def prompt_of(pair: Any, text: str, prefix: list[int]) -> list[int]:
    return [*sb.lm.encode_prompt(pair, text), *prefix]


def assert_draftable(p: np.ndarray, drafted: np.ndarray) -> None:
    """Every drafted token has a positive draft probability (a round the decoder can
    actually meet, not one conditioned on an impossible draft)."""
    rows, k = drafted.shape
    assert all(p[m, j, drafted[m, j]] > 0 for m in range(rows) for j in range(k))


SINGLE = [
    # (id, algorithm, kind, user text, greedy prefix, drafted tokens, temperature, top_k)
    ("sd", sb.Speculative(gamma=2), ("sd", 0.0), WRITE, WRITE_4, [3086, 282], 1.0, None),
    ("sd-warped", sb.Speculative(gamma=2), ("sd", 0.0), COUNT, COUNT_1, [33, 30], 0.8, 6),
    (
        "opt-warped",
        sb.OverAcceptance(0.1, "opt", gamma=2),
        ("opt", 0.1),
        COUNT,
        COUNT_1,
        [33, 30],
        0.8,
        6,
    ),
    ("uno", sb.OverAcceptance(0.1, "uno", gamma=2), ("uno", 0.1), COUNT, [], [33, 30], 1.0, None),
]


@pytest.mark.parametrize(
    ("algorithm", "kind", "text", "prefix", "tokens", "temperature", "top_k"),
    [case[1:] for case in SINGLE],
    ids=[case[0] for case in SINGLE],
)
def test_decoder_round_follows_its_exact_law(
    smollm2: Any,
    monkeypatch: pytest.MonkeyPatch,
    algorithm: Any,
    kind: Kind,
    text: str,
    prefix: list[int],
    tokens: list[int],
    temperature: float,
    top_k: int | None,
) -> None:
    """SD / OPT / UNO, k = 2 with a bonus position: P(accepted = a, next = y | drafts)
    from the formulas; power >= 0.99 against both mutants; both wrong verifiers rejected."""
    prompt = prompt_of(smollm2, text, prefix)
    drafted = np.array([tokens])
    p, q = round_laws_of(smollm2, prompt, drafted, temperature, top_k)
    assert_draftable(p, drafted)
    sampling = SamplingConfig(temperature=temperature, top_k=top_k)
    cp, cq, cx = decoder_round(smollm2, prompt, algorithm, drafted, sampling, monkeypatch)
    np.testing.assert_array_equal(cx, drafted)
    assert np.abs(cp - p).max() < LAW_TOLERANCE and np.abs(cq - q).max() < LAW_TOLERANCE
    law = round_law(p[0], q[0], drafted[0], kind)
    assert law.sum() == pytest.approx(1.0, abs=1e-9)
    scaled = round_law(p[0], q[0], drafted[0], kind, accept_scale=0.98)
    residual = round_law(p[0], q[0], drafted[0], kind, residual_draft_scale=0.9)
    n = powered_n(law, scaled, residual)
    assert n <= 3_000, n  # the budget these rounds were chosen for

    def draw(size: int, rng: np.random.Generator) -> np.ndarray:
        return cells_of(algorithm, cp, cq, cx, size, rng)

    assert_law(draw, law, n, seed=1)
    rule = algorithm.step_rule
    for wrong in (ScaledAccept(rule), ResidualFromScaledDraft(rule, sd=kind[0] == "sd")):
        cells = cells_of(Spec(wrong, gamma=2), cp, cq, cx, n, np.random.default_rng(1))
        assert chi_square_pvalue(cells, law.ravel()) < ALPHA, type(wrong).__name__


@pytest.mark.slow  # ~15 s: 3 x 4.1k batch rounds over a 49152-token vocabulary
def test_batch_decoder_round_follows_its_exact_law(
    smollm2: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Batch SD, M = 2, k = 2, temperature 1, the first answer token: candidates "The"
    and "Here" (the draft's first two choices) with a second token each; Algorithm 4's law
    (``round_laws.batch_round_law``); N ~ 4.1k; both wrong round starts rejected."""
    prompt = prompt_of(smollm2, COUNT, [])
    drafted = np.array([[504, 1230], [788, 260]])
    p, q = round_laws_of(smollm2, prompt, drafted)
    assert_draftable(p, drafted)
    algorithm = sb.BatchSpeculative(num_drafts=2, gamma=2)
    sampling = SamplingConfig()
    cp, cq, cx = decoder_round(smollm2, prompt, algorithm, drafted, sampling, monkeypatch)
    np.testing.assert_array_equal(cx, drafted)
    assert np.abs(cp - p).max() < LAW_TOLERANCE and np.abs(cq - q).max() < LAW_TOLERANCE
    law = batch_round_law(p, q, drafted)
    scaled = batch_round_law(p, q, drafted, accept_scale=0.98)
    residual = batch_round_law(p, q, drafted, residual_draft_scale=0.9)
    n = powered_n(law, scaled, residual)
    assert n <= 4_500, n

    def draw(size: int, rng: np.random.Generator) -> np.ndarray:
        return cells_of(algorithm, cp, cq, cx, size, rng)

    assert_law(draw, law, n, seed=2)
    for start in (ScaledStart(2), ScaledDraftStart(2)):
        step = ScaledAccept(algorithm.step_rule) if isinstance(start, ScaledStart) else None
        wrong = Spec(step or algorithm.step_rule, round_start_rule=start, gamma=2)
        cells = cells_of(wrong, cp, cq, cx, n, np.random.default_rng(2))
        assert chi_square_pvalue(cells, law.ravel()) < ALPHA, type(start).__name__


def test_a_draft_law_warped_otherwise_is_caught(
    smollm2: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Negative control of the law comparison: a drafter that reports its law warped 20%
    hotter than the target's leaves the output exact but changes every acceptance; the
    captured draft law is then far from the test's (while the target's is not)."""
    prompt = prompt_of(smollm2, WRITE, WRITE_4)
    drafted = np.array([[3086, 282]])
    p, q = round_laws_of(smollm2, prompt, drafted)
    algorithm = sb.Speculative(gamma=2)
    cp, cq, _ = decoder_round(
        smollm2, prompt, algorithm, drafted, SamplingConfig(), monkeypatch, HotFixedDrafter
    )
    assert np.abs(cq - q).max() < LAW_TOLERANCE
    assert np.abs(cp - p).max() > 100 * LAW_TOLERANCE


@pytest.mark.parametrize(
    "algorithm",
    [
        sb.Speculative(gamma=4),
        sb.BatchSpeculative(num_drafts=2, gamma=3),
        sb.BlockSpeculative(gamma=3),
    ],
    ids=["sd-gamma4", "batch2-gamma3", "block-gamma3"],
)
def test_greedy_decoders_give_the_autoregressive_tokens(smollm2: Any, algorithm: Any) -> None:
    """Temperature 0: every lossless decoder outputs the target's greedy tokens (16 of a
    chat-templated prompt, through the lean Llama forward with its cache)."""
    greedy = SamplingConfig(temperature=0)
    ar = sb.lm.generate(smollm2, COUNT, sb.Autoregressive(), max_new_tokens=16, sampling=greedy)
    out = sb.lm.generate(smollm2, COUNT, algorithm, max_new_tokens=16, sampling=greedy)
    assert out.token_ids == ar.token_ids
    assert out.stats.target_calls < ar.stats.target_calls  # some drafts were kept
