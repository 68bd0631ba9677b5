"""LM cells on the embedded pair, run in-process: the same cell gives the same record."""

from __future__ import annotations

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
