"""The prediction half of :func:`specbound.profile`: exact expectations along sampled paths.

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
  per-call costs timed on this machine (:mod:`specbound.profiling.costs`) that is the
  expected wall-clock time of a generation, hence the predicted speed-up.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from specbound.algorithms import Algorithm, OverAcceptance
from specbound.core import kernels
from specbound.core.batch import RecursiveRejectionRule
from specbound.core.families import RoundShapes
from specbound.core.multidraft import iid_optimal_acceptance
from specbound.core.rounds import (
    acceptance_given_output,
    expected_counts_given_path,
    round_start_acceptance_given_output,
)
from specbound.core.rules import (
    SpeculativeRule,
    StepRule,
    output_distribution,
    step_rejection_probability,
)
from specbound.estimates import Estimate
from specbound.lm.loading import ModelPair
from specbound.lm.warping import SamplingConfig
from specbound.profiling.blocks import block_rounds, kept_laws
from specbound.profiling.costs import CostModel, round_kind
from specbound.profiling.paths import SampledPaths
from specbound.profiling.report import Headroom, Prediction
from specbound.profiling.seconds import autoregressive_features, path_features, predicted_speedup

__all__ = [
    "HeadroomSamples",
    "PathSamples",
    "add_block_paths",
    "add_headroom",
    "add_lossless_paths",
    "add_overaccept_paths",
    "prediction",
    "round_starts_given_path",
]

Array = NDArray[np.float64]


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
class PathSamples:
    """Per-path values of one algorithm, accumulated over prompts."""

    rejections: list[float] = field(default_factory=list)
    calls: list[float] = field(default_factory=list)
    tokens: list[float] = field(default_factory=list)
    bias: list[float] = field(default_factory=list)
    features: list[Array] = field(default_factory=list)  # per path: (P,) cost features

    def add(
        self,
        rejections: Array,
        calls: Array,
        tokens: int,
        bias: Array,
        features: Array | None,
    ) -> None:
        """Add R paths of ``tokens`` tokens; ``features`` (R, P): each path's expected cost
        features (its seconds are ``features @ coefficients``)."""
        self.rejections.extend(np.asarray(rejections, dtype=np.float64).tolist())
        self.calls.extend(np.asarray(calls, dtype=np.float64).tolist())
        self.tokens.extend([float(tokens)] * int(np.size(rejections)))
        self.bias.extend(np.asarray(bias, dtype=np.float64).tolist())
        if features is not None:
            self.features.extend(np.asarray(features, dtype=np.float64))


def _add_rounds(
    samples: PathSamples,
    algorithm: Algorithm,
    rows: NDArray[np.int64],
    length: int,
    rounds: tuple[Array, Array, Array],
    costs: CostModel | None,
    max_new_tokens: int,
    prompt_length: int,
) -> None:
    """Add R paths of length L: E[rejections], E[calls] (R,) and round starts (R, L)."""
    rejections, calls, starts = rounds
    features = None
    if costs is not None:
        features = path_features(
            costs, algorithm, starts[:, :length], max_new_tokens, prompt_length
        )
    samples.add(rejections, calls, length, np.zeros(rows.size), features)


def _add_counts(
    samples: PathSamples,
    algorithm: Algorithm,
    accept: Array,
    start_accept: Array | None,
    rejections: Array | None,
    bias: Array,
    costs: CostModel | None,
    max_new_tokens: int,
    prompt_length: int,
) -> None:
    """Add one length group (R paths of length L) of one algorithm to ``samples``."""
    length = accept.shape[-1]
    expected_rejections, calls, starts = round_starts_given_path(
        accept, algorithm.gamma, start_accept
    )
    features = None
    if costs is not None:
        features = path_features(costs, algorithm, starts, max_new_tokens, prompt_length)
    samples.add(
        expected_rejections if rejections is None else rejections,
        calls,
        length,
        bias,
        features,
    )


def add_block_paths(
    pair: ModelPair,
    prompt_ids: Sequence[int],
    paths: SampledPaths,
    algorithms: Sequence[Algorithm],
    samples: dict[Algorithm, PathSamples],
    costs: CostModel | None,
    max_new_tokens: int,
    sampling: SamplingConfig,
    rng: np.random.Generator,
    *,
    continuations: int = 1,
    stop_at_eos: bool = True,
) -> None:
    """Block verification along target paths (lossless: its output law is the target's),
    by the round-start recursion of :mod:`specbound.profiling.blocks`."""
    if not algorithms:
        return
    laws = kept_laws(
        pair,
        prompt_ids,
        paths,
        [a.gamma for a in algorithms],
        max_new_tokens,
        sampling,
        rng,
        samples=continuations,
        stop_at_eos=stop_at_eos,
    )
    for algorithm in algorithms:
        rounds = block_rounds(paths, algorithm.gamma, laws[algorithm.gamma], max_new_tokens)
        for length, rows in paths.by_length():
            parts = (rounds.rejections[rows], rounds.calls[rows], rounds.starts[rows])
            _add_rounds(
                samples[algorithm],
                algorithm,
                rows,
                length,
                parts,
                costs,
                max_new_tokens,
                len(prompt_ids),
            )


@dataclass
class HeadroomSamples:
    """Per path position: a batch round start's acceptance, recursive and optimal."""

    recursive: list[float] = field(default_factory=list)
    optimal: list[float] = field(default_factory=list)

    def headroom(self, num_drafts: int) -> Headroom:
        gap = np.asarray(self.optimal) - np.asarray(self.recursive)
        return Headroom(
            num_drafts=num_drafts,
            recursive=Estimate.from_samples(self.recursive),
            optimal=Estimate.from_samples(self.optimal),
            gap=Estimate.from_samples(gap),
        )


def add_headroom(paths: SampledPaths, samples: dict[int, HeadroomSamples]) -> None:
    """At every position of every path, the round-start acceptance of recursive rejection
    (``1 - prod_m TV(p, r_m)``, paper Algorithm 4) and the best of any lossless verifier of
    M i.i.d. drafts (:func:`~specbound.core.multidraft.iid_optimal_acceptance`)."""
    for length, rows in paths.by_length():
        draft = paths.draft_probs[rows, :length].reshape(-1, paths.draft_probs.shape[-1])
        target = paths.target_probs[rows, :length].reshape(draft.shape)
        for m, record in samples.items():
            rule = RecursiveRejectionRule(m)
            record.recursive.extend((1.0 - rule.all_rejected_probability(draft, target)).tolist())
            record.optimal.extend(iid_optimal_acceptance(draft, target, m).tolist())


def add_lossless_paths(
    paths: SampledPaths,
    algorithms: Sequence[Algorithm],
    samples: dict[Algorithm, PathSamples],
    target_paths: PathSamples,
    costs: CostModel | None,
    max_new_tokens: int,
    prompt_length: int,
) -> None:
    """SD and batch SD along target paths (their output law, Theorems 1 and 3).

    ``target_paths`` gets, per path, Theorem 1's TV sum (as rejections and calls) and the
    cost features of autoregressive decoding, whose output law is the target's too (the
    speed-up's baseline).
    """
    draft, target, tokens = paths.draft_probs, paths.target_probs, paths.tokens
    tv = kernels.tv_rows(draft, target)  # (N, T)
    accept = kernels.gather(acceptance_given_output(SpeculativeRule(), draft, target), tokens)
    start_rules = {a: a.family.interpret(_RoundStartRule()) for a in algorithms}
    start_accept: dict[RecursiveRejectionRule, Array] = {}
    for rule in {r for r in start_rules.values() if r is not None}:
        start_accept[rule] = np.stack(  # path by path: the residuals are (T, M+1, V)
            [
                kernels.gather(
                    round_start_acceptance_given_output(rule, draft[i], target[i]), tokens[i]
                )
                for i in range(paths.num_samples)
            ]
        )  # (N, T)
    for length, rows in paths.by_length():
        tv_sum = tv[rows, :length].sum(axis=-1)  # (R,) Theorem 1 along each path
        baseline = None
        if costs is not None:
            one = autoregressive_features(costs, length, prompt_length)  # (P,)
            baseline = np.repeat(one[None, :], rows.size, axis=0)  # (R, P)
        target_paths.add(tv_sum, tv_sum, length, np.zeros(rows.size), baseline)
        for algorithm in algorithms:
            start_rule = start_rules[algorithm]
            batch = start_rule is not None
            start = None if start_rule is None else start_accept[start_rule][rows, :length]
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
                prompt_length,
            )


