"""LM cells on the embedded pair, run in-process: the same cell gives the same record."""

from __future__ import annotations

import json
from typing import Any

from specbound.sweep import expand, parse_spec, run_cell
from specbound.sweep.cells import TIMING_PREFIX

SPEC = """\
[sweep]
kind = "lm"
seed = 2

[lm]
compute = "{compute}"
prompts = 1
responses = 2
max_new_tokens = 4
algorithms = ["sd"]
gamma = [2]
eps = [0.3]
"""


def _values(record: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in record.items() if not k.startswith(TIMING_PREFIX)}


def test_generate_and_table1_cells_are_pure_functions_of_their_config() -> None:
    for compute in ("generate", "table1"):
        (cell,) = expand(parse_spec(SPEC.format(compute=compute)))
        first, second = run_cell(cell), run_cell(cell)
        assert first["status"] == "ok", first["error"]
        assert _values(first) == _values(second)
        assert first[f"{TIMING_PREFIX}wall_s"] > 0
    assert 0.0 < first["opt_tv_per_token"] <= first["uno_tv_per_token"] + 1e-12
    assert first["opt_wins"] in (0.0, 0.5, 1.0)


def test_tree_cells_run_on_the_embedded_pair() -> None:
    """A tree cell generates (one call per round: tokens per call >= 1) and a profile
    cell carries the tree's row."""
    text = SPEC.replace('algorithms = ["sd"]', 'algorithms = ["tree"]\ntree = [[2, 1]]')
    (cell,) = expand(parse_spec(text.format(compute="generate")))
    record = run_cell(cell)
    assert record["status"] == "ok", record["error"]
    assert record["label"] == "tree 2,1 recursive" and record["tokens_per_call"] >= 1.0
    (cell,) = expand(parse_spec(text.format(compute="profile")))
    record = run_cell(cell)
    assert record["status"] == "ok", record["error"]
    labels = [row["label"] for row in json.loads(record["results"])["rows"]]
    assert "tree 2,1 recursive" in labels, labels
