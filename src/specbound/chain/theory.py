"""Exact theory of every algorithm on a first-order Markov chain (paper Sections 3-4).

All calculators take ``(draft_chain, target_chain, algorithm)`` and run the forward
recursion of :mod:`specbound.chain.recursion` in ``O(T * phases * S^2)``:

* :func:`expected_rejections`, :func:`expected_target_calls`, :func:`expected_draft_calls`
  — the counting rules of :mod:`specbound.algorithms` (see ``docs/chains.md``);
* :func:`theorem1_sum` — ``sum_n E_{x ~ target}[TV(p_n, q_n)(x_n)]`` (Theorem 1), and
  :func:`check_theorem2` (Theorem 2: SD attains it, unbiased Algorithm-2 members cannot
  beat it);
* :func:`batch_improvement` (Theorem 3) and :func:`batch_limit` (Proposition 1);
* :func:`output_chain`, :func:`expected_bias`, and by enumeration :func:`sequence_law`,
  :func:`sequence_tv` (Section 4 at sequence level).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from specbound.algorithms import BatchSpeculative, Speculative
from specbound.chain.model import MarkovChain, check_pair
from specbound.chain.recursion import ChainTheory, analyse
from specbound.chain.sequences import sequence_law, sequence_tv
from specbound.chain.spec import DecodingAlgorithm, at_horizon
from specbound.core import kernels
from specbound.core.families import RoundShapes
from specbound.core.rules import StepRule, output_distribution
from specbound.errors import InvalidAlgorithmError

__all__ = [
    "BiasReport",
    "ChainTheory",
    "Theorem2Check",
    "analyse",
    "batch_improvement",
    "batch_limit",
    "check_theorem2",
    "expected_bias",
    "expected_draft_calls",
    "expected_rejections",
    "expected_target_calls",
    "output_chain",
    "sequence_law",
    "sequence_tv",
    "summarise",
    "theorem1_sum",
    "theorem1_terms",
]

Array = NDArray[np.float64]

#: Slack for floating-point comparisons against Theorem 2's bound.
THEOREM2_TOLERANCE = 1e-9


def expected_rejections(
    draft: MarkovChain, target: MarkovChain, algorithm: DecodingAlgorithm
) -> float:
    """``E[N_rej]`` of ``algorithm`` (Theorem 1 for SD, Theorem 3 for batch SD)."""
    return analyse(draft, target, algorithm).rejections


def expected_target_calls(
    draft: MarkovChain, target: MarkovChain, algorithm: DecodingAlgorithm
) -> float:
    """Expected number of target calls (= rounds; ``T`` for autoregressive decoding)."""
    return analyse(draft, target, algorithm).target_calls


def expected_draft_calls(
    draft: MarkovChain, target: MarkovChain, algorithm: DecodingAlgorithm
) -> float:
    """Expected number of draft calls (one per drafted position of every round)."""
    return analyse(draft, target, algorithm).draft_calls


def theorem1_terms(draft: MarkovChain, target: MarkovChain) -> Array:
    """``E_{x_n ~ target}[TV(p_n(.|x_n), q_n(.|x_n))]`` for ``n = 0..T-1``: (T,)."""
    check_pair(draft, target)
    terms = np.zeros(draft.horizon)  # (T,)
    law = np.zeros(draft.num_states)  # (S,) law of x_n under the target chain
    law[draft.start] = 1.0
    for n in range(draft.horizon):
        terms[n] = law @ kernels.tv_rows(draft.transitions[n], target.transitions[n])
        law = law @ target.transitions[n]
    return terms


def theorem1_sum(draft: MarkovChain, target: MarkovChain) -> float:
    """Theorem 1: ``E[N_rej]`` of SD drafting to the horizon,
    ``sum_n E_{x_{1:n-1} ~ q}[TV(p_n, q_n)]`` — and Theorem 2's lower bound."""
    return float(theorem1_terms(draft, target).sum())


