"""Deliberately wrong round verifiers: the bugs the conditional round tests must reject.

* :class:`ScaledAccept` — every acceptance probability times 0.98 (a 2% smaller
  acceptance; the output is no longer the target's law);
* :class:`ResidualFromScaledDraft` — the residual built from ``0.9 p`` instead of ``p``;
* :class:`ScaledStart` / :class:`ScaledDraftStart` — the same two bugs in batch SD's
  recursive rejection (Algorithm 4);
* :class:`Spec` — a minimal algorithm spec carrying any of them (for ``verify_round`` and
  the chain simulators, which only read these attributes).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from specbound.core import kernels
from specbound.core.batch import RecursiveRejectionRule
from specbound.core.families import VerificationFamily, family_from_rules
from specbound.core.rules import StepRule
from specbound.core.sampling import sample_categorical, sample_rows

__all__ = [
    "ResidualFromScaledDraft",
    "ScaledAccept",
    "ScaledDraftStart",
    "ScaledStart",
    "Spec",
]


@dataclass(frozen=True)
class ScaledAccept(StepRule):
    """``base``'s rule with every acceptance probability multiplied by ``scale``."""

    base: StepRule
    scale: float = 0.98

    def accept_probs(self, draft: np.ndarray, target: np.ndarray) -> np.ndarray:
        return self.scale * self.base.accept_probs(draft, target)

    def resample_probs(self, draft: np.ndarray, target: np.ndarray, accept: np.ndarray):  # type: ignore[no-untyped-def]
        return self.base.resample_probs(draft, target, accept)


@dataclass(frozen=True)
class ResidualFromScaledDraft(StepRule):
    """``base``'s acceptance, resampling from ``[q - scale p b']_+`` with ``b' = 1`` for SD
    (``[q - 0.9 p]_+``) and ``b' = b`` otherwise (``[q - 0.9 p b]_+``)."""

    base: StepRule
    scale: float = 0.9
    sd: bool = True

    def accept_probs(self, draft: np.ndarray, target: np.ndarray) -> np.ndarray:
        return self.base.accept_probs(draft, target)

    def resample_probs(self, draft: np.ndarray, target: np.ndarray, accept: np.ndarray):  # type: ignore[no-untyped-def]
        used = draft if self.sd else draft * accept
        return kernels.normalised_positive_part(target - self.scale * used, target)


class ScaledStart(RecursiveRejectionRule):
    """Recursive rejection whose acceptance probabilities are all 0.98 x the right ones."""

    def _decide(self, residuals, accept_at, rng, rows=None):  # type: ignore[no-untyped-def]
        b = 0.98 * accept_at
        u = rng.random(b.shape)
        if rows is None:
            recovered = sample_categorical(residuals[..., -1, :], rng)
        else:
            recovered = sample_rows(residuals[:, -1, :], rows, rng)
        ok = u < b
        first = np.argmax(ok, axis=-1)
        some = ok.any(axis=-1)
        return first, some, recovered

    def verify(self, draft, target, candidates, rng):  # type: ignore[no-untyped-def]
        residuals = self.residuals(draft, target)
        accept = kernels.ratio_accept(residuals[..., :-1, :], draft[..., None, :])
        b = np.take_along_axis(accept, candidates[..., None], axis=-1)[..., 0]
        first, some, recovered = self._decide(residuals, b, rng)
        chosen = np.take_along_axis(candidates, first[..., None], axis=-1)[..., 0]
        return np.where(some, first, -1), np.where(some, chosen, recovered)

    def verify_rows(self, draft_table, target_table, rows, candidates, rng):  # type: ignore[no-untyped-def]
        residuals = self.residuals(draft_table, target_table)
        accept = kernels.ratio_accept(residuals[:, :-1, :], draft_table[:, None, :])
        b = accept[rows[..., None], np.arange(self.num_drafts), candidates]
        first, some, recovered = self._decide(residuals, b, rng, rows)
        chosen = np.take_along_axis(candidates, first[..., None], axis=-1)[..., 0]
        return np.where(some, first, -1), np.where(some, chosen, recovered)


class ScaledDraftStart(RecursiveRejectionRule):
    """Recursive rejection with ``r_{m+1} = [r_m - 0.9 p]_+`` normalised."""

    def residuals(self, draft: np.ndarray, target: np.ndarray) -> np.ndarray:
        chain = [target]
        for _ in range(self.num_drafts):
            chain.append(kernels.normalised_positive_part(chain[-1] - 0.9 * draft, chain[-1]))
        return np.stack(chain, axis=-2)


@dataclass(frozen=True)
class Spec:
    """An algorithm spec around any rules (read by ``verify_round`` and the simulators)."""

    step_rule: Any
    round_start_rule: Any = None
    gamma: int | None = None
    block_rule: Any = None
    name: str = "mutant"
    unbiased: bool = False

    @property
    def num_drafts(self) -> int:
        return 1 if self.round_start_rule is None else int(self.round_start_rule.num_drafts)

    @property
    def family(self) -> VerificationFamily:
        """The family these rules describe (the decoder and simulators ask it)."""
        return family_from_rules(self.step_rule, self.round_start_rule, self.block_rule)
