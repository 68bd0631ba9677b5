"""The training loop: phases of one objective each, timed, checkpointed, resumable.

Objectives (per position, averaged over target-sampled positions; see
:mod:`specbound.distill.loss`): ``tv``, the quantity the paper's Theorem 1 sums into
the expected rejections, and ``kl``, forward KL(target || draft). ``auto`` measures
both: an arm of each from the same start (``arm_share`` of the minutes each), then the
rest of the minutes continue the arm with the lower held-out TV, minimising TV (so a
winning KL arm becomes a KL-then-TV hybrid: TV's gradient vanishes where the laws
barely overlap, KL's does not). Every phase keeps its best held-out state; the
caller compares the candidates exactly and ships the best.

A phase's learning rate warms up over ``warmup_steps`` then follows a cosine in the
phase's elapsed share of its minutes down to a tenth. Batches are seeded permutations
of the sequences (per seed, phase and epoch), so a resumed run continues the same
order from the saved cursor.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch

from specbound.distill.architecture import trainable_state
from specbound.distill.checkpoint import save_checkpoint
from specbound.distill.data import LawSet
from specbound.distill.evaluation import batch_of, evaluate_coarse
from specbound.distill.loss import coarse_kl, coarse_tv, draft_law_on
from specbound.distill.progress import Progress, format_minutes
from specbound.errors import InvalidInputError

__all__ = ["OBJECTIVES", "TrainSettings", "plan_phases", "train"]

OBJECTIVES = ("tv", "kl", "auto")


@dataclass(frozen=True)
class TrainSettings:
    """What ``specbound distill`` trains and for how long (minutes of training phases;
    sampling the data is not counted)."""

    draft_layers: int = 2
    head_tokens: int | None = None  # None: chosen by measurement; 0: whole vocabulary
    objective: str = "auto"
    max_minutes: float = 60.0
    seed: int = 0
    batch_sequences: int = 8
    lr: float = 5e-4
    warmup_steps: int = 20
    arm_share: float = 0.2
    eval_every_s: float = 240.0
    eval_every_nth: int = 3  # the curve uses every n-th held-out sequence (cost); exact: all
    checkpoint_every_s: float = 180.0


def plan_phases(settings: TrainSettings) -> list[dict[str, Any]]:
    """The phases for ``settings.objective`` (name, objective, start, minutes)."""
    minutes = settings.max_minutes
    if settings.objective in ("tv", "kl"):
        return [
            {
                "name": settings.objective,
                "objective": settings.objective,
                "init": "init",
                "minutes": minutes,
            }
        ]
    if settings.objective != "auto":
        raise InvalidInputError(
            f"--objective must be one of {OBJECTIVES}, got {settings.objective!r}"
        )
    arm = settings.arm_share * minutes
    return [
        {"name": "kl", "objective": "kl", "init": "init", "minutes": arm},
        {"name": "tv", "objective": "tv", "init": "init", "minutes": arm},
        {"name": "final", "objective": "tv", "init": "best-arm", "minutes": minutes - 2 * arm},
    ]


def _fresh_phase(plan: dict[str, Any]) -> dict[str, Any]:
    return {
        **plan,
        "elapsed_s": 0.0,
        "steps": 0,
        "epoch": 0,
        "cursor": 0,
        "curve": [],
        "best_tv": None,
        "started_from": None,
        "done": False,
    }


def _loss(module: Any, laws: LawSet, index: list[int], objective: str) -> torch.Tensor:
    ids, mask, select, rows = batch_of(laws, index)
    log_p = module(ids, mask, select)  # (n, K)
    p_s, p_other = draft_law_on(log_p, module.head_position, laws.top_ids[rows])  # (n, k), (n,)
    fn = coarse_tv if objective == "tv" else coarse_kl
    return fn(p_s, p_other, laws.top_probs[rows], laws.tail[rows]).mean()


def _lr(settings: TrainSettings, phase: dict[str, Any]) -> float:
    warm = min(1.0, (phase["steps"] + 1) / settings.warmup_steps)
    share = min(1.0, phase["elapsed_s"] / max(60.0 * phase["minutes"], 1e-9))
    return settings.lr * warm * (0.1 + 0.45 * (1.0 + math.cos(math.pi * share)))


def train(
    module: Any,
    train_laws: LawSet,
    heldout: LawSet,
    settings: TrainSettings,
    out: Path,
    state: dict[str, Any] | None,
    *,
    extra_state: dict[str, Any],
    quiet: bool = False,
    log: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Run (or continue, from checkpoint ``state``) the phases; returns the final state
    (its ``phases`` hold the curves, its ``best`` the best state of each phase)."""
    plans = plan_phases(settings)
    init = trainable_state(module.draft)
    if state is None:
        state = {
            "settings": asdict(settings),
            "phases": [_fresh_phase(p) for p in plans],
            "current": 0,
            "model": None,
            "optimizer": None,
            "best": {"init": init},
            "total_steps": 0,
            "training_s": 0.0,
            **extra_state,
        }
    else:  # minutes may differ on resume: re-plan what is not done yet
        for old, plan in zip(state["phases"], plans, strict=True):
            if not old["done"]:
                old["minutes"] = plan["minutes"]
        last = state["phases"][-1]
        if last["done"] and 60.0 * plans[-1]["minutes"] > last["elapsed_s"]:
            last["minutes"], last["done"] = plans[-1]["minutes"], False  # more minutes: go on
            state["current"] = len(state["phases"]) - 1
    say = log or (lambda _text: None)
    params = module.parameters_to_train()
    for index in range(state["current"], len(state["phases"])):
        phase = state["phases"][index]
        state["current"] = index
        if phase["done"]:
            continue
        optimizer = torch.optim.AdamW(params, lr=settings.lr, betas=(0.9, 0.98), weight_decay=0.0)
        if state["model"] is not None and phase["steps"] > 0:
            module.draft.load_state_dict(state["model"], strict=False)
            optimizer.load_state_dict(state["optimizer"])
        else:
            start = phase["init"]
            if start == "best-arm":
                arms = [p for p in state["phases"][:index] if p["best_tv"] is not None]
                start = min(arms, key=lambda p: p["best_tv"])["name"]
            phase["started_from"] = start
            module.draft.load_state_dict(state["best"][start], strict=False)
            say(
                f"phase {phase['name']} ({phase['objective']}) from {start}, "
                f"{phase['minutes']:.1f} min"
            )
        _run_phase(
            module,
            optimizer,
            train_laws,
            heldout,
            settings,
            out,
            state,
            phase,
            quiet=quiet,
            say=say,
        )
    return state