@dataclass(frozen=True)
class Theorem2Check:
    """Theorem 2 for one algorithm: unbiased members of Algorithm 2 (drafting to the
    horizon, one rule per position) have ``E[N_rej] >= theorem1_sum``.

    ``in_family`` is False for algorithms the theorem does not cover (autoregressive,
    finite gamma — bonus positions cannot be rejected — batch SD and block
    verification, which decide beyond one token at a time); ``holds`` is then
    vacuously True, and ``gap`` = rejections - bound shows how far outside they reach.
    """

    rejections: float
    bound: float
    gap: float
    unbiased: bool
    in_family: bool
    attains: bool
    holds: bool

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class _OneRulePerPosition(RoundShapes["StepRule | None"]):
    """The step rule of a family that applies one rule at every position (paper Algorithm
    2, Theorem 2's class), else None."""

    def token_rounds(self, step_rule: StepRule, start_rule: Any | None) -> StepRule | None:
        return step_rule if start_rule is None else None

    def otherwise(self, shape: str) -> StepRule | None:
        return None


class _RoundStarts(RoundShapes[bool]):
    """Whether a family verifies its round starts with a multi-draft rule (batch SD)."""

    def token_rounds(self, step_rule: StepRule, start_rule: Any | None) -> bool:
        return start_rule is not None

    def otherwise(self, shape: str) -> bool:
        return False


def check_theorem2(
    draft: MarkovChain,
    target: MarkovChain,
    algorithm: DecodingAlgorithm,
    tolerance: float = THEOREM2_TOLERANCE,
) -> Theorem2Check:
    """Compare ``algorithm``'s exact rejections with Theorem 1's sum (Theorem 2)."""
    rejections = expected_rejections(draft, target, algorithm)
    algorithm = at_horizon(algorithm, draft.horizon)
    bound = theorem1_sum(draft, target)
    gap = rejections - bound
    one_rule = algorithm.family.interpret(_OneRulePerPosition())
    in_family = algorithm.gamma is None and one_rule is not None
    covered = in_family and algorithm.unbiased
    return Theorem2Check(
        rejections=rejections,
        bound=bound,
        gap=gap,
        unbiased=bool(algorithm.unbiased),
        in_family=in_family,
        attains=abs(gap) <= tolerance,
        holds=(not covered) or gap >= -tolerance,
    )


def batch_improvement(
    draft: MarkovChain, target: MarkovChain, num_drafts: int, gamma: int | None = None
) -> float:
    """Theorem 3: ``E[N_rej](SD) - E[N_rej](batch SD with M drafts)``, same gamma.

    With ``gamma=None`` this is ``sum_n sum_s P(round starts at n, x_n = s)
    (TV(p_n, q_n)(s) - prod_m TV(p_n, r_{n,m})(s))``, collected at round starts only.
    """
    sd = expected_rejections(draft, target, Speculative(gamma=gamma))
    batch = expected_rejections(draft, target, BatchSpeculative(num_drafts, gamma))
    return sd - batch


def batch_limit(draft: MarkovChain, target: MarkovChain, gamma: int | None = None) -> ChainTheory:
    """Proposition 1: batch SD's exact theory in the limit ``M -> infinity``.

    The round start then rejects with probability ``q_n({x : p_n(x) = 0})`` (derived in
    :func:`specbound.core.batch.limit_round_start_split`); positions inside a round
    still pay their TV, so the limit of ``E[N_rej]`` is positive whenever draft and target
    differ inside rounds. ``.rejections`` and ``.target_calls`` are the limits.
    """
    return analyse(draft, target, BatchSpeculative(1, gamma), limit=True)


