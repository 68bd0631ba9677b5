"""The measurement half of :func:`specbound.profile`: run the decoders, count and time.

Every algorithm runs ``runs_per_prompt`` times on every prompt, interleaved (so that
timing noise on a shared machine hits all alike), with seeds independent of the
prediction's; autoregressive decoding runs too when timing, as the clock's baseline.
A *setting* is an algorithm and who drafts for it (``"model"``, the draft model, or a
model-free drafter's name with its factory): measurements are keyed by
``(drafter name, algorithm)``.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from specbound.algorithms import Algorithm, Autoregressive
from specbound.estimates import Estimate, derive_seed, quotient
from specbound.lm.decode import DrafterFactory, generate
from specbound.lm.loading import ModelPair
from specbound.lm.warping import SamplingConfig
from specbound.profiling.report import Measurement

__all__ = ["MeasuredRuns", "Setting", "measure_algorithms", "measurement"]

#: ``(drafter name, algorithm)``: ``"model"`` for the draft model.
Setting = tuple[str, Algorithm]


@dataclass
class MeasuredRuns:
    """Per-run counts and decode seconds (prefill excluded) of one algorithm."""

    rejections: list[float] = field(default_factory=list)
    calls: list[float] = field(default_factory=list)
    tokens: list[float] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)


def measurement(
    algorithm: Algorithm,
    runs: MeasuredRuns,
    timing: bool,
    baseline: Estimate | None,
    drafter: str = "model",
) -> Measurement:
    """The :class:`~specbound.profiling.report.Measurement` of one algorithm's runs."""
    seconds_per_token = speedup = None
    if timing:
        seconds_per_token = Estimate.ratio(runs.seconds, runs.tokens)
        if baseline is not None:
            speedup = quotient(baseline, seconds_per_token)
    return Measurement(
        algorithm=algorithm,
        runs=len(runs.tokens),
        rejections=Estimate.from_samples(runs.rejections),
        calls=Estimate.from_samples(runs.calls),
        tokens=Estimate.from_samples(runs.tokens),
        calls_per_token=Estimate.ratio(runs.calls, runs.tokens),
        seconds_per_token=seconds_per_token,
        speedup=speedup,
        drafter=drafter,
    )


def measure_algorithms(
    pair: ModelPair,
    prompts: Sequence[str],
    algorithms: Sequence[Algorithm],
    *,
    runs_per_prompt: int,
    max_new_tokens: int,
    sampling: SamplingConfig,
    seed: int,
    stop_at_eos: bool,
    timing: bool,
    common_seeds: bool,
    progress: Callable[[float], None],
    lookups: Sequence[tuple[str, Algorithm, DrafterFactory]] = (),
) -> tuple[Measurement | None, dict[Setting, Measurement]]:
    """Run every algorithm (drafted by the draft model), every one of ``lookups`` (name,
    algorithm, factory of a model-free drafter) and, when ``timing``, autoregressive
    decoding on every prompt.

    Returns (the autoregressive baseline or None, the measurement of each setting keyed by
    ``(drafter name, algorithm)``). ``common_seeds``: every setting runs with the same
    seeds (common random numbers: sharper speed-up comparisons, but correlated rows).
    """
    # Autoregressive decoding is the clock's baseline; without timing it is not run.
    chosen: list[Algorithm] = [*([Autoregressive()] if timing else []), *algorithms]
    specs: list[tuple[Setting, dict[str, Any]]] = [(("model", a), {}) for a in chosen]
    specs += [((name, a), {"drafter": factory}) for name, a, factory in lookups]
    records: dict[Setting, MeasuredRuns] = {key: MeasuredRuns() for key, _ in specs}
    total = len(prompts) * runs_per_prompt
    for i, prompt in enumerate(prompts):
        for j in range(runs_per_prompt):
            for (name, spec), drafter in specs:  # interleaved: timing noise hits all alike
                label = spec.label + ("" if name == "model" else f" drafter={name}")
                run_seed = (
                    derive_seed(seed, 1, i, j)
                    if common_seeds
                    else derive_seed(seed, 2, i, j, zlib.crc32(label.encode()))
                )
                stats = generate(
                    pair,
                    prompt,
                    spec,
                    max_new_tokens=max_new_tokens,
                    seed=run_seed,
                    sampling=sampling,
                    stop_at_eos=stop_at_eos,
                    **drafter,
                ).stats
                record = records[name, spec]
                record.rejections.append(stats.rejections)
                record.calls.append(stats.target_calls)
                record.tokens.append(stats.new_tokens)
                record.seconds.append(max(stats.wall_time - stats.prefill_time, 0.0))
            progress((i * runs_per_prompt + j + 1) / total)
    baseline = autoregressive = None
    if timing:
        ar = records["model", Autoregressive()]
        baseline = Estimate.ratio(ar.seconds, ar.tokens)
        autoregressive = measurement(Autoregressive(), ar, timing, None)
    wanted = [("model", a) for a in algorithms] + [(name, a) for name, a, _ in lookups]
    measured = {
        (name, a): measurement(a, records[name, a], timing, baseline, name) for name, a in wanted
    }
    return autoregressive, measured
