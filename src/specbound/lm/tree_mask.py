"""Tree attention: the positions and the attention mask that score a token tree in one row.

SpecInfer (Miao et al., arXiv 2305.09781) scores every node of a token tree in one
forward: the nodes are laid out one after another (the slot order of
:class:`~specbound.core.families.TreeLayout`: root, depth 1, depth 2, ...), each node
**attends to the prefix, its ancestors and itself** only, and its rotary position is its
depth after the root. The logits at a node are then exactly those of its root-to-node
path run as a plain sequence (``tests/lm/test_lm_tree_mask.py`` checks that to 1e-5 on
every engine path).

Absolute cache slots: with ``base`` tokens emitted (the root is token ``base - 1``),
tree slot ``s`` is cached at slot ``base - 1 + s`` and sits at position ``base - 1 +
depth(s)``.
"""

from __future__ import annotations

import torch

from specbound.core.families import TreeLayout

__all__ = ["tree_inputs"]


def tree_inputs(
    layout: TreeLayout, base: int, cached: int, first: int, count: int, device: torch.device
) -> tuple[torch.Tensor, torch.Tensor]:
    """The positions (L,) and the boolean mask (L, cached + L) for feeding tree slots
    ``first .. first + count - 1`` after ``cached`` cached tokens, preceded by the pending
    prompt tokens when ``first`` is 0 (the root and the tokens before it, L = ``base -
    cached`` + ``count - 1``; causal among themselves).

    Slots below ``first`` must already be cached at their absolute slots; the prefix
    (every token before the root) is visible to every node.
    """
    pending = base - cached if first == 0 else 0  # prompt-side tokens fed, the root last
    nodes = range(max(first, 1), first + count)  # tree slots fed after them
    new = pending + len(nodes)
    total = cached + new
    visible = torch.zeros((new, total), dtype=torch.bool)
    positions = torch.empty(new, dtype=torch.long)
    if pending:
        visible[:pending, :cached] = True
        visible[:pending, cached : cached + pending] = torch.ones(
            (pending, pending), dtype=torch.bool
        ).tril()  # causal among the pending tokens
        positions[:pending] = torch.arange(cached, base)
    root = base - 1  # absolute slot of tree slot 0
    ancestors = torch.from_numpy(layout.ancestors)  # (1 + N, 1 + N)
    depths = torch.from_numpy(layout.depths)  # (1 + N,)
    for row, slot in enumerate(nodes, start=pending):
        visible[row, :root] = True  # the prefix before the root
        visible[row, root : root + slot + 1] = ancestors[slot, : slot + 1]
        positions[row] = root + int(depths[slot])
    return positions.to(device), visible.to(device)
