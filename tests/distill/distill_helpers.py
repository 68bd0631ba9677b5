"""Helpers of the distill tests: a tiny random Llama teacher and a short distill run."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import torch

from specbound.distill import TrainSettings, distill
from specbound.distill.data import DataSettings
from specbound.lm import embedded_pair_path

INSTRUCTIONS = [
    f"Tell me about the number {n} and the colour {c}." for n in range(12) for c in ("red", "blue")
]
#: Small data: 2 samples of 8 tokens per instruction.
TINY_DATA = DataSettings(
    samples_per_prompt=2,
    heldout_samples_per_prompt=2,
    max_new_tokens=8,
    top_k=16,
    rows_per_chunk=16,
)


def make_teacher(folder: Path) -> Path:
    """Save a random 2-layer Llama (vocabulary of the embedded tokenizer) with peaked
    laws (a large init) and the tokenizer into ``folder``."""
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=4096,
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=256,
        tie_word_embeddings=True,
        initializer_range=0.3,
        bos_token_id=0,
        eos_token_id=0,
        pad_token_id=0,
    )
    model = LlamaForCausalLM(config)
    model.save_pretrained(folder)
    for name in ("tokenizer.json", "tokenizer_config.json"):
        shutil.copyfile(embedded_pair_path() / "tokenizer" / name, folder / name)
    return folder


def run_distill(teacher: Path, out: Path, instructions: Path, **kwargs: Any) -> dict[str, Any]:
    """A short distill run (tv objective unless told, K = 512, one layer)."""
    resume = kwargs.pop("resume", False)
    options = {
        "draft_layers": 1,
        "head_tokens": 512,
        "objective": "tv",
        "max_minutes": 0.1,
        "lr": 3e-3,
        "eval_every_nth": 1,
        "warmup_steps": 2,
        **kwargs,
    }
    return distill(
        teacher,
        out,
        TrainSettings(**options),
        resume=resume,
        threads=1,
        instructions=instructions,
        data_settings=TINY_DATA,
        quiet=True,
    )
