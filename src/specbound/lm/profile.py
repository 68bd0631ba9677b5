"""Predict a model pair's speed-up before running it, then run it (beyond the paper).

Paper notation: p = draft, q = target. Derivation in ``docs/profile.md``; in short:

* SD and batch SD output exactly the target's law (Theorems 1 and 3), so continuations
  sampled from the target are draws of their output. **Given the output path**, the
  acceptance events at different positions are independent, with probability
  ``min(p_n, q_n)(x_n) / q_n(x_n)`` at a drafted position and ``1 - P(all M rejected)
  r_{M+1}(x_n) / q_n(x_n)`` at a batch round start
  (:func:`~specbound.core.acceptance_given_output`,
  :func:`~specbound.core.round_start_acceptance_given_output`). A forward recursion over
  the position within the round (:func:`~specbound.core.expected_counts_given_path`)
  then gives the exact conditional expectation of rejections and target calls for any
  gamma and M; the average over sampled paths is an unbiased estimate. For SD with
  gamma = None, Theorem 1's sum of ``TV(p_n, q_n)`` along the path is the same
  expectation with less variance (Rao-Blackwell), and is what is reported.
* Over-acceptance (Section 4) outputs the law ``A_n = p_n b_n + r_n P_n`` (Theorem 4) at
  every position when it drafts to the horizon, so its paths are sampled from ``A_n``
  and the acceptance given the output is ``p_n b_n(x_n) / A_n(x_n)``. Its predictions are
  made for gamma = None only (with a finite gamma the bonus tokens come from q, and the
  output law is no longer ``A_n`` position by position).
* The same recursion gives the probability that each position starts a round; with the
  per-call costs timed on this machine (:mod:`specbound.lm.profile_costs`) that is the
  expected wall-clock time of a generation, hence the predicted speed-up over
  autoregressive decoding.

:func:`profile` then runs every algorithm on the same prompts (other seeds) and reports
the measured rejections, calls and speed-up beside the predictions.
"""

from __future__ import annotations

import functools
import math
import time
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from specbound.algorithms import (
    Algorithm,
    Autoregressive,
    BatchSpeculative,
    OverAcceptance,
    Speculative,
)
from specbound.core.batch import RecursiveRejectionRule
from specbound.core.distance import _tv
from specbound.core.rounds import (
    acceptance_given_output,
    expected_counts_given_path,
    round_start_acceptance_given_output,
)
from specbound.core.rules import (
    SpeculativeRule,
    output_distribution,
    step_rejection_probability,
)
from specbound.errors import InvalidAlgorithmError, InvalidInputError
from specbound.lm.decode import encode_prompt, generate
from specbound.lm.loading import ModelPair
from specbound.lm.profile_costs import CostModel, measure_costs
from specbound.lm.profile_estimates import (
    Estimate,
    agreement_z,
    inverse_ratio,
    mean_estimate,
    quotient,
    ratio_estimate,
)
from specbound.lm.profile_paths import SampledPaths, sample_paths
from specbound.lm.warping import SamplingConfig

__all__ = [
    "AGREEMENT_Z",
    "Measurement",
    "Prediction",
    "ProfileReport",
    "ProfileRow",
    "algorithm_label",
    "profile",
    "round_starts_given_path",
]

Array = NDArray[np.float64]
Progress = Callable[[float], None]

#: |z| below which a prediction and a measurement agree (two-sided 99% level).
AGREEMENT_Z = 2.5758293035489004


def algorithm_label(algorithm: Algorithm) -> str:
    """A short name: ``"sd gamma=4"``, ``"batch M=3 gamma=none"``, ``"opt eps=0.1 ..."``."""
    gamma = "none" if algorithm.gamma is None else str(algorithm.gamma)
    if isinstance(algorithm, Autoregressive):
        return "ar"
    if isinstance(algorithm, Speculative):
        return f"sd gamma={gamma}"
    if isinstance(algorithm, BatchSpeculative):
        return f"batch M={algorithm.num_drafts} gamma={gamma}"
    if isinstance(algorithm, OverAcceptance):
        return f"{algorithm.resample} eps={algorithm.eps:g} gamma={gamma}"
    raise InvalidAlgorithmError(f"not an algorithm spec: {algorithm!r}")


