"""Verification families: each one object that every backend asks (see :mod:`.base`).

* :class:`NoDraftFamily` — autoregressive decoding (paper Algorithm 3);
* :class:`TokenFamily` — one rule ``(b, P)`` at every drafted position (Algorithm 2: SD,
  Decoding-OPT, Decoding-UNO);
* :class:`MultiDraftFamily` — M drafts, a multi-draft round start (Algorithm 4's recursive
  rejection, or the optimal coupling), then the step rule along the winner;
* :class:`BlockFamily` — block verification of one drafted block;
* :class:`TreeFamily` — a token tree, a multi-draft rule at every node of the accepted
  path (:class:`TreeLayout`: where each node lives in a round's arrays);
* :class:`TraversalTreeFamily` — a token tree judged leaves first (traversal verification).

:func:`family_from_rules` builds the family that a set of rules describes (for specs built
around custom rules, as the tests' mutants are).
"""

from __future__ import annotations

from typing import Any

from specbound.core.families.base import (
    ProposalShape,
    RoundCost,
    RoundShapes,
    RoundVerdict,
    VerificationFamily,
    draft_length,
    draft_lengths,
)
from specbound.core.families.block import BlockFamily
from specbound.core.families.multidraft import MultiDraftFamily
from specbound.core.families.token import NoDraftFamily, TokenFamily
from specbound.core.families.traversal import TraversalTreeFamily
from specbound.core.families.tree import TreeFamily
from specbound.core.families.tree_layout import TreeLayout, tree_nodes

__all__ = [
    "BlockFamily",
    "MultiDraftFamily",
    "NoDraftFamily",
    "ProposalShape",
    "RoundCost",
    "RoundShapes",
    "RoundVerdict",
    "TokenFamily",
    "TraversalTreeFamily",
    "TreeFamily",
    "TreeLayout",
    "VerificationFamily",
    "draft_length",
    "draft_lengths",
    "family_from_rules",
    "tree_nodes",
]


def family_from_rules(
    step_rule: Any = None, start_rule: Any = None, block_rule: Any = None
) -> VerificationFamily:
    """The family the given rules describe: a block rule judges whole blocks; a round-start
    rule makes a multi-draft family; a step rule alone a token family; none, autoregressive
    decoding."""
    if block_rule is not None:
        return BlockFamily(block_rule)
    if step_rule is None:
        return NoDraftFamily()
    if start_rule is not None:
        return MultiDraftFamily(step_rule, start_rule)
    return TokenFamily(step_rule)
