"""A distilled draft on disk, and rebuilding a standard Hugging Face model from it.

A draft folder holds:

- ``config.json``: the draft's ``LlamaConfig`` (its vocabulary and width are the
  target's) with a ``specbound_draft`` entry: format, layers, head size K, weight dtype;
- ``draft.safetensors``: the decoder layers and the final norm only (float16). The token
  embedding and the tied output head are *not* shipped: they are the target's own
  (frozen during training), so :func:`materialize_draft` takes them from the target;
- ``head_tokens.json``: the K token ids the draft's law may cover (most frequent first);
- ``training_record.json``: how it was made (:mod:`specbound.distill.record`).

:func:`materialize_draft` returns a standard ``LlamaForCausalLM`` (full-vocabulary
head); decode with :func:`head_mask` / :func:`apply_head_mask` to get the law the draft
was trained for (zero outside the head; lossless, see
:mod:`specbound.distill.architecture`). :func:`save_full_draft` writes a plain Hugging
Face folder (embedding included) for tools such as transformers' assisted generation,
which use the full head (still lossless, a slightly different law).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import torch

from specbound.errors import IncompatibleModelsError, ModelNotFoundError

__all__ = [
    "DRAFT_FORMAT",
    "apply_head_mask",
    "head_mask",
    "is_distilled_draft",
    "materialize_draft",
    "read_draft_config",
    "save_draft",
    "save_full_draft",
]

DRAFT_FORMAT = "specbound-distilled-draft/1"
WEIGHTS = "draft.safetensors"
HEAD_TOKENS = "head_tokens.json"


def save_draft(
    folder: str | os.PathLike[str],
    draft: Any,
    head_ids: torch.Tensor,
    dtype: torch.dtype = torch.float16,
) -> Path:
    """Write ``draft``'s layers, norm, config and head tokens into ``folder``."""
    from safetensors.torch import save_file

    from specbound.distill.architecture import trainable_state

    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    state = {k: v.to(dtype).contiguous() for k, v in trainable_state(draft).items()}
    tmp = out / f".{WEIGHTS}.tmp"
    save_file(state, str(tmp), metadata={"format": DRAFT_FORMAT})
    tmp.replace(out / WEIGHTS)
    config = draft.config.to_dict()
    config["specbound_draft"] = {
        "format": DRAFT_FORMAT,
        "layers": int(draft.config.num_hidden_layers),
        "head_tokens": len(head_ids),
        "vocab_size": int(draft.config.vocab_size),
        "weights_dtype": str(dtype).removeprefix("torch."),
        "embedding": "the target's input embedding (tied output head), not shipped",
    }
    for name, payload in (("config.json", config), (HEAD_TOKENS, head_ids.tolist())):
        tmp = out / f".{name}.tmp"
        tmp.write_text(json.dumps(payload, indent=1) + "\n", encoding="utf-8")
        tmp.replace(out / name)
    return out


def is_distilled_draft(folder: str | os.PathLike[str]) -> bool:
    """Whether ``folder`` holds a specbound distilled draft (layers without the embedding,
    rebuilt on the target's by :func:`materialize_draft`)."""
    try:
        config = json.loads((Path(folder) / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    meta = config.get("specbound_draft") if isinstance(config, dict) else None
    return isinstance(meta, dict) and meta.get("format") == DRAFT_FORMAT


def read_draft_config(folder: str | os.PathLike[str]) -> dict[str, Any]:
    """The draft folder's ``config.json`` (checked to be a specbound draft)."""
    path = Path(folder) / "config.json"
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ModelNotFoundError(
            f"draft folder {os.fspath(folder)!r}: no readable config.json"
        ) from exc
    meta = config.get("specbound_draft") if isinstance(config, dict) else None
    if not isinstance(meta, dict) or meta.get("format") != DRAFT_FORMAT:
        raise ModelNotFoundError(f"{os.fspath(path)!r} is not a specbound distilled draft")
    return config


def head_mask(folder: str | os.PathLike[str]) -> torch.Tensor | None:
    """The token ids the draft's law may cover, (K,) int64, or None when K is the whole
    vocabulary. Apply with :func:`apply_head_mask` before the softmax."""
    config = read_draft_config(folder)
    ids = json.loads((Path(folder) / HEAD_TOKENS).read_text(encoding="utf-8"))
    if len(ids) >= int(config["specbound_draft"]["vocab_size"]):
        return None
    return torch.tensor(ids, dtype=torch.long)


def apply_head_mask(logits: torch.Tensor, allowed: torch.Tensor | None) -> torch.Tensor:
    """``logits`` (..., V) with every token outside ``allowed`` set to -inf (a new tensor;
    None: unchanged). Its softmax is the restricted draft law (zero outside the head)."""
    if allowed is None:
        return logits
    masked = torch.full_like(logits, float("-inf"))  # (..., V)
    index = allowed.to(logits.device).expand(*logits.shape[:-1], -1)  # (..., K)
    return masked.scatter(-1, index, logits.gather(-1, index))


def materialize_draft(
    folder: str | os.PathLike[str], target_model: Any, dtype: torch.dtype = torch.float32
) -> Any:
    """A standard ``LlamaForCausalLM``: the folder's layers and norm with the target's
    embedding (and tied head). Raises :class:`IncompatibleModelsError` when the target's
    embedding does not match the draft's vocabulary and width."""
    from safetensors.torch import load_file
    from transformers import LlamaConfig, LlamaForCausalLM

    config_dict = dict(read_draft_config(folder))
    config_dict.pop("specbound_draft")
    config = LlamaConfig.from_dict(config_dict)
    embed = target_model.get_input_embeddings().weight  # (V, H)
    if tuple(embed.shape) != (config.vocab_size, config.hidden_size):
        raise IncompatibleModelsError(
            f"the draft in {os.fspath(folder)!r} needs a ({config.vocab_size}, "
            f"{config.hidden_size}) embedding; the target has {tuple(embed.shape)}"
        )
    draft = LlamaForCausalLM(config).to(embed.device)
    state = {k: v.to(torch.float32) for k, v in load_file(str(Path(folder) / WEIGHTS)).items()}
    state["model.embed_tokens.weight"] = embed.detach().to(torch.float32)
    missing, unexpected = draft.load_state_dict(state, strict=False)
    missing = [m for m in missing if m != "lm_head.weight"]
    if missing or unexpected:
        raise ModelNotFoundError(
            f"draft weights in {os.fspath(folder)!r} do not fit its config "
            f"(missing {missing[:3]}, unexpected {unexpected[:3]})"
        )
    draft.tie_weights()
    return draft.to(dtype).eval()


def save_full_draft(
    folder: str | os.PathLike[str],
    target_model: Any,
    out: str | os.PathLike[str],
    tokenizer: Any = None,
    dtype: torch.dtype = torch.float32,
) -> Path:
    """Write the materialized draft as a plain Hugging Face folder (with ``tokenizer``
    when given) at ``out``; transformers loads it as any ``LlamaForCausalLM``."""
    draft = materialize_draft(folder, target_model, dtype=dtype)
    target = Path(out)
    draft.save_pretrained(target)
    if tokenizer is not None:
        tokenizer.save_pretrained(target)
    return target
