"""The command line that trains, saves and evaluates the embedded pair."""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

from train_pair import corpus
from train_pair.evaluate import PROMPTS, evaluate_saved, timed
from train_pair.tokenizer import SPECIAL_TOKEN, encode_stream, train_tokenizer
from train_pair.train import Shape, TrainConfig, save_model, train_one

__all__ = ["DEFAULT_OUT", "load_texts", "main", "parse_args", "quick_overrides"]

#: Where the shipped pair lives: inside the installed package, so that ``make run`` and
#: the tests need no training and no network.
DEFAULT_OUT = Path(__file__).resolve().parents[2] / "src" / "specbound" / "lm" / "embedded"
#: How to run this script from the repository root.
COMMAND = "python tools/train_pair"


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


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """The command line of ``python tools/train_pair``."""
    parser = argparse.ArgumentParser(
        prog=COMMAND, description="Train the embedded draft/target model pair (seeded)."
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
    if quick:
        documents = [doc for doc in corpus.topic_documents() if len(doc.text) < 4000]
        train = [d.text for d in documents if not corpus.is_heldout(d.text, 5)][:60]
        heldout = [d.text for d in documents if corpus.is_heldout(d.text, 5)][:10]
        return train, heldout
    train_docs, heldout_docs = corpus.build_documents()
    return [d.text for d in train_docs], [d.text for d in heldout_docs]


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

    train_docs, heldout_docs = timed("corpus built", lambda: load_texts(args.quick))
    print(
        f"corpus: {len(train_docs)} train documents "
        f"({sum(map(len, train_docs)):,} chars), {len(heldout_docs)} held out "
        f"({sum(map(len, heldout_docs)):,} chars)",
        flush=True,
    )
    tokenizer = timed("tokenizer", lambda: train_tokenizer(train_docs, args.vocab_size))
    train_stream = encode_stream(tokenizer, train_docs)
    heldout_stream = encode_stream(tokenizer, heldout_docs)
    print(f"tokens: {len(train_stream):,} train, {len(heldout_stream):,} held out", flush=True)
    tokenizer.save_pretrained(out / "tokenizer")
    # documents follow an end-of-text token in training: prompts must start with one too
    (out / "tokenizer" / "specbound.json").write_text('{\n  "prompt_prefix": "eos"\n}\n')

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
        command=" ".join([COMMAND, *(sys.argv[1:] if argv is None else argv)]),
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
