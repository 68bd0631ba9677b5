"""Token trees on Markov chains: exact theory, the best tree under a node budget.

A token tree (SpecInfer, Sequoia; :mod:`specbound.core.families.tree`) drafts several
children per node and verifies the accepted path node by node with a multi-draft rule
(p = draft, q = target). Its exact theory is a recursion over (depth of the accepted node,
state); this section checks it the way the rest of the report checks the paper:

(a) a chain tree ``(1,)*D`` is SD with gamma D and a star ``(M, 1, ...)`` is batch SD, to
    1e-12, and traversal on a chain is block verification; every verifier (recursive,
    recursive without replacement, optimal, traversal) outputs
    the target's law, by enumeration of every output sequence;
(b) Monte Carlo agrees with the exact values on random (chain, tree) cases;
(c) traversal verification (Weng et al. 2025: leaves first, whole paths; block
    verification on a chain) needs no more target calls than the recursive verifier on
    the best tree of every budget — checked, since the traversal paper proves it on
    chains only;
(d) at every node budget (nodes scored per target call) the best tree — searched over
    every shape of depth <= 4 — yields at least as many tokens per target call as the
    best chain, exactly and simulated. On a CPU scoring more nodes costs more; whether a
    tree pays on a machine is the profile's question, not this section's.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from specbound.algorithms import (
    BatchSpeculative,
    BlockSpeculative,
    Speculative,
    TreeSpeculative,
)
from specbound.chain import random_pair, simulate
from specbound.chain.recursion import analyse
from specbound.chain.sequences import sequence_law
from specbound.core.families.shapes import node_count, shapes_within
from specbound.estimates import Estimate, derive_seed
from specbound.experiments import plotting
from specbound.experiments.base import Experiment, Progress, Steps
from specbound.experiments.common import ChainSpec
from specbound.experiments.trees_claims import claims, describe

__all__ = ["EXPERIMENT", "TreesConfig", "best_shapes"]


@dataclass(frozen=True)
class TreesConfig:
    """What the section computes (see the module docstring)."""

    seed: int
    chain: ChainSpec
    budgets: tuple[int, ...] = (1, 2, 3, 4, 6, 8, 10, 12)
    max_depth: int = 4
    runs: int = 20_000
    random_cases: int = 20


def make_config(quick: bool, seed: int) -> TreesConfig:
    chain = ChainSpec(num_states=6, horizon=40, mix=0.6, concentration=1.0, seed=seed)
    if quick:
        return TreesConfig(seed, chain, budgets=(1, 2, 4, 6, 8), runs=2_000, random_cases=8)
    return TreesConfig(seed, chain)


def _tokens_per_call(draft: Any, target: Any, spec: Any) -> float:
    return draft.horizon / analyse(draft, target, spec).target_calls


def best_shapes(
    draft: Any, target: Any, budgets: tuple[int, ...], max_depth: int
) -> dict[str, list[list[int]]]:
    """Per node budget, the shape with the most exact tokens per target call: among all
    trees, and among chains (ties: the first in :func:`shapes_within`'s order)."""
    values = {
        s: _tokens_per_call(draft, target, TreeSpeculative(s))
        for s in shapes_within(max(budgets), max_depth)
    }
    best: dict[str, list[list[int]]] = {"tree": [], "chain": []}
    for budget in budgets:
        fits = [shape for shape in values if node_count(shape) <= budget]
        chains = [shape for shape in fits if set(shape) == {1}]
        best_tree: tuple[int, ...] = max(fits, key=values.__getitem__)
        best_chain: tuple[int, ...] = max(chains, key=values.__getitem__)
        best["tree"].append(list(best_tree))
        best["chain"].append(list(best_chain))
    return best


def _measured(draft: Any, target: Any, spec: Any, runs: int, seed: int) -> dict[str, float]:
    result = simulate(draft, target, spec, n_runs=runs, seed=seed)
    calls = Estimate.from_samples(result.target_calls)
    return {"mean": calls.mean, "se": calls.se}


def _budget_study(config: TreesConfig, steps: Steps) -> dict[str, Any]:
    draft, target = config.chain.draw()
    best = best_shapes(draft, target, config.budgets, config.max_depth)
    out: dict[str, Any] = {"T": draft.horizon, "budgets": list(config.budgets), **best}
    for kind in ("tree", "chain"):
        exact, measured = [], []
        for i, shape in enumerate(best[kind]):
            spec = TreeSpeculative(tuple(shape))
            exact.append(analyse(draft, target, spec).target_calls)
            seed = derive_seed(config.seed, "trees", kind, i)
            measured.append(_measured(draft, target, spec, config.runs, seed))
        out[f"{kind}_exact_calls"], out[f"{kind}_measured_calls"] = exact, measured
        steps.advance()
    optimal = [TreeSpeculative(tuple(s), verifier="optimal") for s in best["tree"]]
    out["tree_optimal_calls"] = [analyse(draft, target, s).target_calls for s in optimal]
    traversal = [TreeSpeculative(tuple(s), verifier="traversal") for s in best["tree"]]
    out["tree_traversal_calls"] = [analyse(draft, target, s).target_calls for s in traversal]
    return out


def _special_cases(config: TreesConfig) -> dict[str, float]:
    """Largest gaps: chain tree vs SD, star vs batch SD (calls and rejections)."""
    draft, target = config.chain.draw()
    gaps = []
    for depth in range(1, config.max_depth + 1):
        pairs: list[tuple[TreeSpeculative, Speculative | BatchSpeculative | BlockSpeculative]] = [
            (TreeSpeculative((1,) * depth), Speculative(gamma=depth))
        ]
        pairs += [
            (TreeSpeculative((m,) + (1,) * (depth - 1)), BatchSpeculative(m, gamma=depth))
            for m in (2, 3)
        ]
        chain = TreeSpeculative((1,) * depth, verifier="traversal")
        pairs.append((chain, BlockSpeculative(gamma=depth)))  # traversal on a chain: block
        for tree, flat in pairs:
            a, b = analyse(draft, target, tree), analyse(draft, target, flat)
            gaps.append(max(abs(a.rejections - b.rejections), abs(a.target_calls - b.target_calls)))
    lossless = []
    for i, tree in enumerate(
        (
            TreeSpeculative((2, 2)),
            TreeSpeculative((3, 1), replacement=False),
            TreeSpeculative((2, 2), verifier="optimal"),
            TreeSpeculative((2, 2), verifier="traversal"),
        )
    ):
        small_draft, small_target = random_pair(4, 3, 0.6, derive_seed(config.seed, "trees", i))
        law = sequence_law(small_draft, small_target, tree)
        lossless.append(float(np.abs(law - small_target.sequence_probs()).max()))
    return {"special_gap": float(max(gaps)), "lossless_gap": float(max(lossless))}


def _random_cases(config: TreesConfig, steps: Steps) -> list[dict[str, Any]]:
    cases = []
    for i in range(config.random_cases):
        rng = np.random.default_rng(derive_seed(config.seed, "trees", "case", i))
        T, S = int(rng.integers(4, 9)), int(rng.integers(2, 5))
        shape = tuple(int(b) for b in rng.integers(1, 4, size=int(rng.integers(1, 4))))
        replacement = bool(i % 3)
        tree = TreeSpeculative(shape, replacement=replacement)
        if i % 3 == 2:  # a third verified by traversal (i.i.d. children)
            tree = TreeSpeculative(shape, verifier="traversal")
        draft, target = random_pair(T, S, float(rng.uniform(0.3, 0.9)), int(rng.integers(1 << 30)))
        case = {
            "T": T,
            "S": S,
            "tree": tree.label,
            "exact": analyse(draft, target, tree).target_calls,
        }
        case["measured"] = _measured(draft, target, tree, config.runs, derive_seed(config.seed, i))
        cases.append(case)
    steps.advance()
    return cases


def compute(config: TreesConfig, progress: Progress) -> dict[str, Any]:
    steps = Steps(3, progress)
    return {
        "chain": asdict(config.chain),
        "budget": _budget_study(config, steps),
        **_special_cases(config),
        "cases": _random_cases(config, steps),
    }


def plot(data: dict[str, Any], fig_dir: Path) -> list[Path]:
    return [plotting.trees_figure(data, fig_dir / "trees.png")]


EXPERIMENT = Experiment(
    name="trees",
    title="Token trees — exact theory and the best tree under a node budget",
    revision=2,
    make_config=make_config,
    compute=compute,
    claims=claims,
    plot=plot,
    describe=describe,
)
