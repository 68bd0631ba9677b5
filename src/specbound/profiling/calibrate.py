"""Timing the decoder's own rounds for the cost model of :mod:`specbound.profiling.costs`.

:func:`measure_costs` runs real generations of every configuration the profile will
predict (each distinct round kind, draft count M and gamma, and autoregressive
decoding), with ``generate``'s ``on_round`` hook recording every round's phases, and fits
the model (:func:`~specbound.profiling.fit.fit_cost_model`). The design spans what the
profiled settings meet: every row count of their target calls (gamma + 1 tokens per row,
fewer in the last rounds, up to the horizon when drafting to it), every M, and the
contexts from the shortest prompt to the longest plus ``max_new_tokens``. Generations run
to ``max_new_tokens`` (no end-of-sequence stop: more rounds per second of calibration and
the whole context range); how a generation that stops early is charged is the
prediction's business (:mod:`specbound.profiling.predict`).

Timing repeats are the outer loop, and each repeat runs every configuration on one prompt
(the prompts in turn), autoregressive decoding first — the order in which
:mod:`specbound.profiling.measure` runs them. The order matters on a shared CPU: a
generation's cost depends on what ran before it (the caches it finds), and a calibration
that alternated its order and gave each configuration its own prompt priced speculative
rounds 5-14% dearer, against autoregressive steps, than the measurement then paid. A
first warm-up pass is not recorded (the first timed configurations of a process run slow).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from specbound.algorithms import Algorithm, Autoregressive
from specbound.estimates import derive_seed
from specbound.lm.decode import DrafterFactory, generate
from specbound.lm.loading import ModelPair
from specbound.lm.stats import RoundTiming
from specbound.lm.warping import SamplingConfig
from specbound.profiling.costs import LOOKUP, CostModel, round_kind
from specbound.profiling.fit import GenerationRecord, fit_cost_model

__all__ = ["calibration_algorithms", "measure_costs", "record_generations"]


def calibration_algorithms(algorithms: Sequence[Algorithm]) -> list[Algorithm]:
    """One algorithm per distinct (round kind, M, gamma, tree shape) of ``algorithms``,
    and autoregressive decoding first."""
    chosen: dict[tuple[str, int, int | None, tuple[int, ...]], Algorithm] = {}
    for algorithm in algorithms:
        if algorithm.drafts:
            shape = tuple(getattr(algorithm, "branching", ()))  # a tree's own row counts
            key = (round_kind(algorithm), algorithm.num_drafts, algorithm.gamma, shape)
            chosen.setdefault(key, algorithm)
    return [Autoregressive(), *chosen.values()]


def record_generations(
    pair: ModelPair,
    prompts: Sequence[str],
    algorithms: Sequence[Algorithm],
    *,
    max_new_tokens: int,
    sampling: SamplingConfig,
    repeats: int,
    seed: int = 0,
    progress: Callable[[float], None] | None = None,
    lookups: Sequence[tuple[Algorithm, DrafterFactory]] = (),
    fallbacks: Sequence[tuple[Algorithm, DrafterFactory]] = (),
) -> list[GenerationRecord]:
    """Run every algorithm ``repeats`` times (after one warm-up pass), prompts in turn,
    recording each round, then each of ``lookups`` (an algorithm with a model-free
    drafter, recorded as ``lookup`` rounds) and of ``fallbacks`` (a combined drafter,
    ``ngram+model``: its model rounds, whose first draft forward catches up on the tokens
    of the model-free rounds before them, recorded as the algorithm's kind, and its
    model-free rounds, which report ``fed == 0``, as ``lookup`` rounds); returns one record
    per timed generation."""
    runs: list[tuple[Algorithm, str, dict[str, Any]]] = [(a, round_kind(a), {}) for a in algorithms]
    runs += [(a, LOOKUP, {"drafter": drafter}) for a, drafter in lookups]
    runs += [(a, round_kind(a), {"drafter": drafter}) for a, drafter in fallbacks]
    records: list[GenerationRecord] = []
    total = (repeats + 1) * len(runs)
    done = 0
    for repeat in range(-1, repeats):  # -1: warm-up, not recorded
        prompt = prompts[(repeat + 1) % len(prompts)]
        for config, (algorithm, kind, drafter) in enumerate(runs):
            rounds: list[RoundTiming] = []
            stats = generate(
                pair,
                prompt,
                algorithm,
                max_new_tokens=max_new_tokens,
                seed=derive_seed(seed, 4, repeat + 1, config),
                sampling=sampling,
                stop_at_eos=False,
                on_round=rounds.append,
                **drafter,
            ).stats
            if repeat >= 0:
                spent = sum(t.seconds for t in rounds)
                records.append(
                    GenerationRecord(
                        kind=kind,
                        rows=algorithm.num_drafts,
                        config=config,
                        repeat=repeat,
                        rounds=tuple(rounds),
                        fixed=max(stats.wall_time - stats.prefill_time - spent, 0.0),
                        branching=tuple(getattr(algorithm, "branching", ())),
                    )
                )
            done += 1
            if progress is not None:
                progress(done / total)
    return records


def measure_costs(
    pair: ModelPair,
    prompts: Sequence[str],
    algorithms: Sequence[Algorithm],
    *,
    max_new_tokens: int,
    sampling: SamplingConfig,
    repeats: int = 5,
    seed: int = 0,
    bootstrap: int = 200,
    progress: Callable[[float], None] | None = None,
    lookups: Sequence[tuple[Algorithm, DrafterFactory]] = (),
    fallbacks: Sequence[tuple[Algorithm, DrafterFactory]] = (),
) -> CostModel:
    """Time the decoder's rounds for every configuration of ``algorithms`` (and of
    ``lookups``: algorithms with model-free drafters; ``fallbacks``: with combined ones)
    on this machine and fit the cost model (with ``bootstrap`` refits for its
    uncertainty)."""
    records = record_generations(
        pair,
        prompts,
        calibration_algorithms(algorithms),
        max_new_tokens=max_new_tokens,
        sampling=sampling,
        repeats=repeats,
        seed=seed,
        progress=progress,
        lookups=lookups,
        fallbacks=fallbacks,
    )
    return fit_cost_model(records, bootstrap=bootstrap, seed=seed)