def output_chain(
    draft: MarkovChain, target: MarkovChain, algorithm: DecodingAlgorithm
) -> MarkovChain:
    """The chain the algorithm outputs.

    Unbiased algorithms output the target chain (Theorems 1 and 3). Over-acceptance
    drafting to the horizon outputs the chain with kernels ``p*b + r(b) P`` (Theorem 4's
    ``A``). With a finite gamma its bonus tokens come from the target, so the output is
    not a first-order chain: use :func:`sequence_law` or :func:`expected_bias` then.
    """
    check_pair(draft, target)
    algorithm = at_horizon(algorithm, draft.horizon)
    if algorithm.unbiased:
        return target
    rule = algorithm.family.interpret(_OneRulePerPosition())
    if rule is None or algorithm.gamma is not None:
        raise InvalidAlgorithmError(
            f"output_chain: the output of {algorithm!r} is not a first-order Markov chain "
            "(bonus tokens after gamma accepted drafts come from the target); use "
            "sequence_law or expected_bias, or gamma=None"
        )
    laws = output_distribution(rule, draft.transitions, target.transitions)  # (T, S, S)
    return MarkovChain(laws, draft.start, name="output")


@dataclass(frozen=True)
class BiasReport:
    """Section 4 at sequence level: ``per_position[n]`` = E[TV(output_n, target_n)] under
    the output process (the law of ``x_{n+1}`` given the decoder's state at ``n``, against
    ``q_n(x_n)``); ``total`` is their sum; ``sequence_tv`` is the exact sequence-level TV
    when the chain is small enough to enumerate (else None)."""

    per_position: Array
    total: float
    sequence_tv: float | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "per_position": self.per_position.tolist(),
            "total": self.total,
            "sequence_tv": self.sequence_tv,
        }


def expected_bias(
    draft: MarkovChain,
    target: MarkovChain,
    algorithm: DecodingAlgorithm,
    *,
    max_sequences: int = 1 << 16,
) -> BiasReport:
    """Per-position and total expected bias, plus sequence TV when ``S**T <= max_sequences``.

    With ``gamma=None`` the decoder's state is the previous token and ``per_position[n] =
    E_{x_n ~ output}[TV(A_n(x_n), q_n(x_n))]`` under :func:`output_chain`.
    """
    theory = analyse(draft, target, algorithm)
    small = draft.num_states**draft.horizon <= max_sequences
    seq = sequence_tv(draft, target, algorithm, max_sequences=max_sequences) if small else None
    return BiasReport(theory.bias, theory.total_bias, seq)


def summarise(
    draft: MarkovChain, target: MarkovChain, algorithm: DecodingAlgorithm
) -> dict[str, Any]:
    """Everything the theory says about ``algorithm`` on the pair, JSON-ready.

    Expected rejections, target and draft calls and bias (:func:`analyse`), Theorem 1's
    sum and Theorem 2's verdict; for batch SD also the SD value at the same gamma, the
    batch improvement (Theorem 3) and the M -> infinity limit (Proposition 1); for
    over-acceptance the per-position and sequence-level bias (Section 4); and the
    per-position probabilities.
    """
    theory = analyse(draft, target, algorithm)
    algorithm = at_horizon(algorithm, draft.horizon)
    payload: dict[str, Any] = {
        **theory.to_dict(per_position=False),
        "theorem1_sum": theorem1_sum(draft, target),
        "theorem2": check_theorem2(draft, target, algorithm).to_dict(),
    }
    if algorithm.family.interpret(_RoundStarts()):  # batch SD
        sd = expected_rejections(draft, target, Speculative(gamma=algorithm.gamma))
        limit = batch_limit(draft, target, gamma=algorithm.gamma)
        payload["batch"] = {
            "sd_rejections": sd,
            "improvement": sd - theory.rejections,
            "limit_rejections": limit.rejections,
            "limit_target_calls": limit.target_calls,
        }
    if not algorithm.unbiased:
        payload["bias"] = expected_bias(draft, target, algorithm).to_dict()
    payload["per_position"] = theory.to_dict()["per_position"]
    return payload
