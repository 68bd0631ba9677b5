"""Predicting a token tree on a language model: positional acceptance along target paths.

Paper notation: p = draft, q = target. A tree ``(b_1, ..., b_D)`` verified by recursive
rejection with i.i.d. children (paper Algorithm 4 at every node; SpecInfer) accepts, at
a node whose draft and target laws are (p, q), its k-th child with probability
``1 - TV(p, r_k)`` given that children 1..k-1 were refused, where ``r_1 = q`` and
``r_{k+1} = [r_k - p]_+`` normalised (the residual recursion of
:class:`~specbound.core.batch.RecursiveRejectionRule`). So the chance that *some* of the
first b children is accepted — the node's **cover** ``A(b)`` — is
``1 - prod_{k<=b} TV(p, r_k)``, Theorem 3's round-start acceptance.

The laws are known along the target's sampled paths only, not at the drafted nodes off
them. **Assumption (Sequoia's positional acceptance, Chen et al. 2024, arXiv
2402.12374, Section 3.1):** the probability that the k-th child of a node is accepted
given the first k-1 were refused depends on k only — not on the node's depth nor on
which prefix it follows. Its value is estimated by averaging the exact per-position
covers over the positions of a target path. Under it a node's subtree value follows by
the recursion ``V(node) = sum_k P(k-th accepted, earlier refused) (1 + V(child k))``;
all children at a depth have the same value, so for a per-depth shape
``V_{d-1} = A(b_d) (1 + V_d)``, ``V_D = 0``, and the expected accepted depth is
``sum_{d=1}^D prod_{j<=d} A(b_j)``; tokens per call add the residual or bonus token.
Children drawn **without replacement** (``replacement=False``: SpecTr, Sequoia) are
distinct, so a node's cover is larger where the draft keeps proposing the same wrong
token. Their cover ``A'(b)`` depends on which children were refused (the draft law of
child m has the earlier ones removed), so :func:`distinct_covers_along` estimates it
by one Rao-Blackwellised draw of the refused children per position (unbiased; the
average over a path's positions is what the model uses).
The assumption ignores that acceptance falls off deeper in a tree (a node below a
refused-then-accepted child follows a prefix the draft liked less);
``tests/profiling/test_profile_trees.py`` measures how far it is off on a chain, where
the exact along-path prediction of SD is available.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from specbound.core import kernels
from specbound.core.sampling import sample_categorical

__all__ = [
    "PositionalAcceptance",
    "accepted_depth_law",
    "covers_along",
    "distinct_covers_along",
    "expected_accepted_depth",
    "round_starts",
]

Array = NDArray[np.float64]


def covers_along(draft: Array, target: Array, max_children: int) -> Array:
    """The cover ``A(b) = 1 - prod_{k<=b} TV(p, r_k)`` for b = 1..``max_children`` at
    every position: draft and target laws (..., V) -> (..., max_children)."""
    residual = np.asarray(target, dtype=np.float64)
    draft = np.asarray(draft, dtype=np.float64)
    refused = np.ones(draft.shape[:-1])  # (...,) all of the first k refused
    out = np.empty((*draft.shape[:-1], max_children))
    for k in range(max_children):
        refused = refused * kernels.tv_rows(draft, residual)
        out[..., k] = 1.0 - refused
        residual = kernels.residual_rows(draft, residual)  # r_{k+2}
    return out


def distinct_covers_along(
    draft: Array, target: Array, max_children: int, rng: np.random.Generator
) -> Array:
    """The cover ``A'(b)`` of b children drawn **without replacement**, for b = 1..
    ``max_children``: draft and target laws (..., V) -> (..., max_children), one unbiased
    draw per position.

    The rule (:class:`~specbound.core.without_replacement.RecursiveWithoutReplacementRule`):
    child m is drawn from ``p_m`` (p with children 1..m-1 removed, renormalised) and
    accepted with ``min(1, r_m / p_m)``; refused, ``r_{m+1} = [r_m - p_m]_+``
    normalised. Given the refused children so far, child m is refused with probability
    ``TV(p_m, r_m)``, and a refused child is distributed as ``[p_m - r_m]_+`` normalised.
    So ``P(children 1..b refused) = E[prod_{m<=b} TV(p_m, r_m)]`` over refused children
    drawn from those laws one after another: each position's product along one such draw
    is an unbiased estimate, and ``1 -`` it the cover. A draft law with fewer than b
    tokens runs out of children: ``p_m = 0``, ``TV = 1``, the cover stays.
    """
    shape = np.shape(draft)
    law = np.array(draft, dtype=np.float64).reshape(-1, shape[-1])  # (n, V) p_m
    residual = np.array(target, dtype=np.float64).reshape(-1, shape[-1])  # (n, V) r_m
    refused = np.ones(law.shape[0])  # (n,) the product of TV(p_m, r_m) so far
    out = np.empty((law.shape[0], max_children))
    for m in range(max_children):
        refused = refused * kernels.tv_rows(law, residual)
        out[:, m] = 1.0 - refused
        if m == max_children - 1:
            break
        excess = np.maximum(law - residual, 0.0)  # (n, V) the refused child's law
        drawn = np.flatnonzero(excess.sum(axis=-1) > kernels.RESIDUAL_MASS_FLOOR)
        residual = kernels.residual_rows(law, residual)  # r_{m+1}
        if drawn.size:
            law[drawn, sample_categorical(excess[drawn], rng)] = 0.0
        total = law.sum(axis=-1, keepdims=True)
        law = np.divide(law, total, out=np.zeros_like(law), where=total > 0)  # p_{m+1}
    return out.reshape(*shape[:-1], max_children)


@dataclass(frozen=True)
class PositionalAcceptance:
    """Sequoia's positional acceptance: ``covers[b-1] = A(b)``, the probability that one
    of a node's first b children is accepted (non-decreasing in b)."""

    covers: Array

    @classmethod
    def mean_of(cls, covers: Array) -> PositionalAcceptance:
        """The average over positions of per-position covers (..., B)."""
        flat = np.asarray(covers, dtype=np.float64).reshape(-1, np.shape(covers)[-1])
        return cls(flat.mean(axis=0))

    @property
    def max_children(self) -> int:
        return int(self.covers.size)

    @property
    def first_accepted(self) -> Array:
        """``P(the k-th child is accepted, children 1..k-1 refused)``: (B,)."""
        return np.diff(self.covers, prepend=0.0)

    @property
    def rates(self) -> Array:
        """Sequoia's positional rates: ``P(k-th accepted | 1..k-1 refused)``: (B,)."""
        reach = 1.0 - np.concatenate([[0.0], self.covers[:-1]])  # P(1..k-1 refused)
        return np.divide(self.first_accepted, reach, out=np.zeros_like(reach), where=reach > 0)

    def cover(self, children: int) -> float:
        if not 1 <= children <= self.max_children:
            raise ValueError(f"{children} children: covers are known for 1..{self.max_children}")
        return float(self.covers[children - 1])

    def to_dict(self) -> dict[str, list[float]]:
        return {"covers": self.covers.tolist(), "rates": self.rates.tolist()}


