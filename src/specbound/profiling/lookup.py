"""Model-free drafters in :func:`specbound.profile`: predicted along the target's paths.

A model-free drafter (prompt lookup ``ngram``, suffix decoding ``suffix``,
:mod:`specbound.lm.drafters`) is deterministic: its rounds are a function of the output,
so along each target-sampled path they are replayed exactly
(:func:`~specbound.lm.drafters.replay_rounds`; SD's output law is the target's, so these
paths are draws of its output) and the path's rejections and target calls are counted,
not estimated from acceptance probabilities. The average over paths is an unbiased
estimate of the expectations (with temperature 0 there is one path and the counts are
the decoder's).

Seconds: each replayed round is one target call of ``k + 1`` rows (``k`` drafted tokens,
0 when nothing matched; ``k`` at the horizon) plus the round's rest, priced by the cost
model's ``lookup`` kind (:meth:`~specbound.profiling.costs.CostBasis.lookup_features`: no
draft forwards; the index lookup is timed with the rest of the round). Calibration runs,
at every profiled gamma, each drafter itself and a *padded* prompt lookup that always
proposes ``min(gamma, tokens left)`` tokens (:class:`PaddedIndex`), so the target call's
row counts up to ``gamma + 1`` are timed whatever the prompts' matches.

The combined drafters (``ngram+model``, ``suffix+model``) are predicted by
:mod:`specbound.profiling.fallback` (their model rounds need the draft's laws along the
path); their calibration adds SD with the draft model at their gammas.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from specbound.algorithms import Speculative
from specbound.errors import InvalidInputError
from specbound.lm.cache import CachedLM
from specbound.lm.decode import DrafterFactory
from specbound.lm.drafters import (
    ModelFreeDrafter,
    TokenIndex,
    drafter_factory,
    index_factory,
    replay_rounds,
)
from specbound.lm.drafting import DraftSource
from specbound.lm.warping import SamplingConfig
from specbound.profiling.costs import LOOKUP, CostModel
from specbound.profiling.paths import SampledPaths
from specbound.profiling.predict import PathSamples
from specbound.profiling.seconds import autoregressive_features
from specbound.validate import check_int

__all__ = [
    "DEFAULT_DRAFTER_GAMMAS",
    "PROFILED_DRAFTERS",
    "LookupSetting",
    "PaddedIndex",
    "add_autoregressive_baseline",
    "add_lookup_paths",
    "calibration_drafters",
    "calibration_fallbacks",
    "check_profiled_drafters",
    "drafter_factories",
    "lookup_settings",
]

#: The drafters :func:`specbound.profile` predicts (``model``: the draft model's rows).
PROFILED_DRAFTERS = ("model", "ngram", "suffix", "ngram+model", "suffix+model")
#: The gammas model-free drafters are profiled at by default.
DEFAULT_DRAFTER_GAMMAS = (4, 8, 16)


@dataclass(frozen=True)
class LookupSetting:
    """SD at ``algorithm.gamma`` drafted by the model-free ``drafter``."""

    drafter: str
    algorithm: Speculative

    @property
    def label(self) -> str:
        return f"{self.algorithm.label} drafter={self.drafter}"

    @property
    def combined(self) -> bool:
        """Model-free first, the draft model where nothing matches."""
        return self.drafter.endswith("+model")

    @property
    def index(self) -> str:
        """The model-free index it drafts from (``ngram`` or ``suffix``)."""
        return self.drafter.split("+")[0]


def check_profiled_drafters(drafters: str | Sequence[str]) -> tuple[str, ...]:
    """The distinct drafter names of ``drafters`` (one name or several), each one of
    :data:`PROFILED_DRAFTERS`; else an error naming the input."""
    names = [drafters] if isinstance(drafters, str) else list(drafters)
    if not names:
        raise InvalidInputError("drafter: give at least one of " + ", ".join(PROFILED_DRAFTERS))
    for name in names:
        if name not in PROFILED_DRAFTERS:
            raise InvalidInputError(
                f"drafter must be one of {', '.join(PROFILED_DRAFTERS)}, got {name!r}"
            )
    return tuple(dict.fromkeys(names))


def lookup_settings(drafters: Sequence[str], gammas: Sequence[int]) -> list[LookupSetting]:
    """SD at every gamma of ``gammas`` for every model-free name in ``drafters``."""
    chosen = sorted({check_int(g, "drafter gamma", low=1) for g in gammas})
    return [
        LookupSetting(name, Speculative(gamma=g))
        for name in drafters
        if name != "model"
        for g in chosen
    ]


class PaddedIndex:
    """A calibration index: ``inner``'s proposal padded to the full ``length`` (with its
    last token, or token 0 when it proposes nothing), so every round scores
    ``min(gamma, tokens left) + 1`` rows."""

    def __init__(self, inner: TokenIndex) -> None:
        self.inner = inner

    def __len__(self) -> int:
        return len(self.inner)

    def extend(self, tokens: Sequence[int]) -> None:
        self.inner.extend(tokens)

    def propose(self, length: int) -> list[int]:
        proposal = self.inner.propose(length)
        fill = proposal[-1] if proposal else 0
        return proposal + [fill] * (length - len(proposal))


def _model_free(name: str, padded: bool, options: Mapping[str, int]) -> DrafterFactory:
    """A drafter factory of the model-free ``name`` (padded for calibration)."""
    make_index = index_factory(name, **options)

    def make(lm: CachedLM, sampling: SamplingConfig, eos: int | None) -> DraftSource:
        index: TokenIndex = PaddedIndex(make_index()) if padded else make_index()
        return ModelFreeDrafter(name, index, lm.vocab_size, lm.device)

    return make


def calibration_drafters(
    settings: Sequence[LookupSetting], options: Mapping[str, int]
) -> list[tuple[Speculative, DrafterFactory]]:
    """What calibration times for ``settings``: at every gamma, the padded prompt lookup
    (every row count up to gamma + 1) and each drafter as the profile runs it."""
    runs: list[tuple[Speculative, DrafterFactory]] = []
    for gamma in sorted({s.algorithm.gamma for s in settings if s.algorithm.gamma}):
        runs.append((Speculative(gamma=gamma), _model_free("ngram", True, options)))
        for name in dict.fromkeys(s.index for s in settings if s.algorithm.gamma == gamma):
            runs.append((Speculative(gamma=gamma), _model_free(name, False, options)))
    return runs


def calibration_fallbacks(
    settings: Sequence[LookupSetting], options: Mapping[str, int]
) -> list[tuple[Speculative, DrafterFactory]]:
    """What calibration times for the combined ``settings`` (``ngram+model``): each as
    the profile runs it, so that the cost of its draft catching up is measured."""
    return [(s.algorithm, drafter_factory(s.drafter, **options)) for s in settings if s.combined]


def drafter_factories(
    settings: Sequence[LookupSetting], options: Mapping[str, int]
) -> dict[LookupSetting, DrafterFactory]:
    """The drafter factory each setting runs with."""
    return {
        s: drafter_factory(s.drafter, **options)
        if s.combined
        else _model_free(s.drafter, False, options)
        for s in settings
    }


def add_lookup_paths(
    paths: SampledPaths,
    prompt_ids: Sequence[int],
    settings: Sequence[LookupSetting],
    samples: Mapping[LookupSetting, PathSamples],
    costs: CostModel | None,
    max_new_tokens: int,
    eos_token_id: int | None,
    options: Mapping[str, int],
) -> None:
    """Replay every setting's drafter along each of ``paths`` (target-sampled) and add the
    path's rejections, target calls and (with ``costs``) cost features to ``samples``."""
    for setting in settings:
        make_index = index_factory(setting.index, **options)
        for row in range(paths.num_samples):
            length = int(paths.lengths[row])
            rounds = replay_rounds(
                make_index(),
                prompt_ids,
                paths.tokens[row, :length].tolist(),
                setting.algorithm,
                max_new_tokens,
                eos_token_id,
            )
            features = None
            if costs is not None:
                starts = np.asarray(rounds.starts, dtype=np.int64)  # (C,)
                per_round = costs.basis.lookup_features(
                    rounds.drafted, max_new_tokens - starts, len(prompt_ids) + starts
                )  # (C, P)
                features = (per_round.sum(axis=0) + costs.basis.fixed_features(LOOKUP))[None]
            samples[setting].add(
                np.array([rounds.rejections]),
                np.array([rounds.target_calls]),
                length,
                np.zeros(1),
                features,
            )


def add_autoregressive_baseline(
    paths: SampledPaths, baseline: PathSamples, costs: CostModel, prompt_length: int
) -> None:
    """Autoregressive decoding's cost features along ``paths`` (the speed-up's baseline)
    when no draft model is profiled (its rejections and calls are recorded as 0)."""
    for length, rows in paths.by_length():
        one = autoregressive_features(costs, length, prompt_length)  # (P,)
        zeros = np.zeros(rows.size)
        baseline.add(zeros, zeros, length, zeros, np.repeat(one[None, :], rows.size, axis=0))