def _optional(estimate: Estimate | None) -> dict[str, Any] | None:
    return None if estimate is None else estimate.to_dict()


@dataclass(frozen=True)
class Prediction:
    """What the theory predicts for one algorithm, per generation of the profiled setting.

    ``expected_rejections``/``expected_calls``/``expected_tokens`` are per generation;
    ``calls_per_token`` is target calls per generated token; ``bias_per_token`` is the
    exact expected per-token ``TV(A_n, q_n)`` of the output law (0 for lossless
    algorithms, Theorem 4's quantity for over-acceptance); ``seconds_per_token`` and
    ``predicted_speedup`` (over autoregressive decoding) use the measured per-call costs
    (None when costs were not timed). Every estimate carries its 95% interval.
    """

    algorithm: Algorithm
    expected_rejections: Estimate
    expected_calls: Estimate
    expected_tokens: Estimate
    calls_per_token: Estimate
    bias_per_token: Estimate
    seconds_per_token: Estimate | None
    predicted_speedup: Estimate | None

    @property
    def label(self) -> str:
        return algorithm_label(self.algorithm)

    @property
    def lossless(self) -> bool:
        return bool(self.algorithm.unbiased)

    def to_dict(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "algorithm": self.algorithm.to_dict(),
            "lossless": self.lossless,
            "expected_rejections": self.expected_rejections.to_dict(),
            "expected_calls": self.expected_calls.to_dict(),
            "expected_tokens": self.expected_tokens.to_dict(),
            "calls_per_token": self.calls_per_token.to_dict(),
            "bias_per_token": self.bias_per_token.to_dict(),
            "seconds_per_token": _optional(self.seconds_per_token),
            "predicted_speedup": _optional(self.predicted_speedup),
        }


@dataclass(frozen=True)
class Measurement:
    """What running the algorithm gave: means over ``runs`` generations.

    ``seconds_per_token`` excludes the prompt's prefill (as the prediction does);
    ``speedup`` is autoregressive decoding's measured seconds per token over this one.
    """

    algorithm: Algorithm
    runs: int
    rejections: Estimate
    calls: Estimate
    tokens: Estimate
    calls_per_token: Estimate
    seconds_per_token: Estimate | None
    speedup: Estimate | None

    @property
    def label(self) -> str:
        return algorithm_label(self.algorithm)

    def to_dict(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "algorithm": self.algorithm.to_dict(),
            "runs": self.runs,
            "rejections": self.rejections.to_dict(),
            "calls": self.calls.to_dict(),
            "tokens": self.tokens.to_dict(),
            "calls_per_token": self.calls_per_token.to_dict(),
            "seconds_per_token": _optional(self.seconds_per_token),
            "speedup": _optional(self.speedup),
        }


