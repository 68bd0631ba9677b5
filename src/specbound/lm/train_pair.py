"""Train the embedded draft/target model pair (seeded and reproducible).

The pair that ships in ``specbound/lm/embedded`` was made by this script::

    python -m specbound.lm.train_pair

It

1. builds the training text from CPython's own documentation (:mod:`specbound.lm.corpus`);
2. trains a byte-level BPE tokenizer on it (``tokenizers``), wrapped as a
   ``transformers.PreTrainedTokenizerFast`` whose bos/eos/unk/pad token is
   ``<|endoftext|>``;
3. trains a GPT-NeoX (Pythia architecture) *target* on the text, then a GPT-NeoX *draft*
   about ten times smaller, distilled from the target: by default its loss is the KL
   divergence KL(target || draft) of the next-token distributions on training windows
   (``--distill w`` mixes ``(1 - w)`` of the data's cross-entropy back in), which makes it
   a closer proposal for speculative decoding than a draft trained on the data alone;
4. saves tokenizer, target and draft (safetensors, float16 weights) and ``metrics.json``:
   parameter counts, held-out perplexities, the mean total-variation distance between the
   draft's and the target's next-token distributions along samples drawn from the target
   (temperature 1, no top-k), the fraction of positions where their argmax agrees,
   per-token latency, training time, seed and library versions.

Training runs a fixed number of optimizer steps (AdamW, linear warm-up, cosine decay)
under ``torch.autocast("cpu", dtype=torch.bfloat16)``; batches are random windows of the
packed token stream drawn from an explicitly seeded ``torch.Generator``, and model
initialisation is seeded in :func:`main`, so the same seed, library versions, thread count
and Python version reproduce the same weights. ``--quick`` is a seconds-long smoke run
on a small slice of the text with tiny models, written to a temporary directory.
"""

from __future__ import annotations

import argparse
import functools
import json
import math
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # heavy imports stay lazy: see FINDINGS (import cost)
    import torch
    from transformers import GPTNeoXConfig, GPTNeoXForCausalLM, PreTrainedTokenizerFast

SPECIAL_TOKEN = "<|endoftext|>"
DEFAULT_OUT = Path(__file__).resolve().parent / "embedded"

PROMPTS: tuple[str, ...] = (
    "The with statement",
    "The import system",
    "A dictionary",
    "Return the number of",
    "This module provides",
    "The for statement is used to",
    "Raise an exception if",
    "Create a new",
    "If the file",
    "The default value",
    "Exceptions",
    "Class definitions",
    "The string",
    "Note that",
    "When a generator",
    "Return a list of",
    "This function",
    "The socket",
    "An object is",
    "Test that the",
)
"""Short English prompts from which target samples are drawn for the TV measurement."""


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


# --------------------------------------------------------------------------- tokenizer


