"""Verification rounds on a Markov chain pair, against laws written from the paper.

Two levels, both compared with ``round_laws`` (formulas in plain loops, no library call)
by a Pearson chi-square at ALPHA = 1e-3, with ``N`` computed in the test from the
noncentral chi-square so that acceptance x 0.98 and a residual from 0.9 x the draft are
each rejected with power >= 0.99 (``round_harness.joint_sample_size``):

* **one position, drafted tokens fixed**: the rules' ``verify_rows`` (what the vectorised
  simulator runs) on the chain's transition rows, cells (accepted, token) — and, for batch
  SD's round start, (winner, token) with the M candidates fixed;
* **a whole decode of T = 2, gamma = None**: cells (rejections, x_1, x_2) of
  :func:`~specbound.chain.simulate` and of the per-run reference
  :func:`~specbound.chain.simulate_reference` (the drafted tokens summed over in the law).
  N = 2.6k-19k runs (one position: 32k-300k, vectorised). The same tests reject the
  deliberately wrong rules of
  :mod:`round_mutants` (negative controls).

The pair is built so that the second drafted token depends strongly on the first (peaked,
different draft rows): a reference that continues along the wrong draft after a batch
round start outputs the wrong law at x_2.
"""

from __future__ import annotations

import numpy as np
import pytest

import specbound as sb
from round_harness import POWER, assert_law, chi_square_power, joint_sample_size
from round_laws import Kind, accept_formula, batch_round_law, chain_law, resample_formula
from round_mutants import ResidualFromScaledDraft, ScaledAccept, ScaledDraftStart, ScaledStart, Spec
from specbound.chain import MarkovChain, simulate, simulate_reference
from specbound.core.batch import RecursiveRejectionRule
from stats_helpers import ALPHA, chi_square_pvalue

P = np.array(
    [
        [[0.5, 0.4, 0.1]] * 3,
        [[0.8, 0.1, 0.1], [0.1, 0.8, 0.1], [0.15, 0.15, 0.7]],
    ]
)
Q = np.array(
    [
        [[0.25, 0.45, 0.3]] * 3,
        [[0.6, 0.3, 0.1], [0.3, 0.5, 0.2], [0.2, 0.1, 0.7]],
    ]
)
S = 3


def pair() -> tuple[MarkovChain, MarkovChain]:
    return MarkovChain(P, 0, name="draft"), MarkovChain(Q, 0, name="target")


def powered_n(law: np.ndarray, *mutants: np.ndarray) -> int:
    n = joint_sample_size(law.ravel(), [m.ravel() for m in mutants])
    assert all(chi_square_power(law.ravel(), m.ravel(), n) >= POWER for m in mutants)
    return n


KINDS: list[tuple[str, sb.Algorithm, Kind]] = [
    ("sd", sb.Speculative(), ("sd", 0.0)),
    ("opt", sb.OverAcceptance(0.1, "opt"), ("opt", 0.1)),
    ("uno", sb.OverAcceptance(0.1, "uno"), ("uno", 0.1)),
]


def position_law(p: np.ndarray, q: np.ndarray, x: int, kind: Kind, **mutant: float) -> np.ndarray:
    """P(accepted, token) at one position with drafted token x: (2, S), row 1 accepted."""
    b = accept_formula(p, q, kind, mutant.get("accept_scale", 1.0))
    res = resample_formula(p, q, kind, b, mutant.get("residual_draft_scale", 1.0))
    law = np.zeros((2, S))
    law[0] = (1.0 - b[x]) * res
    law[1, x] = b[x]
    return law


@pytest.mark.parametrize(("algorithm", "kind"), [c[1:] for c in KINDS], ids=[c[0] for c in KINDS])
def test_one_position_with_a_fixed_drafted_token(algorithm, kind: Kind) -> None:  # type: ignore[no-untyped-def]
    """Row s = 1 of position 2, drafted token x = 1 (q < p there: b < 1 for every rule)."""
    s, x = 1, 1
    p, q = P[1, s], Q[1, s]
    law = position_law(p, q, x, kind)
    n = powered_n(
        law,
        position_law(p, q, x, kind, accept_scale=0.98),
        position_law(p, q, x, kind, residual_draft_scale=0.9),
    )
    rule = algorithm.step_rule
    rows, drafted = np.full(n, s), np.full(n, x)

    def draw_with(r):  # type: ignore[no-untyped-def]
        def draw(size: int, rng: np.random.Generator) -> np.ndarray:
            ok, token = r.verify_rows(P[1], Q[1], rows[:size], drafted[:size], rng)
            return ok.astype(np.int64) * S + token

        return draw

    assert_law(draw_with(rule), law, n, seed=3)
    for wrong in (ScaledAccept(rule), ResidualFromScaledDraft(rule, sd=kind[0] == "sd")):
        cells = draw_with(wrong)(n, np.random.default_rng(3))
        assert chi_square_pvalue(cells, law.ravel()) < ALPHA, type(wrong).__name__


