"""Exact theory of every algorithm on Markov chains (``sb.theory``).

The public face of :mod:`specbound.chain.theory` (see there and ``docs/chains.md``):
expected rejections, target and draft calls, Theorems 1-3, Proposition 1, the output
chain and its bias, sequence laws by enumeration.
"""

from specbound.chain import theory as chain_theory
from specbound.chain.theory import *  # noqa: F403  (the same names, re-exported)

__all__ = list(chain_theory.__all__)
del chain_theory
