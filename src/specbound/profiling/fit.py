"""Fitting the cost model of :mod:`specbound.profiling.costs` to instrumented generations.

Each phase is its own least-squares problem over its own columns (target calls, drafting,
the rest of a round, the fixed per-generation cost, autoregressive steps), because each
is timed separately by the decoder. Timing spikes (another process taking the core for a
moment) are part of what a user's generation pays, so only absurd ones are dropped:
observations more than :data:`OUTLIER_MADS` robust standard deviations (1.4826 x the
median absolute deviation) from a first fit (a process descheduled for tens of
milliseconds); dropping ordinary spikes would bias every cost low. The bootstrap
resamples whole generations within each calibrated configuration and refits (weighted
least squares with the resampling counts as weights), so that its spread is the timing
uncertainty of the coefficients. The held-out error refits on the even timing repeats
and predicts the odd ones' generations. The *drift* of a round kind is how much its cost
relative to autoregressive decoding's moves from one timing repeat to the next (the
standard deviation over repeats of the log of its measured-over-fitted seconds, minus
autoregressive decoding's): a shared machine's state changes between the calibration and
the run a user makes, and that change does not cancel in a speed-up when it hits the
target's memory traffic and the draft's Python differently.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from specbound.errors import InvalidInputError
from specbound.lm.stats import RoundTiming
from specbound.profiling.costs import (
    KINDS,
    LOOKUP,
    CostBasis,
    CostFit,
    CostModel,
    tree_draft_rows,
)

__all__ = ["OUTLIER_MADS", "GenerationRecord", "basis_for", "fit_cost_model", "model_free"]

Array = NDArray[np.float64]

#: Observations this many robust standard deviations off the first fit are dropped.
OUTLIER_MADS = 50.0

#: Every row count up to this one is a knot of the target call's cost; above it knots
#: are spaced by at least this factor.
_DENSE_KNOTS = 16
_KNOT_FACTOR = 1.5

_COMPONENTS = {
    "target": ("target",),
    "draft": ("draft",),
    "other": ("other",),
    "fixed": ("fixed",),
    "autoregressive": ("autoregressive",),
}


@dataclass(frozen=True)
class GenerationRecord:
    """One calibration generation: its round ``kind`` and draft ``rows`` (M), the
    configuration it belongs to (a stratum of the bootstrap), its timing ``repeat``, its
    rounds, its ``fixed`` seconds (wall time minus prefill minus the rounds), and a token
    tree's ``branching`` (its rounds' extra draft rows, :func:`~specbound.profiling.costs.
    tree_draft_rows`; () for other kinds)."""

    kind: str
    rows: int
    config: int
    repeat: int
    rounds: tuple[RoundTiming, ...]
    fixed: float
    branching: tuple[int, ...] = ()


def _knots(counts: Sequence[int]) -> tuple[int, ...]:
    kept: list[int] = []
    for n in sorted(set(counts)):
        if n <= _DENSE_KNOTS or n >= _KNOT_FACTOR * kept[-1]:
            kept.append(n)
    return tuple(kept)


def model_free(record: GenerationRecord, timing: RoundTiming) -> bool:
    """Whether a model-free drafter drafted this round: every round of a ``lookup``
    record, and the rounds of a combined drafter (``ngram+model``) its model did not
    draft (they report ``fed == 0``)."""
    return record.kind == LOOKUP or timing.fed == 0


def basis_for(records: Sequence[GenerationRecord]) -> CostBasis:
    """The columns the records can support: knots at the target row counts they met, and
    the draft's catch-up where a first forward fed more than 2 tokens
    (:attr:`~specbound.profiling.costs.CostBasis.catch_up`)."""
    speculative = [r for r in records if r.kind != "autoregressive"]
    counts = [t.scored * t.rows for r in speculative for t in r.rounds]
    met = {r.kind for r in records}
    if any(model_free(r, t) for r in speculative for t in r.rounds):
        met.add(LOOKUP)
    kinds = tuple(k for k in KINDS if k != "autoregressive" and k in met)
    rows = tuple(sorted({r.rows for r in speculative}))
    catch_up = any(t.fed is not None and t.fed > 2 for r in speculative for t in r.rounds)
    return CostBasis(knots=_knots([1, *counts]), rows=rows or (1,), kinds=kinds, catch_up=catch_up)


@dataclass(frozen=True)
class _Problem:
    """One phase's least-squares problem: features (n, P), seconds (n,), generation (n,)."""

    features: Array
    seconds: Array
    generation: NDArray[np.int64]


