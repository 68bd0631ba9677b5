"""The training record: a JSON file beside the draft's weights saying how it was made."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from specbound.io import environment_info, write_json_atomic

__all__ = ["RECORD", "build_record", "write_record"]

RECORD = "training_record.json"


def build_record(
    *,
    target: str,
    settings: dict[str, Any],
    data: dict[str, Any],
    head: dict[str, Any],
    phases: list[dict[str, Any]],
    heldout: dict[str, Any],
    chosen: str,
    parameters: int,
    minutes: dict[str, float],
    cost: dict[str, Any],
    command: str | None = None,
) -> dict[str, Any]:
    """The record's fields (all plain JSON values).

    ``heldout``: per candidate (each objective tried), the held-out mean TV(draft,
    target) measured exactly on full laws along target samples at temperature 1 (the
    quantity of the paper's Theorem 1), its coarse lower bound, and the greedy agreement
    (share of positions where the draft's argmax is the target's).
    """
    best = heldout[chosen]
    return {
        "format": "specbound-distill-record/1",
        "target": target,
        "command": command,
        "objective": chosen,
        "heldout_mean_tv": best["tv"],
        "greedy_agreement": best["greedy_agreement"],
        "head_tokens": head["K"],
        "draft_layers": settings["draft_layers"],
        "trainable_parameters": parameters,
        "seed": settings["seed"],
        "minutes": minutes,
        "data": data,
        "head": head,
        "cost": cost,
        "heldout": heldout,
        "phases": phases,
        "settings": settings,
        "versions": environment_info(),
    }


def write_record(folder: Path, record: dict[str, Any]) -> Path:
    """Write ``record`` as ``folder/training_record.json`` (atomically)."""
    return write_json_atomic(folder / RECORD, record)
