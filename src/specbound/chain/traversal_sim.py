"""Monte Carlo of traversal verification on a chain, vectorised over runs.

Runs whose round starts at position ``n`` draft their whole tree (cut at the horizon; a
node's children drawn i.i.d. from the draft chain's row at its token, level by level in
pre-order), the ``core`` rule judges every tree at once
(:meth:`~specbound.core.traversal.TraversalVerificationRule.verify`), and the kept path,
then the recovered or bonus token, are written ahead, as block verification's rounds are
(:meth:`~specbound.chain.simulator` ``block_round``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from specbound.core.sampling import sample_rows
from specbound.core.traversal import TraversalVerificationRule, TreeLayout

__all__ = ["traversal_round"]


def path_table(layout: TreeLayout) -> np.ndarray:
    """(N, D) the nodes of each node's path from depth 1 (0-padded past its depth)."""
    table = np.zeros((layout.size, max(len(layout.branching), 1)), dtype=np.int64)
    for node in range(layout.size):
        path = layout.path(node)
        table[node, : len(path)] = path
    return table


def traversal_round(
    chunk: Any, n: int, rule: TraversalVerificationRule, branching: tuple[int, ...]
) -> None:
    """Advance the runs of ``chunk`` (a simulator chunk) whose round starts at ``n``."""
    idx = np.flatnonzero(chunk.next_start == n)  # (r,)
    if idx.size == 0:
        return
    draft, target, rng = chunk.draft, chunk.target, chunk.rng
    T, S = draft.horizon, draft.num_states
    k = min(len(branching), T - n)
    layout = TreeLayout(branching[:k])
    size = layout.size
    tokens = np.zeros((idx.size, size), dtype=np.int64)  # (r, N)
    tokens[:, 0] = chunk.state[idx]
    draft_laws = np.zeros((idx.size, size, S))  # (r, N, S) each node's children's law
    target_laws = np.zeros((idx.size, size, S))  # (r, N, S) the target's after its path
    for v in range(size):  # pre-order: a parent's token is drawn before its children's
        d = layout.depth[v]
        if v > 0:
            parent = tokens[:, layout.parent[v]]
            tokens[:, v] = sample_rows(draft.transitions[n + d - 1], parent, rng)
        if n + d < T:
            target_laws[:, v] = target.transitions[n + d][tokens[:, v]]
        if d < k:
            draft_laws[:, v] = draft.transitions[n + d][tokens[:, v]]
    outcome = rule.verify(layout, draft_laws, target_laws, tokens, rng, bonus=n + k < T)
    depth = np.asarray(layout.depth)[outcome.node]  # (r,) tokens kept
    paths = path_table(layout)[outcome.node]  # (r, D)
    rows = np.arange(idx.size)
    for j in range(k + 1):
        on_path = np.flatnonzero(depth > j)
        if on_path.size:
            chunk.tokens[n + j, idx[on_path]] = tokens[on_path, paths[on_path, j]]
        after = np.flatnonzero((depth == j) & (outcome.token >= 0))
        if after.size:  # n + j < T: a token is drawn only where a position remains
            chunk.tokens[n + j, idx[after]] = outcome.token[after]
    last = tokens[rows, outcome.node]  # (r,) the kept node's token (the root: the state)
    chunk.state[idx] = np.where(outcome.token >= 0, outcome.token, last)
    chunk.next_start[idx] = n + depth + (outcome.token >= 0)
    chunk.target_calls[idx] += 1
    chunk.draft_calls[idx] += k
    chunk.rejections[idx] += depth < k
