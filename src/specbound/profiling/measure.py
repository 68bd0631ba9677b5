"""The measurement half of :func:`specbound.profile`: run the decoders, count and time.

Every algorithm runs ``runs_per_prompt`` times on every prompt, interleaved (so that
timing noise on a shared machine hits all alike), with seeds independent of the
prediction's; autoregressive decoding runs too when timing, as the clock's baseline.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from specbound.algorithms import Algorithm, Autoregressive
from specbound.estimates import Estimate, derive_seed, quotient
from specbound.lm.decode import generate
from specbound.lm.loading import ModelPair
from specbound.lm.warping import SamplingConfig
from specbound.profiling.report import Measurement

__all__ = ["MeasuredRuns", "measure_algorithms", "measurement"]


@dataclass
class MeasuredRuns:
    """Per-run counts and decode seconds (prefill excluded) of one algorithm."""

    rejections: list[float] = field(default_factory=list)
    calls: list[float] = field(default_factory=list)
    tokens: list[float] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)


def measurement(
    algorithm: Algorithm, runs: MeasuredRuns, timing: bool, baseline: Estimate | None
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
) -> tuple[Measurement | None, dict[Algorithm, Measurement]]:
    """Run every algorithm (and autoregressive decoding when ``timing``) on every prompt.

    Returns (the autoregressive baseline or None, the measurement of each algorithm).
    ``common_seeds``: every algorithm runs with the same seeds (common random numbers:
    sharper speed-up comparisons, but correlated rows).
    """
    # Autoregressive decoding is the clock's baseline; without timing it is not run.
    specs: list[Algorithm] = [*([Autoregressive()] if timing else []), *algorithms]
    records: dict[Algorithm, MeasuredRuns] = {a: MeasuredRuns() for a in specs}
    total = len(prompts) * runs_per_prompt
    for i, prompt in enumerate(prompts):
        for j in range(runs_per_prompt):
            for spec in specs:  # interleaved: timing noise hits all alike
                run_seed = (
                    derive_seed(seed, 1, i, j)
                    if common_seeds
                    else derive_seed(seed, 2, i, j, zlib.crc32(spec.label.encode()))
                )
                stats = generate(
                    pair,
                    prompt,
                    spec,
                    max_new_tokens=max_new_tokens,
                    seed=run_seed,
                    sampling=sampling,
                    stop_at_eos=stop_at_eos,
                ).stats
                record = records[spec]
                record.rejections.append(stats.rejections)
                record.calls.append(stats.target_calls)
                record.tokens.append(stats.new_tokens)
                record.seconds.append(max(stats.wall_time - stats.prefill_time, 0.0))
            progress((i * runs_per_prompt + j + 1) / total)
    baseline = autoregressive = None
    if timing:
        ar = records[Autoregressive()]
        baseline = Estimate.ratio(ar.seconds, ar.tokens)
        autoregressive = measurement(Autoregressive(), ar, timing, None)
    measured = {a: measurement(a, records[a], timing, baseline) for a in algorithms}
    return autoregressive, measured
