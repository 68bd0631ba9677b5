"""Traversal verification of a token tree: leaves first, at sequence level.

Weng, Hu, Chen, Liu, Mei, Qiu, Tian and Shi, *Traversal Verification for Speculative Tree
Decoding* (arXiv 2505.12398, NeurIPS 2025). Token-level tree verifiers (SpecInfer's
recursive rejection, the optimal coupling) walk down from the root and drop a refused
node's whole subtree; traversal verification walks the tree in post-order (every subtree
before its root) and judges the whole path from the root to the current node, so a deep
node can be kept although a token-level test would have refused one of its ancestors. On a
single chain it is block verification (:mod:`specbound.core.block`), which is optimal
there.

**The rule** (p = draft, q = target; each node ``v`` has a weight ``w_v`` and a current
law ``Q_v`` of the position after it, initially the target's ``q_v``; its children are
drawn i.i.d. from the draft's ``p_v``):

* the root has ``w = 1``; a child ``c`` with token ``x`` gets, when its subtree is
  reached, ``w_c = min(w_v Q_v(x) / p_v(x), 1)`` (:func:`~specbound.core.block.extend_weight`);
* post-order: when ``v``'s children are all refused (or it has none), ``v`` is tested:
  with probability ``w_v`` its path is kept and the next token is drawn from ``Q_v`` (a
  leaf of the full depth: the bonus from the target when a position remains); otherwise
  ``v`` is refused and its parent ``u`` is updated to
  ``Q_u <- [w_u Q_u - p_u]_+`` normalised, ``w_u <- Z / (Z + 1 - w_u)`` with
  ``Z = sum_x [w_u Q_u(x) - p_u(x)]_+`` (:func:`~specbound.core.block.weighted_residual`,
  :func:`~specbound.core.block.stop_height`), and the next sibling's subtree is tried;
* the root is never refused (``w = 1`` stays 1): all refused, ``Y ~ Q_root``.

This is the paper's algorithm with children drawn with replacement (i.i.d.); its draft law
``p_u`` is not changed by a refusal because the remaining siblings are fresh i.i.d. draws.
On a chain the node at depth i is tested with ``h_i`` of block verification and the
residuals agree, so the two coincide.

**Lossless (proof).** Claim: a node ``v`` entered with weight ``w`` and law ``Q`` keeps a
path through itself with total probability ``w``, and the output it then produces (the
kept tokens below ``v``, the next token, then the target's continuation) has the measure
``w * (Q x q x q ...)``. A leaf: kept with probability ``w``, next token from ``Q``. A node
with children left: the first child's token is ``x ~ p`` and its weight
``min(w Q(x) / p(x), 1)``, so by induction on the subtree it contributes
``sum_x min(p(x), w Q(x)) delta_x x q ...`` and is refused with probability
``1 - (w - Z)``; after the update the remaining siblings (independent of the first child,
by i.i.d. drafting) contribute, by induction on the number of siblings, ``w' Q'`` times
that probability, i.e. ``(Z / (Z + 1 - w)) (1 - w + Z) [wQ - p]_+ / Z = [wQ - p]_+``;
``min(p, wQ) + [wQ - p]_+ = wQ``. At the root ``w = 1`` and ``Q = q``: the round's output
is the target's law. Drafts without replacement break the independence used here (the
paper's appendix treats them with a changed draft law); this rule refuses them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from specbound.core.block import extend_weight, stop_height, weighted_residual
from specbound.core.sampling import sample_categorical, uniforms

__all__ = ["TraversalOutcome", "TraversalVerificationRule", "TreeLayout"]

Array = Any  # a NumPy array or a torch tensor


@dataclass(frozen=True)
class TreeLayout:
    """A tree of this ``branching`` in pre-order: node 0 is the root; ``parent[i]`` and
    ``depth[i]`` of every node; ``children[i]`` in drafting order."""

    branching: tuple[int, ...]
    parent: tuple[int, ...] = field(init=False)
    depth: tuple[int, ...] = field(init=False)
    children: tuple[tuple[int, ...], ...] = field(init=False)

    def __post_init__(self) -> None:
        parent: list[int] = [-1]
        depth: list[int] = [0]
        children: list[list[int]] = [[]]

        def grow(node: int) -> None:
            d = depth[node]
            if d == len(self.branching):
                return
            for _ in range(self.branching[d]):
                child = len(parent)
                parent.append(node)
                depth.append(d + 1)
                children.append([])
                children[node].append(child)
                grow(child)

        grow(0)
        object.__setattr__(self, "parent", tuple(parent))
        object.__setattr__(self, "depth", tuple(depth))
        object.__setattr__(self, "children", tuple(tuple(c) for c in children))

    @property
    def size(self) -> int:
        """Nodes, the root included."""
        return len(self.parent)

    def post_order(self) -> list[int]:
        """Every node but the root, each after its subtree (the order nodes are tested)."""
        out: list[int] = []

        def walk(node: int) -> None:
            for child in self.children[node]:
                walk(child)
                out.append(child)

        walk(0)
        return out

    def path(self, node: int) -> list[int]:
        """The nodes from depth 1 down to ``node`` (empty for the root)."""
        out = []
        while node > 0:
            out.append(node)
            node = self.parent[node]
        return out[::-1]


@dataclass(frozen=True)
class TraversalOutcome:
    """The verdict on trees: ``node`` (...,) the kept node (0: only the root, every
    drafted token refused); ``token`` (...,) the token after its path, -1 where there is
    none (a kept leaf at the horizon)."""

    node: NDArray[np.int64]
    token: NDArray[np.int64]


@dataclass(frozen=True)
class TraversalVerificationRule:
    """Traversal verification (module docstring); laws on the last axis, leading axes
    batched."""

    def child_weights(self, weight: Array, law: Array, draft_law: Array) -> Array:
        """The weight each child token would get under a node: (...,), (..., V), (..., V)
        -> (..., V) (``min(w Q(x) / p(x), 1)``, 0 where ``p(x) = 0``)."""
        return extend_weight(weight[..., None], law, draft_law)

    def refuse_child(self, weight: Array, law: Array, draft_law: Array) -> tuple[Array, Array]:
        """A node's (weight, law) after one of its children was refused:
        ``(Z / (Z + 1 - w), [w Q - p]_+ normalised)``."""
        return stop_height(weight, law, draft_law), weighted_residual(weight, law, draft_law)

    def verify(
        self,
        layout: TreeLayout,
        draft: NDArray[np.float64],
        target: NDArray[np.float64],
        tokens: NDArray[np.int64],
        rng: np.random.Generator,
        bonus: bool = True,
    ) -> TraversalOutcome:
        """Verify trees of ``layout``: ``tokens`` (R, N) each node's token (the root's is
        ignored); ``draft`` (R, N, V) the law its children were drawn from; ``target``
        (R, N, V) the target's law after its path (a full-depth leaf's gives the bonus
        token when ``bonus``). NumPy arrays.

        Randomness: one uniform per drafted node, drawn up front in pre-order, then one per
        run for the next token; on a chain this is block verification's consumption
        (``eta_1..eta_k``, then the recovered or bonus draw), so the two give the same
        tokens for the same generator."""
        runs, size = tokens.shape
        if size != layout.size:
            raise ValueError(f"tokens has {size} nodes, the layout {layout.size}")
        weight = np.zeros((runs, size))  # (R, N)
        weight[:, 0] = 1.0
        law = np.array(target, dtype=np.float64, copy=True)  # (R, N, V) current Q per node
        draws = uniforms(rng, (runs, size - 1))  # (R, N - 1): node v's at v - 1
        kept = np.full(runs, -1, dtype=np.int64)  # (R,)
        rows = np.arange(runs)
        entered = np.zeros(size, dtype=bool)
        for node in layout.post_order():
            for v in layout.path(node):
                if not entered[v]:  # the subtree of v is reached: its weight from the parent's
                    u, x = layout.parent[v], tokens[:, v]
                    q_x, p_x = law[rows, u, x], draft[rows, u, x]  # (R,)
                    weight[:, v] = extend_weight(weight[:, u], q_x, p_x)
                    entered[v] = True
            live = kept < 0  # (R,)
            accept = live & (draws[:, node - 1] < weight[:, node])
            kept[accept] = node
            refused = np.flatnonzero(live & ~accept)  # (r,)
            u = layout.parent[node]
            new_weight, new_law = self.refuse_child(
                weight[refused, u], law[refused, u], draft[refused, u]
            )
            weight[refused, u], law[refused, u] = new_weight, new_law
        kept[kept < 0] = 0
        token = np.full(runs, -1, dtype=np.int64)
        full_depth = np.array(layout.depth)[kept] == len(layout.branching)  # (R,)
        draw = ~full_depth | bonus
        if draw.any():
            token[draw] = sample_categorical(law[rows[draw], kept[draw]], rng)
        return TraversalOutcome(node=kept, token=token)
