"""Token trees on Markov chains: exact theory, enumeration, Monte Carlo and a reference.

* A chain tree ``(1,)*D`` is SD with gamma D, a star ``(M, 1, ...)`` is batch SD: the
  exact expected rejections, target calls and draft calls agree to 1e-12.
* Every verifier (recursive with and without replacement, optimal) is lossless: the law of
  the output sequence, by enumeration of all ``S**T`` sequences, equals the target chain's
  to 1e-12.
* The split law of one node is checked against an enumeration written here (the
  verifier's steps over every ordered child tuple), not the library's.
* Monte Carlo (``sb.simulate``, 20 000 runs) agrees with the exact expectations inside the
  99.9% interval (z = 3.29) on 24 random (chain, tree) cases. Power: the standard error of
  the mean rejections is at most ~0.007 here, so a bias of 0.035 rejections per run (4.6
  standard errors) is caught with probability > 0.9. Negative control: a tree whose nodes
  never update the residual after a refused child (every child tried against q) fails
  the same check.
* The reference simulator draws every node of the tree first (as a decoder does) and
  walks the accepted path; it agrees with the exact values too.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest

import specbound as sb
from specbound.chain.reference import simulate_reference
from specbound.chain.sequences import sequence_law
from specbound.core.batch import RecursiveRejectionRule
from specbound.core.families import TreeFamily, VerificationFamily
from specbound.core.without_replacement import RecursiveWithoutReplacementRule
from specbound.errors import InvalidAlgorithmError, ResourceLimitError

Z999 = 3.29  # two-sided 99.9%


def _pair(seed: int, T: int = 4, S: int = 3) -> tuple[sb.MarkovChain, sb.MarkovChain]:
    return sb.chain.random_pair(T, S, 0.6, seed)


@pytest.mark.parametrize("depth", [1, 2, 3, 5])
def test_a_chain_tree_is_sd(depth: int) -> None:
    draft, target = _pair(depth, T=6)
    tree = sb.theory.analyse(draft, target, sb.TreeSpeculative((1,) * depth))
    sd = sb.theory.analyse(draft, target, sb.Speculative(gamma=depth))
    assert tree.rejections == pytest.approx(sd.rejections, abs=1e-12)
    assert tree.target_calls == pytest.approx(sd.target_calls, abs=1e-12)
    assert tree.draft_calls == pytest.approx(sd.draft_calls, abs=1e-12)


@pytest.mark.parametrize(
    ("M", "depth", "verifier"),
    [(2, 1, "recursive"), (3, 3, "recursive"), (2, 2, "optimal"), (4, 2, "recursive")],
)
def test_a_star_is_batch_sd(M: int, depth: int, verifier: str) -> None:
    draft, target = _pair(M + depth, T=5)
    tree = sb.TreeSpeculative((M,) + (1,) * (depth - 1), verifier=verifier)  # type: ignore[arg-type]
    batch = sb.BatchSpeculative(num_drafts=M, gamma=depth, verifier=verifier)  # type: ignore[arg-type]
    a, b = sb.theory.analyse(draft, target, tree), sb.theory.analyse(draft, target, batch)
    assert a.rejections == pytest.approx(b.rejections, abs=1e-12)
    assert a.target_calls == pytest.approx(b.target_calls, abs=1e-12)
    assert a.draft_calls == pytest.approx(b.draft_calls, abs=1e-12)


TREES = [
    sb.TreeSpeculative((2, 2)),
    sb.TreeSpeculative((3, 1, 2)),
    sb.TreeSpeculative((2, 3), replacement=False),
    sb.TreeSpeculative((3, 2), replacement=False),
    sb.TreeSpeculative((2, 2), verifier="optimal"),
    sb.TreeSpeculative((1, 3), verifier="optimal"),
]


@pytest.mark.parametrize("tree", TREES, ids=lambda t: t.label)
@pytest.mark.parametrize("seed", [0, 1])
def test_every_verifier_is_lossless_by_enumeration(tree: sb.TreeSpeculative, seed: int) -> None:
    draft, target = _pair(seed, T=4, S=3)
    law = sequence_law(draft, target, tree)
    assert np.abs(law - target.sequence_probs()).max() < 1e-12


def _node_split_by_hand(p: np.ndarray, q: np.ndarray, M: int, replacement: bool) -> tuple:
    """The node's (accepted, rejected) laws, enumerating the verifier's steps: children
    tried in order, child m accepted with min(1, r_m(x)/p_m(x)); after a refusal
    r <- [r - p_m]_+ normalised and (without replacement) x removed from p_m."""
    V = len(p)
    accepted, rejected = np.zeros(V), np.zeros(V)

    def walk(reach: float, r: np.ndarray, law: np.ndarray, m: int) -> None:
        if m == M or law.sum() <= 0:
            rejected[:] += reach * r
            return
        for x in range(V):
            if law[x] <= 0:
                continue
            a = min(1.0, r[x] / law[x])
            accepted[x] += reach * law[x] * a
            excess = np.maximum(r - law, 0.0)
            following = excess / excess.sum() if excess.sum() > 1e-15 else r
            nxt = law.copy()
            if not replacement:
                nxt[x] = 0.0
                nxt = nxt / nxt.sum() if nxt.sum() > 0 else nxt
            walk(reach * law[x] * (1 - a), following, nxt, m + 1)

    walk(1.0, q.copy(), p.copy(), 0)
    return accepted, rejected


@pytest.mark.parametrize("replacement", [True, False])
@pytest.mark.parametrize("M", [1, 2, 3])
def test_node_split_against_a_hand_enumeration(M: int, replacement: bool) -> None:
    rng = np.random.default_rng(M)
    rule = RecursiveRejectionRule(M) if replacement else RecursiveWithoutReplacementRule(M)
    for _ in range(5):
        p, q = rng.dirichlet(np.ones(4)), rng.dirichlet(np.ones(4))
        accepted, rejected = _node_split_by_hand(p, q, M, replacement)
        split = rule.split(p, q)
        assert np.abs(split.accepted - accepted).max() < 1e-12
        assert np.abs(split.rejected - rejected).max() < 1e-12


def _random_case(seed: int) -> tuple[sb.MarkovChain, sb.MarkovChain, sb.TreeSpeculative]:
    rng = np.random.default_rng(1000 + seed)
    T, S = int(rng.integers(3, 7)), int(rng.integers(2, 5))
    depth = int(rng.integers(1, 4))
    branching = tuple(int(b) for b in rng.integers(1, 4, size=depth))
    verifier = "optimal" if seed % 4 == 3 else "recursive"
    replacement = verifier == "optimal" or bool(seed % 2)
    draft, target = sb.chain.random_pair(T, S, float(rng.uniform(0.3, 0.9)), seed)
    tree = sb.TreeSpeculative(branching, verifier=verifier, replacement=replacement)  # type: ignore[arg-type]
    return draft, target, tree


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
def test_the_reference_draws_the_whole_tree_and_agrees(seed: int) -> None:
    draft, target, tree = _random_case(seed)
    theory = sb.theory.analyse(draft, target, tree)
    result = simulate_reference(draft, target, tree, n_runs=4_000, seed=seed)
    assert _agrees(result, theory), tree.label


class _NoResidualUpdate(RecursiveRejectionRule):
    """The bug: every child is tried against q (the residual never shrinks)."""

    def residuals(self, draft: np.ndarray, target: np.ndarray) -> np.ndarray:
        return np.repeat(target[..., None, :], self.num_drafts + 1, axis=-2)


@dataclass(frozen=True)
class _WrongTree:
    """A spec whose tree nodes use :class:`_NoResidualUpdate` (the simulator asks its
    family; the exact values come from the correct spec)."""

    gamma: int = 2
    unbiased: bool = True
    name: str = "tree"

    @property
    def family(self) -> VerificationFamily:
        return TreeFamily((_NoResidualUpdate(3), _NoResidualUpdate(3)))


def test_negative_control_is_caught() -> None:
    draft, target = sb.chain.random_pair(5, 3, 0.8, 4)
    theory = sb.theory.analyse(draft, target, sb.TreeSpeculative((3, 3)))
    good = sb.simulate(draft, target, sb.TreeSpeculative((3, 3)), n_runs=20_000, seed=0)
    wrong = sb.simulate(draft, target, _WrongTree(), n_runs=20_000, seed=0)
    assert _agrees(good, theory)
    assert not _agrees(wrong, theory)


def test_tree_specs_are_validated() -> None:
    with pytest.raises(InvalidAlgorithmError, match="branching"):
        sb.TreeSpeculative(())
    with pytest.raises(InvalidAlgorithmError, match="integers >= 1"):
        sb.TreeSpeculative((2, 0))
    with pytest.raises(InvalidAlgorithmError, match="verifier"):
        sb.TreeSpeculative((2,), verifier="leafwise")  # type: ignore[arg-type]
    with pytest.raises(InvalidAlgorithmError, match="replacement=False"):
        sb.TreeSpeculative((2,), verifier="optimal", replacement=False)
    assert sb.TreeSpeculative([4, 2, 1]).branching == (4, 2, 1)  # type: ignore[arg-type]
    assert sb.TreeSpeculative((4, 2, 1)).gamma == 3


def test_without_replacement_size_limit_is_named() -> None:
    draft, target = sb.chain.random_pair(3, 40, 0.5, 0)
    with pytest.raises(ResourceLimitError, match="V\\^M = 40\\^4"):
        sb.theory.analyse(draft, target, sb.TreeSpeculative((4,), replacement=False))


def test_the_optimal_tree_verifier_refuses_a_large_vocabulary_before_any_work() -> None:
    """Trees decode language models now; the optimal coupling's sampler still refuses a
    vocabulary it cannot enumerate, by name, before any work."""
    sb.TreeSpeculative((2, 1)).family.check_decoder()  # no refusal
    with pytest.raises(InvalidAlgorithmError, match="optimal verifier"):
        sb.TreeSpeculative((2, 1), verifier="optimal").family.check_vocabulary(4096)
