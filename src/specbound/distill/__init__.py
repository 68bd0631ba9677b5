"""Distilling a draft model for a Hugging Face causal-LM target (``specbound distill``).

The paper's Theorem 1 prices a draft by the sum over positions of
``E_{target path}[TV(draft_n, target_n)]``; this package trains a draft to minimise
exactly that on continuations the target itself samples (on-policy), compares it with
forward KL, and ships the result as a small folder that shares the target's embedding.

Modules, one idea each: :mod:`~specbound.distill.data` (instructions, on-policy samples,
cached top-k laws), :mod:`~specbound.distill.loss` (TV and KL on cached laws),
:mod:`~specbound.distill.architecture` (the draft, its restricted head and why it is
lossless), :mod:`~specbound.distill.cost` (measured step costs, the head size),
:mod:`~specbound.distill.loop` (phases, checkpoints, resume),
:mod:`~specbound.distill.evaluation` (held-out TV), :mod:`~specbound.lm.distilled`
(the draft folder, :func:`materialize_draft`, :func:`head_mask`),
:mod:`~specbound.distill.record` (the training record), and
:mod:`~specbound.distill.pipeline` (:func:`distill`, all of it in order).
"""

from __future__ import annotations

from specbound.distill.loop import TrainSettings
from specbound.distill.pipeline import distill
from specbound.lm.distilled import (
    apply_head_mask,
    head_mask,
    materialize_draft,
    save_full_draft,
)

__all__ = [
    "TrainSettings",
    "apply_head_mask",
    "distill",
    "head_mask",
    "materialize_draft",
    "save_full_draft",
]
