"""The best tree for a pair and a machine: Sequoia's dynamic program under a node budget.

Sequoia (Chen et al. 2024, arXiv 2402.12374, Section 3.2) chooses a tree's shape by a
dynamic program over the positional acceptance model
(:mod:`specbound.profiling.trees`). specbound's trees give every node of a depth the
same number of children, ``(b_1, ..., b_D)``, so the program runs over per-depth
shapes: with ``g(w, n, d)`` the largest expected accepted depth of the levels below a
level of ``w`` nodes that use exactly ``n`` more nodes in exactly ``d`` more levels,

    g(w, 0, 0) = 0,   g(w, n, d) = max_{b >= 1, w b <= n} A(b) (1 + g(w b, n - w b, d - 1)),

(impossible states are -inf), and the best shape of N nodes and depth D has value
``g(1, N, D)``. A round's seconds depend on (N, D) only — one target call scoring
``N + 1`` rows, D draft forwards, verification —, so the predicted wall-clock speed-up
``(1 + g(1, N, D)) / seconds(N, D) * seconds of one autoregressive step`` is maximised
over every (N, D) within the budget. The best chain at the same budget is the same
search restricted to ``b = 1``. The program runs once on the covers of i.i.d. children
and once on those of children drawn without replacement (distinct children: a larger
cover where the draft keeps proposing the same refused token); the better shape wins.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from specbound.algorithms import TreeSpeculative
from specbound.core.families.shapes import node_count
from specbound.errors import InvalidInputError
from specbound.profiling.costs import CostModel
from specbound.profiling.trees import PositionalAcceptance

__all__ = [
    "MAX_TREE_BUDGET",
    "TreeChoice",
    "TreeSearch",
    "best_shapes",
    "best_tree",
    "check_budget",
    "search_calibration",
    "search_trees",
]

#: The largest node budget the search and the profile accept (one target call scores
#: every node: beyond this the call is no longer a decoding step's size on any machine
#: the profile calibrates).
MAX_TREE_BUDGET = 64

#: Seconds of one round of a tree shape (they depend on its nodes N and depth D only).
RoundSeconds = Callable[[tuple[int, ...]], float]


def check_budget(budget: int, name: str = "tree_budget") -> int:
    """``budget`` as an int in 1..:data:`MAX_TREE_BUDGET`, or one clear error naming it."""
    if isinstance(budget, bool) or not isinstance(budget, int):
        raise InvalidInputError(f"{name} must be an integer node budget, got {budget!r}")
    if not 1 <= budget <= MAX_TREE_BUDGET:
        raise InvalidInputError(
            f"{name} must be between 1 and {MAX_TREE_BUDGET} nodes, got {budget} "
            "(one target call scores every node of the tree)"
        )
    return budget


def best_shapes(
    acceptance: PositionalAcceptance, budget: int, max_depth: int, chain: bool = False
) -> dict[tuple[int, int], tuple[float, tuple[int, ...]]]:
    """For every (N, D) with N <= ``budget`` and D <= ``max_depth`` that some shape
    reaches: the largest expected accepted depth and its shape (``chain``: b = 1 only).
    Children per node are limited to ``acceptance.max_children``."""
    budget = check_budget(budget, "budget")
    widest = 1 if chain else acceptance.max_children

    @functools.cache
    def g(width: int, nodes: int, depth: int) -> tuple[float, tuple[int, ...]]:
        if depth == 0:
            return (0.0, ()) if nodes == 0 else (-math.inf, ())
        best: tuple[float, tuple[int, ...]] = (-math.inf, ())
        b = 1
        while b <= widest and width * b <= nodes:
            value, below = g(width * b, nodes - width * b, depth - 1)
            if value > -math.inf:
                candidate = acceptance.cover(b) * (1.0 + value)
                if candidate > best[0]:
                    best = (candidate, (b, *below))
            b += 1
        return best

    out = {}
    for depth in range(1, max_depth + 1):
        for nodes in range(depth, budget + 1):
            value, shape = g(1, nodes, depth)
            if value > -math.inf:
                out[(nodes, depth)] = (value, shape)
    return out


@dataclass(frozen=True)
class TreeChoice:
    """A shape chosen by the search: its predicted tokens per call, round seconds and
    speed-up over autoregressive decoding (steady state, no horizon); ``replacement``
    False: its children are drawn without replacement."""

    branching: tuple[int, ...]
    tokens_per_call: float
    round_seconds: float
    speedup: float
    replacement: bool = True

    @property
    def algorithm(self) -> TreeSpeculative:
        """The tree itself (a chain is drawn i.i.d.: one child per node is the same)."""
        return TreeSpeculative(
            branching=self.branching, replacement=self.replacement or self.is_chain
        )

    @property
    def nodes(self) -> int:
        return node_count(self.branching)

    @property
    def is_chain(self) -> bool:
        return all(b == 1 for b in self.branching)

    def to_dict(self) -> dict[str, Any]:
        return {
            "branching": list(self.branching),
            "replacement": self.replacement or self.is_chain,
            "nodes": self.nodes,
            "tokens_per_call": self.tokens_per_call,
            "round_seconds": self.round_seconds,
            "speedup": self.speedup,
        }


def best_tree(
    acceptance: PositionalAcceptance,
    budget: int,
    max_depth: int,
    round_seconds: RoundSeconds,
    step_seconds: float,
    chain: bool = False,
    replacement: bool = True,
) -> TreeChoice:
    """The shape within ``budget`` nodes and ``max_depth`` levels of the best predicted
    speed-up ``tokens per call / round_seconds(shape) * step_seconds`` (``chain``: the
    best chain; ``replacement``: what ``acceptance`` describes, recorded in the choice)."""
    best: TreeChoice | None = None
    for value, shape in best_shapes(acceptance, budget, max_depth, chain).values():
        seconds = round_seconds(shape)
        tokens = 1.0 + value
        speedup = tokens / seconds * step_seconds if seconds > 0 else math.inf
        if best is None or speedup > best.speedup:
            best = TreeChoice(shape, tokens, seconds, speedup, replacement)
    if best is None:
        raise InvalidInputError(f"no tree shape fits budget={budget} and depth {max_depth}")
    return best


@dataclass(frozen=True)
class TreeSearch:
    """The search's outcome: the node ``budget``, the pooled positional ``acceptance``
    (i.i.d. children) and ``distinct`` (children without replacement; None: not
    searched), the best tree and the best chain within the budget (predicted, steady
    state)."""

    budget: int
    acceptance: PositionalAcceptance
    best_tree: TreeChoice
    best_chain: TreeChoice
    distinct: PositionalAcceptance | None = None

    @property
    def tokens_per_call_vs_chain(self) -> float:
        return self.best_tree.tokens_per_call / self.best_chain.tokens_per_call

    def to_dict(self) -> dict[str, Any]:
        return {
            "budget": self.budget,
            "acceptance": self.acceptance.to_dict(),
            "distinct_acceptance": None if self.distinct is None else self.distinct.to_dict(),
            "best_tree": self.best_tree.to_dict(),
            "best_chain": self.best_chain.to_dict(),
            "tokens_per_call_vs_chain": self.tokens_per_call_vs_chain,
        }


def search_calibration(budget: int, max_new_tokens: int) -> list[TreeSpeculative]:
    """The trees the cost model must time for a search within ``budget`` nodes: a chain
    of the budget's depth (its call scores ``budget + 1`` rows: knots of ``T(n)`` up to
    the largest tree), the one-node tree ``(1,)`` (the smallest tree round, so that a
    small chosen shape is priced between timed rounds, not extrapolated from large ones)
    and, from a budget of 4 on, ``(budget // 2, 1)``, whose second draft forward carries
    ``budget // 2`` nodes (the wide-drafting cost ``d_tree``)."""
    trees = [TreeSpeculative(branching=(1,) * min(budget, max_new_tokens))]
    if budget >= 2:
        trees.append(TreeSpeculative(branching=(1,)))
    if budget >= 4 and max_new_tokens >= 2:
        trees.append(TreeSpeculative(branching=(budget // 2, 1)))
    return list(dict.fromkeys(trees))


def search_trees(
    acceptance: PositionalAcceptance,
    costs: CostModel,
    budget: int,
    max_depth: int,
    distinct: PositionalAcceptance | None = None,
) -> TreeSearch:
    """The best tree and the best chain within ``budget`` nodes and ``max_depth`` levels
    on this machine: rounds priced by the fitted cost model at its median context
    (:meth:`~specbound.profiling.costs.CostBasis.tree_features`, a bonus position scored),
    against one autoregressive step. With ``distinct`` (the covers of children drawn
    without replacement) trees of distinct children compete too."""

    def seconds(shape: tuple[int, ...]) -> float:
        features = costs.basis.tree_features(
            TreeSpeculative(branching=shape), [len(shape) + 1], [costs.context]
        )
        return float(costs.seconds(features)[0])

    step = costs.autoregressive_per_token()
    tree = best_tree(acceptance, budget, max_depth, seconds, step)
    if distinct is not None:
        other = best_tree(distinct, budget, max_depth, seconds, step, replacement=False)
        tree = other if other.speedup > tree.speedup and not other.is_chain else tree
    return TreeSearch(
        budget=budget,
        acceptance=acceptance,
        best_tree=tree,
        best_chain=best_tree(acceptance, budget, max_depth, seconds, step, chain=True),
        distinct=distinct,
    )
