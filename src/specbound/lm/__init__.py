"""Hugging Face backend: run the paper's algorithms on a real (target, draft) LM pair.

p = draft, q = target (the paper's notation). ``load_pair`` loads two causal LMs that
share a tokenizer (default: the embedded pair); ``generate`` decodes one prompt with
``Autoregressive``, ``Speculative``, ``BatchSpeculative`` or ``OverAcceptance``, with KV
caches for both models, verification by the ``core`` rules, and counted statistics.
This package is the decoding runtime only (loading, cache, lean forward, warping,
drafting, verification, decode, statistics, prompts); predicting and measuring a pair is
:mod:`specbound.profiling`, benchmarking :mod:`specbound.bench`.
"""

from specbound.errors import require_extra

require_extra("lm", ("torch", "transformers", "safetensors"), "language models")

from specbound.lm.decode import DEFAULT_GAMMA, encode_prompt, generate  # noqa: E402
from specbound.lm.drafters import (  # noqa: E402
    DRAFTER_NAMES,
    drafter_factory,
    uses_draft_model,
)
from specbound.lm.loading import ModelPair, embedded_pair_path, load_pair  # noqa: E402
from specbound.lm.stats import GenerationOutput, GenerationStats, RoundTiming  # noqa: E402
from specbound.lm.warping import SamplingConfig, warp_probs  # noqa: E402

__all__ = [
    "DEFAULT_GAMMA",
    "DRAFTER_NAMES",
    "GenerationOutput",
    "GenerationStats",
    "ModelPair",
    "RoundTiming",
    "SamplingConfig",
    "drafter_factory",
    "embedded_pair_path",
    "encode_prompt",
    "generate",
    "load_pair",
    "uses_draft_model",
    "warp_probs",
]

#: Names users look for in ``specbound.lm`` that live elsewhere -> where they are.
_MOVED = {
    "profile": "specbound.profile (sb.profile(pair, prompts, ...))",
    "ProfileReport": "specbound.profiling.ProfileReport",
    "bench": "specbound.bench",
}


def __getattr__(name: str) -> object:
    """An unknown name: AttributeError, pointing to where a known one lives."""
    where = _MOVED.get(name)
    hint = f"; it is {where}" if where else ""
    raise AttributeError(f"module 'specbound.lm' has no attribute {name!r}{hint}")
