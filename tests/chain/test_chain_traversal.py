"""Traversal verification of token trees (Weng et al. 2025) on Markov chains.

* **Lossless by brute force**: the law of the whole output sequence, computed here by
  enumerating every draft tree of every round (``S^nodes`` trees) and, per tree, the
  verifier's post-order tests written out below (not the library's), equals the target
  chain's law (``prod_n q_n(x_{n+1} | x_n)``, computed here) to 1e-12; the library's own
  enumeration (``sequence_law``) agrees with both.
* **A chain is block verification**: ``(1,) * D`` has the exact values of
  ``BlockSpeculative(gamma=D)`` to 1e-12.
* **Exact = Monte Carlo**: on 24 random (chain, tree) cases the simulator's means of
  rejections, target calls and draft calls (20 000 runs) lie inside the 99.9% interval
  (z = 3.29) of the exact values; the reference simulator (the paper's recursive walk,
  one run at a time) agrees on 4 cases.
* **Traversal >= recursive**: expected target calls of traversal <= recursive's (i.e. its
  tokens per call >=) on 40 random cases. On a chain this is a theorem (block
  verification is optimal among verifiers of one draft block, Sun et al. 2024, and a chain
  tree's recursive verifier is SD); on trees the traversal paper proves losslessness and
  chain optimality only, so here it is a checked observation, not a theorem.
* **One round's law** (conditional test, significance ``ALPHA`` = 1e-3): the first two
  tokens a round outputs (extended by the target when it outputs one) follow
  ``q_0(x1 | s) q_1(x2 | x1)`` by a chi-square test on 40 000 rounds of the core rule; the
  test's power against the negative control (a rule that refuses a child without
  updating the parent's law) is computed from that mutant's exact law (noncentral
  chi-square) and is > 0.99 (that mutant's law of (x1, x2) is 0.19 from the target's in
  TV: a gross error; the one-round test is a smoke test of the sampler, the enumeration
  above the exact check), and the control is rejected.
"""

from __future__ import annotations

import itertools
import json
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
from scipy import stats

import specbound as sb
from specbound.chain import load_chains
from specbound.chain.reference import simulate_reference
from specbound.chain.sequences import sequence_law
from specbound.chain.traversal_theory import traversal_outcomes
from specbound.cli import app
from specbound.cli.common import run_app
from specbound.core.traversal import TraversalVerificationRule, TreeLayout
from specbound.errors import InvalidAlgorithmError, InvalidInputError
from specbound.sweep.grid import algorithm_settings
from stats_helpers import ALPHA, chi_square_pvalue

Z999 = 3.29  # two-sided 99.9%


# --- brute force, written here -------------------------------------------------------


def _tree_outcomes(
    layout: TreeLayout, tokens: list[int], p: list[np.ndarray], q: list[np.ndarray]
) -> list[tuple[int, float, np.ndarray]]:
    """Per kept node of one fixed tree: (node, probability, law of the next token).

    The rule, written out: weights w_root = 1, a child x of u gets min(w_u Q_u(x)/p_u(x),
    1) when its subtree is reached; nodes are tested in post-order, kept with prob w; a
    refused child's parent u gets Z = sum [w_u Q_u - p_u]_+, Q_u <- [w_u Q_u - p_u]_+ / Z,
    w_u <- Z / (Z + 1 - w_u). Along "all refused so far" every update is deterministic,
    so P(node v kept) = w_v * prod over earlier tested nodes of (1 - w)."""
    w = {0: 1.0}
    law = {0: q[0].copy()}
    out, alive = [], 1.0

    def enter(v: int) -> None:
        u = layout.parent[v]
        x = tokens[v]
        w[v] = min(w[u] * law[u][x] / p[u][x], 1.0) if w[u] > 0 else 0.0
        law[v] = q[v].copy()

    def visit(u: int) -> None:
        nonlocal alive
        for v in layout.children[u]:
            enter(v)
            visit(v)
            out.append((v, alive * w[v], law[v]))
            alive *= 1.0 - w[v]
            excess = np.maximum(w[u] * law[u] - p[u], 0.0)
            z = excess.sum()
            new_w = 1.0 if w[u] >= 1.0 else z / (z + 1.0 - w[u])
            law[u] = excess / z if z > 1e-300 else law[u]
            w[u] = new_w

    visit(0)
    out.append((0, alive, law[0]))  # the root: w stays 1
    return out