@dataclass(frozen=True)
class ProfileRow:
    """One algorithm: its prediction, its measurement (if run) and their agreement.

    ``z_rejections``/``z_calls``: ``(measured - predicted) / sqrt(se_p^2 + se_m^2)`` (the
    measured se floored for rare events, see :meth:`_measured`); the prediction *holds*
    when both lie within +-:data:`AGREEMENT_Z` (the 99% level).
    ``speedup_ratio``: measured over predicted speed-up (the share of the theoretical
    ceiling that the implementation reaches).
    """

    prediction: Prediction
    measurement: Measurement | None = None

    @property
    def algorithm(self) -> Algorithm:
        return self.prediction.algorithm

    @property
    def label(self) -> str:
        return self.prediction.label

    def _measured(self, estimate: Estimate, baseline: float) -> Estimate:
        """The measured estimate, its standard error floored for rare events.

        NOTE: when rejections are rare (fewer than one expected per generation, e.g.
        over-acceptance) most runs count none, and a handful of runs cannot estimate the
        spread: the sample standard error is near 0 and |z| explodes. The floor is the
        Poisson value ``sqrt((predicted mean - baseline) / runs)`` (baseline 0 for
        rejections, 1 for calls: every generation makes one call).
        """
        predicted = (
            self.prediction.expected_rejections if baseline == 0 else self.prediction.expected_calls
        )
        if self.prediction.expected_rejections.mean >= 1.0:
            return estimate
        floor = math.sqrt(max(predicted.mean - baseline, 0.0) / estimate.n)
        return estimate if estimate.se >= floor else Estimate(estimate.mean, floor, estimate.n)

    @property
    def z_rejections(self) -> float | None:
        if self.measurement is None:
            return None
        measured = self._measured(self.measurement.rejections, 0.0)
        return agreement_z(self.prediction.expected_rejections, measured)

    @property
    def z_calls(self) -> float | None:
        if self.measurement is None:
            return None
        measured = self._measured(self.measurement.calls, 1.0)
        return agreement_z(self.prediction.expected_calls, measured)

    @property
    def holds(self) -> bool | None:
        """Whether measured rejections and calls agree with the prediction (99% level)."""
        if self.z_rejections is None or self.z_calls is None:
            return None
        return abs(self.z_rejections) < AGREEMENT_Z and abs(self.z_calls) < AGREEMENT_Z

    @property
    def speedup_ratio(self) -> float | None:
        predicted = self.prediction.predicted_speedup
        measured = None if self.measurement is None else self.measurement.speedup
        if predicted is None or measured is None or predicted.mean <= 0:
            return None
        return measured.mean / predicted.mean

    def to_dict(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "prediction": self.prediction.to_dict(),
            "measurement": None if self.measurement is None else self.measurement.to_dict(),
            "z_rejections": self.z_rejections,
            "z_calls": self.z_calls,
            "holds": self.holds,
            "speedup_ratio": self.speedup_ratio,
        }


@dataclass(frozen=True)
class ProfileReport:
    """The result of :func:`profile`: one row per algorithm, and the recommendation.

    ``recommended`` is the lossless algorithm (SD or batch SD, any gamma and M profiled)
    with the best predicted speed-up; None when costs were not timed.
    """

    target_name: str
    draft_name: str
    prompts: tuple[str, ...]
    max_new_tokens: int
    samples_per_prompt: int
    runs_per_prompt: int
    seed: int
    sampling: SamplingConfig
    stop_at_eos: bool
    mean_tv: Estimate
    costs: CostModel | None
    autoregressive: Measurement | None
    rows: tuple[ProfileRow, ...]
    recommended: Prediction | None
    seconds: float = field(default=0.0, compare=False)

    @property
    def predictions(self) -> tuple[Prediction, ...]:
        return tuple(row.prediction for row in self.rows)

    @property
    def measurements(self) -> tuple[Measurement, ...]:
        return tuple(row.measurement for row in self.rows if row.measurement is not None)

    @property
    def holds(self) -> bool | None:
        """Whether every measured row agrees with its prediction (None if none measured)."""
        verdicts = [row.holds for row in self.rows if row.holds is not None]
        return all(verdicts) if verdicts else None

    def find(self, algorithm: Algorithm) -> ProfileRow:
        """The row of ``algorithm`` (compared as specs: ``Speculative(gamma=4)``, ...)."""
        for row in self.rows:
            if row.algorithm == algorithm:
                return row
        raise KeyError(f"{algorithm_label(algorithm)} was not profiled")

    def to_dict(self) -> dict[str, Any]:
        return {
            "target": self.target_name,
            "draft": self.draft_name,
            "prompts": list(self.prompts),
            "max_new_tokens": self.max_new_tokens,
            "samples_per_prompt": self.samples_per_prompt,
            "runs_per_prompt": self.runs_per_prompt,
            "seed": self.seed,
            "sampling": {
                "temperature": self.sampling.temperature,
                "top_k": self.sampling.top_k,
                "top_p": self.sampling.top_p,
            },
            "stop_at_eos": self.stop_at_eos,
            "mean_tv": self.mean_tv.to_dict(),
            "costs": None if self.costs is None else self.costs.to_dict(),
            "autoregressive": None
            if self.autoregressive is None
            else self.autoregressive.to_dict(),
            "rows": [row.to_dict() for row in self.rows],
            "recommended": None if self.recommended is None else self.recommended.to_dict(),
            "holds": self.holds,
            "seconds": self.seconds,
        }


# --------------------------------------------------------------------------- theory


