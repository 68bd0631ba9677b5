"""A short distill run on a tiny random teacher: TV falls, resume continues, the record
has its fields, the shipped folder rebuilds a standard model with the same law."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

torch = pytest.importorskip("torch")

from distill_helpers import run_distill  # noqa: E402

from specbound.distill import (  # noqa: E402
    apply_head_mask,
    head_mask,
    materialize_draft,
    save_full_draft,
)
from specbound.distill.architecture import HeadRestrictedDraft, init_draft  # noqa: E402
from specbound.distill.checkpoint import load_checkpoint  # noqa: E402
from specbound.distill.evaluation import restricted_full_law  # noqa: E402
from specbound.distill.target import load_target  # noqa: E402


def test_restricted_head_law_is_zero_outside_and_sums_to_one(teacher_dir: Path) -> None:
    target, _ = load_target(teacher_dir)
    draft, copied = init_draft(target, 1)
    assert copied > 0
    head_ids = torch.tensor([5, 17, 99, 1000, 4095])
    module = HeadRestrictedDraft(draft, head_ids)
    ids = torch.randint(0, 4096, (2, 6))
    select = torch.ones(2, 6, dtype=torch.bool)
    law = restricted_full_law(module)(ids, torch.ones(2, 6, dtype=torch.long), select)  # (12, V)
    outside = torch.ones(4096, dtype=torch.bool)
    outside[head_ids] = False
    assert torch.all(law[:, outside] == 0)
    assert torch.allclose(law.sum(1), torch.ones(12), atol=1e-6)
    masked = torch.softmax(apply_head_mask(torch.randn(3, 4096), head_ids), dim=1)
    assert torch.all(masked[:, outside] == 0)
    assert torch.allclose(masked.sum(1), torch.ones(3), atol=1e-6)


def test_short_training_lowers_heldout_tv(short_run: tuple[Path, dict[str, Any]]) -> None:
    _, record = short_run
    curve = record["phases"][0]["curve"]
    assert len(curve) >= 2
    assert curve[-1]["tv_coarse"] < curve[0]["tv_coarse"] - 0.01


def test_record_has_its_fields(short_run: tuple[Path, dict[str, Any]]) -> None:
    out, record = short_run
    on_disk = json.loads((out / "training_record.json").read_text())
    for key in (
        "objective",
        "heldout_mean_tv",
        "greedy_agreement",
        "head_tokens",
        "draft_layers",
        "trainable_parameters",
        "seed",
        "minutes",
        "data",
        "head",
        "cost",
        "heldout",
        "phases",
        "versions",
    ):
        assert key in on_disk, key
    assert on_disk["head_tokens"] == 512 and on_disk["draft_layers"] == 1
    assert on_disk["data"]["train"]["positions"] > 0
    assert on_disk["data"]["heldout"]["positions"] > 0
    row = on_disk["heldout"][on_disk["objective"]]
    assert 0 <= row["tv"] <= 1 and 0 <= row["greedy_agreement"] <= 1
    # the exact TV lies within the coarse bounds (up to float16 weights)
    assert row["tv_coarse"] - 0.02 <= row["tv"] <= row["tv_upper"] + 0.02
    assert record["minutes"]["training"] > 0


def test_shipped_folder_materializes(
    short_run: tuple[Path, dict[str, Any]], teacher_dir: Path, tmp_path: Path
) -> None:
    out, _ = short_run
    target, tokenizer = load_target(teacher_dir)
    draft = materialize_draft(out, target)
    assert type(draft).__name__ == "LlamaForCausalLM"
    allowed = head_mask(out)
    assert allowed is not None and len(allowed) == 512
    full = save_full_draft(out, target, tmp_path / "full", tokenizer)
    from transformers import AutoModelForCausalLM

    again = AutoModelForCausalLM.from_pretrained(full)
    ids = torch.randint(0, 4096, (1, 5))
    with torch.inference_mode():
        assert torch.allclose(again(ids).logits, draft(ids).logits, atol=1e-5)


def test_resume_continues(teacher_dir: Path, instructions_file: Path, tmp_path: Path) -> None:
    first = run_distill(teacher_dir, tmp_path, instructions_file, max_minutes=0.03)
    steps = load_checkpoint(tmp_path)["total_steps"]
    assert steps > 0 and first["phases"][0]["steps"] == steps
    second = run_distill(teacher_dir, tmp_path, instructions_file, max_minutes=0.08, resume=True)
    phase = second["phases"][0]
    assert phase["steps"] > steps  # grew from where it stopped
    assert load_checkpoint(tmp_path)["total_steps"] == phase["steps"]
    assert phase["curve"][0] == first["phases"][0]["curve"][0]  # no restart
