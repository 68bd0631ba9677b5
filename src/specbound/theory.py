"""Exact theory of every algorithm on Markov chains (``sb.theory``).

A thin re-export of :mod:`specbound.chain.theory`; see there and ``docs/chains.md``.
"""

from specbound.chain.theory import (
    BiasReport,
    ChainTheory,
    Theorem2Check,
    analyse,
    batch_improvement,
    batch_limit,
    check_theorem2,
    expected_bias,
    expected_draft_calls,
    expected_rejections,
    expected_target_calls,
    output_chain,
    sequence_law,
    sequence_tv,
    summarise,
    theorem1_sum,
    theorem1_terms,
)

__all__ = [
    "BiasReport",
    "ChainTheory",
    "Theorem2Check",
    "analyse",
    "batch_improvement",
    "batch_limit",
    "check_theorem2",
    "expected_bias",
    "expected_draft_calls",
    "expected_rejections",
    "expected_target_calls",
    "output_chain",
    "sequence_law",
    "sequence_tv",
    "summarise",
    "theorem1_sum",
    "theorem1_terms",
]