def _gather(probs: Array, tokens: NDArray[np.int64]) -> Array:
    """``probs[..., tokens]`` along the last axis: (..., V), (...) -> (...)."""
    return np.take_along_axis(probs, tokens[..., None], axis=-1)[..., 0]


def round_starts_given_path(
    accept: Array, gamma: int | None, round_start_accept: Array | None = None
) -> tuple[Array, Array, Array]:
    """E[rejections | path], E[calls | path] and P(position n starts a round | path).

    ``accept``/``round_start_accept`` (R, L) as in
    :func:`~specbound.core.expected_counts_given_path`. Returns (R,), (R,), (R, L).

    The round-start probabilities come out of that same recursion: a copy of the path
    whose acceptances after position m are set to 0 starts a round at every position
    from m + 2 on, so its expected calls are ``C(m + 1) + (L - m - 2)`` with ``C(k)`` the
    expected number of round starts among positions 0..k of the original path. One
    vectorised call over the L copies gives every ``C(k)``; their differences are the
    round-start probabilities (and ``C(L - 1)`` is E[calls]).
    """
    accept = np.asarray(accept, dtype=np.float64)  # (R, L)
    rows, length = accept.shape
    keep = np.arange(length)[None, None, :] <= np.arange(length)[:, None, None]  # (L, 1, L)
    copies = np.where(keep, accept[None], 0.0)  # (L, R, L)
    start_copies = (
        None if round_start_accept is None else np.where(keep, round_start_accept[None], 0.0)
    )
    counts = expected_counts_given_path(copies, gamma, start_copies)
    calls = counts.target_calls  # (L, R): copy m
    cumulative = np.ones((rows, length))  # (R, L): C(0) = 1, position 0 always starts
    if length > 1:
        k = np.arange(1, length)  # (L-1,)
        cumulative[:, 1:] = calls[k - 1].T - (length - k - 1)
    starts = np.diff(cumulative, axis=-1, prepend=0.0)  # (R, L)
    return counts.rejections[-1], calls[-1], np.clip(starts, 0.0, 1.0)


@dataclass
class _Samples:
    """Per-path values of one algorithm, accumulated over prompts."""

    rejections: list[float] = field(default_factory=list)
    calls: list[float] = field(default_factory=list)
    tokens: list[float] = field(default_factory=list)
    bias: list[float] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)

    def add(
        self,
        rejections: Array,
        calls: Array,
        tokens: int,
        bias: Array,
        seconds: Array | None,
    ) -> None:
        self.rejections.extend(np.asarray(rejections, dtype=np.float64).tolist())
        self.calls.extend(np.asarray(calls, dtype=np.float64).tolist())
        self.tokens.extend([float(tokens)] * int(np.size(rejections)))
        self.bias.extend(np.asarray(bias, dtype=np.float64).tolist())
        if seconds is not None:
            self.seconds.extend(np.asarray(seconds, dtype=np.float64).tolist())


def _add_counts(
    samples: _Samples,
    algorithm: Algorithm,
    accept: Array,
    start_accept: Array | None,
    rejections: Array | None,
    bias: Array,
    costs: CostModel | None,
    max_new_tokens: int,
) -> None:
    """Add one length group (R paths of length L) of one algorithm to ``samples``."""
    length = accept.shape[-1]
    expected_rejections, calls, starts = round_starts_given_path(
        accept, algorithm.gamma, start_accept
    )
    seconds = None
    if costs is not None:
        remaining = max_new_tokens - np.arange(length)  # (L,) tokens left at each position
        num_drafts = getattr(algorithm, "num_drafts", 1)
        per_round = costs.round_seconds(num_drafts, algorithm.gamma, remaining)  # (L,)
        seconds = starts @ per_round  # (R,)
    samples.add(
        expected_rejections if rejections is None else rejections,
        calls,
        length,
        bias,
        seconds,
    )


