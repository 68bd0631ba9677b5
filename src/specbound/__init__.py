"""specbound: speculative decoding with its theory built in.

Implements Yin, Chen, Huang, Wang, *A Theoretical Perspective for Speculative Decoding
Algorithm* (NeurIPS 2024): the algorithms (SD, batch SD, over-acceptance with OPT/UNO
resampling), their exact theory on Markov chains, and the same algorithms on Hugging Face
language models. Heavy submodules (``lm``, ``experiments``) load on first use.
"""

from __future__ import annotations

import importlib
from typing import Any

from specbound import core
from specbound.algorithms import (
    Algorithm,
    Autoregressive,
    BatchSpeculative,
    OverAcceptance,
    Speculative,
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
    "experiments": "specbound.experiments",
    "MarkovChain": "specbound.chain",
    "simulate": "specbound.chain",
    "SimulationResult": "specbound.chain",
}

__all__ = [
    "Algorithm",
    "Autoregressive",
    "BatchSpeculative",
    "ChainFileError",
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
    "__version__",
    "chain",
    "core",
    "experiments",
    "lm",
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
