"""``distill``: on-policy data, head choice, training, exact held-out comparison, record.

Every step is resumable from ``out``: the sampled data (``out/data``), the checkpoint
(``out/checkpoint.pt``), then the candidates (``out/candidates/<phase>``, each a draft
folder as shipped); the winner's files are copied to ``out`` itself with the training
record (:mod:`specbound.lm.distilled` describes the folder).
"""

from __future__ import annotations

import os
import shutil
import sys
import time
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

import torch

from specbound.distill.architecture import HeadRestrictedDraft, init_draft
from specbound.distill.checkpoint import CHECKPOINT, load_checkpoint
from specbound.distill.cost import choose_head_size, draft_step_ms, target_step_ms
from specbound.distill.data import (
    DataSettings,
    LawSet,
    build_lawset,
    instructions_digest,
    read_instructions,
    split_instructions,
)
from specbound.distill.evaluation import evaluate_exact
from specbound.distill.loop import OBJECTIVES, TrainSettings, train
from specbound.distill.record import build_record, write_record
from specbound.distill.target import load_target
from specbound.errors import InvalidInputError
from specbound.io import check_output_folder, read_json
from specbound.lm.distilled import apply_head_mask, materialize_draft, save_draft
from specbound.lm.engine.threads import torch_threads
from specbound.validate import check_float, check_int, check_seed

__all__ = ["distill"]

SHIPPED = ("config.json", "draft.safetensors", "head_tokens.json")


def _say(quiet: bool) -> Any:
    def say(text: str) -> None:
        if not quiet:
            print(f"[distill] {text}", file=sys.stderr, flush=True)

    return say


def _check(settings: TrainSettings) -> None:
    check_int(settings.draft_layers, "--draft-layers", low=1, high=64)
    if settings.head_tokens is not None:
        check_int(settings.head_tokens, "--head-tokens", low=0)
    if settings.objective not in OBJECTIVES:
        raise InvalidInputError(
            f"--objective must be one of {', '.join(OBJECTIVES)}, got {settings.objective!r}"
        )
    check_float(settings.max_minutes, "--max-minutes", low=0.0, low_open=True)
    check_seed(settings.seed, "--seed")


def _data_summary(
    laws: LawSet, instructions: int, manifest_split: dict[str, Any]
) -> dict[str, Any]:
    return {
        "instructions": instructions,
        "sequences": len(laws),
        "positions": laws.positions,
        "mean_prompt_tokens": sum(laws.prompt_lens) / max(len(laws), 1),
        "mean_continuation_tokens": laws.positions / max(len(laws), 1),
        "mean_tail_mass": float(laws.tail.mean()),
        "sampling_minutes": manifest_split.get("sampling_s", float("nan")) / 60.0,
    }


def _materialized_law(folder: Path, target: Any) -> Any:
    from specbound.lm.distilled import head_mask

    draft = materialize_draft(folder, target)
    allowed = head_mask(folder)

    def law(ids: torch.Tensor, mask: torch.Tensor, select: torch.Tensor) -> torch.Tensor:
        logits = draft(input_ids=ids, attention_mask=mask).logits[select]  # (n, V)
        return torch.softmax(apply_head_mask(logits.float(), allowed), dim=-1)  # (n, V)

    return law


def distill(
    target_path: str | os.PathLike[str],
    out: str | os.PathLike[str],
    settings: TrainSettings | None = None,
    *,
    resume: bool = False,
    threads: int | None = 1,
    instructions: str | os.PathLike[str] | None = None,
    data_settings: DataSettings | None = None,
    quiet: bool = False,
    command: str | None = None,
) -> dict[str, Any]:
    """Train a draft for the target at ``target_path`` into ``out``; returns the record.

    The objective is the paper's Theorem 1 quantity, mean TV(draft, target) along target
    samples, or forward KL, or both measured (``auto``, :mod:`specbound.distill.loop`).
    """
    settings = settings or TrainSettings()
    _check(settings)
    folder = check_output_folder(os.fspath(out), "--out")
    target_shown = os.fspath(target_path)
    if not Path(target_shown).expanduser().exists():
        from specbound.errors import ModelNotFoundError

        raise ModelNotFoundError(f"--target {target_shown!r} does not exist")
    has_run = (folder / CHECKPOINT).exists() or (folder / "data" / "manifest.json").exists()
    if has_run and not resume:
        raise InvalidInputError(
            f"--out {os.fspath(out)!r} already holds a distill run; "
            "pass --resume or use a fresh folder"
        )
    folder.mkdir(parents=True, exist_ok=True)
    say = _say(quiet)
    with torch_threads(threads):
        return _distill(
            target_shown, folder, settings, resume, instructions, data_settings, quiet, say, command
        )