def _lossless_paths(
    paths: SampledPaths,
    algorithms: Sequence[Algorithm],
    num_drafts: Sequence[int],
    samples: dict[Algorithm, _Samples],
    tv_samples: _Samples,
    costs: CostModel | None,
    max_new_tokens: int,
) -> None:
    """SD and batch SD along target paths (their output law, Theorems 1 and 3)."""
    draft, target, tokens = paths.draft_probs, paths.target_probs, paths.tokens
    tv = _tv(draft, target)  # (S, T)
    accept = _gather(acceptance_given_output(SpeculativeRule(), draft, target), tokens)  # (S, T)
    start_accept: dict[int, Array] = {}
    for m in num_drafts:
        rule = RecursiveRejectionRule(m)
        start_accept[m] = np.stack(  # row by row: the residual chain is (T, M+1, V)
            [
                _gather(round_start_acceptance_given_output(rule, draft[s], target[s]), tokens[s])
                for s in range(paths.num_samples)
            ]
        )  # (S, T)
    for length, rows in paths.by_length():
        tv_sum = tv[rows, :length].sum(axis=-1)  # (R,) Theorem 1 along each path
        tv_samples.add(tv_sum, tv_sum, length, np.zeros(rows.size), None)
        for algorithm in algorithms:
            batch = isinstance(algorithm, BatchSpeculative)
            start = (
                start_accept[algorithm.num_drafts][rows, :length]
                if isinstance(algorithm, BatchSpeculative)
                else None
            )
            # NOTE: SD drafting to the horizon: Theorem 1's TV sum is the conditional
            # expectation of the along-path count given the prefixes (less variance).
            rejections = tv_sum if (not batch and algorithm.gamma is None) else None
            _add_counts(
                samples[algorithm],
                algorithm,
                accept[rows, :length],
                start,
                rejections,
                np.zeros(rows.size),
                costs,
                max_new_tokens,
            )


def _overaccept_paths(
    paths: SampledPaths,
    algorithm: OverAcceptance,
    samples: _Samples,
    costs: CostModel | None,
    max_new_tokens: int,
) -> None:
    """Over-acceptance (gamma None) along paths drawn from its own output law ``A_n``."""
    rule = algorithm.step_rule
    draft, target, tokens = paths.draft_probs, paths.target_probs, paths.tokens
    accept = _gather(acceptance_given_output(rule, draft, target), tokens)  # (S, T)
    rejection = step_rejection_probability(rule, draft, target)  # (S, T): r_n = 1 - sum p b
    bias = _tv(output_distribution(rule, draft, target), target)  # (S, T): TV(A_n, q_n)
    for length, rows in paths.by_length():
        _add_counts(
            samples,
            algorithm,
            accept[rows, :length],
            None,
            rejection[rows, :length].sum(axis=-1),  # Rao-Blackwellised: E[N_rej | prefixes]
            bias[rows, :length].sum(axis=-1),
            costs,
            max_new_tokens,
        )


def _prediction(algorithm: Algorithm, samples: _Samples, costs: CostModel | None) -> Prediction:
    seconds_per_token = speedup = None
    if costs is not None:
        seconds_per_token = ratio_estimate(samples.seconds, samples.tokens)
        speedup = inverse_ratio(costs.autoregressive_per_token(), seconds_per_token)
    return Prediction(
        algorithm=algorithm,
        expected_rejections=mean_estimate(samples.rejections),
        expected_calls=mean_estimate(samples.calls),
        expected_tokens=mean_estimate(samples.tokens),
        calls_per_token=ratio_estimate(samples.calls, samples.tokens),
        bias_per_token=ratio_estimate(samples.bias, samples.tokens),
        seconds_per_token=seconds_per_token,
        predicted_speedup=speedup,
    )


# --------------------------------------------------------------------------- measurement


@dataclass
class _Runs:
    rejections: list[float] = field(default_factory=list)
    calls: list[float] = field(default_factory=list)
    tokens: list[float] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)


def _measurement(
    algorithm: Algorithm, runs: _Runs, timing: bool, baseline: Estimate | None
) -> Measurement:
    seconds_per_token = speedup = None
    if timing:
        seconds_per_token = ratio_estimate(runs.seconds, runs.tokens)
        if baseline is not None:
            speedup = quotient(baseline, seconds_per_token)
    return Measurement(
        algorithm=algorithm,
        runs=len(runs.tokens),
        rejections=mean_estimate(runs.rejections),
        calls=mean_estimate(runs.calls),
        tokens=mean_estimate(runs.tokens),
        calls_per_token=ratio_estimate(runs.calls, runs.tokens),
        seconds_per_token=seconds_per_token,
        speedup=speedup,
    )


