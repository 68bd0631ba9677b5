"""The "Token trees" section on its quick config: its claims hold, and the traversal
claim (traversal needs no more target calls than the recursive verifier on the best tree
of every budget) fails when the recorded traversal calls are made larger than the
recursive ones — the check can fail."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from specbound.experiments import trees
from specbound.experiments.trees_claims import claims


@pytest.fixture(scope="module")
def quick() -> tuple[Any, dict[str, Any]]:
    config = trees.make_config(True, 0)
    return config, trees.compute(config, lambda fraction: None)


def test_quick_claims_hold(quick: tuple[Any, dict[str, Any]]) -> None:
    config, data = quick
    verdicts = {claim.id: claim.holds for claim in claims(config, data)}
    assert "trees-traversal-vs-recursive" in verdicts
    assert all(verdicts.values()), verdicts
    budget = data["budget"]
    assert len(budget["tree_traversal_calls"]) == len(budget["tree_exact_calls"])
    assert any("traversal" in case["tree"] for case in data["cases"])


def test_the_traversal_claim_can_fail(quick: tuple[Any, dict[str, Any]]) -> None:
    config, data = quick
    broken = copy.deepcopy(data)
    budget = broken["budget"]
    budget["tree_traversal_calls"] = [calls + 0.01 for calls in budget["tree_exact_calls"]]
    verdict = {claim.id: claim.holds for claim in claims(config, broken)}
    assert verdict["trees-traversal-vs-recursive"] is False
