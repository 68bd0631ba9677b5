"""Tests of the embedded model pair and of the script that trains it."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

import sys  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tools"))
from train_pair import main as train_main  # noqa: E402  (after the import guards)
from train_pair import tokenizer as pair_tokenizer  # noqa: E402
from train_pair import train  # noqa: E402

from specbound.lm import embedded_pair_path  # noqa: E402

EMBEDDED = embedded_pair_path()
SAMPLE_TEXT = "The with statement wraps a block:\n    with open(path) as f:  # café ✓\n"


@pytest.fixture(autouse=True)
def _offline(monkeypatch: pytest.MonkeyPatch) -> None:
    """Never touch the network: every path below is local."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")


def _load(directory: Path) -> tuple[object, object, object]:
    """Load tokenizer, target and draft from a pair directory as float32."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(directory / "tokenizer", local_files_only=True)
    models = [
        AutoModelForCausalLM.from_pretrained(
            directory / name, dtype=torch.float32, local_files_only=True
        )
        for name in ("target", "draft")
    ]
    return tokenizer, models[0], models[1]


def _check_pair(directory: Path) -> dict[str, object]:
    """Shared checks: loads, round-trips text, special ids, vocabularies, forward pass."""
    tok, target, draft = _load(directory)
    ids = tok.encode(SAMPLE_TEXT, add_special_tokens=False)
    assert tok.decode(ids) == SAMPLE_TEXT
    special = tok.convert_tokens_to_ids(pair_tokenizer.SPECIAL_TOKEN)
    assert tok.eos_token_id == tok.bos_token_id == tok.pad_token_id == special
    for model in (target, draft):
        assert model.config.vocab_size == len(tok)
        assert model.config.eos_token_id == model.config.pad_token_id == special
        assert model.config.max_position_embeddings >= 512
        assert next(model.parameters()).dtype == torch.float32
        with torch.no_grad():
            logits = model(input_ids=torch.tensor([ids])).logits
        assert logits.shape == (1, len(ids), len(tok))
        assert torch.isfinite(logits).all()
    metrics = json.loads((directory / "metrics.json").read_text(encoding="utf-8"))
    assert metrics["target"]["parameters"] == sum(p.numel() for p in target.parameters())
    assert metrics["draft"]["parameters"] == sum(p.numel() for p in draft.parameters())
    return metrics


def test_quick_run_saves_a_loadable_pair(tmp_path: Path) -> None:
    """``--quick`` trains a tiny pair in seconds and writes everything that ships."""
    assert train_main.main(["--quick", "--out", str(tmp_path)]) == 0
    for name in ("tokenizer", "target", "draft"):
        assert (tmp_path / name).is_dir()
    assert list((tmp_path / "target").glob("*.safetensors"))
    metrics = _check_pair(tmp_path)
    assert metrics["quick"] is True
    assert 0.0 <= metrics["pair"]["mean_tv"] <= 1.0
    assert 0.0 <= metrics["pair"]["same_argmax"] <= 1.0


def test_shipped_pair_loads_and_target_beats_draft() -> None:
    """The embedded pair loads offline, shares a vocabulary, and the target is better."""
    if not (EMBEDDED / "metrics.json").exists():
        pytest.fail(f"the embedded pair is missing from {EMBEDDED}")
    metrics = _check_pair(EMBEDDED)
    assert metrics["quick"] is False
    assert metrics["target"]["heldout_ppl"] < metrics["draft"]["heldout_ppl"]
    assert metrics["target"]["parameters"] > 5 * metrics["draft"]["parameters"]
    assert 0.0 < metrics["pair"]["mean_tv"] < 1.0


def test_shape_parsing() -> None:
    """Model shapes read as LxH (one head per 64 dims) or LxHxA."""
    assert train.Shape.parse("4x256") == train.Shape(4, 256, 4)
    assert train.Shape.parse("1x64x2") == train.Shape(1, 64, 2)
    with pytest.raises(Exception, match="shape"):
        train.Shape.parse("2x100x3")


def test_lr_schedule_warms_up_then_decays() -> None:
    """Linear warm-up to the peak, cosine decay to ``min_lr_ratio``."""
    config = train.TrainConfig(steps=100, warmup_steps=10, min_lr_ratio=0.1)
    factors = [train.lr_factor(step, config) for step in range(100)]
    assert factors[0] == pytest.approx(0.1)
    assert factors[9] == pytest.approx(1.0)
    assert all(a >= b for a, b in itertools.pairwise(factors[10:]))
    assert train.lr_factor(100, config) == pytest.approx(0.1)
