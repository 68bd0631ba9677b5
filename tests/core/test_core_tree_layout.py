"""Where a token tree's nodes live in a round's arrays (the node layout), by hand."""

from __future__ import annotations

import numpy as np

from specbound.core.families import TreeLayout


def test_slots_parents_and_paths_of_a_2_3_tree() -> None:
    """Root 0; depth 1: slots 1-2; depth 2: slots 3-5 under slot 1, 6-8 under slot 2."""
    layout = TreeLayout((2, 3))
    assert layout.nodes == [2, 6] and layout.size == 8 and layout.paths == 6
    assert layout.inner == 3  # the root and the two depth-1 nodes have children
    assert layout.parents.tolist() == [-1, 0, 0, 1, 1, 1, 2, 2, 2]
    assert layout.depths.tolist() == [0, 1, 1, 2, 2, 2, 2, 2, 2]
    assert list(layout.children(1, 1)) == [6, 7, 8]
    assert layout.path_slots(4, 2) == [2, 7]  # leaf path 4 = depth-1 node 1, its child 1
    assert layout.path_rows(1).tolist() == [0, 3]
    assert layout.row_of(1, 1) == 3 and layout.node_on(5, 1) == 1


def test_ancestors_is_tree_attention() -> None:
    layout = TreeLayout((2, 2))
    want = np.zeros((7, 7), dtype=bool)
    for slot, chain in {
        0: [0],
        1: [0, 1],
        2: [0, 2],
        3: [0, 1, 3],
        4: [0, 1, 4],
        5: [0, 2, 5],
        6: [0, 2, 6],
    }.items():
        want[slot, chain] = True
    assert (layout.ancestors == want).all()


def test_a_chain_is_a_causal_mask() -> None:
    layout = TreeLayout((1, 1, 1))
    assert (layout.ancestors == np.tril(np.ones((4, 4), dtype=bool))).all()
    assert layout.path_slots(0, 3) == [1, 2, 3]