def _distill(
    target_path: str,
    folder: Path,
    settings: TrainSettings,
    resume: bool,
    instructions: str | os.PathLike[str] | None,
    data_settings: DataSettings | None,
    quiet: bool,
    say: Any,
    command: str | None,
) -> dict[str, Any]:
    torch.manual_seed(settings.seed)
    began = time.monotonic()
    target, tokenizer = load_target(target_path)
    lines = read_instructions(instructions)
    train_text, held_text = split_instructions(lines)
    data_settings = replace(
        data_settings or DataSettings(),
        seed=settings.seed,
        instructions_sha256=instructions_digest(lines),
    )
    say(f"data: {len(train_text)} train / {len(held_text)} held-out instructions")
    heldout = build_lawset(
        target, tokenizer, held_text, folder / "data", "heldout", data_settings, quiet=quiet
    )
    train_laws = build_lawset(
        target, tokenizer, train_text, folder / "data", "train", data_settings, quiet=quiet
    )
    manifest = read_json(folder / "data" / "manifest.json") or {"splits": {}}
    say(f"data: {train_laws.positions} train / {heldout.positions} held-out positions")

    state = load_checkpoint(folder) if resume else None
    if state is not None:
        saved = state["settings"]
        for key in ("draft_layers", "seed"):
            if saved[key] != getattr(settings, key):
                raise InvalidInputError(
                    f"--resume: the checkpoint was made with {key}={saved[key]}, "
                    f"not {getattr(settings, key)}"
                )
        settings = replace(settings, head_tokens=saved["head_tokens"], objective=saved["objective"])
        say(f"resuming at step {state['total_steps']}")
    draft, copied = init_draft(target, settings.draft_layers)
    if state is None:
        target_ms = target_step_ms(target)
        if settings.head_tokens is None:
            size, table = choose_head_size(
                train_laws.token_mass, heldout.token_mass, heldout.positions, draft, target_ms
            )
        else:
            vocab = int(train_laws.token_mass.shape[0])
            size = vocab if settings.head_tokens in (0, None) else min(settings.head_tokens, vocab)
            table = []
        head_ids = torch.argsort(train_laws.token_mass, descending=True)[:size]  # (K,)
        head = {
            "K": size,
            "chosen_by": "measured" if settings.head_tokens is None else "given",
            "target_step_ms": target_ms,
            "table": table,
            "copied_tensors": copied,
        }
        settings = replace(settings, head_tokens=size)
        extra = {"head_ids": head_ids, "head": head}
        say(f"head: K = {size} ({head['chosen_by']}); {copied} tensors from the target")
    else:
        head_ids, head, extra = state["head_ids"], state["head"], {}
    module = HeadRestrictedDraft(draft, head_ids)
    trainable = sum(p.numel() for p in module.parameters_to_train())
    state = train(
        module,
        train_laws,
        heldout,
        settings,
        folder,
        state,
        extra_state=extra,
        quiet=quiet,
        log=say,
    )

    # exact comparison of every phase's best state, as shipped (float16, materialized)
    eval_began = time.monotonic()
    laws_fns = {}
    for phase in state["phases"]:
        if phase["best_tv"] is None:
            continue
        module.draft.load_state_dict(state["best"][phase["name"]], strict=False)
        candidate = folder / "candidates" / phase["name"]
        save_draft(candidate, module.draft, head_ids)
        laws_fns[phase["name"]] = _materialized_law(candidate, target)
    say(f"exact held-out evaluation of {', '.join(laws_fns)}")
    exact = evaluate_exact(target, laws_fns, heldout)
    for phase in state["phases"]:
        if phase["name"] in exact:
            best_point = min(phase["curve"], key=lambda p: p["tv_coarse"])
            exact[phase["name"]].update(
                {
                    "objective": phase["objective"],
                    "started_from": phase["started_from"],
                    "tv_coarse": best_point["tv_coarse"],
                    "tv_upper": best_point["tv_upper"],
                    "minutes": phase["elapsed_s"] / 60.0,
                    "steps": phase["steps"],
                }
            )
    chosen = min(exact, key=lambda name: exact[name]["tv"])
    for name in SHIPPED:
        shutil.copyfile(folder / "candidates" / chosen / name, folder / name)
    say(
        f"chosen: {chosen}, held-out TV {exact[chosen]['tv']:.4f}, "
        f"greedy agreement {exact[chosen]['greedy_agreement']:.3f}"
    )

    shipped = materialize_draft(folder, target)
    target_ms = target_step_ms(target)
    full_ms = draft_step_ms(shipped, None)
    head_ms = draft_step_ms(shipped, head_ids)
    cost = {
        "target_step_ms": target_ms,
        "draft_step_ms_full_head": full_ms,
        "draft_step_ms_restricted_head": head_ms,
        "cost_ratio_full_head": full_ms / target_ms,
        "cost_ratio_restricted_head": head_ms / target_ms,
        "how": "median one-token step with a KV cache after 64 tokens, transformers "
        f"forward, {torch.get_num_threads()} thread(s)",
    }
    settings_dict = asdict(settings)
    phases = [{k: v for k, v in p.items()} for p in state["phases"]]
    splits = manifest.get("splits", {})
    data = {
        "train": _data_summary(
            train_laws,
            len(train_text)
            if not data_settings.train_prompts
            else min(len(train_text), data_settings.train_prompts),
            splits.get("train", {}),
        ),
        "heldout": _data_summary(heldout, len(held_text), splits.get("heldout", {})),
        "settings": asdict(data_settings),
    }
    minutes = {
        "training": sum(p["elapsed_s"] for p in state["phases"]) / 60.0,
        "sampling": data["train"]["sampling_minutes"] + data["heldout"]["sampling_minutes"],
        "final_evaluation": (time.monotonic() - eval_began) / 60.0,
        "this_run": (time.monotonic() - began) / 60.0,
    }
    record = build_record(
        target=target_path,
        settings=settings_dict,
        data=data,
        head=head,
        phases=phases,
        heldout=exact,
        chosen=chosen,
        parameters=trainable,
        minutes=minutes,
        cost=cost,
        command=command,
    )
    write_record(folder, record)
    return record
