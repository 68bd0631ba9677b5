"""On-policy distillation data: the target's own continuations and its laws along them.

By the paper's Theorem 1 the expected rejections of speculative decoding to the horizon
are the sum over positions of ``E_{target path}[TV(p_n, q_n)]`` (p the draft, q the
target), the expectation taken along paths the *target* samples. So the training
positions are exactly those: chat-templated instructions, continuations the target
samples at temperature 1 (on-policy, as DistillSpec found best), and at every position
the target's law q_n there.

The laws are recorded while the target generates (batched, with its KV cache: the
scores ``generate`` samples from at temperature 1 *are* q_n, so no second teacher
forward is needed) and cached once, as the ``k`` most likely tokens with their
probabilities plus the remaining ("tail") mass, so epochs reuse them. Alongside, the
expected token counts ``sum_n q_n`` over the full vocabulary (for choosing the draft's
head tokens: the mean mass a K-token head covers is exactly
``sum_{i in K} token_mass[i] / positions``).

Files (under ``<out>/data``): ``<split>-NNNN.npz`` (compressed) per chunk of
prompts, and ``manifest.json`` with the settings; an interrupted run resumes at the
first missing chunk (each chunk is seeded by its index, so the result is the same).
"""

from __future__ import annotations

import hashlib
import math
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import torch

from specbound.distill.progress import Progress
from specbound.errors import InvalidInputError
from specbound.io import read_json, write_json_atomic

__all__ = [
    "DataSettings",
    "LawSet",
    "build_lawset",
    "chat_prompt_ids",
    "instructions_digest",
    "read_instructions",
    "split_instructions",
]

#: Share of the instructions held out (never trained on) for measuring TV.
HELDOUT_SHARE = 0.1


def read_instructions(path: str | os.PathLike[str] | None = None) -> list[str]:
    """The instructions, one per line ('#' starts a comment); default: the shipped set."""
    if path is None:
        text = (
            resources.files("specbound.data")
            .joinpath("distill_instructions.txt")
            .read_text(encoding="utf-8")
        )
    else:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise InvalidInputError(f"instructions {str(path)!r} cannot be read: {exc}") from exc
    lines = [line.strip() for line in text.splitlines()]
    found = [line for line in lines if line and not line.startswith("#")]
    if len(found) < 2:
        raise InvalidInputError("need at least 2 instructions (one per line)")
    return found


def split_instructions(
    instructions: Sequence[str], heldout_share: float = HELDOUT_SHARE
) -> tuple[list[str], list[str]]:
    """``(train, heldout)``: deterministic, independent of the file's order.

    Instructions are ranked by the SHA-256 of their text; the first
    ``ceil(heldout_share * n)`` (at least 1) are held out.
    """
    unique = sorted(set(instructions), key=lambda s: hashlib.sha256(s.encode()).hexdigest())
    n_held = max(1, math.ceil(heldout_share * len(unique)))
    held = set(unique[:n_held])
    return [s for s in instructions if s not in held], [s for s in unique if s in held]


def instructions_digest(instructions: Sequence[str]) -> str:
    """SHA-256 of the instructions (one per line), recorded with the data."""
    return hashlib.sha256("\n".join(instructions).encode()).hexdigest()


def chat_prompt_ids(tokenizer: Any, instruction: str) -> list[int]:
    """The token ids of ``instruction`` as one user turn through the tokenizer's chat
    template (with the assistant's opening); raw text when there is no template."""
    if getattr(tokenizer, "chat_template", None):
        text = tokenizer.apply_chat_template(
            [{"role": "user", "content": instruction}], tokenize=False, add_generation_prompt=True
        )
        return list(tokenizer(text, add_special_tokens=False)["input_ids"])
    return list(tokenizer(instruction)["input_ids"])


@dataclass(frozen=True)
class DataSettings:
    """How the on-policy data was (or is to be) made; stored in the manifest."""

    samples_per_prompt: int = 3
    heldout_samples_per_prompt: int = 4
    max_new_tokens: int = 80
    top_k: int = 64
    rows_per_chunk: int = 32
    seed: int = 0
    instructions_sha256: str = ""
    #: At most this many training instructions (0: all): those with the shortest chat
    #: prompts, the order sampling proceeds in (so a run cut short after some chunks and
    #: one limited to those chunks' instructions hold the same data).
    train_prompts: int = 0


