"""``bench lm``'s tree contender at tiny sizes: the record's keys, and the ratios as the
stated quotients (nothing asserts on a timing).

* ``tree_tokens_per_call_vs_chain`` = (1 / tree calls per token) / (1 / SD's);
* ``tree_vs_predicted`` = the tree's measured speed-up / its predicted speed-up;
* ``specbound_sd`` runs at the best chain's depth found by profile's search.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from specbound.bench.lm import LMBenchConfig
from specbound.cli import app
from specbound.cli.common import run_app
from specbound.errors import SpecboundError
from specbound.lm import embedded_pair_path


def _run(args: list[Any], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = run_app(app, [str(a) for a in args])
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.mark.skipif(
    not (embedded_pair_path() / "target" / "config.json").is_file(),
    reason="the embedded pair is not built",
)
def test_tree_contender_beside_the_best_chain(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "lm.json"
    args = ["bench", "lm", "--tree", "2,1", "--no-hf", "--quick", "-n", 6, "--num-prompts", 1]
    args += ["--repeats", 1, "--threads", 1, "--contenders", "specbound_sd,specbound_tree"]
    code, _, err = _run([*args, "-o", out], capsys)
    assert code == 0, err
    data = json.loads(out.read_text())
    assert set(data["contenders"]) == {"specbound_ar", "specbound_sd", "specbound_tree"}
    search = data["trees"]
    assert search["budget"] == 4  # the given tree's nodes: 2 + 2
    assert data["gamma"]["value"] == len(search["best_chain"]["branching"])
    assert "best chain" in data["gamma"]["source"]
    tree, sd = data["contenders"]["specbound_tree"], data["contenders"]["specbound_sd"]
    assert tree["algorithm"]["branching"] == [2, 1]
    ratios = data["ratios"]
    want = sd["target_calls_per_token"] / tree["target_calls_per_token"]
    assert ratios["tree_tokens_per_call_vs_chain"] == pytest.approx(want)
    want = tree["measured_speedup"] / tree["predicted_speedup"]
    assert ratios["tree_vs_predicted"] == pytest.approx(want)
    assert isinstance(ratios["recommendation_chose_tree"], bool)
    assert "--tree 2,1" in data["command"]


@pytest.mark.parametrize(
    ("options", "name"),
    [
        ({"tree": (2, 0)}, "branching"),
        ({"tree_budget": 65}, "tree_budget"),
        ({"tree_budget": 0}, "tree_budget"),
        ({"only": ("specbound_tree",)}, "specbound_tree"),  # no tree asked for
    ],
)
def test_bad_tree_options_are_refused_by_name(options: dict[str, Any], name: str) -> None:
    with pytest.raises(SpecboundError, match=name):
        LMBenchConfig(prompts=("a",), **options)
