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
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from specbound.core.distance import _residual
from specbound.core.sampling import sample_categorical, uniforms
from specbound.core.tradeoff import _optimal_resampling, _rejection_probability

__all__ = [
    "OverAcceptanceRule",
    "SpeculativeRule",
    "StepRule",
    "accept_drafted",
    "output_distribution",
    "step_rejection_probability",
]

Array = NDArray[np.float64]
Resample = Literal["opt", "uno"]


def _ratio_accept(numerator: Array, draft: Array) -> Array:
    """``min(1, numerator / draft)`` with the convention b = 0 where draft = 0.

    NOTE: a token the draft gives probability 0 is never proposed by an exact sampler; if
    one shows up anyway (a backend warped the draft differently), refusing it is the only
    choice that cannot bias the output towards it.
    """
    positive = draft > 0
    safe = np.where(positive, draft, 1.0)
    with np.errstate(over="ignore"):  # a subnormal draft probability: ratio -> inf -> 1
        ratio = numerator / safe
    return np.where(positive, np.minimum(1.0, ratio), 0.0)


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

    def sample_recovered(
        self, draft: Array, target: Array, rng: np.random.Generator
    ) -> NDArray[np.int64]:
        """Draw the token that fills a rejected position: (..., V) -> (...,)."""
        accept = self.accept_probs(draft, target)
        return sample_categorical(self.resample_probs(draft, target, accept), rng)


@dataclass(frozen=True)
class SpeculativeRule(StepRule):
    """Speculative sampling (paper Algorithm 1): accept with min(1, q/p), else residual."""

    def accept_probs(self, draft: Array, target: Array) -> Array:
        return _ratio_accept(target, draft)

    def resample_probs(self, draft: Array, target: Array, accept: Array) -> Array:
        return _residual(draft, target)


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
        return _ratio_accept(target + self.eps, draft)

    def resample_probs(self, draft: Array, target: Array, accept: Array) -> Array:
        if self.resample == "opt":
            return _optimal_resampling(draft, target, accept)
        return target


def step_rejection_probability(rule: StepRule, draft: Array, target: Array) -> Array:
    """Probability that a token drafted from ``draft`` is rejected: ``1 - sum p*b``."""
    return _rejection_probability(draft, rule.accept_probs(draft, target))


def output_distribution(rule: StepRule, draft: Array, target: Array) -> Array:
    """The law of the token one step outputs: ``A = p*b + r(b) * P`` (Theorem 4)."""
    accept = rule.accept_probs(draft, target)  # (..., V)
    rejection = _rejection_probability(draft, accept)[..., None]  # (..., 1)
    return draft * accept + rejection * rule.resample_probs(draft, target, accept)


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
    accept = rule.accept_probs(draft, target)  # (..., V)
    b = np.take_along_axis(accept, tokens[..., None], axis=-1)[..., 0]  # (...,)
    return uniforms(rng, b.shape) < b