@dataclass
class LawSet:
    """Sequences (prompt + sampled continuation) and the target's top-k law at every
    continuation position. Position ``j`` of sequence ``s`` (``0 <= j < cont_lens[s]``)
    is predicted from ``tokens[s][: prompt_lens[s] + j]``; its law is row
    ``law_starts[s] + j`` of ``top_ids`` / ``top_probs`` / ``tail``."""

    tokens: list[torch.Tensor]  # each (P_s + C_s,) int64
    prompt_lens: list[int]
    cont_lens: list[int]
    law_starts: list[int]
    top_ids: torch.Tensor  # (n, k) int64: the k most likely tokens, by decreasing prob
    top_probs: torch.Tensor  # (n, k) float32
    tail: torch.Tensor  # (n,) float32: 1 - sum of the top-k probs
    token_mass: torch.Tensor  # (V,) float64: sum over positions of q_n

    @property
    def positions(self) -> int:
        """The number of continuation positions (laws)."""
        return int(self.top_ids.shape[0])

    def __len__(self) -> int:
        return len(self.tokens)


class _Recorder:
    """A logits processor that records the law q_n of every row at every step."""

    def __init__(self, k: int, prompt_width: int, eos_ids: set[int]):
        self.k, self.prompt_width = k, prompt_width
        self.eos = torch.tensor(sorted(eos_ids), dtype=torch.long)
        self.ids: list[torch.Tensor] = []
        self.probs: list[torch.Tensor] = []
        self.mass: torch.Tensor | None = None

    def __call__(self, input_ids: torch.Tensor, scores: torch.Tensor) -> torch.Tensor:
        probs = torch.softmax(scores.float(), dim=-1)  # (R, V): temperature 1, no warpers
        top = probs.topk(self.k, dim=-1)  # (R, k)
        self.ids.append(top.indices.to(torch.int32))
        self.probs.append(top.values)
        new = input_ids[:, self.prompt_width :]  # (R, t)
        alive = ~torch.isin(new, self.eos).any(dim=1)  # (R,)
        mass = (probs * alive[:, None]).sum(dim=0, dtype=torch.float64)  # (V,)
        self.mass = mass if self.mass is None else self.mass + mass
        return scores


def _eos_ids(model: Any, tokenizer: Any) -> set[int]:
    found: set[int] = set()
    for value in (getattr(model.generation_config, "eos_token_id", None), tokenizer.eos_token_id):
        if isinstance(value, int):
            found.add(value)
        elif isinstance(value, (list, tuple)):
            found.update(int(v) for v in value)
    return found