def _brute_force_law(draft: sb.MarkovChain, target: sb.MarkovChain, branching: tuple) -> Any:
    """The output law (S,)*T, every tree of every round enumerated."""
    T, S = draft.horizon, draft.num_states
    law: dict[tuple[int, ...], float] = {}
    stack: list[tuple[tuple[int, ...], float]] = [((), 1.0)]
    while stack:
        prefix, mass = stack.pop()
        n = len(prefix)
        if n == T:
            law[prefix] = law.get(prefix, 0.0) + mass
            continue
        state = prefix[-1] if prefix else draft.start
        k = min(len(branching), T - n)
        layout = TreeLayout(branching[:k])
        for drawn in itertools.product(range(S), repeat=layout.size - 1):
            tokens = [state, *drawn]
            prob = 1.0
            for v in range(1, layout.size):
                u = layout.parent[v]
                prob *= draft.transitions[n + layout.depth[u]][tokens[u], tokens[v]]
            if prob == 0:
                continue
            p = [
                draft.transitions[n + d][t] if n + d < T else None
                for d, t in zip(layout.depth, tokens, strict=True)
            ]
            q = [
                target.transitions[n + d][t] if n + d < T else np.zeros(S)
                for d, t in zip(layout.depth, tokens, strict=True)
            ]
            for node, kept, nxt in _tree_outcomes(layout, tokens, p, q):  # type: ignore[arg-type]
                path = tuple(tokens[v] for v in layout.path(node))
                if n + len(path) == T:
                    stack.append(((*prefix, *path), mass * prob * kept))
                    continue
                for y in range(S):
                    if nxt[y] > 0:
                        stack.append(((*prefix, *path, y), mass * prob * kept * nxt[y]))
    out = np.zeros((S,) * T)
    for seq, m in law.items():
        out[seq] += m
    return out


def _target_law(target: sb.MarkovChain) -> np.ndarray:
    T, S = target.horizon, target.num_states
    out = np.zeros((S,) * T)
    for seq in itertools.product(range(S), repeat=T):
        prob, prev = 1.0, target.start
        for n, x in enumerate(seq):
            prob *= target.transitions[n][prev, x]
            prev = x
        out[seq] = prob
    return out


@pytest.mark.parametrize(
    ("branching", "T", "S"),
    [((2, 1), 3, 2), ((1, 2), 3, 2), ((2, 2), 3, 2), ((1, 1, 1), 4, 2), ((3,), 3, 3)],
)
@pytest.mark.parametrize("seed", [0, 1])
def test_lossless_by_brute_force(branching: tuple, T: int, S: int, seed: int) -> None:
    draft, target = sb.chain.random_pair(T, S, 0.7, seed)
    expected = _target_law(target)
    assert np.abs(_brute_force_law(draft, target, branching) - expected).max() < 1e-12
    tree = sb.TreeSpeculative(branching, verifier="traversal")
    assert np.abs(sequence_law(draft, target, tree) - expected).max() < 1e-12


@pytest.mark.parametrize("depth", [1, 2, 3, 4])
def test_a_chain_is_block_verification(depth: int) -> None:
    draft, target = sb.chain.random_pair(6, 3, 0.6, depth)
    tree = sb.theory.analyse(draft, target, sb.TreeSpeculative((1,) * depth, verifier="traversal"))
    block = sb.theory.analyse(draft, target, sb.BlockSpeculative(gamma=depth))
    assert tree.rejections == pytest.approx(block.rejections, abs=1e-12)
    assert tree.target_calls == pytest.approx(block.target_calls, abs=1e-12)
    assert tree.draft_calls == pytest.approx(block.draft_calls, abs=1e-12)


# --- Monte Carlo ---------------------------------------------------------------------


def _random_case(seed: int) -> tuple[sb.MarkovChain, sb.MarkovChain, sb.TreeSpeculative]:
    rng = np.random.default_rng(2000 + seed)
    T, S = int(rng.integers(3, 7)), int(rng.integers(2, 5))
    depth = int(rng.integers(1, 4))
    branching = tuple(int(b) for b in rng.integers(1, 4, size=depth))
    draft, target = sb.chain.random_pair(T, S, float(rng.uniform(0.3, 0.9)), seed)
    return draft, target, sb.TreeSpeculative(branching, verifier="traversal")


