"""First-order Markov chains: the model, generators, pair files, exact theory and a
vectorised Monte Carlo simulator of every algorithm (paper Sections 1, 4 and 5).

Conventions: ``transitions[n, s, :]`` is the law of ``x_{n+1}`` given ``x_n = s``
(shape (T, S, S)); ``x_0 = start`` is not output; a run emits ``x_1..x_T``.
"""

from specbound.chain.deterministic import (
    copy_pair,
    deterministic_draft,
    proposed_states,
    window_tokens,
)
from specbound.chain.files import load_chains, save_chains
from specbound.chain.generators import (
    bernoulli_pairs,
    one_step_chains,
    random_chain,
    random_pair,
    uniform_support_pairs,
)
from specbound.chain.model import MarkovChain
from specbound.chain.reference import simulate_reference
from specbound.chain.result import SimulationResult
from specbound.chain.simulator import simulate

__all__ = [
    "MarkovChain",
    "SimulationResult",
    "bernoulli_pairs",
    "copy_pair",
    "deterministic_draft",
    "load_chains",
    "one_step_chains",
    "proposed_states",
    "random_chain",
    "random_pair",
    "save_chains",
    "simulate",
    "simulate_reference",
    "uniform_support_pairs",
    "window_tokens",
]