def _problems(basis: CostBasis, records: Sequence[GenerationRecord]) -> dict[str, _Problem]:
    rows: dict[str, list[tuple[Array, float, int]]] = {c: [] for c in _COMPONENTS}
    for g, record in enumerate(records):
        rows["fixed"].append((basis.fixed_features(record.kind), record.fixed, g))
        for t in record.rounds:
            if record.kind == "autoregressive":
                step = basis.autoregressive_features(t.context)[0]
                rows["autoregressive"].append((step, t.target + t.other, g))
                continue
            rows["target"].append(
                (basis.target_features(t.scored, t.rows, t.context)[0], t.target, g)
            )
            # NOTE: a lookup round's drafting is Python, not draft forwards: it is fitted
            # with the round's rest, and its draft row is empty (no features, 0 seconds)
            lookup = model_free(record, t)
            extra = tree_draft_rows(record.branching, t.drafted) if record.branching else 0
            draft = basis.draft_features(
                0 if lookup else t.drafted, t.rows, t.context, extra, None if lookup else t.fed
            )[0]
            rows["draft"].append((draft, 0.0 if lookup else t.draft, g))
            rows["other"].append(
                (
                    basis.other_features(LOOKUP if lookup else record.kind, t.drafted, t.rows)[0],
                    t.other + t.draft if lookup else t.other,
                    g,
                )
            )
    width = len(basis.columns)
    return {
        c: _Problem(
            np.array([x for x, _, _ in items]).reshape(-1, width),
            np.array([y for _, y, _ in items], dtype=np.float64),
            np.array([g for _, _, g in items], dtype=np.int64),
        )
        for c, items in rows.items()
    }


def _solve(features: Array, seconds: Array, weights: Array | None = None) -> Array:
    if features.shape[0] == 0:
        return np.zeros(features.shape[1])
    if weights is not None:
        root = np.sqrt(weights)[:, None]
        features, seconds = features * root, seconds * root[:, 0]
    return np.asarray(np.linalg.lstsq(features, seconds, rcond=None)[0], dtype=np.float64)


def _inliers(features: Array, seconds: Array, mads: float) -> NDArray[np.bool_]:
    """Observations within ``mads`` robust standard deviations of a first fit; empty rows
    (no features, as a lookup round's draft phase) are kept and left out of the scale."""
    inside = np.ones(seconds.size, dtype=bool)
    active = features.any(axis=1)  # (n,)
    if active.sum() < 4:
        return inside
    features, seconds = features[active], seconds[active]
    residual = seconds - features @ _solve(features, seconds)
    centre = np.median(residual)
    scale = 1.4826 * np.median(np.abs(residual - centre))
    floor = 1e-3 * float(np.median(np.abs(seconds)))  # a perfectly regular clock
    inside[active] = np.abs(residual - centre) <= mads * max(scale, floor, 1e-12)
    return inside


def _coefficients(
    basis: CostBasis, problems: dict[str, _Problem], counts: Array | None = None
) -> Array:
    """All phases' coefficients; ``counts`` (G,): generation weights (bootstrap)."""
    coefficients = np.zeros(len(basis.columns))
    for component, prefixes in _COMPONENTS.items():
        problem = problems[component]
        columns = basis.group(prefixes)
        weights = None if counts is None else counts[problem.generation]
        coefficients[columns] = _solve(problem.features[:, columns], problem.seconds, weights)
    return coefficients


def _generation_seconds(
    basis: CostBasis, records: Sequence[GenerationRecord], coefficients: Array
) -> tuple[Array, Array]:
    """Predicted and measured seconds of each generation (prefill excluded): (G,), (G,)."""
    problems = _problems(basis, records)
    predicted = np.zeros(len(records))
    measured = np.zeros(len(records))
    for problem in problems.values():
        np.add.at(predicted, problem.generation, problem.features @ coefficients)
        np.add.at(measured, problem.generation, problem.seconds)
    return predicted, measured


