"""``specbound distill``: train a draft for a Hugging Face causal-LM target.

Thin: parses options, calls :func:`specbound.distill.distill`, prints a summary. torch
and transformers are imported inside the command, so ``specbound --help`` stays fast.
"""

from __future__ import annotations

import shlex
import sys

import typer

from specbound.cli.app import app
from specbound.cli.common import echo_json
from specbound.errors import InvalidInputError

__all__ = ["distill", "parse_head_tokens"]


def parse_head_tokens(text: str) -> int | None:
    """``auto`` -> None (chosen by measurement), ``all`` -> 0 (whole vocabulary), else K."""
    value = text.strip().lower()
    if value == "auto":
        return None
    if value == "all":
        return 0
    try:
        size = int(value)
    except ValueError as exc:
        raise InvalidInputError(
            f"--head-tokens: expected 'auto', 'all' or a positive integer, got {text!r}"
        ) from exc
    if size < 1:
        raise InvalidInputError(f"--head-tokens must be >= 1 (or 'all'/'auto'), got {size}")
    return size


@app.command()
def distill(
    target: str = typer.Option(
        ..., "--target", help="The target: a Hugging Face model folder or a .gguf file."
    ),
    out: str = typer.Option(
        ..., "--out", "-o", help="Folder for data, checkpoints, the draft and its record."
    ),
    draft_layers: int = typer.Option(
        2, "--draft-layers", help="Decoder layers of the draft (from the target's first N)."
    ),
    head_tokens: str = typer.Option(
        "auto",
        "--head-tokens",
        help="K most frequent target tokens the draft covers: "
        "a number, 'all', or 'auto' (measured trade-off of draft cost against TV).",
    ),
    objective: str = typer.Option(
        "auto", "--objective", help="tv | kl | auto (both measured, the better continued)."
    ),
    max_minutes: float = typer.Option(
        60.0, "--max-minutes", help="Minutes of training (sampling the data not counted)."
    ),
    resume: bool = typer.Option(
        False, "--resume", metavar="", help="Continue the run in --out (data, checkpoint)."
    ),
    seed: int = typer.Option(0, "--seed", help="Seed (data sampling, init, batch order)."),
    threads: int = typer.Option(1, "--threads", help="torch CPU threads."),
    instructions: str | None = typer.Option(
        None, "--instructions", help="Instructions file (default: the shipped set)."
    ),
    max_new_tokens: int = typer.Option(
        80, "--max-new-tokens", "-n", help="Tokens the target samples per instruction."
    ),
    train_prompts: int = typer.Option(
        0,
        "--train-prompts",
        help="Use at most N training instructions, shortest prompts first (0: all).",
    ),
    quiet: bool = typer.Option(False, "--quiet", metavar="", help="No progress on stderr."),
    as_json: bool = typer.Option(False, "--json", metavar="", help="Print the record as JSON."),
) -> None:
    """Train a draft whose law is close in TV to the target's along the target's own
    samples (the paper's Theorem 1: expected rejections = sum of those TVs)."""
    from specbound.distill import TrainSettings
    from specbound.distill import distill as run_distill
    from specbound.distill.data import DataSettings
    from specbound.validate import check_int

    check_int(threads, "--threads", low=1)
    check_int(max_new_tokens, "--max-new-tokens", low=1, high=4096)
    check_int(train_prompts, "--train-prompts", low=0)
    settings = TrainSettings(
        draft_layers=draft_layers,
        head_tokens=parse_head_tokens(head_tokens),
        objective=objective.strip().lower(),
        max_minutes=max_minutes,
        seed=seed,
    )
    command = "specbound " + shlex.join(sys.argv[1:]) if sys.argv[1:2] == ["distill"] else None
    record = run_distill(
        target,
        out,
        settings,
        resume=resume,
        threads=threads,
        instructions=instructions,
        data_settings=DataSettings(max_new_tokens=max_new_tokens, train_prompts=train_prompts),
        quiet=quiet,
        command=command,
    )
    if as_json:
        echo_json(record)
        return
    typer.echo(
        f"draft in {out}: objective {record['objective']}, held-out mean TV "
        f"{record['heldout_mean_tv']:.4f}, greedy agreement {record['greedy_agreement']:.3f}, "
        f"K {record['head_tokens']}, {record['draft_layers']} layers"
    )
    for name, row in record["heldout"].items():
        typer.echo(f"  {name:6s} TV {row['tv']:.4f}  greedy {row['greedy_agreement']:.3f}")