class _RoundStartRule(RoundShapes[Any]):
    """The multi-draft round-start rule of a token-level family (None: its step rule
    verifies the round start too). The profile predicts recursive rejection only."""

    def token_rounds(self, step_rule: StepRule, start_rule: Any | None) -> Any | None:
        return start_rule

    def otherwise(self, shape: str) -> None:
        return None


def add_overaccept_paths(
    paths: SampledPaths,
    algorithm: OverAcceptance,
    samples: PathSamples,
    costs: CostModel | None,
    max_new_tokens: int,
    prompt_length: int,
) -> None:
    """Over-acceptance (gamma None) along paths drawn from its own output law ``A_n``."""
    rule = algorithm.step_rule
    draft, target, tokens = paths.draft_probs, paths.target_probs, paths.tokens
    accept = kernels.gather(acceptance_given_output(rule, draft, target), tokens)  # (N, T)
    rejection = step_rejection_probability(rule, draft, target)  # (N, T): r_n = 1 - sum p b
    bias = kernels.tv_rows(output_distribution(rule, draft, target), target)  # (N, T): TV(A_n, q_n)
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
            prompt_length,
        )


def prediction(
    algorithm: Algorithm,
    samples: PathSamples,
    costs: CostModel | None,
    baseline: PathSamples | None = None,
    drafter: str = "model",
    kind: str | None = None,
) -> Prediction:
    """The :class:`~specbound.profiling.report.Prediction` of one algorithm's samples
    (``baseline``: autoregressive decoding's cost along the target's paths) drafted by
    ``drafter``, whose rounds the cost model prices as ``kind`` (None: the algorithm's
    :func:`~specbound.profiling.costs.round_kind`)."""
    seconds_per_token = speedup = None
    if costs is not None and baseline is not None:
        kind = round_kind(algorithm) if kind is None else kind
        seconds_per_token, speedup = predicted_speedup(costs, samples, baseline, kind)
    return Prediction(
        algorithm=algorithm,
        expected_rejections=Estimate.from_samples(samples.rejections),
        expected_calls=Estimate.from_samples(samples.calls),
        expected_tokens=Estimate.from_samples(samples.tokens),
        calls_per_token=Estimate.ratio(samples.calls, samples.tokens),
        bias_per_token=Estimate.ratio(samples.bias, samples.tokens),
        seconds_per_token=seconds_per_token,
        predicted_speedup=speedup,
        drafter=drafter,
    )