def _held_out_error(basis: CostBasis, records: Sequence[GenerationRecord]) -> float | None:
    train = [r for r in records if r.repeat % 2 == 0]
    test = [r for r in records if r.repeat % 2 == 1]
    if not train or not test:
        return None
    coefficients = _coefficients(basis, _problems(basis, train))
    predicted, measured = _generation_seconds(basis, test, coefficients)
    return float(np.median(np.abs(predicted / measured - 1.0)))


def _residual_spread(problems: dict[str, _Problem], coefficients: Array) -> float:
    """Relative RMS error of whole rounds: the target, draft and other phases of a
    speculative round (aligned observation by observation) summed, and autoregressive
    steps."""
    phases = [problems[c] for c in ("target", "draft", "other")]
    steps = problems["autoregressive"]
    predicted = np.concatenate(
        [sum(p.features @ coefficients for p in phases), steps.features @ coefficients]
    )
    measured = np.concatenate([sum(p.seconds for p in phases), steps.seconds])
    return float(np.sqrt(np.mean((predicted - measured) ** 2)) / np.mean(measured))


def _drift(
    basis: CostBasis, records: Sequence[GenerationRecord], coefficients: Array
) -> dict[str, float]:
    """Per round kind: the standard deviation over timing repeats of
    ``log(measured / fitted seconds of the kind) - log(same for autoregressive)``."""
    predicted, measured = _generation_seconds(basis, records, coefficients)
    repeats = sorted({r.repeat for r in records})
    if len(repeats) < 2:
        return {kind: 0.0 for kind in basis.kinds}

    def log_ratio(kind: str, repeat: int) -> float:
        chosen = [i for i, r in enumerate(records) if r.kind == kind and r.repeat == repeat]
        return float(np.log(measured[chosen].sum() / predicted[chosen].sum()))

    out = {}
    timed = {r.kind for r in records}
    for kind in basis.kinds:
        if kind in timed:
            gaps = [log_ratio(kind, r) - log_ratio("autoregressive", r) for r in repeats]
            out[kind] = float(np.std(gaps, ddof=1))
    # a kind met only inside other generations (the model-free rounds of ngram+model)
    # has no repeats of its own: it is given the largest drift measured
    largest = max(out.values(), default=0.0)
    return {kind: out.get(kind, largest) for kind in basis.kinds}


def fit_cost_model(
    records: Sequence[GenerationRecord],
    *,
    bootstrap: int = 200,
    seed: int = 0,
    outlier_mads: float = OUTLIER_MADS,
) -> CostModel:
    """Fit :class:`~specbound.profiling.costs.CostModel` to calibration ``records``."""
    if not records or not any(r.kind == "autoregressive" for r in records):
        raise InvalidInputError("the cost model needs autoregressive and drafting generations")
    basis = basis_for(records)
    problems = _problems(basis, records)
    outliers = 0
    kept: dict[str, _Problem] = {}
    for component, problem in problems.items():
        columns = basis.group(_COMPONENTS[component])
        inside = _inliers(problem.features[:, columns], problem.seconds, outlier_mads)
        outliers += int((~inside).sum())
        kept[component] = _Problem(
            problem.features[inside], problem.seconds[inside], problem.generation[inside]
        )
    coefficients = _coefficients(basis, kept)
    rng = np.random.default_rng(seed)
    strata = [
        np.flatnonzero([r.config == c for r in records])
        for c in sorted({r.config for r in records})
    ]
    replicates = []
    for _ in range(bootstrap):
        counts = np.zeros(len(records))
        for members in strata:
            np.add.at(counts, rng.choice(members, size=members.size), 1.0)
        replicates.append(_coefficients(basis, kept, counts))
    rounds = sum(len(r.rounds) for r in records)
    contexts = [t.context for r in records for t in r.rounds]
    fit = CostFit(
        rounds=rounds,
        generations=len(records),
        residual_spread=_residual_spread(problems, coefficients),
        held_out_error=_held_out_error(basis, records),
        outliers=outliers,
        drift=_drift(basis, records, coefficients),
    )
    return CostModel(
        basis=basis,
        coefficients=coefficients,
        bootstrap=np.array(replicates).reshape(-1, len(basis.columns)),
        fit=fit,
        context=int(np.median(contexts)) if contexts else 0,
    )
