"""The claims and the prose of the "Token trees" section (:mod:`.trees` computes it).

Exact claims (1e-12): the chain tree is SD (block verification with traversal) and the
star is batch SD; every verifier is lossless; traversal needs no more calls than
recursive verification on the best trees; the best tree is never worse than the best
chain at a node budget. Statistical
claims (the report's 99.9% level): simulated target calls agree with the exact values on
random (chain, tree) cases and on the best shapes of every budget.
"""

from __future__ import annotations

from typing import Any

from specbound.estimates import Estimate
from specbound.experiments.base import Claim, Record
from specbound.experiments.checks import EXACT_TOLERANCE, joint_claim
from specbound.experiments.common import ChainSpec
from specbound.experiments.prose import render

__all__ = ["claims", "describe"]

#: Losslessness and the special cases are checked to this tolerance.
TREE_TOLERANCE = 1e-12


def _points(entries: list[dict[str, Any]]) -> list[Estimate]:
    return [Estimate(p["mean"], p["se"]) for p in entries]


def _gain(budget: dict[str, Any]) -> tuple[float, float]:
    """(tokens per call of the best tree, of the best chain) at the largest budget."""
    T = budget["T"]
    return T / budget["tree_exact_calls"][-1], T / budget["chain_exact_calls"][-1]


def claims(config: Any, data: dict[str, Any]) -> list[Claim]:
    budget = data["budget"]
    worst = max(
        t - c for t, c in zip(budget["tree_exact_calls"], budget["chain_exact_calls"], strict=True)
    )
    tree, chain = _gain(budget)
    traversal_gap = max(
        t - r
        for t, r in zip(budget["tree_traversal_calls"], budget["tree_exact_calls"], strict=True)
    )
    cases = data["cases"]
    return [
        Claim(
            id="trees-special-cases",
            statement="A chain tree (1,...,1) is SD with gamma = D (block verification with "
            "the traversal verifier) and a star (M,1,...,1) is batch SD: equal expected "
            "rejections and target calls",
            holds=bool(data["special_gap"] <= TREE_TOLERANCE),
            check=f"max gap {data['special_gap']:.2g} <= {TREE_TOLERANCE:g}",
        ),
        Claim(
            id="trees-lossless",
            statement="Every tree verifier (recursive, without replacement, optimal, traversal) "
            "outputs the target's law, by enumeration of every output sequence",
            holds=bool(data["lossless_gap"] <= TREE_TOLERANCE),
            check=f"max |output law - target law| = {data['lossless_gap']:.2g}",
        ),
        joint_claim(
            "trees-simulated",
            f"Simulated target calls agree with the exact theory on {len(cases)} random "
            "(chain, tree) cases",
            _points([case["measured"] for case in cases]),
            [case["exact"] for case in cases],
        ),
        joint_claim(
            "trees-best-simulated",
            "Simulated target calls of the best tree and the best chain agree with the exact "
            "theory at every node budget",
            _points(budget["tree_measured_calls"] + budget["chain_measured_calls"]),
            budget["tree_exact_calls"] + budget["chain_exact_calls"],
        ),
        Claim(
            id="trees-traversal-vs-recursive",
            statement="Traversal verification (Weng et al. 2025) needs no more target calls "
            "than recursive verification (more tokens per call) on the best tree of every "
            "node budget — checked on these shapes, a theorem on chains only (block "
            "verification's optimality)",
            holds=bool(traversal_gap <= EXACT_TOLERANCE),
            check=f"max calls(traversal) - calls(recursive) = {traversal_gap:.3g} <= 0",
        ),
        Claim(
            id="trees-best-tree-vs-chain",
            statement="At every node budget the best tree needs no more target calls than "
            "the best chain (more tokens per call)",
            holds=bool(worst <= EXACT_TOLERANCE),
            check=f"max calls(tree) - calls(chain) = {worst:.3g} <= 0",
            theory=chain,
            measured=tree,
        ),
    ]


def describe(record: Record) -> str:
    data, config = record.data, record.config
    budget = data["budget"]
    tree, chain = _gain(budget)
    return render(
        "trees",
        {
            "budget": str(budget["budgets"][-1]),
            "tree_shape": ",".join(map(str, budget["tree"][-1])),
            "chain_depth": str(len(budget["chain"][-1])),
            "tree_tpc": f"{tree:.3f}",
            "chain_tpc": f"{chain:.3f}",
            "gain": f"{100 * (tree / chain - 1):.1f}",
            "chain": ChainSpec(**config["chain"]).describe(),
            "runs": str(config["runs"]),
            "cases": str(config["random_cases"]),
            "max_depth": str(config["max_depth"]),
        },
    )
