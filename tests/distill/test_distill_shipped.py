"""The shipped SmolLM2 draft folder: readable, small, its record consistent with it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("torch")

from specbound.distill import head_mask
from specbound.lm.distilled import read_draft_config

SHIPPED = Path(__file__).resolve().parents[2] / "src" / "specbound" / "lm" / "drafts" / "smollm2"

pytestmark = pytest.mark.skipif(not (SHIPPED / "config.json").is_file(), reason="no shipped draft")


def test_shipped_draft_is_small_and_consistent() -> None:
    config = read_draft_config(SHIPPED)
    meta = config["specbound_draft"]
    assert (SHIPPED / "draft.safetensors").stat().st_size <= 30_000_000
    record = json.loads((SHIPPED / "training_record.json").read_text())
    assert record["draft_layers"] == meta["layers"] == config["num_hidden_layers"]
    allowed = head_mask(SHIPPED)
    size = meta["vocab_size"] if allowed is None else len(allowed)
    assert size == record["head_tokens"] == meta["head_tokens"]
    assert 0 < record["heldout_mean_tv"] < 1
