"""specbound: speculative decoding with its theory built in.

Implements Yin, Chen, Huang, Wang, *A Theoretical Perspective for Speculative Decoding
Algorithm* (NeurIPS 2024): the algorithms (SD, batch SD, over-acceptance with OPT/UNO
resampling), their exact theory on Markov chains, and the same algorithms on Hugging Face
language models. The top level holds the specs, the errors and the four entry points:
``specbound.simulate`` (Monte Carlo on chains), ``specbound.theory`` (the exact theory),
``specbound.generate`` (decode with a model pair) and ``specbound.profile`` (predict and
measure a pair's speed-up). Heavy submodules (``lm``, ``profiling``) load on first use;
the benchmarks and the report (``specbound.bench``, ``specbound.experiments``) are the
command line's, not part of the library's API.
"""

from __future__ import annotations

import importlib
from typing import Any

from specbound import core
from specbound.algorithms import (
    Algorithm,
    Autoregressive,
    BatchSpeculative,
    BlockSpeculative,
    OverAcceptance,
    Speculative,
    TreeSpeculative,
)
from specbound.errors import (
    ChainFileError,
    IncompatibleModelsError,
    InvalidAlgorithmError,
    InvalidDistributionError,
    InvalidInputError,
    ModelNotFoundError,
    ShapeMismatchError,
    SpecboundError,
)

__version__ = "0.1.0"

# name -> module that defines it; imported lazily so `import specbound` stays light.
_LAZY = {
    "chain": "specbound.chain",
    "theory": "specbound.theory",
    "lm": "specbound.lm",
    "profiling": "specbound.profiling",
    "estimates": "specbound.estimates",
    "generate": "specbound.lm",
    "profile": "specbound.profiling",
    "Estimate": "specbound.estimates",
    "MarkovChain": "specbound.chain",
    "simulate": "specbound.chain",
    "SimulationResult": "specbound.chain",
}

__all__ = [
    "Algorithm",
    "Autoregressive",
    "BatchSpeculative",
    "BlockSpeculative",
    "ChainFileError",
    "Estimate",
    "IncompatibleModelsError",
    "InvalidAlgorithmError",
    "InvalidDistributionError",
    "InvalidInputError",
    "MarkovChain",
    "ModelNotFoundError",
    "OverAcceptance",
    "ShapeMismatchError",
    "SimulationResult",
    "SpecboundError",
    "Speculative",
    "TreeSpeculative",
    "__version__",
    "chain",
    "core",
    "estimates",
    "generate",
    "lm",
    "profile",
    "profiling",
    "simulate",
    "theory",
]


def __getattr__(name: str) -> Any:
    module_name = _LAZY.get(name)
    if module_name is None:
        raise AttributeError(f"module 'specbound' has no attribute {name!r}")
    module = importlib.import_module(module_name)
    value = module if module_name.endswith(name) else getattr(module, name)
    globals()[name] = value
    return value
