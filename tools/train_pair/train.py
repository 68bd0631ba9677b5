"""Building and training the pair's GPT-NeoX models (AdamW, warm-up, cosine decay).

Training runs a fixed number of optimizer steps under ``torch.autocast("cpu",
dtype=torch.bfloat16)``; batches are random windows of the packed token stream drawn from
an explicitly seeded ``torch.Generator`` and model initialisation is seeded in
:func:`train_one`, so the same seed, library versions, thread count and Python version
reproduce the same weights. The draft can be distilled from the target: its loss is then
KL(target || draft) of the next-token laws, mixed with the data's cross-entropy.
"""

from __future__ import annotations

import argparse
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # torch and transformers are imported inside the functions
    import torch
    from transformers import GPTNeoXConfig, GPTNeoXForCausalLM, PreTrainedTokenizerFast

__all__ = [
    "Shape",
    "TrainConfig",
    "TrainReport",
    "batch_loss",
    "count_parameters",
    "load_model",
    "lr_factor",
    "make_config",
    "make_optimizer",
    "sample_batch",
    "save_model",
    "train_model",
    "train_one",
]


@dataclass(frozen=True)
class Shape:
    """The size of a GPT-NeoX model: layers, hidden width, attention heads."""

    layers: int
    hidden: int
    heads: int

    @classmethod
    def parse(cls, text: str) -> Shape:
        """Parse ``"LxH"`` or ``"LxHxA"`` (A heads; default: one head per 64 dimensions)."""
        parts = [int(part) for part in text.lower().split("x")]
        if len(parts) == 2:
            parts.append(max(1, parts[1] // 64))
        if len(parts) != 3 or min(parts) < 1 or parts[1] % parts[2]:
            raise argparse.ArgumentTypeError(f"shape {text!r}: expected LxH or LxHxA, A | H")
        return cls(*parts)

    def __str__(self) -> str:
        return f"{self.layers}x{self.hidden}x{self.heads}"


@dataclass(frozen=True)
class TrainConfig:
    """Optimisation settings for one model."""

    steps: int
    batch_size: int = 16
    context: int = 256
    lr: float = 3e-3
    warmup_steps: int = 100
    min_lr_ratio: float = 0.1
    weight_decay: float = 0.1
    grad_clip: float = 1.0
    distill_weight: float = 0.0
    max_minutes: float | None = None
    log_every: int = 50


@dataclass
class TrainReport:
    """What happened while training one model."""

    steps: int
    seconds: float
    tokens_seen: int
    final_loss: float


def make_config(
    shape: Shape, tokenizer: PreTrainedTokenizerFast, max_positions: int = 512
) -> GPTNeoXConfig:
    """A GPT-NeoX config of the given shape for ``tokenizer`` (Pythia defaults otherwise)."""
    from transformers import GPTNeoXConfig

    special = tokenizer.eos_token_id
    return GPTNeoXConfig(
        vocab_size=len(tokenizer),
        hidden_size=shape.hidden,
        num_hidden_layers=shape.layers,
        num_attention_heads=shape.heads,
        intermediate_size=4 * shape.hidden,
        max_position_embeddings=max_positions,
        use_cache=True,
        bos_token_id=special,
        eos_token_id=special,
        pad_token_id=special,
        tie_word_embeddings=False,
    )


def count_parameters(model: torch.nn.Module) -> int:
    """Number of parameters of ``model`` (embeddings and output layer included)."""
    return sum(p.numel() for p in model.parameters())


def lr_factor(step: int, config: TrainConfig) -> float:
    """Learning-rate multiplier: linear warm-up, then cosine decay to ``min_lr_ratio``."""
    if step < config.warmup_steps:
        return (step + 1) / config.warmup_steps
    span = max(1, config.steps - config.warmup_steps)
    progress = min(1.0, (step - config.warmup_steps) / span)
    cosine = 0.5 * (1.0 + math.cos(math.pi * progress))
    return config.min_lr_ratio + (1.0 - config.min_lr_ratio) * cosine


def make_optimizer(model: torch.nn.Module, config: TrainConfig) -> torch.optim.AdamW:
    """AdamW with weight decay on matrices only (not on biases and layer norms)."""
    import torch

    decay = [p for p in model.parameters() if p.ndim >= 2]
    no_decay = [p for p in model.parameters() if p.ndim < 2]
    groups = [
        {"params": decay, "weight_decay": config.weight_decay},
        {"params": no_decay, "weight_decay": 0.0},
    ]
    return torch.optim.AdamW(groups, lr=config.lr, betas=(0.9, 0.95), eps=1e-8)


def sample_batch(
    stream: torch.Tensor, batch_size: int, context: int, generator: torch.Generator
) -> torch.Tensor:
    """Random windows of ``context + 1`` tokens from the packed stream."""
    import torch

    starts = torch.randint(0, len(stream) - context - 1, (batch_size,), generator=generator)
    offsets = torch.arange(context + 1)
    return stream[starts[:, None] + offsets[None, :]]


def batch_loss(
    model: torch.nn.Module, window: torch.Tensor, teacher: torch.nn.Module | None, weight: float
) -> torch.Tensor:
    """Next-token cross-entropy, mixed with KL(teacher || model) when a teacher is given."""
    import torch
    import torch.nn.functional as nnf

    inputs, targets = window[:, :-1], window[:, 1:]
    logits = model(input_ids=inputs).logits.float()
    vocab = logits.shape[-1]
    loss = nnf.cross_entropy(logits.reshape(-1, vocab), targets.reshape(-1))
    if teacher is None or weight <= 0.0:
        return loss
    with torch.no_grad():
        teacher_logp = nnf.log_softmax(teacher(input_ids=inputs).logits.float(), dim=-1)
    student_logp = nnf.log_softmax(logits, dim=-1)
    kl = nnf.kl_div(
        student_logp.reshape(-1, vocab),
        teacher_logp.reshape(-1, vocab),
        log_target=True,
        reduction="batchmean",
    )
    return (1.0 - weight) * loss + weight * kl


def train_model(
    model: torch.nn.Module,
    stream: torch.Tensor,
    config: TrainConfig,
    generator: torch.Generator,
    name: str,
    teacher: torch.nn.Module | None = None,
) -> TrainReport:
    """Train ``model`` on random windows of ``stream`` for ``config.steps`` steps.

    Stops early (and says so) only if ``config.max_minutes`` is set and exceeded.
    """
    import torch

    optimizer = make_optimizer(model, config)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: lr_factor(s, config))
    model.train()
    if teacher is not None:
        teacher.eval()
    start, running, step = time.perf_counter(), 0.0, 0
    for step in range(config.steps):
        window = sample_batch(stream, config.batch_size, config.context, generator)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            loss = batch_loss(model, window, teacher, config.distill_weight)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
        optimizer.step()
        schedule.step()
        running = loss.item() if step == 0 else 0.98 * running + 0.02 * loss.item()
        elapsed = time.perf_counter() - start
        _log_progress(name, step, config, running, elapsed)
        if config.max_minutes is not None and elapsed > 60.0 * config.max_minutes:
            print(f"[{name}] time cap reached after {step + 1} steps", flush=True)
            break
    model.eval()
    seconds = time.perf_counter() - start
    tokens = (step + 1) * config.batch_size * config.context
    return TrainReport(steps=step + 1, seconds=seconds, tokens_seen=tokens, final_loss=running)


def _log_progress(name: str, step: int, config: TrainConfig, loss: float, elapsed: float) -> None:
    """Print one progress line every ``config.log_every`` steps and at the end."""
    done = step + 1
    if done % config.log_every and done != config.steps:
        return
    rate = done * config.batch_size * config.context / elapsed
    eta = elapsed / done * (config.steps - done)
    print(
        f"[{name}] step {done}/{config.steps} loss {loss:.3f} {rate:,.0f} tok/s "
        f"elapsed {elapsed / 60:.1f} min eta {eta / 60:.1f} min",
        flush=True,
    )


def train_one(
    name: str,
    shape: Shape,
    train_config: TrainConfig,
    tokenizer: PreTrainedTokenizerFast,
    stream: torch.Tensor,
    seed: int,
    teacher: torch.nn.Module | None = None,
) -> tuple[GPTNeoXForCausalLM, TrainReport]:
    """Build a model of ``shape`` (initialised from ``seed``) and train it."""
    import torch
    from transformers import GPTNeoXForCausalLM

    torch.manual_seed(seed)  # model initialisation; the data order has its own generator
    model = GPTNeoXForCausalLM(make_config(shape, tokenizer))
    print(f"[{name}] {shape}: {count_parameters(model):,} parameters", flush=True)
    generator = torch.Generator().manual_seed(seed + 1)
    report = train_model(model, stream, train_config, generator, name, teacher)
    return model, report


def save_model(model: GPTNeoXForCausalLM, directory: Path) -> None:
    """Save ``model`` with float16 safetensors weights (load with ``dtype=torch.float32``)."""
    import copy

    half = copy.deepcopy(model).half()
    half.generation_config.pad_token_id = model.config.pad_token_id
    half.save_pretrained(directory, safe_serialization=True)


def load_model(directory: Path) -> GPTNeoXForCausalLM:
    """Load a saved model as float32 in eval mode, offline."""
    import torch
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(
        directory, dtype=torch.float32, local_files_only=True
    )
    return model.eval()
