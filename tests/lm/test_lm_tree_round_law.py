"""One token-tree round on the tiny LM pair, conditional on fixed drafted nodes.

The prompt and the tree's tokens are fixed (a (2, 2) tree: slot 0 the root, slots 1-2 at
depth 1, slots 3-6 at depth 2, siblings distinct; :mod:`lm_tree_case`); the draft law p
and the target law q at every node come from plain forwards of the models over the
node's path (``torch.softmax`` there, not the library's warp). The exact law of (last kept node,
next token) is written out below from SpecInfer's multi-step speculative sampling (the
paper's Algorithm 4 at every node of the walk):

* at a node with law p, children x_1..x_b are tried in order against ``r_1 = q``; child m
  is kept with ``min(1, r_m(x_m) / p_m(x_m))``; after its refusal
  ``r_{m+1} = max(r_m - p_m, 0)`` normalised; ``p_m = p`` for i.i.d. children, and
  without replacement ``p_{m+1}`` is ``p_m`` with ``x_m`` removed, renormalised;
* all refused: the next token is drawn from ``r_{b+1}`` (the round ends at that node);
* a kept leaf: the next token is the bonus, drawn from q at the leaf.

The decoder's verification (``verify_round`` in the node layout, what ``generate``
calls) is sampled N times and compared with that law by a Pearson chi-square at ALPHA =
1e-3. N is chosen (``round_harness.joint_sample_size``, noncentral chi-square) for power
>= 0.99 against the law with every acceptance x 0.98 and the law with residuals built
from 0.9 x p (and, without replacement, against the i.i.d. rule's law); the same test
then rejects the deliberately wrong verifiers: acceptance x 0.98 (``ScaledStart``),
residual from 0.9 p (``ScaledDraftStart``), and i.i.d. residuals applied to children
drawn without replacement.
"""

from __future__ import annotations

import numpy as np
import pytest
from lm_tree_case import (
    CHILDREN,
    PARENT,
    TOKENS,
    TreeSpec,
    cells_of,
    laws,
    node_arrays,
    powered_n,
)

import specbound as sb
from round_harness import assert_law
from round_mutants import ScaledDraftStart, ScaledStart
from specbound.core.batch import RecursiveRejectionRule
from specbound.core.families import TreeFamily
from specbound.lm.verification import verify_round
from stats_helpers import ALPHA, chi_square_pvalue


def _normalised(excess: np.ndarray, fallback: np.ndarray) -> np.ndarray:
    positive = np.maximum(excess, 0.0)
    return fallback.copy() if positive.sum() <= 1e-12 else positive / positive.sum()


def tree_round_law(
    p: np.ndarray,
    q: np.ndarray,
    replacement: bool = True,
    accept_scale: float = 1.0,
    residual_draft_scale: float = 1.0,
) -> np.ndarray:
    """P(last kept slot = s, next token = y): (7, V), the rule in the module docstring."""
    V = p.shape[-1]
    law = np.zeros((1 + len(TOKENS), V))

    def visit(slot: int, reach: float) -> None:
        if slot not in CHILDREN:  # a kept leaf: the bonus token
            law[slot] += reach * q[slot]
            return
        r, pm = q[slot].copy(), p[slot].copy()
        for child in CHILDREN[slot]:
            x = TOKENS[child]
            b = accept_scale * min(1.0, r[x] / pm[x]) if pm[x] > 0 else 0.0
            visit(child, reach * b)
            reach *= 1.0 - b
            r = _normalised(r - residual_draft_scale * pm, r)
            if not replacement:
                pm = pm.copy()
                pm[x] = 0.0
                pm = pm / pm.sum()
        law[slot] += reach * r

    visit(0, 1.0)
    return law


def test_iid_tree_round_follows_its_exact_law(tiny_pair) -> None:  # type: ignore[no-untyped-def]
    p, q = laws(tiny_pair)
    law = tree_round_law(p, q)
    assert law.sum() == pytest.approx(1.0, abs=1e-12)
    n = powered_n(
        law, tree_round_law(p, q, accept_scale=0.98), tree_round_law(p, q, residual_draft_scale=0.9)
    )
    tree = sb.TreeSpeculative((2, 2))
    assert_law(lambda size, rng: cells_of(tree, p, q, size, rng), law, n, seed=4)
    for wrong in (ScaledStart, ScaledDraftStart):
        mutant = TreeSpec(TreeFamily((wrong(2), wrong(2))))
        cells = cells_of(mutant, p, q, n, np.random.default_rng(4))
        assert chi_square_pvalue(cells, law.ravel()) < ALPHA, wrong.__name__


def test_tree_round_without_replacement_follows_its_exact_law(tiny_pair) -> None:  # type: ignore[no-untyped-def]
    p, q = laws(tiny_pair)
    law = tree_round_law(p, q, replacement=False)
    assert law.sum() == pytest.approx(1.0, abs=1e-12)
    iid = tree_round_law(p, q, replacement=True)
    n = powered_n(law, tree_round_law(p, q, False, accept_scale=0.98), iid)
    tree = sb.TreeSpeculative((2, 2), replacement=False)
    assert_law(lambda size, rng: cells_of(tree, p, q, size, rng), law, n, seed=5)
    # the bug Sequoia warns of: children drawn without replacement, residuals as if i.i.d.
    mutant = TreeSpec(TreeFamily((RecursiveRejectionRule(2), RecursiveRejectionRule(2))))
    cells = cells_of(mutant, p, q, n, np.random.default_rng(5))
    assert chi_square_pvalue(cells, law.ravel()) < ALPHA


def test_path_layout_and_node_layout_verify_alike(tiny_pair) -> None:  # type: ignore[no-untyped-def]
    """The family's path layout (4 root-to-leaf rows, shared prefixes repeated) gives the
    node layout's verdicts draw for draw."""
    p, q = laws(tiny_pair)
    draft, target, tokens = node_arrays(p, q)
    leaves = [3, 4, 5, 6]
    rows = np.array([[PARENT[leaf], leaf] for leaf in leaves])  # (4, 2) slots per path
    path_tokens = np.array([[TOKENS[s] for s in r] for r in rows])
    path_draft = np.stack([[p[0], p[r[0]]] for r in rows])  # (4, 2, V)
    path_target = np.stack([[q[0], q[r[0]], q[r[1]]] for r in rows])  # (4, 3, V)
    tree = sb.TreeSpeculative((2, 2))
    a, b = np.random.default_rng(9), np.random.default_rng(9)
    for _ in range(200):
        node = verify_round(tree, draft, target, tokens, a)
        paths = verify_round(tree, path_draft, path_target, path_tokens, b)
        assert node == paths
