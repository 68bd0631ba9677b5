"""Trees of children drawn without replacement in the profile: their covers, their rows.

The rule (paper notation p = draft, q = target), written out here rather than taken from
the library: child m is drawn from ``p_m`` (p with children 1..m-1 removed,
renormalised) and accepted with ``min(1, r_m(x) / p_m(x))``; refused, ``r_{m+1} =
[r_m - p_m]_+`` normalised, ``r_1 = q``. A node's cover ``A'(b)`` is the chance that one
of its first b children is accepted.

Checked:

* the library's one-draw-per-position estimate of ``A'(b)`` averages to the cover found
  by enumerating every ordered tuple of distinct children (``_cover_by_enumeration``),
  inside a 99.9% interval (|z| < 3.29; 4,000 rows per law, so an error of 0.01 in a cover
  is ~3 standard errors at the largest spread, 0.5/sqrt(4000) = 0.008, and one of 0.015
  is caught with power > 0.9); negative control: drawing the refused child from ``p_m``
  itself instead of ``[p_m - r_m]_+`` is rejected by the same test;
* on a pair whose every state has the same draft and target laws the positional model is
  exact, so a distinct tree's expected target calls from those covers equal the exact
  chain theory of ``TreeSpeculative(..., replacement=False)`` to 1e-12;
* the profile's rows of distinct trees against the decoder on the embedded pair:
  ``test_tree_prediction_agrees_with_the_decoder`` in test_profile_trees.py, beside the
  i.i.d. trees.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import specbound as sb
from specbound.profiling.tree_search import best_tree
from specbound.profiling.trees import PositionalAcceptance, distinct_covers_along, round_starts

Z_ALPHA = 3.2905  # two-sided, ALPHA = 1e-3
PROMPTS = ["The with statement", "A class is", "Raise an exception"]


def _cover_by_enumeration(p: np.ndarray, q: np.ndarray, b: int) -> float:
    """``A'(b)``: the chance that one of b distinct children is accepted, summed over every
    ordered tuple of distinct children with the rule of the module docstring."""
    refused_all = 0.0
    for children in itertools.permutations(range(len(p)), b):
        law, residual, chance = p.copy(), q.copy(), 1.0
        for x in children:
            if law.sum() <= 0:
                break
            law = law / law.sum()
            accept = min(1.0, residual[x] / law[x]) if law[x] > 0 else 0.0
            chance *= law[x] * (1.0 - accept)  # drawn and refused
            excess = np.maximum(residual - law, 0.0)
            residual = excess / excess.sum() if excess.sum() > 1e-15 else residual
            law = law.copy()
            law[x] = 0.0
        refused_all += chance
    return 1.0 - refused_all


def _wrong_covers(p: np.ndarray, q: np.ndarray, b: int, rng: np.random.Generator) -> np.ndarray:
    """Negative control: the refused child drawn from ``p_m`` (ignoring that refusal
    favours tokens the draft over-proposes)."""
    n = p.shape[0]
    law, residual = p.copy(), q.copy()
    refused, out = np.ones(n), np.empty((n, b))
    for m in range(b):
        refused = refused * np.maximum(residual - law, 0.0).sum(axis=-1)
        out[:, m] = 1.0 - refused
        drawn = np.array([rng.choice(law.shape[1], p=row) for row in law])
        excess = np.maximum(residual - law, 0.0)
        residual = excess / excess.sum(axis=-1, keepdims=True)
        law[np.arange(n), drawn] = 0.0
        law = law / law.sum(axis=-1, keepdims=True)
    return out


def _z(estimates: np.ndarray, exact: float) -> float:
    return float((estimates.mean() - exact) / (estimates.std(ddof=1) / np.sqrt(estimates.size)))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_distinct_covers_average_to_the_enumerated_cover(seed: int) -> None:
    rng = np.random.default_rng(seed)
    p, q = rng.dirichlet(np.full(5, 0.6), size=2)
    rows = 4000
    covers = distinct_covers_along(np.tile(p, (rows, 1)), np.tile(q, (rows, 1)), 3, rng)
    wrong = _wrong_covers(np.tile(p, (rows, 1)), np.tile(q, (rows, 1)), 3, rng)
    assert covers[:, 0] == pytest.approx(np.minimum(p, q).sum(), abs=1e-12)  # one child
    wrong_z = []
    for b in (2, 3):
        exact = _cover_by_enumeration(p, q, b)
        assert abs(_z(covers[:, b - 1], exact)) < Z_ALPHA, (b, exact, covers[:, b - 1].mean())
        wrong_z.append(abs(_z(wrong[:, b - 1], exact)))
    assert max(wrong_z) > Z_ALPHA, wrong_z  # the negative control is rejected


@pytest.mark.parametrize("branching", [(3,), (2, 2), (3, 1, 2)])
def test_the_positional_model_is_exact_when_every_state_has_the_same_laws(
    branching: tuple[int, ...],
) -> None:
    rng = np.random.default_rng(len(branching))
    S, T = 4, 6
    p, q = rng.dirichlet(np.full(S, 0.7), size=2)
    draft = sb.MarkovChain(np.broadcast_to(p, (T, S, S)), name="draft")
    target = sb.MarkovChain(np.broadcast_to(q, (T, S, S)), name="target")
    tree = sb.TreeSpeculative(branching, replacement=False)
    exact = sb.theory.analyse(draft, target, tree)
    covers = [_cover_by_enumeration(p, q, b) for b in range(1, max(branching) + 1)]
    calls, rejections, _ = round_starts(branching, PositionalAcceptance(np.array(covers)), T, T)
    assert calls == pytest.approx(exact.target_calls, abs=1e-12)
    assert rejections == pytest.approx(exact.rejections, abs=1e-12)


def test_the_search_records_which_children_it_chose() -> None:
    covers = PositionalAcceptance(np.array([0.3, 0.5, 0.6, 0.65]))
    choice = best_tree(covers, 6, 3, lambda shape: 1.0, 1.0, replacement=False)
    assert not choice.replacement and choice.algorithm.replacement is False
    assert choice.to_dict()["replacement"] is False
    chain = best_tree(covers, 6, 3, lambda shape: 1.0, 1.0, chain=True, replacement=False)
    assert chain.algorithm == sb.TreeSpeculative(chain.branching)  # a chain is drawn i.i.d.
