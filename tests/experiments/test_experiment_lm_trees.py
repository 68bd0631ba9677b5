"""The "Token trees on real models" section: its claims on hand-made data (each can fail),
and its quick run on the embedded pair (the shapes, rows and figure it records).

Hand-made data: T = 24 tokens; the tree's calls 12 +- 0.3 against the chain's 16 +- 0.3
(tokens per call 2.0 vs 1.5), predictions equal to the measurements. Each claim is broken
once by the change it exists to catch.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from specbound import lm
from specbound.experiments import lm_trees
from specbound.experiments.lm_trees_claims import claims


def _calls(mean: float, se: float = 0.3) -> dict[str, float]:
    return {"mean": mean, "se": se}


def _entry(shape: list[int], calls: float) -> dict[str, Any]:
    return {
        "shape": shape,
        "label": ",".join(map(str, shape)),
        "predicted_calls": _calls(calls),
        "measured_calls": _calls(calls),
    }


def hand_made() -> dict[str, Any]:
    return {
        "T": 24,
        "budgets": [2, 4],
        "tree": [_entry([2], 14.0), _entry([2, 1], 12.0)],
        "chain": [_entry([1, 1], 16.5), _entry([1, 1, 1, 1], 16.0)],
        "chosen": {
            "label": "tree 2 recursive",
            "is_chain": False,
            "predicted_speedup": {"mean": 1.1, "se": 0.02},
            "measured_speedup": {"mean": 1.12, "se": 0.02},
            "covered": True,
        },
        "best_chain": {"label": "tree 1,1 recursive", "measured_speedup": _calls(1.05, 0.02)},
        "fastest_chain_measured": 1.05,
        "recommended": "tree 2 recursive",
        "recommended_is_tree": True,
        "recommended_measured": 1.12,
    }


def verdicts(data: dict[str, Any]) -> dict[str, bool]:
    return {claim.id: claim.holds for claim in claims(None, data)}


def test_the_claims_hold_on_consistent_data() -> None:
    held = verdicts(hand_made())
    assert set(held) == {
        "lm-trees-tokens",
        "lm-trees-prediction",
        "lm-trees-chosen",
        "lm-trees-recommendation",
    }
    assert all(held.values()), held


def test_each_claim_can_fail() -> None:
    worse = copy.deepcopy(hand_made())
    worse["tree"][1]["measured_calls"] = _calls(18.0)  # the tree needs more calls
    assert verdicts(worse)["lm-trees-tokens"] is False

    off = copy.deepcopy(hand_made())
    off["chain"][0]["predicted_calls"] = _calls(14.0)  # 2.5 calls off, se 0.42: |z| 5.9
    assert verdicts(off)["lm-trees-prediction"] is False

    missed = copy.deepcopy(hand_made())
    missed["chosen"]["measured_speedup"] = {"mean": 1.25, "se": 0.02}  # |z| = 0.15/0.028 = 5.3
    missed["chosen"]["covered"] = False
    assert verdicts(missed)["lm-trees-chosen"] is False
    noisy = copy.deepcopy(missed)  # the same gap, measured from few runs: |z| = 0.15/0.1 = 1.5
    noisy["chosen"]["measured_speedup"] = {"mean": 1.25, "se": 0.098}
    assert verdicts(noisy)["lm-trees-chosen"] is True

    slow = copy.deepcopy(hand_made())
    slow["recommended_measured"] = 1.0  # a tree recommended, slower than the chain
    assert verdicts(slow)["lm-trees-recommendation"] is False
    chain = copy.deepcopy(slow)
    chain["recommended_is_tree"] = False  # a chain recommended: nothing to check
    assert verdicts(chain)["lm-trees-recommendation"] is True


@pytest.fixture(scope="module")
def quick() -> tuple[Any, dict[str, Any]]:
    if not (lm.embedded_pair_path() / "target" / "config.json").is_file():
        pytest.skip("the embedded model pair is not built yet")
    config = lm_trees.make_config(True, 0)
    return config, lm_trees.compute(config, lambda fraction: None)


def test_the_quick_run_records_every_budget(
    quick: tuple[Any, dict[str, Any]], tmp_path: Path
) -> None:
    config, data = quick
    assert data["budgets"] == list(config.budgets)
    for budget, tree, chain in zip(config.budgets, data["tree"], data["chain"], strict=True):
        nodes = sum(_nodes(tree["shape"]))
        assert nodes <= budget and all(b == 1 for b in chain["shape"])
        assert len(chain["shape"]) == min(budget, config.max_depth)
        for entry in (tree, chain):
            assert 0 < entry["measured_calls"]["mean"] <= data["T"]
            assert 0 < entry["predicted_calls"]["mean"] <= data["T"]
    assert data["chosen"]["predicted_speedup"]["mean"] > 0
    assert len(claims(config, data)) == 4
    (figure,) = lm_trees.plot(data, tmp_path)
    assert figure.is_file() and figure.stat().st_size > 0


def _nodes(shape: list[int]) -> list[int]:
    """Nodes per depth of a per-depth branching."""
    out, width = [], 1
    for b in shape:
        width *= b
        out.append(width)
    return out
