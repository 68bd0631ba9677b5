"""The sweep key ``drafter``: crossed with the LM settings that draft one sequence,
profiled by profile cells, refused for chain sweeps and table1 cells, with the error
naming the key."""

from __future__ import annotations

import json

import pytest

from specbound.sweep import expand, parse_spec, run_cell
from specbound.sweep.spec import SweepSpecError

LM = """\
[sweep]
kind = "lm"
seed = 5

[lm]
compute = "{compute}"
prompts = ["one two three one two three one two"]
responses = 2
max_new_tokens = 6
temperature = [0.0]
algorithms = ["ar", "sd", "batch"]
gamma = [3]
M = [2]
{drafter}
"""


def _spec(compute: str = "generate", drafter: str = "") -> str:
    return LM.format(compute=compute, drafter=drafter)


def test_drafters_cross_the_single_sequence_settings_only() -> None:
    cells = expand(parse_spec(_spec(drafter='drafter = ["model", "ngram", "suffix+model"]')))
    pairs = sorted((c.config["algorithm"], c.config.get("drafter", "model")) for c in cells)
    # ar and batch: the draft model only (nothing drafted / M sequences); sd: all three
    assert pairs == sorted(
        [("ar", "model"), ("batch", "model"), ("sd", "model"), ("sd", "ngram"),
         ("sd", "suffix+model")]
    )  # fmt: skip
    # the draft model's cells keep the ids of a spec without the key
    plain = {c.cell_id for c in expand(parse_spec(_spec()))}
    assert plain <= {c.cell_id for c in cells}


def test_a_model_free_generate_cell_runs_and_is_labelled() -> None:
    cells = expand(parse_spec(_spec(drafter='drafter = ["ngram"]')))
    (cell,) = [c for c in cells if c.config.get("drafter") == "ngram"]
    record = run_cell(cell)
    assert record["status"] == "ok", record["error"]
    assert record["label"].endswith("drafter=ngram")
    assert 0 < record["target_calls_per_token"] <= 1


def test_a_profile_cell_profiles_the_drafters() -> None:
    (cell,) = expand(parse_spec(_spec("profile", 'drafter = ["model", "ngram", "suffix+model"]')))
    assert cell.config["drafter"] == ["model", "ngram", "suffix+model"]
    record = run_cell(cell)
    assert record["status"] == "ok", record["error"]
    rows = {row["label"]: row for row in json.loads(record["results"])["rows"]}
    # greedy, every drafter's predicted counts are the decoder's (lossy rows aside)
    for drafter in ("ngram", "suffix+model"):
        row = rows[f"sd gamma=3 drafter={drafter}"]
        assert row["prediction"]["expected_calls"]["mean"] == row["measurement"]["calls"]["mean"]
        assert row["holds"] is True


@pytest.mark.parametrize(
    ("text", "match"),
    [
        (_spec(drafter='drafter = ["bogus"]'), "drafter"),
        (_spec("table1", 'drafter = ["ngram"]'), "table1"),
        (
            '[sweep]\nkind = "chains"\n[chains]\ndrafter = ["ngram"]\n[[chains.random]]\nT = [4]\n',
            "[lm] sweep",
        ),
    ],
)
def test_bad_drafter_keys_are_refused_by_name(text: str, match: str) -> None:
    with pytest.raises(SweepSpecError, match="drafter") as info:
        parse_spec(text)
    assert match in str(info.value)