def _agrees(result: Any, theory: Any) -> bool:
    ok = True
    for sample, exact in (
        (result.rejections, theory.rejections),
        (result.target_calls, theory.target_calls),
        (result.draft_calls, theory.draft_calls),
    ):
        se = sample.std(ddof=1) / np.sqrt(sample.size)
        ok &= abs(sample.mean() - exact) <= Z999 * se + 1e-9
    return bool(ok)


@pytest.mark.parametrize("seed", range(24))
def test_monte_carlo_agrees_with_the_exact_theory(seed: int) -> None:
    draft, target, tree = _random_case(seed)
    theory = sb.theory.analyse(draft, target, tree)
    result = sb.simulate(draft, target, tree, n_runs=20_000, seed=seed)
    assert _agrees(result, theory), tree.label


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_the_reference_walk_agrees(seed: int) -> None:
    draft, target, tree = _random_case(seed)
    theory = sb.theory.analyse(draft, target, tree)
    result = simulate_reference(draft, target, tree, n_runs=3_000, seed=seed)
    assert _agrees(result, theory), tree.label


@pytest.mark.parametrize("seed", range(40))
def test_traversal_needs_no_more_calls_than_recursive(seed: int) -> None:
    draft, target, tree = _random_case(seed)
    recursive = sb.TreeSpeculative(tree.branching)
    ours = sb.theory.expected_target_calls(draft, target, tree)
    theirs = sb.theory.expected_target_calls(draft, target, recursive)
    assert ours <= theirs + 1e-12, tree.label


# --- one round, conditional ------------------------------------------------------------


class _LawKeptOnRefusal(TraversalVerificationRule):
    """Negative control: a refused child updates the parent's weight but not its law."""

    def refuse_child(self, weight: Any, law: Any, draft_law: Any) -> tuple[Any, Any]:
        return super().refuse_child(weight, law, draft_law)[0], law


ROUND_RUNS = 40_000
BRANCHING = (2, 2)


def _round_pair() -> tuple[sb.MarkovChain, sb.MarkovChain]:
    return sb.chain.random_pair(3, 4, 0.8, 7)


def _first_two(rule: TraversalVerificationRule, seed: int) -> np.ndarray:
    """The first two output tokens of ROUND_RUNS rounds at position 0 (the tree drawn
    here, judged by ``rule.verify``), as indices x1 * S + x2."""
    draft, target = _round_pair()
    S, rng = draft.num_states, np.random.default_rng(seed)
    layout = TreeLayout(BRANCHING)
    tokens = np.zeros((ROUND_RUNS, layout.size), dtype=np.int64)
    tokens[:, 0] = draft.start
    p_rows = np.zeros((ROUND_RUNS, layout.size, S))
    q_rows = np.zeros((ROUND_RUNS, layout.size, S))
    for v in range(layout.size):
        d = layout.depth[v]
        if v:
            rows = draft.transitions[d - 1][tokens[:, layout.parent[v]]]
            tokens[:, v] = (rng.random(ROUND_RUNS)[:, None] > rows.cumsum(1)).sum(1)
        p_rows[:, v] = draft.transitions[d][tokens[:, v]]
        q_rows[:, v] = target.transitions[d][tokens[:, v]]
    out = rule.verify(layout, p_rows, q_rows, tokens, rng, bonus=True)
    depth = np.asarray(layout.depth)[out.node]
    first = np.where(
        depth >= 1,
        tokens[np.arange(ROUND_RUNS), np.where(depth >= 1, _ancestor(layout, out.node), 0)],
        out.token,
    )
    second = np.where(depth >= 2, tokens[np.arange(ROUND_RUNS), out.node], out.token)
    extend = depth == 0  # one token out: the target's next step fills x2
    cdf = target.transitions[1][first[extend]].cumsum(1)
    second[extend] = (rng.random(int(extend.sum()))[:, None] > cdf).sum(1)
    return first * S + second


def _ancestor(layout: TreeLayout, nodes: np.ndarray) -> np.ndarray:
    """The depth-1 node on each node's path (0 for the root)."""
    table = np.array([layout.path(v)[0] if v else 0 for v in range(layout.size)])
    return table[nodes]


def _expected_pairs() -> np.ndarray:
    draft, target = _round_pair()
    q0 = target.transitions[0][draft.start]
    return (q0[:, None] * target.transitions[1]).ravel()  # q_0(x1 | s) q_1(x2 | x1)