def test_batch_round_start_with_fixed_candidates() -> None:
    """Recursive rejection, M = 2, candidates (0, 1) fixed at the start row: P(winner,
    token) from Algorithm 4 written in ``round_laws``; both wrong starts rejected."""
    candidates = np.array([0, 1])
    p = np.broadcast_to(P[0, 0], (2, 1, S))
    q = np.broadcast_to(Q[0, 0], (2, 1, S))
    x = candidates[:, None]

    def cells_law(**mutant: float) -> np.ndarray:
        table = batch_round_law(p, q, x, **mutant)  # (M, 2, S+1)
        out = np.zeros((3, S))  # winner -1, 0, 1 by token
        out[0] = table[0, 0, :S]
        for m in range(2):
            out[m + 1, candidates[m]] = table[m, 1, S]
        return out

    law = cells_law()
    n = powered_n(law, cells_law(accept_scale=0.98), cells_law(residual_draft_scale=0.9))
    rows = np.zeros(n, dtype=np.int64)
    cands = np.broadcast_to(candidates, (n, 2))

    def draw_with(rule):  # type: ignore[no-untyped-def]
        def draw(size: int, rng: np.random.Generator) -> np.ndarray:
            winner, token = rule.verify_rows(P[0], Q[0], rows[:size], cands[:size], rng)
            return (winner + 1) * S + token

        return draw

    assert_law(draw_with(RecursiveRejectionRule(2)), law, n, seed=4)
    for wrong in (ScaledStart(2), ScaledDraftStart(2)):
        cells = draw_with(wrong)(n, np.random.default_rng(4))
        assert chi_square_pvalue(cells, law.ravel()) < ALPHA, type(wrong).__name__


def decode_cells(result) -> np.ndarray:  # type: ignore[no-untyped-def]
    seq = result.sequences
    return (result.rejections * S + seq[:, 0]) * S + seq[:, 1]


DECODES = [
    ("sd", sb.Speculative(), ("sd", 0.0), 1),
    ("opt", sb.OverAcceptance(0.1, "opt"), ("opt", 0.1), 1),
    ("uno", sb.OverAcceptance(0.1, "uno"), ("uno", 0.1), 1),
    ("batch2", sb.BatchSpeculative(num_drafts=2), ("sd", 0.0), 2),
]


def _decode_case(kind: Kind, m: int) -> tuple[np.ndarray, int]:
    law = chain_law(P, Q, 0, kind, m)
    assert law.sum() == pytest.approx(1.0, abs=1e-12)
    n = powered_n(
        law,
        chain_law(P, Q, 0, kind, m, accept_scale=0.98),
        chain_law(P, Q, 0, kind, m, residual_draft_scale=0.9),
    )
    return law, n


def _wrong_specs(algorithm, kind: Kind, m: int) -> list[Spec]:  # type: ignore[no-untyped-def]
    rule = algorithm.step_rule
    if m == 1:
        return [
            Spec(ScaledAccept(rule)),
            Spec(ResidualFromScaledDraft(rule, sd=kind[0] == "sd")),
        ]
    return [
        Spec(ScaledAccept(rule), round_start_rule=ScaledStart(m)),
        Spec(rule, round_start_rule=ScaledDraftStart(m)),
    ]


@pytest.mark.parametrize(
    ("algorithm", "kind", "m"), [c[1:] for c in DECODES], ids=[c[0] for c in DECODES]
)
def test_simulator_decode_law(algorithm, kind: Kind, m: int) -> None:  # type: ignore[no-untyped-def]
    """The vectorised simulator: (rejections, x_1, x_2) over T = 2 follows the law."""
    law, n = _decode_case(kind, m)
    draft, target = pair()

    def draw(size: int, rng: np.random.Generator) -> np.ndarray:
        seed = int(rng.integers(2**31))
        return decode_cells(simulate(draft, target, algorithm, n_runs=size, seed=seed))

    assert_law(draw, law, n, seed=5)
    for wrong in _wrong_specs(algorithm, kind, m):
        cells = decode_cells(simulate(draft, target, wrong, n_runs=n, seed=5))  # type: ignore[arg-type]
        assert chi_square_pvalue(cells, law.ravel()) < ALPHA


def test_simulator_bonus_token_law() -> None:
    """SD with gamma = 1 over T = 2: after an accepted x_1 the target draws x_2 (the bonus
    token, never refused); N sized like the tests above."""
    law = chain_law(P, Q, 0, ("sd", 0.0), gamma=1)
    assert law.sum() == pytest.approx(1.0, abs=1e-12)
    n = powered_n(
        law,
        chain_law(P, Q, 0, ("sd", 0.0), accept_scale=0.98, gamma=1),
        chain_law(P, Q, 0, ("sd", 0.0), residual_draft_scale=0.9, gamma=1),
    )
    draft, target = pair()
    algorithm = sb.Speculative(gamma=1)

    def draw(size: int, rng: np.random.Generator) -> np.ndarray:
        seed = int(rng.integers(2**31))
        return decode_cells(simulate(draft, target, algorithm, n_runs=size, seed=seed))

    assert_law(draw, law, n, seed=8)


@pytest.mark.slow
def test_reference_decode_law_after_a_batch_round_start() -> None:
    """The per-run block-drafting reference, batch SD (M = 2): the same law at the same
    N (16k runs, power >= 0.99 against both mutants). After a batch round start it must
    verify the winning candidate's own continuation: the draft rows at position 2 are
    peaked and differ, so following another candidate's block changes x_2. (The wrong
    rules are rejected on the vectorised simulator above; SD's reference is checked in
    test_chain_statistical.)"""
    algorithm, kind, m = DECODES[3][1:]
    law, n = _decode_case(kind, m)
    draft, target = pair()

    def draw(size: int, rng: np.random.Generator) -> np.ndarray:
        seed = int(rng.integers(2**31))
        return decode_cells(simulate_reference(draft, target, algorithm, n_runs=size, seed=seed))

    assert_law(draw, law, n, seed=6)
