"""Everything the theory says about one verification step, in one record.

Used by ``specbound step``: TV (SD's rejection probability, Section 3), SD's residual,
and for over-acceptance with threshold ``eps`` its rejection probability, resampling law
(Theorem 4's ``P*`` or the target), output bias, Theorem 4's minimum bias, and where the
(rejection, bias) point sits against Theorem 5's line.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

from numpy.typing import ArrayLike

from specbound.core import kernels
from specbound.core.rules import OverAcceptanceRule, output_distribution
from specbound.core.validation import checked_pair
from specbound.errors import InvalidAlgorithmError
from specbound.validate import check_float

__all__ = ["StepSummary", "summarise_step"]

#: Gaps to the Pareto line below this are reported as "on the front".
FRONT_TOLERANCE = 1e-9


@dataclass(frozen=True)
class StepSummary:
    """Theory of one step for a single (draft, target) pair of vectors."""

    draft: list[float]
    target: list[float]
    tv: float
    sd_rejection: float
    sd_residual: list[float]
    eps: float
    resample: str
    accept_probs: list[float]
    rejection: float
    resample_law: list[float]
    output: list[float]
    bias: float
    min_bias: float
    pareto_gap: float
    position: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def summarise_step(
    draft_probs: ArrayLike,
    target_probs: ArrayLike,
    eps: float = 0.0,
    resample: Literal["opt", "uno"] = "opt",
) -> StepSummary:
    """Summarise one step; ``eps = 0`` with ``"opt"`` is plain SD."""
    draft, target = checked_pair(draft_probs, target_probs)
    if draft.ndim != 1:
        raise InvalidAlgorithmError(f"summarise_step takes 1-D vectors, got shape {draft.shape}")
    eps = check_float(eps, "eps", low=0.0, error=InvalidAlgorithmError)
    if resample not in ("opt", "uno"):
        raise InvalidAlgorithmError(f"resample must be 'opt' or 'uno', got {resample!r}")
    rule = OverAcceptanceRule(float(eps), resample)
    accept = rule.accept_probs(draft, target)
    rejection = float(kernels.rejection_probability(draft, accept))
    output = output_distribution(rule, draft, target)
    total_variation = float(kernels.tv_rows(draft, target))
    bias = float(kernels.tv_rows(output, target))
    gap = rejection + bias - total_variation
    if gap < -FRONT_TOLERANCE:  # Theorem 5 says this cannot happen
        position = "below the front (impossible: report a bug)"
    elif gap <= FRONT_TOLERANCE:
        position = "on the front"
    else:
        position = "above the front"
    return StepSummary(
        draft=draft.tolist(),
        target=target.tolist(),
        tv=total_variation,
        sd_rejection=total_variation,
        sd_residual=kernels.residual_rows(draft, target).tolist(),
        eps=float(eps),
        resample=resample,
        accept_probs=accept.tolist(),
        rejection=rejection,
        resample_law=rule.resample_probs(draft, target, accept).tolist(),
        output=output.tolist(),
        bias=bias,
        min_bias=float(kernels.min_bias_rows(draft, target, accept)),
        pareto_gap=float(max(gap, 0.0) if abs(gap) <= FRONT_TOLERANCE else gap),
        position=position,
    )
