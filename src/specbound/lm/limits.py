"""What a generation needs, checked before it starts: room in the context window, memory.

A prompt plus the tokens asked for must fit in the models' context window (positions
beyond it were never trained, and some models fail on them): :func:`check_context`
refuses it, naming both numbers. Batch SD keeps ``M`` copies of both models' caches and
``M x (gamma + 1)`` logit rows per round: :func:`check_decode_memory` refuses an ``M``
whose estimate exceeds the memory available, before any allocation. A token tree keeps
one sequence holding every node of a round, and scores them all.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from specbound.core.families import draft_length
from specbound.errors import InvalidInputError, SpecboundError
from specbound.validate import check_memory

__all__ = [
    "check_context",
    "check_decode_memory",
    "check_vocabulary_before_loading",
    "decode_memory_estimate",
]

#: float64 copies of a round's (M, gamma + 1, V) logits alive at once (warp, softmax, rules).
LOGIT_COPIES = 6


def check_context(pair: Any, prompt_tokens: int, max_new_tokens: int) -> None:
    """Refuse ``prompt_tokens + max_new_tokens`` beyond the pair's context window."""
    window = pair.context_window
    if window is None:
        return
    # NOTE: a round may draft (and score) up to max_new_tokens positions past the prompt.
    needed = prompt_tokens + max_new_tokens
    if needed > window:
        room = window - prompt_tokens
        advice = (
            f"ask for at most {room} new tokens, or shorten the prompt"
            if room > 0
            else "the prompt alone fills it: shorten the prompt"
        )
        raise InvalidInputError(
            f"prompt ({prompt_tokens} tokens) + max_new_tokens ({max_new_tokens}) = {needed} "
            f"positions, beyond the models' context window of {window}; {advice}"
        )


def _cache_bytes(model: Any, sequences: int, positions: int) -> float:
    config = getattr(model, "config", None)
    layers = int(getattr(config, "num_hidden_layers", 0) or 0)
    hidden = int(getattr(config, "hidden_size", 0) or 0)
    itemsize = int(getattr(getattr(model, "dtype", None), "itemsize", 4) or 4)
    return 2.0 * layers * sequences * positions * hidden * itemsize  # keys and values


def decode_memory_estimate(
    pair: Any,
    num_drafts: int,
    gamma: int | None,
    prompt_tokens: int,
    max_new_tokens: int,
    scored: int | None = None,
) -> float:
    """Bytes a run needs beyond the models: caches of M sequences, a round's logits.

    ``scored``: the positions a round scores per sequence when it is not ``gamma + 1``
    (a token tree: one sequence scoring every node, which its caches also hold)."""
    drafted = draft_length(gamma, max_new_tokens)
    rows = drafted + 1 if scored is None else scored
    positions = prompt_tokens + max_new_tokens + (0 if scored is None else scored)
    logits = 8.0 * LOGIT_COPIES * num_drafts * rows * pair.vocab_size
    caches = _cache_bytes(pair.target, num_drafts, positions)
    return logits + caches + _cache_bytes(pair.draft, num_drafts, positions)


def check_decode_memory(pair: Any, algorithm: Any, prompt_tokens: int, max_new_tokens: int) -> None:
    """Refuse, before any work, a run whose :func:`decode_memory_estimate` exceeds memory
    (the rows and positions of a round are the family's :meth:`round_cost`)."""
    shape = algorithm.family.proposal(algorithm.gamma, max_new_tokens)
    if shape.length == 0:
        return
    cost = algorithm.family.round_cost(shape.length, bonus=True)  # k + 1 rows, or a tree's
    estimate = decode_memory_estimate(
        pair,
        cost.sequences,
        algorithm.gamma,
        prompt_tokens,
        max_new_tokens,
        scored=cost.rows_scored,
    )
    check_memory(
        estimate,
        f"decoding with {_shape_text(algorithm)}, {max_new_tokens} new tokens",
    )


def _shape_text(algorithm: Any) -> str:
    """How the CLI names the round's shape: a token tree's, or M and gamma."""
    branching = getattr(algorithm, "branching", None)
    if branching is not None:
        return f"the tree {','.join(map(str, branching))}"
    return f"num_drafts={algorithm.num_drafts}, gamma={algorithm.gamma}"


def _config_vocab_size(folder: Path) -> int | None:
    """``vocab_size`` in ``folder/config.json``, or None (no file, unreadable, no key)."""
    try:
        config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None
    value = config.get("vocab_size") if isinstance(config, dict) else None
    return value if isinstance(value, int) and value > 0 else None


def check_vocabulary_before_loading(
    algorithm: Any, target: str | None, option: str = "--verifier"
) -> None:
    """Refuse, before a model is loaded, an algorithm the target's vocabulary rules out
    (batch SD's optimal verifier enumerates draft sets: a few dozen tokens at most).

    The size is read from the target's ``config.json`` (``target`` None: the embedded
    pair; a hub id is left to the check after loading). A model may pad its output rows
    up to twice the tokenizer (:data:`~specbound.lm.loading.MIN_TOKENIZER_COVERAGE`), so
    only a size refused even at half is refused here.
    """
    from specbound.lm.loading import MIN_TOKENIZER_COVERAGE, embedded_pair_path

    folder = embedded_pair_path() / "target" if target is None else Path(target).expanduser()
    rows = _config_vocab_size(folder) if folder.is_dir() else None
    if rows is None:
        return
    try:
        algorithm.check_vocabulary(-(-rows // MIN_TOKENIZER_COVERAGE))
    except SpecboundError:
        try:
            algorithm.check_vocabulary(rows)
        except SpecboundError as exc:
            verifier = getattr(algorithm, "verifier", "")
            branching = getattr(algorithm, "branching", None)
            shape = (
                f"--tree {','.join(map(str, branching))}"
                if branching is not None
                else f"-M {algorithm.num_drafts}"
            )
            raise type(exc)(
                f"{option} {verifier} with {shape}: the target's "
                f"vocabulary ({rows} tokens, config.json) is too large; {exc}"
            ) from None
