"""What :func:`specbound.profile` returns: predictions, measurements, their agreement.

Per algorithm a :class:`ProfileRow` pairs the :class:`Prediction` (exact expectations
along sampled paths, with the timed costs turned into seconds) with the
:class:`Measurement` (the decoder run on the same prompts with other seeds), and says
whether they agree; :class:`ProfileReport` holds the rows and the recommendation.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from specbound.algorithms import Algorithm
from specbound.estimates import Z99, Estimate, agreement_z
from specbound.lm.warping import SamplingConfig
from specbound.profiling.costs import CostModel
from specbound.profiling.tree_search import TreeSearch
from specbound.profiling.validation import covered, speedup_coverage, speedup_median_abs_error

__all__ = [
    "AGREEMENT_Z",
    "Headroom",
    "Measurement",
    "Prediction",
    "ProfileReport",
    "ProfileRow",
    "setting_label",
]

#: |z| below which a prediction and a measurement agree (two-sided 99% level).
AGREEMENT_Z = Z99


def setting_label(algorithm: Algorithm, drafter: str = "model") -> str:
    """``algorithm``'s label, with `` drafter=NAME`` for a drafter other than the model
    (``SD gamma=8 drafter=ngram``)."""
    return algorithm.label + ("" if drafter == "model" else f" drafter={drafter}")


def _optional(estimate: Estimate | None) -> dict[str, Any] | None:
    return None if estimate is None else estimate.to_dict()


@dataclass(frozen=True)
class Headroom:
    """A batch round start's acceptance along the target's paths, per position: the
    paper's recursive rejection against the best any lossless verifier of M i.i.d. drafts
    reaches (``gap``: the headroom a better batch verifier has on this pair)."""

    num_drafts: int
    recursive: Estimate
    optimal: Estimate
    gap: Estimate

    def to_dict(self) -> dict[str, Any]:
        return {
            "num_drafts": self.num_drafts,
            "recursive": self.recursive.to_dict(),
            "optimal": self.optimal.to_dict(),
            "gap": self.gap.to_dict(),
        }


@dataclass(frozen=True)
class Prediction:
    """What the theory predicts for one algorithm, per generation of the profiled setting.

    ``expected_rejections``/``expected_calls``/``expected_tokens`` are per generation;
    ``calls_per_token`` is target calls per generated token; ``bias_per_token`` is the
    exact expected per-token ``TV(A_n, q_n)`` of the output law (0 for lossless
    algorithms, Theorem 4's quantity for over-acceptance); ``seconds_per_token`` and
    ``predicted_speedup`` (over autoregressive decoding) use the measured per-call costs
    (None when costs were not timed). Every estimate carries its 95% interval.
    ``drafter``: who drafts (``"model"``: the draft model; ``"ngram"``/``"suffix"``: a
    model-free drafter, named in the label).
    """

    algorithm: Algorithm
    expected_rejections: Estimate
    expected_calls: Estimate
    expected_tokens: Estimate
    calls_per_token: Estimate
    bias_per_token: Estimate
    seconds_per_token: Estimate | None
    predicted_speedup: Estimate | None
    drafter: str = "model"

    @property
    def label(self) -> str:
        return setting_label(self.algorithm, self.drafter)

    @property
    def lossless(self) -> bool:
        return self.algorithm.lossless

    def to_dict(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "drafter": self.drafter,
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
    drafter: str = "model"

    @property
    def label(self) -> str:
        return setting_label(self.algorithm, self.drafter)

    def to_dict(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "drafter": self.drafter,
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
        if self.prediction.expected_rejections.mean >= 1.0 or not estimate.n:
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

    @property
    def speedup_z(self) -> float | None:
        """``(measured - predicted speed-up) / sqrt(se_p^2 + se_m^2)``."""
        predicted = self.prediction.predicted_speedup
        measured = None if self.measurement is None else self.measurement.speedup
        if predicted is None or measured is None:
            return None
        return agreement_z(predicted, measured)

    @property
    def speedup_covered(self) -> bool | None:
        """Whether the measured speed-up lies inside the predicted 95% interval."""
        measured = None if self.measurement is None else self.measurement.speedup
        return covered(self.prediction.predicted_speedup, measured)

    def to_dict(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "prediction": self.prediction.to_dict(),
            "measurement": None if self.measurement is None else self.measurement.to_dict(),
            "z_rejections": self.z_rejections,
            "z_calls": self.z_calls,
            "holds": self.holds,
            "speedup_ratio": self.speedup_ratio,
            "speedup_z": self.speedup_z,
            "speedup_covered": self.speedup_covered,
        }


@dataclass(frozen=True)
class ProfileReport:
    """The result of :func:`specbound.profile`: one row per algorithm, the recommendation.

    ``recommended`` is the lossless algorithm (SD, block or batch SD, any gamma and M
    profiled, and any token tree profiled) with the best predicted speed-up, when the
    lower end of its 95% interval lies above 1
    (:func:`~specbound.profiling.recommend.recommend`); None when plain autoregressive
    decoding is predicted to be as fast, or when costs were not timed.
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
    mean_tv: Estimate | None
    costs: CostModel | None
    autoregressive: Measurement | None
    rows: tuple[ProfileRow, ...]
    recommended: Prediction | None
    headroom: tuple[Headroom, ...] = ()
    seconds: float = field(default=0.0, compare=False)
    #: The forward each model ran (``{"target": "neox" | "transformers", "draft": ...}``).
    engine: dict[str, str] = field(default_factory=dict, compare=False)
    #: The best tree and the best chain under a node budget (``profile(tree_budget=N)``).
    trees: TreeSearch | None = None

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

    @property
    def speedup_median_abs_error(self) -> float | None:
        """Median ``|measured / predicted speed-up - 1|`` over the measured lossless rows."""
        return speedup_median_abs_error(
            [r.speedup_ratio for r in self.rows if r.prediction.lossless]
        )

    @property
    def speedup_coverage(self) -> float | None:
        """Share of measured lossless rows whose speed-up lies in the predicted 95% interval."""
        return speedup_coverage([r.speedup_covered for r in self.rows if r.prediction.lossless])

    def find(self, algorithm: Algorithm, drafter: str = "model") -> ProfileRow:
        """The row of ``algorithm`` (compared as specs: ``Speculative(gamma=4)``, ...)
        drafted by ``drafter``."""
        for row in self.rows:
            if row.algorithm == algorithm and row.prediction.drafter == drafter:
                return row
        raise KeyError(f"{setting_label(algorithm, drafter)} was not profiled")

    def to_dict(self) -> dict[str, Any]:
        return {
            "target": self.target_name,
            "draft": self.draft_name,
            "engine": dict(self.engine),
            "prompts": list(self.prompts),
            "max_new_tokens": self.max_new_tokens,
            "samples_per_prompt": self.samples_per_prompt,
            "runs_per_prompt": self.runs_per_prompt,
            "seed": self.seed,
            "sampling": self.sampling.to_dict(),
            "stop_at_eos": self.stop_at_eos,
            "mean_tv": _optional(self.mean_tv),
            "costs": None if self.costs is None else self.costs.to_dict(),
            "autoregressive": None
            if self.autoregressive is None
            else self.autoregressive.to_dict(),
            "rows": [row.to_dict() for row in self.rows],
            "recommended": None if self.recommended is None else self.recommended.to_dict(),
            "headroom": [item.to_dict() for item in self.headroom],
            "holds": self.holds,
            "speedup_median_abs_error": self.speedup_median_abs_error,
            "speedup_coverage": self.speedup_coverage,
            "trees": None if self.trees is None else self.trees.to_dict(),
            "recommended_tree": self.recommended is not None
            and self.recommended.algorithm.name == "tree",
            "seconds": self.seconds,
        }