def _pairs_law(rule: TraversalVerificationRule) -> np.ndarray:
    """The exact law of (x1, x2) under ``rule``, from the round's exact outcomes."""
    draft, target = _round_pair()
    S = draft.num_states
    o = traversal_outcomes(draft, target, rule, BRANCHING, 0, 2)
    s = draft.start
    law = np.zeros((S, S))
    law += o.recovered[0][s, 0][:, None] * target.transitions[1]  # y, then the target
    law += o.recovered[1][s]  # (x1, y)
    assert o.bonus is not None
    law += o.bonus[s].reshape(S, S, S).sum(axis=2)  # (x1, x2) kept, bonus after
    return law.ravel()


def test_one_round_law_is_the_targets() -> None:
    expected = _expected_pairs()
    assert np.abs(_pairs_law(TraversalVerificationRule()) - expected).max() < 1e-12
    assert chi_square_pvalue(_first_two(TraversalVerificationRule(), 11), expected) > ALPHA


def test_one_round_negative_control_has_power_and_is_rejected() -> None:
    expected = _expected_pairs()
    wrong = _pairs_law(_LawKeptOnRefusal())
    cells = expected.size
    lam = ROUND_RUNS * float(((wrong - expected) ** 2 / expected).sum())  # noncentrality
    critical = stats.chi2.ppf(1 - ALPHA, cells - 1)
    power = float(stats.ncx2.sf(critical, cells - 1, lam))
    assert power > 0.99, power
    assert chi_square_pvalue(_first_two(_LawKeptOnRefusal(), 11), expected) < ALPHA


# --- errors ------------------------------------------------------------------------------


def test_traversal_refuses_drafts_without_replacement() -> None:
    with pytest.raises(InvalidAlgorithmError, match=r"i\.i\.d\."):
        sb.TreeSpeculative((2, 2), verifier="traversal", replacement=False)


def test_the_exact_theory_names_its_size_limit() -> None:
    draft, target = sb.chain.random_pair(8, 6, 0.5, 0)
    with pytest.raises(InvalidInputError, match="traversal verification's exact theory"):
        sb.theory.analyse(draft, target, sb.TreeSpeculative((4, 4, 2, 2, 2), verifier="traversal"))


def test_language_models_decode_traversal_and_replacement_false_is_refused() -> None:
    """The family decodes language models (``tests/lm/test_lm_tree_traversal.py``); its
    losslessness needs i.i.d. children, so ``replacement=False`` is refused by name."""
    sb.TreeSpeculative((2, 2), verifier="traversal").family.check_decoder()  # no error
    with pytest.raises(InvalidAlgorithmError, match="replacement"):
        sb.TreeSpeculative((2, 2), verifier="traversal", replacement=False)


# --- the command line --------------------------------------------------------------------


def test_the_cli_runs_traversal_on_a_chain(tmp_path: Any, capsys: Any) -> None:
    path = tmp_path / "c.json"
    assert run_app(app, ["chain", "random", "--T", "8", "--S", "3", "-o", str(path)]) == 0
    capsys.readouterr()
    args = ["theory", str(path), "-a", "tree", "--tree", "4,2,1", "--verifier", "traversal"]
    assert run_app(app, [*args, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    draft, target = load_chains(path)
    tree = sb.TreeSpeculative((4, 2, 1), verifier="traversal")
    assert data["target_calls"] == pytest.approx(
        sb.theory.expected_target_calls(draft, target, tree), abs=1e-12
    )
    assert run_app(app, ["theory", str(path), "-a", "batch", "--verifier", "traversal"]) == 2
    assert "TreeSpeculative" in capsys.readouterr().err


def test_a_sweep_grid_crosses_traversal_with_trees_only() -> None:
    grid = SimpleNamespace(
        algorithms=("batch", "tree"),
        gamma=(None,),
        M=(2,),
        eps=(0.1,),
        verifier=("recursive", "traversal"),
        tree=((2, 1),),
        children=("iid",),
    )
    settings = list(algorithm_settings(grid))  # type: ignore[arg-type]
    pairs = {(s["algorithm"], s["verifier"]) for s in settings}
    assert pairs == {("batch", "recursive"), ("tree", "recursive"), ("tree", "traversal")}
