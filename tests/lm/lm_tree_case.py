"""The fixed (2, 2) tree of the conditional one-round tests on the tiny LM pair.

The prompt and the tree's tokens are fixed: slot 0 the root (the prompt's last token),
slots 1-2 at depth 1, slots 3-6 at depth 2, siblings distinct. The draft law p and the
target law q at every slot come from plain forwards of the models over the slot's path
(``torch.softmax`` here, not the library's warp: temperature 1, no top-k / top-p). A
round's outcome is the cell (last kept slot, next token), ``slot * V + token``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from round_harness import POWER, chi_square_power, joint_sample_size
from specbound.core.families import VerificationFamily
from specbound.lm.verification import verify_round

PROMPT = [3]
#: The tree, slot -> children slots, and each slot's token (the root's is PROMPT[-1]); the
#: tokens were chosen (a search over 60 random trees) so that the stated mutants are seen
#: at moderate N (14.5k rounds i.i.d., 1.0k without replacement; about 7 s in all).
CHILDREN = {0: [1, 2], 1: [3, 4], 2: [5, 6]}
TOKENS = {1: 0, 2: 7, 3: 0, 4: 2, 5: 3, 6: 2}
PARENT = {c: s for s, kids in CHILDREN.items() for c in kids}


def path(slot: int, tokens: dict[int, int] = TOKENS) -> list[int]:
    """The tokens from depth 1 down to ``slot``."""
    out = []
    while slot != 0:
        out.append(tokens[slot])
        slot = PARENT[slot]
    return out[::-1]


def laws(pair, tokens: dict[int, int] = TOKENS) -> tuple[np.ndarray, np.ndarray]:  # type: ignore[no-untyped-def]
    """(p, q): the draft's and the target's law after every slot's path, (7, V) each
    (``tokens``: each slot's token, :data:`TOKENS` or another tree of the same shape)."""

    def law(model: torch.nn.Module, slot: int) -> np.ndarray:
        with torch.inference_mode():
            ids = torch.tensor([[*PROMPT, *path(slot, tokens)]])
            logits = model(input_ids=ids).logits[0, -1, : pair.vocab_size].double()
        return torch.softmax(logits, dim=-1).numpy()

    slots = range(1 + len(tokens))
    return np.stack([law(pair.draft, s) for s in slots]), np.stack(
        [law(pair.target, s) for s in slots]
    )


def node_arrays(
    p: np.ndarray, q: np.ndarray, tokens: dict[int, int] = TOKENS
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The node layout ``generate`` hands to verification: tokens of slots 1..6, draft
    laws of the inner slots 0..2, target laws of every slot (a bonus is scored)."""
    drafted = np.array([tokens[s] for s in range(1, 1 + len(tokens))])
    return p[: len(CHILDREN)], q, drafted


def cell(emitted: tuple[int, ...], V: int, tokens: dict[int, int] = TOKENS) -> int:
    """(last kept slot, next token) from the emitted tokens, walking the tree by token."""
    slot = 0
    for token in emitted[:-1]:
        slot = next(c for c in CHILDREN[slot] if tokens[c] == token)
    return slot * V + emitted[-1]


def cells_of(algorithm, p, q, n: int, rng: np.random.Generator, tokens=TOKENS) -> np.ndarray:  # type: ignore[no-untyped-def]
    """``n`` rounds of ``algorithm``'s verification (what ``generate`` calls) as cells."""
    draft, target, drafted = node_arrays(p, q, tokens)
    V = p.shape[-1]
    return np.array(
        [
            cell(verify_round(algorithm, draft, target, drafted, rng).emitted, V, tokens)
            for _ in range(n)
        ]
    )


@dataclass(frozen=True)
class TreeSpec:
    """A spec carrying any tree family (``verify_round`` reads only ``family``)."""

    family: VerificationFamily


def powered_n(law: np.ndarray, *mutants: np.ndarray) -> int:
    """The sample size at which the chi-square test rejects every mutant law with POWER."""
    n = joint_sample_size(law.ravel(), [m.ravel() for m in mutants])
    for m in mutants:
        assert chi_square_power(law.ravel(), m.ravel(), n) >= POWER
    return n
