"""``bench lm``'s token-tree contender: the best tree beside the best chain, measured.

With ``tree`` or ``tree_budget`` in the config, every profile run of the benchmark also
searches the best tree and the best chain within the node budget (Sequoia's dynamic
program on positional acceptance, :mod:`specbound.profiling.tree_search`; the budget
defaults to the given tree's node count). The contender ``specbound_tree`` runs the
given tree, else the first profile run's best tree; ``specbound_sd`` runs at the best
chain's depth (a chain ``(1,)*D`` is SD with gamma = D) unless gamma is given. Ratios:

* ``tree_tokens_per_call_vs_chain``: measured tokens per target call of the tree over
  SD's (the best chain at the same node budget);
* ``tree_vs_predicted``: the tree's measured speed-up over autoregressive decoding
  (prefill excluded) over the speed-up profile predicted for it;
* ``tree_predicted_tokens_per_call_vs_chain``, ``tree_predicted_speedup_vs_chain``: the
  search's steady-state predictions, best tree over best chain, and
  ``tree_vs_chain_measured_speedup``: the measured one;
* ``recommendation_chose_tree``: whether profile's recommendation (the best predicted
  lossless row, trees included) was a tree.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from specbound.algorithms import TreeSpeculative
from specbound.bench.lm_contenders import Contender
from specbound.bench.lm_summary import ratio
from specbound.core.families.shapes import node_count
from specbound.profiling import ProfileReport
from specbound.profiling.report import Prediction
from specbound.profiling.tree_predict import check_profiled_tree
from specbound.profiling.tree_search import check_budget

__all__ = [
    "TREE_CONTENDER",
    "chain_gamma",
    "check_bench_tree",
    "gamma_source",
    "tree_contender",
    "tree_profile_options",
    "tree_ratios",
]

#: The token-tree contender's name.
TREE_CONTENDER = "specbound_tree"


def check_bench_tree(tree: tuple[int, ...] | None, budget: int | None) -> None:
    """Refuse a bad ``tree`` or ``tree_budget`` by name (before any model loads)."""
    if tree is not None:
        check_profiled_tree(tree)
    if budget is not None:
        check_budget(budget)


def tree_profile_options(tree: tuple[int, ...] | None, budget: int | None) -> dict[str, Any]:
    """The ``profile`` keywords of a run with a tree (none without one)."""
    if tree is None and budget is None:
        return {}
    if budget is None:
        assert tree is not None
        budget = node_count(tree)
    return {"trees": [tree] if tree is not None else [], "tree_budget": budget}


def chain_gamma(reports: Sequence[ProfileReport]) -> int | None:
    """The best chain's depth found by the first profile run (None: no search ran)."""
    search = reports[0].trees if reports else None
    return None if search is None else len(search.best_chain.branching)


def gamma_source(gamma: int | None, reports: Sequence[ProfileReport]) -> str:
    """Where the run's gamma came from: the option, the best chain, or profile's SD rows."""
    if gamma is not None:
        return "option"
    return "profile's best chain (first run)" if chain_gamma(reports) else "profile (first run)"


def tree_contender(
    tree: tuple[int, ...] | None, reports: Sequence[ProfileReport]
) -> list[Contender]:
    """``[specbound_tree]``: the given tree, else the first profile run's best tree."""
    search = reports[0].trees if reports else None
    if tree is None and search is None:
        return []
    if tree is not None:
        algorithm, source = TreeSpeculative(branching=tuple(tree)), "--tree"
    else:
        algorithm, source = search.best_tree.algorithm, "profile's best tree"  # type: ignore[union-attr]
    label = ",".join(map(str, algorithm.branching))
    children = "" if algorithm.replacement else ", distinct children"
    return [
        Contender(
            TREE_CONTENDER,
            f"specbound tree {label} recursive{children} ({source})",
            algorithm,
        )
    ]


def tree_ratios(
    summaries: dict[str, Any], reports: Sequence[ProfileReport], chosen: Prediction | None
) -> dict[str, Any]:
    """The tree's ratios (module docstring); empty when no tree ran."""
    if TREE_CONTENDER not in summaries:
        return {}
    tree = summaries[TREE_CONTENDER]
    chain = summaries.get("specbound_sd")
    search = reports[0].trees if reports else None
    return {
        "tree_tokens_per_call_vs_chain": None
        if chain is None
        else ratio(chain["target_calls_per_token"], tree["target_calls_per_token"]),
        "tree_predicted_tokens_per_call_vs_chain": None
        if search is None
        else search.tokens_per_call_vs_chain,
        "tree_predicted_speedup_vs_chain": None
        if search is None
        else search.best_tree.speedup / search.best_chain.speedup,
        "tree_vs_chain_measured_speedup": ratio(
            tree.get("measured_speedup"), None if chain is None else chain.get("measured_speedup")
        ),
        "tree_vs_predicted": ratio(tree.get("measured_speedup"), tree.get("predicted_speedup")),
        "recommendation_chose_tree": chosen is not None and chosen.algorithm.name == "tree",
    }