def train_tokenizer(documents: Sequence[str], vocab_size: int) -> PreTrainedTokenizerFast:
    """Train a byte-level BPE tokenizer on ``documents``; bos/eos/unk/pad = ``<|endoftext|>``."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    core = Tokenizer(models.BPE())
    core.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    core.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        min_frequency=2,
        special_tokens=[SPECIAL_TOKEN],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    core.train_from_iterator(documents, trainer=trainer, length=len(documents))
    return PreTrainedTokenizerFast(
        tokenizer_object=core,
        bos_token=SPECIAL_TOKEN,
        eos_token=SPECIAL_TOKEN,
        unk_token=SPECIAL_TOKEN,
        pad_token=SPECIAL_TOKEN,
        clean_up_tokenization_spaces=False,
    )


def encode_stream(tokenizer: PreTrainedTokenizerFast, documents: Sequence[str]) -> torch.Tensor:
    """Encode documents into one packed 1-D stream, each document followed by eos."""
    import torch

    eos = tokenizer.eos_token_id
    ids: list[int] = []
    for encoded in tokenizer(list(documents), add_special_tokens=False)["input_ids"]:
        ids.extend(encoded)
        ids.append(eos)
    return torch.tensor(ids, dtype=torch.long)


# --------------------------------------------------------------------------- models


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


# --------------------------------------------------------------------------- training


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


# --------------------------------------------------------------------------- evaluation


def evaluate_perplexity(
    model: torch.nn.Module, stream: torch.Tensor, context: int, batch_size: int = 16
) -> float:
    """Perplexity of ``model`` on ``stream`` cut into non-overlapping windows (fp32)."""
    import torch
    import torch.nn.functional as nnf

    usable = (len(stream) - 1) // context * context
    inputs = stream[:usable].view(-1, context)
    targets = stream[1 : usable + 1].view(-1, context)
    total = 0.0
    with torch.no_grad():
        for first in range(0, len(inputs), batch_size):
            logits = model(input_ids=inputs[first : first + batch_size]).logits.float()
            chunk = targets[first : first + batch_size]
            total += nnf.cross_entropy(
                logits.reshape(-1, logits.shape[-1]), chunk.reshape(-1), reduction="sum"
            ).item()
    return math.exp(total / targets.numel())


def sample_from(
    model: torch.nn.Module, prompt: torch.Tensor, new_tokens: int, generator: torch.Generator
) -> torch.Tensor:
    """Sample ``new_tokens`` at temperature 1 (no top-k/top-p), recomputing the full context.

    Returns the prompt followed by the samples as a 1-D tensor.
    """
    import torch

    sequence = prompt.clone()
    with torch.no_grad():
        for _ in range(new_tokens):
            logits = model(input_ids=sequence[None, :]).logits[0, -1].float()
            probs = torch.softmax(logits, dim=-1)
            token = torch.multinomial(probs, 1, generator=generator)
            sequence = torch.cat([sequence, token])
    return sequence


def compare_along(
    target: torch.nn.Module, draft: torch.nn.Module, sequence: torch.Tensor, prompt_len: int
) -> tuple[list[float], list[bool]]:
    """Per-position TV distance and argmax agreement of draft vs target next-token laws.

    Positions are those that predicted the sampled tokens ``sequence[prompt_len:]``.
    """
    import torch

    with torch.no_grad():
        p_target = torch.softmax(target(input_ids=sequence[None, :]).logits[0].float(), -1)
        p_draft = torch.softmax(draft(input_ids=sequence[None, :]).logits[0].float(), -1)
    span = slice(prompt_len - 1, len(sequence) - 1)
    p_target, p_draft = p_target[span], p_draft[span]
    tv = 0.5 * (p_target - p_draft).abs().sum(-1)
    same = p_target.argmax(-1) == p_draft.argmax(-1)
    return tv.tolist(), same.tolist()


def tv_along_target_samples(
    target: torch.nn.Module,
    draft: torch.nn.Module,
    tokenizer: PreTrainedTokenizerFast,
    prompts: Sequence[str],
    new_tokens: int,
    seed: int,
) -> dict[str, float]:
    """Mean TV and same-argmax fraction along target samples from ``prompts``.

    Each prompt is preceded by the eos token (documents start after one in training).
    """
    import torch

    generator = torch.Generator().manual_seed(seed)
    tvs: list[float] = []
    sames: list[bool] = []
    for text in prompts:
        ids = [tokenizer.eos_token_id, *tokenizer.encode(text, add_special_tokens=False)]
        prompt = torch.tensor(ids, dtype=torch.long)
        sequence = sample_from(target, prompt, new_tokens, generator)
        tv, same = compare_along(target, draft, sequence, len(ids))
        tvs.extend(tv)
        sames.extend(same)
    return {
        "mean_tv": statistics.fmean(tvs),
        "median_tv": statistics.median(tvs),
        "same_argmax": statistics.fmean(float(s) for s in sames),
        "positions": float(len(tvs)),
    }


def per_token_latency_ms(
    model: GPTNeoXForCausalLM, new_tokens: int = 64, repeats: int = 5
) -> float:
    """Median milliseconds per token of greedy decoding with the KV cache (batch 1, fp32)."""
    import torch

    prompt = torch.zeros((1, 8), dtype=torch.long)
    timings = []
    with torch.no_grad():
        for _ in range(repeats + 1):  # the first run is a warm-up
            start = time.perf_counter()
            model.generate(
                prompt,
                attention_mask=torch.ones_like(prompt),
                do_sample=False,
                max_new_tokens=new_tokens,
                min_new_tokens=new_tokens,
                use_cache=True,
            )
            timings.append((time.perf_counter() - start) * 1000.0 / new_tokens)
    return statistics.median(timings[1:])


# --------------------------------------------------------------------------- saving


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


def library_versions() -> dict[str, str]:
    """Versions of Python and the libraries that determine the weights."""
    import tokenizers
    import torch
    import transformers

    return {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "tokenizers": tokenizers.__version__,
        "torch_threads": str(torch.get_num_threads()),
    }


def write_json(path: Path, data: dict[str, Any]) -> None:
    """Write ``data`` as JSON atomically (temporary file, then rename)."""
    temporary = path.with_suffix(".json.tmp")
    temporary.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(temporary, path)


# --------------------------------------------------------------------------- main


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """The command line of ``python -m specbound.lm.train_pair``."""
    parser = argparse.ArgumentParser(
        prog="python -m specbound.lm.train_pair", description=__doc__.split("\n")[0]
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        help=f"output directory (default {DEFAULT_OUT}; --quick: a temp dir)",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--vocab-size", type=int, default=4096)
    parser.add_argument("--context", type=int, default=256, help="training window (tokens)")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--target-shape", type=Shape.parse, default=Shape(4, 256, 4))
    parser.add_argument("--draft-shape", type=Shape.parse, default=Shape(1, 64, 1))
    parser.add_argument("--target-steps", type=int, default=900)
    parser.add_argument("--draft-steps", type=int, default=500)
    parser.add_argument("--target-lr", type=float, default=2e-3)
    parser.add_argument("--draft-lr", type=float, default=4e-3)
    parser.add_argument(
        "--distill",
        type=float,
        default=1.0,
        help="weight of KL(target || draft) in the draft's loss (1: pure distillation, "
        "0: data only)",
    )
    parser.add_argument(
        "--target-minutes",
        type=float,
        default=None,
        help="optional wall-time cap for the target (not reproducible)",
    )
    parser.add_argument(
        "--draft-minutes",
        type=float,
        default=None,
        help="optional wall-time cap for the draft (not reproducible)",
    )
    parser.add_argument("--prompts", type=int, default=len(PROMPTS), help="TV prompts to use")
    parser.add_argument("--sample-tokens", type=int, default=64)
    parser.add_argument(
        "--threads", type=int, default=1, help="torch CPU threads (1 is robust on a shared machine)"
    )
    parser.add_argument("--no-latency", action="store_true", help="skip the latency timing")
    parser.add_argument(
        "--quick",
        action="store_true",
        help="seconds-long smoke run: topics only, tiny models, few steps",
    )
    return parser.parse_args(argv)


def quick_overrides(args: argparse.Namespace) -> argparse.Namespace:
    """Shrink everything for ``--quick`` (explicit --out is kept; otherwise a temp dir)."""
    args.vocab_size, args.context, args.batch_size = 512, 64, 8
    args.target_shape, args.draft_shape = Shape(1, 64, 2), Shape(1, 32, 1)
    args.target_steps, args.draft_steps = 20, 20
    args.prompts, args.sample_tokens, args.no_latency = 2, 8, True
    if args.out is None:
        args.out = Path(tempfile.mkdtemp(prefix="specbound-pair-"))
    return args


def load_texts(quick: bool) -> tuple[list[str], list[str]]:
    """Training and held-out documents (``quick``: a slice of the pydoc topics only)."""
    from specbound.lm import corpus

    if quick:
        documents = [doc for doc in corpus.topic_documents() if len(doc.text) < 4000]
        train = [d.text for d in documents if not corpus.is_heldout(d.text, 5)][:60]
        heldout = [d.text for d in documents if corpus.is_heldout(d.text, 5)][:10]
        return train, heldout
    train_docs, heldout_docs = corpus.build_documents()
    return [d.text for d in train_docs], [d.text for d in heldout_docs]


def _timed(label: str, action: Callable[[], Any]) -> Any:
    """Run ``action`` and print how long it took."""
    start = time.perf_counter()
    result = action()
    print(f"{label}: {time.perf_counter() - start:.1f} s", flush=True)
    return result


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


def main(argv: Sequence[str] | None = None) -> int:
    """Train, save and evaluate the pair; returns the process exit status."""
    args = parse_args(argv)
    if args.quick:
        args = quick_overrides(args)
    out: Path = args.out if args.out is not None else DEFAULT_OUT
    out.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    import torch

    torch.set_num_threads(args.threads)
    wall_start, cpu_start = time.perf_counter(), time.process_time()

    train_docs, heldout_docs = _timed("corpus built", lambda: load_texts(args.quick))
    print(
        f"corpus: {len(train_docs)} train documents "
        f"({sum(map(len, train_docs)):,} chars), {len(heldout_docs)} held out "
        f"({sum(map(len, heldout_docs)):,} chars)",
        flush=True,
    )
    tokenizer = _timed("tokenizer", lambda: train_tokenizer(train_docs, args.vocab_size))
    train_stream = encode_stream(tokenizer, train_docs)
    heldout_stream = encode_stream(tokenizer, heldout_docs)
    print(f"tokens: {len(train_stream):,} train, {len(heldout_stream):,} held out", flush=True)
    tokenizer.save_pretrained(out / "tokenizer")

    base = TrainConfig(
        steps=0,
        batch_size=args.batch_size,
        context=args.context,
        warmup_steps=2 if args.quick else 100,
        log_every=10 if args.quick else 50,
    )
    target_config = replace(
        base, steps=args.target_steps, lr=args.target_lr, max_minutes=args.target_minutes
    )
    draft_config = replace(
        base,
        steps=args.draft_steps,
        lr=args.draft_lr,
        distill_weight=args.distill,
        max_minutes=args.draft_minutes,
    )
    target, target_report = train_one(
        "target", args.target_shape, target_config, tokenizer, train_stream, args.seed
    )
    save_model(target, out / "target")
    draft, draft_report = train_one(
        "draft",
        args.draft_shape,
        draft_config,
        tokenizer,
        train_stream,
        args.seed + 100,
        teacher=target if args.distill > 0 else None,
    )
    save_model(draft, out / "draft")
    train_seconds = time.perf_counter() - wall_start

    metrics = evaluate_saved(out, args, heldout_stream, tokenizer)
    metrics.update(
        seed=args.seed,
        quick=args.quick,
        command=" ".join(
            ["python -m specbound.lm.train_pair", *(sys.argv[1:] if argv is None else argv)]
        ),
        corpus={
            "train_documents": len(train_docs),
            "heldout_documents": len(heldout_docs),
            "train_tokens": len(train_stream),
            "heldout_tokens": len(heldout_stream),
            "train_chars": sum(map(len, train_docs)),
        },
        tokenizer={"vocab_size": len(tokenizer), "special_token": SPECIAL_TOKEN},
        training={
            "target": {
                **asdict(target_config),
                **asdict(target_report),
                "shape": str(args.target_shape),
            },
            "draft": {
                **asdict(draft_config),
                **asdict(draft_report),
                "shape": str(args.draft_shape),
            },
            "seconds_until_saved": train_seconds,
        },
        wall_seconds=time.perf_counter() - wall_start,
        cpu_seconds=time.process_time() - cpu_start,
        versions=library_versions(),
    )
    write_json(out / "metrics.json", metrics)
    print(json.dumps({k: metrics[k] for k in ("target", "draft", "pair")}, indent=2))
    print(f"saved to {out} in {metrics['wall_seconds'] / 60:.1f} min", flush=True)
    return 0


def evaluate_saved(
    out: Path,
    args: argparse.Namespace,
    heldout: torch.Tensor,
    tokenizer: PreTrainedTokenizerFast,
) -> dict[str, Any]:
    """Reload the saved (float16) weights as float32 and measure what ships."""
    target, draft = load_model(out / "target"), load_model(out / "draft")
    result: dict[str, Any] = {}
    for name, model in (("target", target), ("draft", draft)):
        measure = functools.partial(evaluate_perplexity, model, heldout, args.context)
        ppl = _timed(f"{name} held-out ppl", measure)
        result[name] = {
            "parameters": count_parameters(model),
            "heldout_ppl": ppl,
            "shape": str(args.target_shape if name == "target" else args.draft_shape),
        }
        if not args.no_latency:
            result[name]["ms_per_token_greedy"] = per_token_latency_ms(model)
    result["pair"] = _timed(
        "TV along target samples",
        lambda: tv_along_target_samples(
            target, draft, tokenizer, PROMPTS[: args.prompts], args.sample_tokens, args.seed + 7
        ),
    )
    result["pair"].update(
        prompts=args.prompts, sample_tokens=args.sample_tokens, temperature=1.0, top_k=None
    )
    return result


if __name__ == "__main__":
    raise SystemExit(main())