def expected_accepted_depth(branching: Sequence[int], acceptance: PositionalAcceptance) -> float:
    """``sum_{d=1}^D prod_{j<=d} A(b_j)``: the expected accepted depth of one round."""
    value = 0.0
    for b in reversed(tuple(branching)):
        value = acceptance.cover(b) * (1.0 + value)
    return value


def accepted_depth_law(branching: Sequence[int], acceptance: PositionalAcceptance) -> Array:
    """``P(accepted depth = j)`` for j = 0..D: (D + 1,)."""
    reach = np.cumprod([1.0, *(acceptance.cover(b) for b in branching)])  # P(depth >= j)
    return np.asarray(reach - np.append(reach[1:], 0.0))


def round_starts(
    branching: Sequence[int],
    acceptance: PositionalAcceptance,
    length: int,
    max_new_tokens: int,
) -> tuple[float, float, Array]:
    """E[calls], E[rejections] and P(position n starts a round) (L,) of a path of
    ``length`` tokens under the positional model, the tree cut at the horizon.

    A round starting at position n has ``r = max_new_tokens - n`` tokens left and is cut
    to ``D' = min(D, r)`` depths; with accepted depth j it emits ``j + 1`` tokens (the
    residual's token, or the bonus when j = D' < r) or ``D'`` when j = D' = r, and it is
    a rejection when j < D'. Rounds starting at or after ``length`` (past the path's
    end-of-sequence token) are not counted.
    """
    branching = tuple(branching)
    starts = np.zeros(length + len(branching) + 2)
    starts[0] = 1.0
    rejections = 0.0
    for n in range(length):
        if starts[n] == 0.0:
            continue
        left = max_new_tokens - n
        depth = min(len(branching), left)
        law = accepted_depth_law(branching[:depth], acceptance)  # (D'+1,)
        rejections += starts[n] * float(law[:-1].sum())
        for j, chance in enumerate(law):
            emitted = j + 1 if (j < depth or depth < left) else depth
            starts[n + emitted] += starts[n] * chance
    within = starts[:length].copy()
    return float(within.sum()), rejections, within
