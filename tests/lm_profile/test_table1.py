"""Table 1 analog and the two LM report sections, on the embedded pair (fixed seeds).

Exact checks (tolerance 1e-9) of Theorems 4 and 5 at every position of every response,
OPT closer to the target than UNO along its own responses at every eps, and both report
sections end to end through the experiment contract (data -> claims -> figure -> text).
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from specbound.experiments import lm_theory, table1
from specbound.experiments.base import Record
from specbound.experiments.table1 import Table1Config, wilson_interval

EPS = (0.1, 0.2, 0.4, 0.8)


def test_wilson_interval() -> None:
    low, high = wilson_interval(0, 10)
    assert low == 0.0 and high == pytest.approx(0.2775, abs=1e-4)
    low, high = wilson_interval(5, 10)
    assert low == pytest.approx(1 - high) and low < 0.5 < high
    assert wilson_interval(3, 0) == [0.0, 1.0]


@pytest.fixture(scope="module")
def small_table(embedded_pair) -> tuple[Table1Config, dict]:  # type: ignore[no-untyped-def]
    config = Table1Config(seed=3, num_prompts=6, responses_per_prompt=3, max_new_tokens=8, eps=EPS)
    data = json.loads(json.dumps(table1.compute(config, lambda fraction: None)))
    return config, data


def test_opt_bias_is_below_uno_at_every_eps(small_table) -> None:  # type: ignore[no-untyped-def]
    _, data = small_table
    for row in data["table"]:
        opt, uno = row["opt"]["tv_per_token"]["mean"], row["uno"]["tv_per_token"]["mean"]
        assert opt <= uno, row["eps"]
        if row["eps"] == EPS[0]:
            assert opt < uno
    for gaps in data["position_gaps"].values():
        assert gaps["opt_minus_uno"] <= 1e-12  # same prefix: Theorem 4, position by position


def test_opt_on_and_uno_above_the_theorem5_line(small_table) -> None:  # type: ignore[no-untyped-def]
    _, data = small_table
    for gaps in data["position_gaps"].values():
        assert gaps["theorem4"] <= 1e-9
        assert gaps["front_opt"] <= 1e-9
        assert gaps["front_uno"] >= -1e-12
    for row in data["table"]:  # summed over responses: OPT on the line, UNO on or above
        for name, sign in (("opt", 0), ("uno", 1)):
            entry = row[name]
            excess = (
                entry["expected_rejection_rate"]["mean"]
                + entry["tv_per_token"]["mean"]
                - entry["tv_pq_per_token"]["mean"]
            )
            assert (abs(excess) <= 1e-9) if sign == 0 else (excess >= -1e-12)


def test_every_claim_of_the_small_table_holds(small_table) -> None:  # type: ignore[no-untyped-def]
    config, data = small_table
    claims = table1.claims(config, data)
    assert {c.id for c in claims} >= {"opt-theorem4", "opt-front", "uno-above-front"}
    assert all(c.holds for c in claims), [c for c in claims if not c.holds]


@pytest.mark.parametrize("module", [lm_theory, table1], ids=["lm_theory", "table1"])
def test_quick_section_end_to_end(embedded_pair, module, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    import matplotlib.image as mpimg

    config = module.make_config(True, 0)
    data = json.loads(json.dumps(module.compute(config, lambda fraction: None)))
    claims = module.claims(config, data)
    assert claims and all(c.holds for c in claims), [c for c in claims if not c.holds]
    figures = module.plot(data, tmp_path)
    image = mpimg.imread(figures[0])
    assert image.shape[0] >= 500 and image.shape[1] >= 1200
    record = Record(
        module.EXPERIMENT.name, dataclasses.asdict(config), "hash", 0, {}, data, tuple(claims)
    )
    text = module.describe(record)
    assert "**Inputs.**" in text and "embedded pair" in text