def _run_phase(
    module: Any,
    optimizer: torch.optim.Optimizer,
    train_laws: LawSet,
    heldout: LawSet,
    settings: TrainSettings,
    out: Path,
    state: dict[str, Any],
    phase: dict[str, Any],
    *,
    quiet: bool,
    say: Callable[[str], None],
) -> None:
    budget_s = 60.0 * phase["minutes"]
    progress = Progress(f"train {phase['name']}", budget_s / 60.0, quiet=quiet)
    progress.skip(phase["elapsed_s"] / 60.0)
    began = time.monotonic() - phase["elapsed_s"]
    last_eval = last_ckpt = time.monotonic()
    phase_no = state["current"]

    def evaluate() -> None:
        nonlocal last_eval
        result = evaluate_coarse(module, heldout, every=settings.eval_every_nth)
        point = {
            "minutes": (state["training_s"]) / 60.0,
            "phase": phase["name"],
            "step": phase["steps"],
            **result,
        }
        phase["curve"].append(point)
        if phase["best_tv"] is None or result["tv_coarse"] < phase["best_tv"]:
            phase["best_tv"] = result["tv_coarse"]
            state["best"][phase["name"]] = trainable_state(module.draft)
        say(
            f"  {phase['name']} step {phase['steps']} {format_minutes(phase['elapsed_s'])}: "
            f"held-out TV {result['tv_coarse']:.4f}..{result['tv_upper']:.4f} "
            f"greedy {result['greedy_agreement']:.3f}"
        )
        last_eval = time.monotonic()

    def checkpoint() -> None:
        nonlocal last_ckpt
        state["model"] = trainable_state(module.draft)
        state["optimizer"] = optimizer.state_dict()
        save_checkpoint(out, state)
        last_ckpt = time.monotonic()

    if phase["steps"] == 0:
        evaluate()
    module.train()
    loss_avg = None
    try:
        while phase["elapsed_s"] < budget_s:
            gen = torch.Generator().manual_seed(
                settings.seed * 7919 + phase_no * 1009 + phase["epoch"]
            )
            order = torch.randperm(len(train_laws), generator=gen).tolist()
            if phase["cursor"] >= len(order):
                phase["epoch"] += 1
                phase["cursor"] = 0
                continue
            index = order[phase["cursor"] : phase["cursor"] + settings.batch_sequences]
            for group in optimizer.param_groups:
                group["lr"] = _lr(settings, phase)
            tick = time.monotonic()
            loss = _loss(module, train_laws, index, phase["objective"])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(module.parameters_to_train(), 1.0)
            optimizer.step()
            phase["cursor"] += len(index)
            phase["steps"] += 1
            state["total_steps"] += 1
            value = float(loss.detach())
            loss_avg = value if loss_avg is None else 0.95 * loss_avg + 0.05 * value
            now = time.monotonic()
            phase["elapsed_s"] = now - began
            state["training_s"] += now - tick
            progress.update(
                phase["elapsed_s"] / 60.0,
                f"step {phase['steps']} epoch {phase['epoch']} loss {loss_avg:.4f}",
            )
            if now - last_eval >= settings.eval_every_s:
                evaluate()
                phase["elapsed_s"] = time.monotonic() - began
            if now - last_ckpt >= settings.checkpoint_every_s:
                checkpoint()
    except KeyboardInterrupt:
        say("interrupted: saving a checkpoint (continue with --resume)")
        checkpoint()
        raise
    evaluate()
    phase["elapsed_s"] = time.monotonic() - began
    phase["done"] = True
    checkpoint()