def _sample_chunk(
    model: Any,
    tokenizer: Any,
    prompts: list[list[int]],
    samples: int,
    settings: DataSettings,
    seed: int,
) -> dict[str, np.ndarray]:
    """Sample ``samples`` continuations per prompt (temperature 1) and record the laws."""
    from transformers import LogitsProcessorList

    eos = _eos_ids(model, tokenizer)
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else min(eos)
    width = max(len(p) for p in prompts)
    ids = torch.full((len(prompts), width), pad, dtype=torch.long)  # (B, W) left-padded
    mask = torch.zeros((len(prompts), width), dtype=torch.long)  # (B, W)
    for row, prompt in enumerate(prompts):
        ids[row, width - len(prompt) :] = torch.tensor(prompt)
        mask[row, width - len(prompt) :] = 1
    recorder = _Recorder(settings.top_k, width, eos)
    torch.manual_seed(seed)
    with torch.inference_mode():
        out = model.generate(
            input_ids=ids,
            attention_mask=mask,
            do_sample=True,
            temperature=1.0,
            top_k=0,
            top_p=1.0,
            max_new_tokens=settings.max_new_tokens,
            num_return_sequences=samples,
            pad_token_id=pad,
            eos_token_id=sorted(eos),
            logits_processor=LogitsProcessorList([recorder]),
            use_cache=True,
        )  # (B * samples, W + T)
    top_ids = torch.stack(recorder.ids, dim=1)  # (R, T, k)
    top_probs = torch.stack(recorder.probs, dim=1)  # (R, T, k)
    tokens, prompt_lens, cont_lens, law_ids, law_probs = [], [], [], [], []
    for row in range(out.shape[0]):
        prompt = prompts[row // samples]
        new = out[row, width : width + top_ids.shape[1]]  # (T,)
        hits = torch.isin(new, torch.tensor(sorted(eos))).nonzero()
        length = int(hits[0, 0]) + 1 if len(hits) else int(new.shape[0])
        tokens.append(np.asarray(prompt + new[:length].tolist(), dtype=np.int32))
        prompt_lens.append(len(prompt))
        cont_lens.append(length)
        law_ids.append(top_ids[row, :length].numpy())
        law_probs.append(top_probs[row, :length].numpy())
    assert recorder.mass is not None
    probs = np.concatenate(law_probs)  # (n, k)
    return {
        "tokens": np.concatenate(tokens),
        "prompt_lens": np.asarray(prompt_lens, dtype=np.int32),
        "cont_lens": np.asarray(cont_lens, dtype=np.int32),
        "top_ids": np.concatenate(law_ids),  # (n, k) int32
        "top_probs": probs.astype(np.float16),  # (n, k)
        "tail": np.clip(1.0 - probs.sum(axis=1), 0.0, 1.0).astype(np.float32),  # (n,)
        "token_mass": recorder.mass.numpy(),  # (V,)
    }


def _load_chunks(paths: list[Path]) -> LawSet:
    tokens: list[torch.Tensor] = []
    prompt_lens: list[int] = []
    cont_lens: list[int] = []
    ids, probs, tails = [], [], []
    mass: np.ndarray | None = None
    for path in paths:
        with np.load(path) as chunk:
            flat = chunk["tokens"]
            p_lens, c_lens = chunk["prompt_lens"].tolist(), chunk["cont_lens"].tolist()
            start = 0
            for p_len, c_len in zip(p_lens, c_lens, strict=True):
                tokens.append(
                    torch.from_numpy(flat[start : start + p_len + c_len].astype(np.int64))
                )
                start += p_len + c_len
            prompt_lens += p_lens
            cont_lens += c_lens
            ids.append(chunk["top_ids"])
            probs.append(chunk["top_probs"])
            tails.append(chunk["tail"])
            mass = chunk["token_mass"] if mass is None else mass + chunk["token_mass"]
    assert mass is not None
    starts = np.concatenate([[0], np.cumsum(cont_lens)[:-1]]).astype(int).tolist()
    return LawSet(
        tokens=tokens,
        prompt_lens=prompt_lens,
        cont_lens=cont_lens,
        law_starts=starts,
        top_ids=torch.from_numpy(np.concatenate(ids).astype(np.int64)),
        top_probs=torch.from_numpy(np.concatenate(probs).astype(np.float32)),
        tail=torch.from_numpy(np.concatenate(tails)),
        token_mass=torch.from_numpy(mass),
    )


def build_lawset(
    model: Any,
    tokenizer: Any,
    instructions: Sequence[str],
    folder: Path,
    split: str,
    settings: DataSettings,
    *,
    quiet: bool = False,
) -> LawSet:
    """Sample (or load, when cached under ``folder``) the on-policy laws of one split."""
    folder.mkdir(parents=True, exist_ok=True)
    manifest_path = folder / "manifest.json"
    wanted = {"settings": settings.__dict__, "splits": {}}
    manifest = read_json(manifest_path) or wanted
    if manifest.get("settings") != settings.__dict__:
        raise InvalidInputError(
            f"{folder} holds data made with other settings ({manifest.get('settings')}); "
            "use a fresh --out folder"
        )
    samples = (
        settings.samples_per_prompt if split == "train" else (settings.heldout_samples_per_prompt)
    )
    prompts = sorted((chat_prompt_ids(tokenizer, s) for s in instructions), key=len)
    if split == "train" and settings.train_prompts > 0:
        prompts = prompts[: settings.train_prompts]
    per_chunk = max(1, settings.rows_per_chunk // samples)
    chunks = [prompts[i : i + per_chunk] for i in range(0, len(prompts), per_chunk)]
    paths = [folder / f"{split}-{i:04d}.npz" for i in range(len(chunks))]
    progress = Progress(f"sample {split}", len(chunks), quiet=quiet)
    done = sum(path.exists() for path in paths)
    progress.skip(done)
    tokens_made = 0
    began = time.monotonic()
    for index, (chunk, path) in enumerate(zip(chunks, paths, strict=True)):
        if path.exists():
            continue
        arrays = _sample_chunk(
            model,
            tokenizer,
            chunk,
            samples,
            settings,
            seed=settings.seed * 1_000_003 + index + (0 if split == "train" else 500_000),
        )
        tmp = path.with_suffix(".tmp.npz")
        np.savez_compressed(tmp, **arrays)  # type: ignore[arg-type]
        tmp.replace(path)
        done += 1
        tokens_made += int(arrays["cont_lens"].sum())
        progress.update(done, f"{tokens_made} new positions", force=True)
    before = manifest["splits"].get(split, {}).get("sampling_s", 0.0)
    manifest["splits"][split] = {
        "prompts": len(prompts),
        "chunks": len(chunks),
        "sampling_s": before + time.monotonic() - began,
    }
    write_json_atomic(manifest_path, manifest)
    return _load_chunks(paths)
