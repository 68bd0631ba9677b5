"""Verification rules: the paper's Algorithm 2 written once, for every backend.

A rejection-based decoder is described at one position by two functions of the
(draft, target) distributions (p = draft, q = target in the paper):

* the **acceptance probabilities** ``b(x)`` — a drafted token ``x`` is *accepted* with
  probability ``b(x)``;
* the **resampling law** ``P`` — after a *rejection*, the position is filled by a
  *recovered* token drawn from ``P``.

=================  ==========================  ===================================
rule               b                           P
=================  ==========================  ===================================
SD (Algorithm 1)   min(1, q/p)                 [q - p]_+ normalised
Decoding-OPT       min(1, (q + eps)/p)         [q - p*b]_+ normalised (Theorem 4)
Decoding-UNO       min(1, (q + eps)/p)         q
=================  ==========================  ===================================

Batch SD's round start (Algorithm 4, recursive rejection over M candidates) lives in
:mod:`specbound.core.batch`. All functions take arrays whose last axis is the vocabulary
and broadcast over leading axes (independent runs of a chain simulator, the positions of
one LM round). They do not validate: public entry points and backends validate once.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Literal, NamedTuple

import numpy as np
from numpy.typing import NDArray

from specbound.core import kernels
from specbound.core.sampling import sample_categorical, sample_rows, uniforms

__all__ = [
    "OverAcceptanceRule",
    "SpeculativeRule",
    "SplitLaw",
    "StepRule",
    "accept_drafted",
    "output_distribution",
    "step_rejection_probability",
]

Array = NDArray[np.float64]
Resample = Literal["opt", "uno"]


class SplitLaw(NamedTuple):
    """What one verified position does, for every row of (draft, target), split in two.

    ``reject[...]`` — the probability that the position is a *rejection*;
    ``accepted[..., x]`` — P(the drafted token is accepted and it is ``x``);
    ``rejected[..., x]`` — P(a rejection and the token that fills the position is ``x``).
    ``accepted + rejected`` is the position's output law (Theorem 4's ``A = p*b + r(b) P``).
    """

    reject: Array  # (...,)
    accepted: Array  # (..., V)
    rejected: Array  # (..., V)

    @property
    def output(self) -> Array:
        """The law of the token the position outputs: (..., V)."""
        return self.accepted + self.rejected


class StepRule(ABC):
    """One position of Algorithm 2: an acceptance rule ``b`` and a resampling law ``P``."""

    #: True when the output law of one step equals the target (the rule is unbiased).
    unbiased: bool = True

    @abstractmethod
    def accept_probs(self, draft: Array, target: Array) -> Array:
        """``b(x)`` for every token x: (..., V) -> (..., V)."""

    @abstractmethod
    def resample_probs(self, draft: Array, target: Array, accept: Array) -> Array:
        """The law sampled after a rejection, given ``b``: (..., V)."""

    def resample_law(self, draft: Array, target: Array) -> Array:
        """The law sampled after a rejection, ``P`` (..., V), computing ``b`` only where
        ``P`` depends on it (SD's residual and UNO's target do not)."""
        return self.resample_probs(draft, target, self.accept_probs(draft, target))

    def accept_at(self, draft: Array, target: Array, tokens: NDArray[np.int64]) -> Array:
        """``b(x)`` at the drafted ``tokens`` only: (..., V), (...) -> (...).

        The default evaluates the whole table; rules whose ``b(x)`` depends on ``p(x)`` and
        ``q(x)`` alone override it to compute just the entries that are read.
        """
        return kernels.gather(self.accept_probs(draft, target), tokens)

    def sample_recovered(
        self, draft: Array, target: Array, rng: np.random.Generator
    ) -> NDArray[np.int64]:
        """Draw the token that fills a rejected position: (..., V) -> (...,)."""
        accept = self.accept_probs(draft, target)
        return sample_categorical(self.resample_probs(draft, target, accept), rng)

    def split(self, draft: Array, target: Array) -> SplitLaw:
        """The position's law split into its accepted and rejected parts (Algorithm 2):
        ``accepted = p*b``, ``reject = r(b)``, ``rejected = r(b) P``."""
        accept = self.accept_probs(draft, target)  # (..., V)
        reject = kernels.rejection_probability(draft, accept)  # (...,)
        rejected = reject[..., None] * self.resample_probs(draft, target, accept)  # (..., V)
        return SplitLaw(reject, draft * accept, rejected)

    def verify_rows(
        self,
        draft_table: Array,
        target_table: Array,
        rows: NDArray[np.int64],
        drafted: NDArray[np.int64],
        rng: np.random.Generator,
    ) -> tuple[NDArray[np.bool_], NDArray[np.int64]]:
        """Verify ``drafted`` (...,) tokens drafted from ``draft_table[rows]``.

        ``draft_table``/``target_table`` (K, V): ``b`` and ``P`` are evaluated once per
        table row instead of once per entry of ``rows`` (for simulators running many
        positions from the rows of one small table). A token is accepted when a float64
        uniform falls below ``b(token)``; a refused one is replaced by a draw from ``P``.
        Returns (accepted (...,), the tokens that fill the positions (...,)).
        """
        accept = self.accept_probs(draft_table, target_table)  # (K, V)
        ok = uniforms(rng, rows.shape) < accept[rows, drafted]  # (...,)
        tokens = np.array(drafted, dtype=np.int64, copy=True)  # (...,)
        bad = np.flatnonzero(~ok)  # (b,)
        if bad.size:
            recovery = self.resample_probs(draft_table, target_table, accept)  # (K, V)
            tokens.flat[bad] = sample_rows(recovery, rows.flat[bad], rng)
        return ok, tokens


@dataclass(frozen=True)
class SpeculativeRule(StepRule):
    """Speculative sampling (paper Algorithm 1): accept with min(1, q/p), else residual."""

    def accept_probs(self, draft: Array, target: Array) -> Array:
        return kernels.ratio_accept(target, draft)

    def accept_at(self, draft: Array, target: Array, tokens: NDArray[np.int64]) -> Array:
        return kernels.ratio_accept(kernels.gather(target, tokens), kernels.gather(draft, tokens))

    def resample_probs(self, draft: Array, target: Array, accept: Array) -> Array:
        return kernels.residual_rows(draft, target)

    def resample_law(self, draft: Array, target: Array) -> Array:
        return kernels.residual_rows(draft, target)


@dataclass(frozen=True)
class OverAcceptanceRule(StepRule):
    """Section 4's over-acceptance: ``b = min(1, (q + eps)/p)``; accept outright when
    ``p(x) - q(x) <= eps``. After a rejection, ``"opt"`` samples Theorem 4's ``P*`` (the
    least-biased choice), ``"uno"`` samples the target ``q``. ``eps = 0`` with ``"opt"``
    is exactly SD.
    """

    eps: float
    resample: Resample = "opt"

    @property
    def unbiased(self) -> bool:  # type: ignore[override]
        return self.eps == 0.0 and self.resample == "opt"

    def accept_probs(self, draft: Array, target: Array) -> Array:
        return kernels.ratio_accept(target + self.eps, draft)

    def accept_at(self, draft: Array, target: Array, tokens: NDArray[np.int64]) -> Array:
        drafted, targeted = kernels.gather(draft, tokens), kernels.gather(target, tokens)
        return kernels.ratio_accept(targeted + self.eps, drafted)

    def resample_probs(self, draft: Array, target: Array, accept: Array) -> Array:
        if self.resample == "opt":
            return kernels.optimal_resampling_rows(draft, target, accept)
        return target

    def resample_law(self, draft: Array, target: Array) -> Array:
        if self.resample == "opt":
            return super().resample_law(draft, target)
        return target


def step_rejection_probability(rule: StepRule, draft: Array, target: Array) -> Array:
    """Probability that a token drafted from ``draft`` is rejected: ``1 - sum p*b``."""
    return kernels.rejection_probability(draft, rule.accept_probs(draft, target))


def output_distribution(rule: StepRule, draft: Array, target: Array) -> Array:
    """The law of the token one step outputs: ``A = p*b + r(b) * P`` (Theorem 4)."""
    return rule.split(draft, target).output


def accept_drafted(
    rule: StepRule,
    draft: Array,
    target: Array,
    tokens: NDArray[np.int64],
    rng: np.random.Generator,
) -> NDArray[np.bool_]:
    """Accept or reject drafted ``tokens`` (...,) given their (..., V) distributions.

    A token is accepted when a float64 uniform falls below ``b(token)``.
    """
    b = rule.accept_at(draft, target, tokens)  # (...,)
    return uniforms(rng, b.shape) < b
