"""Token trees in :func:`specbound.profile`: what the target's paths tell of every tree.

Paper notation: p = draft, q = target. Token trees with i.i.d. children verified by
recursive rejection output exactly the target's law (SpecInfer, Miao et al. 2023, arXiv
2305.09781: lossless at every node), so the target's sampled paths are draws of their
output, as for SD. From each path :func:`record_tree_paths` keeps what every tree's
prediction needs, small enough to keep for all prompts until the search has chosen its
shape (:mod:`specbound.profiling.tree_search`):

* the per-position covers ``A(b)`` of :func:`~specbound.profiling.trees.covers_along`
  (the positional acceptance model: any shape, Sequoia's assumption), and those of
  children drawn without replacement,
  :func:`~specbound.profiling.trees.distinct_covers_along` (one draw per position);
* SD's exact per-position acceptance given the output (``min(p, q)(x) / q(x)``,
  :func:`~specbound.core.acceptance_given_output`): a chain ``(1, ..., 1)`` is
  ``Speculative(gamma=D)``, so its prediction is the exact along-path expectation
  (:func:`~specbound.profiling.predict.round_starts_given_path`), no assumption made.

:func:`add_tree_samples` turns them into per-path expected calls, rejections and cost
features (the tree's rounds priced by :meth:`~specbound.profiling.costs.CostBasis.
tree_features`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from specbound.algorithms import TreeSpeculative
from specbound.core import kernels
from specbound.core.families.shapes import node_count
from specbound.core.rounds import acceptance_given_output
from specbound.core.rules import SpeculativeRule
from specbound.errors import InvalidInputError
from specbound.profiling.costs import CostModel
from specbound.profiling.paths import SampledPaths
from specbound.profiling.predict import PathSamples, round_starts_given_path
from specbound.profiling.tree_search import MAX_TREE_BUDGET
from specbound.profiling.trees import (
    PositionalAcceptance,
    covers_along,
    distinct_covers_along,
    round_starts,
)

__all__ = [
    "TreePaths",
    "add_tree_samples",
    "check_profiled_tree",
    "pooled_acceptance",
    "record_tree_paths",
]

Array = NDArray[np.float64]


def check_profiled_tree(tree: object) -> TreeSpeculative:
    """A tree the profile predicts: a shape ``(4, 2, 1)`` or a ``TreeSpeculative`` with
    ``verifier="recursive"`` (children i.i.d. or without replacement); one clear error
    otherwise."""
    if isinstance(tree, TreeSpeculative):
        algorithm = tree
    elif isinstance(tree, (tuple, list)):
        algorithm = TreeSpeculative(branching=tuple(tree))
    else:
        raise InvalidInputError(f"trees: give shapes such as (4, 2, 1), got {tree!r}")
    nodes = node_count(algorithm.branching)
    if nodes > MAX_TREE_BUDGET:
        raise InvalidInputError(
            f"trees: {algorithm.label!r} has {nodes} nodes; the profile predicts trees of "
            f"at most {MAX_TREE_BUDGET} (one target call scores every node)"
        )
    if algorithm.verifier != "recursive":
        raise InvalidInputError(
            f"trees: the profile predicts trees verified by recursive rejection "
            f"(positional acceptance), got {algorithm.label!r}"
        )
    return algorithm


@dataclass(frozen=True)
class TreePaths:
    """One prompt's paths as the tree predictions read them: ``lengths`` (R,), the
    ``prompt_length``, per-position ``covers`` (R, T, B) of i.i.d. children and
    ``distinct`` (R, T, B) of children drawn without replacement, and SD's exact
    per-position acceptance given the output ``accept`` (R, T)."""

    lengths: NDArray[np.int64]
    prompt_length: int
    covers: Array
    distinct: Array
    accept: Array

    def covers_of(self, replacement: bool) -> Array:
        """The covers of i.i.d. children (``replacement``) or of distinct ones."""
        return self.covers if replacement else self.distinct

    def positions(self, replacement: bool = True) -> Array:
        """Every position's covers, pooled: (n, B)."""
        covers = self.covers_of(replacement)
        return np.concatenate([covers[i, :n] for i, n in enumerate(self.lengths.tolist())])


def record_tree_paths(
    paths: SampledPaths, prompt_length: int, max_children: int, rng: np.random.Generator
) -> TreePaths:
    """What the tree predictions need of one prompt's ``paths`` (covers for 1..
    ``max_children`` children per node; ``rng`` draws the refused distinct children)."""
    draft, target = paths.draft_probs, paths.target_probs  # (R, T, V)
    rows = range(paths.num_samples)  # path by path, to bound the memory of the residuals
    covers = np.stack([covers_along(draft[i], target[i], max_children) for i in rows])
    distinct = np.stack(
        [distinct_covers_along(draft[i], target[i], max_children, rng) for i in rows]
    )  # (R, T, B)
    accept = kernels.gather(acceptance_given_output(SpeculativeRule(), draft, target), paths.tokens)
    return TreePaths(paths.lengths.astype(np.int64), prompt_length, covers, distinct, accept)


def pooled_acceptance(
    records: Sequence[TreePaths], replacement: bool = True
) -> PositionalAcceptance:
    """The positional acceptance of every position of every recorded path, of i.i.d.
    children (``replacement``) or of children drawn without replacement."""
    return PositionalAcceptance.mean_of(np.concatenate([r.positions(replacement) for r in records]))


def add_tree_samples(
    tree: TreeSpeculative,
    records: Sequence[TreePaths],
    samples: PathSamples,
    costs: CostModel | None,
    max_new_tokens: int,
) -> None:
    """Every recorded path's expected rejections, calls and cost features of ``tree``.

    A chain is predicted exactly along each path (SD's recursion); any other shape by the
    positional model with the covers averaged along that path (:mod:`.trees`)."""
    branching = tree.branching
    chain = all(b == 1 for b in branching)
    for record in records:
        for i, length in enumerate(record.lengths.tolist()):
            if chain:
                rejections, calls, starts = round_starts_given_path(
                    record.accept[i : i + 1, :length], len(branching)
                )
                rejected, called, start = float(rejections[0]), float(calls[0]), starts[0]
            else:
                covers = record.covers_of(tree.replacement)
                acceptance = PositionalAcceptance.mean_of(covers[i, :length])
                called, rejected, start = round_starts(
                    branching, acceptance, length, max_new_tokens
                )
            features = None
            if costs is not None:
                positions = np.arange(length)
                per_round = costs.basis.tree_features(
                    tree, max_new_tokens - positions, record.prompt_length + positions
                )  # (L, P)
                fixed = costs.basis.fixed_features(tree.family.cost_kind)
                features = (start @ per_round + fixed)[None, :]
            samples.add(np.array([rejected]), np.array([called]), length, np.zeros(1), features)
