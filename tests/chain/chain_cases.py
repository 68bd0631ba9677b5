"""Shared fixtures of the chain tests: tiny random pairs and random Algorithm-2 members."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from specbound.chain import MarkovChain
from specbound.core.families import TokenFamily, VerificationFamily
from specbound.core.kernels import normalised_positive_part
from specbound.core.rules import StepRule


def tiny_pair(
    seed: int, T: int, S: int, *, zeros: bool = True, concentration: float = 1.0
) -> tuple[MarkovChain, MarkovChain]:
    """Dirichlet rows; with ``zeros`` one random entry of some rows set to 0 (both chains)."""
    rng = np.random.default_rng(seed)

    def rows() -> np.ndarray:
        x = rng.dirichlet(np.full(S, concentration), size=(T, S))  # (T, S, S)
        if zeros and S > 1:
            hit = rng.random((T, S)) < 0.5  # (T, S) rows that get a zero
            col = rng.integers(S, size=(T, S))
            t_idx, s_idx = np.nonzero(hit)
            x[t_idx, s_idx, col[t_idx, s_idx]] = 0.0
            x /= x.sum(axis=-1, keepdims=True)
        return x

    start = int(rng.integers(S))
    return MarkovChain(rows(), start, name="draft"), MarkovChain(rows(), start, name="target")


@dataclass(frozen=True)
class ShrunkSDRule(StepRule):
    """An unbiased member of Algorithm 2: ``b = c(p, q) * min(1, q/p)`` with a fixed random
    function ``c`` into [0, 1] of the two probabilities, ``P = [q - p b]_+`` normalised.

    ``p b <= q`` everywhere, so ``p b + r(b) P = q``: the output is exactly the target.
    """

    a: float
    b: float
    c: float

    def accept_probs(self, draft: np.ndarray, target: np.ndarray) -> np.ndarray:
        positive = draft > 0
        sd = np.where(positive, np.minimum(1.0, target / np.where(positive, draft, 1.0)), 0.0)
        shrink = 0.5 + 0.5 * np.cos(self.a * draft + self.b * target + self.c)
        return sd * shrink

    def resample_probs(self, draft: np.ndarray, target: np.ndarray, accept: np.ndarray):
        return normalised_positive_part(target - draft * accept, target)


@dataclass(frozen=True)
class FamilyMember:
    """An algorithm spec built around any StepRule (drafting to the horizon)."""

    rule: StepRule
    unbiased: bool = True
    gamma: int | None = None
    round_start_rule: None = None
    block_rule: None = None
    name: str = "family"

    @property
    def step_rule(self) -> StepRule:
        return self.rule

    @property
    def family(self) -> VerificationFamily:
        """A token-level family with this member's rule (paper Algorithm 2)."""
        return TokenFamily(self.rule)


def random_member(rng: np.random.Generator, gamma: int | None = None) -> FamilyMember:
    a, b, c = rng.uniform(-20, 20, size=3)
    return FamilyMember(ShrunkSDRule(float(a), float(b), float(c)), gamma=gamma)
