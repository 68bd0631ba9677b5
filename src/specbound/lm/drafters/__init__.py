"""Drafters by name: the draft model, prompt lookup, suffix decoding, and model-free first.

``drafter_factory(name, **options)`` returns the factory
:func:`specbound.lm.generate` takes as ``drafter=`` (``specbound generate --drafter``):

* ``model`` — the draft model (:class:`~specbound.lm.drafting.Drafter`), the default;
* ``ngram`` — prompt lookup: the last n tokens (``ngram_max`` down to ``ngram_min``)
  matched against earlier positions, what followed the most recent match proposed;
* ``suffix`` — suffix decoding: the most frequent continuation of the longest matched
  suffix in a suffix trie of depth ``suffix_depth`` over the prompt and the output;
* ``ngram+model``, ``suffix+model`` — model-free first, the draft model where nothing
  matches.

Model-free drafters hand verification point masses (``TV = 1 - q(x)``: Theorem 1 prices
them like any draft) and propose nothing when nothing matches (the round is one target
step). ``max_draft`` caps a model-free round's proposal (None: as many as the round asks,
``min(gamma, remaining)``).

A deterministic drafter's rounds are a function of the output, so its expected counts
are predicted by replaying it on target-sampled paths
(:mod:`specbound.lm.drafters.replay`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from specbound.errors import InvalidInputError
from specbound.lm.cache import CachedLM
from specbound.lm.decode import DrafterFactory
from specbound.lm.drafters.index import NgramIndex, SuffixTrie, check_ngram_range
from specbound.lm.drafters.replay import ReplayedRounds, predict_along_paths, replay_rounds
from specbound.lm.drafters.sources import FallbackDrafter, ModelFreeDrafter, TokenIndex
from specbound.lm.drafting import Drafter, DraftSource
from specbound.lm.warping import SamplingConfig
from specbound.validate import check_int

__all__ = [
    "DEFAULT_NGRAM_MAX",
    "DEFAULT_NGRAM_MIN",
    "DEFAULT_SUFFIX_DEPTH",
    "DRAFTER_NAMES",
    "FallbackDrafter",
    "ModelFreeDrafter",
    "NgramIndex",
    "ReplayedRounds",
    "SuffixTrie",
    "TokenIndex",
    "drafter_factory",
    "index_factory",
    "predict_along_paths",
    "replay_rounds",
    "uses_draft_model",
]

#: The names ``--drafter`` accepts.
DRAFTER_NAMES = ("model", "ngram", "suffix", "ngram+model", "suffix+model")
DEFAULT_NGRAM_MIN = 1
DEFAULT_NGRAM_MAX = 3
DEFAULT_SUFFIX_DEPTH = 16


def uses_draft_model(names: str | Sequence[str]) -> bool:
    """Whether any of the drafters ``names`` drafts with the draft model (``model``,
    ``ngram+model``, ``suffix+model``); when none does, only the target need load
    (``load_pair(..., with_draft=False)``)."""
    chosen = [names] if isinstance(names, str) else list(names)
    return any(name == "model" or name.endswith("+model") for name in chosen)


def index_factory(
    name: str,
    *,
    ngram_min: int = DEFAULT_NGRAM_MIN,
    ngram_max: int = DEFAULT_NGRAM_MAX,
    suffix_depth: int = DEFAULT_SUFFIX_DEPTH,
) -> Callable[[], TokenIndex]:
    """Builds fresh indexes of the model-free drafter ``name`` (``ngram`` or ``suffix``):
    what :func:`~specbound.lm.drafters.replay.predict_along_paths` replays."""
    low, high = check_ngram_range(ngram_min, ngram_max)
    depth = check_int(suffix_depth, "suffix_depth", low=2)
    if name == "ngram":
        return lambda: NgramIndex(low, high)
    if name == "suffix":
        SuffixTrie(depth, low)  # refuse ngram_min >= suffix_depth now
        return lambda: SuffixTrie(depth, low)
    raise InvalidInputError(f"a model-free index is 'ngram' or 'suffix', got {name!r}")


def drafter_factory(
    name: str = "model",
    *,
    ngram_min: int = DEFAULT_NGRAM_MIN,
    ngram_max: int = DEFAULT_NGRAM_MAX,
    suffix_depth: int = DEFAULT_SUFFIX_DEPTH,
    max_draft: int | None = None,
) -> DrafterFactory:
    """The factory of drafter ``name`` (one of :data:`DRAFTER_NAMES`) for
    ``generate(drafter=...)``; the options are checked here, before any model loads.

    ``ngram_min``/``ngram_max``: the match lengths prompt lookup tries (longest first);
    ``ngram_min`` is also suffix decoding's shortest match. ``suffix_depth``: the longest
    substring the suffix trie stores. ``max_draft``: cap on a model-free proposal.
    """
    if name not in DRAFTER_NAMES:
        names = ", ".join(DRAFTER_NAMES)
        raise InvalidInputError(f"--drafter must be one of {names}, got {name!r}")
    low, high = check_ngram_range(ngram_min, ngram_max)
    depth = check_int(suffix_depth, "suffix_depth", low=2)
    cap = None if max_draft is None else check_int(max_draft, "max_draft", low=1)
    if name.startswith("suffix"):
        SuffixTrie(depth, low)  # refuse ngram_min >= suffix_depth now

    def model_free(lm: CachedLM) -> ModelFreeDrafter:
        kind = "ngram" if name.startswith("ngram") else "suffix"
        index = index_factory(kind, ngram_min=low, ngram_max=high, suffix_depth=depth)()
        return ModelFreeDrafter(kind, index, lm.vocab_size, lm.device, cap)

    def make(lm: CachedLM, sampling: SamplingConfig, eos: int | None) -> DraftSource:
        if name == "model":
            return Drafter(lm, sampling, eos)
        if name.endswith("+model"):
            return FallbackDrafter(model_free(lm), Drafter(lm, sampling, eos))
        return model_free(lm)

    return make