def _seed(seed: int, *keys: int) -> int:
    """An independent integer seed for one part of a profile (SeedSequence spawn keys)."""
    state = np.random.SeedSequence(seed, spawn_key=keys).generate_state(1, dtype=np.uint32)
    return int(state[0])


# --------------------------------------------------------------------------- the entry point


def _check_positive(value: int, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise InvalidInputError(f"{name} must be an integer >= 1, got {value!r}")
    return int(value)


def _algorithms(
    gammas: Sequence[int], num_drafts: Sequence[int], eps: Sequence[float]
) -> tuple[list[Algorithm], list[OverAcceptance]]:
    all_gammas: list[int | None] = [None, *sorted(set(gammas))]
    lossless: list[Algorithm] = [Speculative(gamma=g) for g in all_gammas]
    lossless += [BatchSpeculative(num_drafts=m, gamma=g) for m in num_drafts for g in all_gammas]
    lossy = [OverAcceptance(eps=e, resample=r) for e in eps for r in ("opt", "uno")]
    return lossless, lossy


def profile(
    pair: ModelPair,
    prompts: Sequence[str],
    *,
    max_new_tokens: int = 32,
    samples_per_prompt: int = 16,
    seed: int = 0,
    gammas: Sequence[int] = (1, 2, 4, 8),
    num_drafts: Sequence[int] = (2, 4),
    eps: Sequence[float] = (0.1, 0.4),
    temperature: float = 1.0,
    top_k: int | None = None,
    top_p: float | None = None,
    measure: bool = True,
    runs_per_prompt: int = 4,
    timing: bool = True,
    timing_repeats: int = 5,
    stop_at_eos: bool = True,
    common_seeds: bool = True,
    progress: Progress | None = None,
) -> ProfileReport:
    """Predict, then measure, the rejections, target calls and speed-up of SD (gamma None
    and each of ``gammas``), batch SD (each M in ``num_drafts``, each gamma) and
    over-acceptance (Decoding-OPT and -UNO for each of ``eps``, gamma None) on ``pair``.

    Prediction: ``samples_per_prompt`` continuations of each prompt are drawn from the
    output law (the target's for SD and batch SD; ``A_n`` of Theorem 4 for over-
    acceptance) and the exact expectations given each path are averaged (see the module
    docstring). ``timing``: time the per-call costs on this machine and predict seconds
    per token and the speed-up over autoregressive decoding. ``measure``: then run every
    algorithm (and, with ``timing``, autoregressive decoding, the clock's baseline)
    ``runs_per_prompt`` times per prompt, with seeds
    independent of the prediction's, and report the measured means beside the
    predictions. Generations stop at ``max_new_tokens`` or at the end-of-sequence token
    (``stop_at_eos``), for the prediction and the measurement alike. Every estimate
    carries a 95% interval over the runs (prompts x samples). ``common_seeds``: every
    algorithm runs with the same seeds (common random numbers: sharper speed-up
    comparisons, but correlated rows); False gives each algorithm its own seeds, so the
    rows are independent tests.
    """
    started = time.perf_counter()
    if isinstance(prompts, str) or not prompts:
        raise InvalidInputError("prompts: give a non-empty list of prompt strings")
    max_new_tokens = _check_positive(max_new_tokens, "max_new_tokens")
    samples_per_prompt = _check_positive(samples_per_prompt, "samples_per_prompt")
    runs = _check_positive(runs_per_prompt, "runs_per_prompt")
    timing_repeats = _check_positive(timing_repeats, "timing_repeats")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise InvalidInputError(f"seed must be an integer >= 0, got {seed!r}")
    sampling = SamplingConfig(temperature=temperature, top_k=top_k, top_p=top_p)
    lossless, lossy = _algorithms(gammas, num_drafts, eps)
    encoded = [encode_prompt(pair, prompt) for prompt in prompts]
    report = progress or (lambda fraction: None)
    measure_share = 0.6 if measure else 0.0
    predict_share = 1.0 - measure_share

    costs = None
    if timing:
        costs = measure_costs(
            pair,
            prompts[0],
            max_new_tokens=max_new_tokens,
            gammas=list(gammas),
            num_drafts=list(num_drafts),
            sampling=sampling,
            repeats=timing_repeats,
        )
    report(0.1 * predict_share)

    samples: dict[Algorithm, _Samples] = {a: _Samples() for a in [*lossless, *lossy]}
    tv_samples = _Samples()
    batch_sizes = sorted({m for m in num_drafts})
    for i, prompt_ids in enumerate(encoded):
        paths = sample_paths(
            pair,
            prompt_ids,
            samples_per_prompt,
            max_new_tokens,
            sampling,
            np.random.default_rng(_seed(seed, 0, i, 0)),
            stop_at_eos=stop_at_eos,
        )
        _lossless_paths(paths, lossless, batch_sizes, samples, tv_samples, costs, max_new_tokens)
        for j, algorithm in enumerate(lossy):
            law = functools.partial(output_distribution, algorithm.step_rule)
            paths = sample_paths(
                pair,
                prompt_ids,
                samples_per_prompt,
                max_new_tokens,
                sampling,
                np.random.default_rng(_seed(seed, 0, i, j + 1)),
                output_law=law,
                stop_at_eos=stop_at_eos,
            )
            _overaccept_paths(paths, algorithm, samples[algorithm], costs, max_new_tokens)
        report((0.1 + 0.9 * (i + 1) / len(encoded)) * predict_share)
    predictions = [_prediction(a, samples[a], costs) for a in [*lossless, *lossy]]

    measured: dict[Algorithm, Measurement] = {}
    autoregressive = None
    if measure:
        # Autoregressive decoding is the clock's baseline; without timing it is not run.
        algorithms: list[Algorithm] = [
            *([Autoregressive()] if timing else []),
            *lossless,
            *lossy,
        ]
        records: dict[Algorithm, _Runs] = {a: _Runs() for a in algorithms}
        total = len(prompts) * runs
        for i, prompt in enumerate(prompts):
            for j in range(runs):
                for spec in algorithms:  # interleaved: timing noise hits all alike
                    run_seed = (
                        _seed(seed, 1, i, j)
                        if common_seeds
                        else _seed(seed, 2, i, j, zlib.crc32(algorithm_label(spec).encode()))
                    )
                    stats = generate(
                        pair,
                        prompt,
                        spec,
                        max_new_tokens=max_new_tokens,
                        seed=run_seed,
                        temperature=sampling.temperature,
                        top_k=sampling.top_k,
                        top_p=sampling.top_p,
                        stop_at_eos=stop_at_eos,
                    ).stats
                    record = records[spec]
                    record.rejections.append(stats.rejections)
                    record.calls.append(stats.target_calls)
                    record.tokens.append(stats.new_tokens)
                    record.seconds.append(max(stats.wall_time - stats.prefill_time, 0.0))
                report(predict_share + measure_share * (i * runs + j + 1) / total)
        baseline = None
        if timing:
            ar = records[Autoregressive()]
            baseline = ratio_estimate(ar.seconds, ar.tokens)
            autoregressive = _measurement(Autoregressive(), ar, timing, None)
        measured = {
            a: _measurement(a, records[a], timing, baseline)
            for a in algorithms
            if not isinstance(a, Autoregressive)
        }

    rows = tuple(ProfileRow(p, measured.get(p.algorithm)) for p in predictions)
    candidates = [p for p in predictions if p.lossless and p.predicted_speedup is not None]
    recommended = max(
        candidates,
        key=lambda p: p.predicted_speedup.mean if p.predicted_speedup else -math.inf,
        default=None,
    )
    report(1.0)
    return ProfileReport(
        target_name=pair.target_name,
        draft_name=pair.draft_name,
        prompts=tuple(prompts),
        max_new_tokens=max_new_tokens,
        samples_per_prompt=samples_per_prompt,
        runs_per_prompt=runs,
        seed=int(seed),
        sampling=sampling,
        stop_at_eos=stop_at_eos,
        mean_tv=ratio_estimate(tv_samples.rejections, tv_samples.tokens),
        costs=costs,
        autoregressive=autoregressive,
        rows=rows,
        recommended=recommended,
        seconds=time.perf_counter() - started,
    )
