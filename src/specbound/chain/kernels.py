"""Per-position step kernels: what one position does, split by accepted / rejected.

For a position ``n`` and every previous token ``s`` (the rows of the chain's kernels) a
:class:`StepKernel` holds

* ``reject[s]`` — the probability that the position is a *rejection*;
* ``accepted[s, x]`` — P(the drafted token is accepted and it is ``x``);
* ``rejected[s, x]`` — P(a rejection and the recovered token is ``x``);

so ``accepted + rejected`` is the output law of the position (paper Theorem 4's
``A = p*b + r(b) P``). They are built from the ``core`` rules only: a
:class:`~specbound.core.rules.StepRule` for drafted positions (Algorithm 2), a
:class:`~specbound.core.batch.RecursiveRejectionRule` for a batch round start
(Algorithm 4 / Theorem 3), and the ``M -> infinity`` limit of the latter (Proposition 1).
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
from numpy.typing import NDArray

from specbound.core.rules import StepRule
from specbound.core.tradeoff import _rejection_probability

__all__ = ["StepKernel", "limit_round_start_kernel", "round_start_kernel", "step_kernel"]

Array = NDArray[np.float64]


class StepKernel(NamedTuple):
    """One position's behaviour, for every previous token (see the module docstring)."""

    reject: Array  # (..., S)
    accepted: Array  # (..., S, S)
    rejected: Array  # (..., S, S)

    @property
    def output(self) -> Array:
        """The law of the token the position outputs: (..., S, S)."""
        return self.accepted + self.rejected


def step_kernel(rule: StepRule, draft: Array, target: Array) -> StepKernel:
    """A drafted position verified by ``rule`` (Algorithm 2): ``b`` and ``P`` of the rule."""
    accept = rule.accept_probs(draft, target)  # (..., S, S)
    reject = _rejection_probability(draft, accept)  # (..., S)
    rejected = reject[..., None] * rule.resample_probs(draft, target, accept)  # (..., S, S)
    return StepKernel(reject, draft * accept, rejected)


def round_start_kernel(rule: Any, draft: Array, target: Array) -> StepKernel:
    """A batch round start: recursive rejection over M candidates (Algorithm 4).

    ``reject = prod_m TV(p, r_m)`` (Theorem 3) and a rejection outputs ``r_{M+1}``. The
    rule outputs exactly the target (Theorem 3; ``core`` tests it), so the accepted part
    is ``q - reject * r_{M+1}``.
    """
    reject = rule.all_rejected_probability(draft, target)  # (..., S)
    recovered = rule.residuals(draft, target)[..., -1, :]  # (..., S, S)  r_{M+1}
    rejected = reject[..., None] * recovered  # (..., S, S)
    # NOTE: q - rejected is >= 0 in exact arithmetic; clip rounding residue (~1e-17).
    return StepKernel(reject, np.clip(target - rejected, 0.0, None), rejected)


def limit_round_start_kernel(draft: Array, target: Array) -> StepKernel:
    """The round start of batch SD as ``M -> infinity`` (Proposition 1), in closed form.

    Derivation (p = draft, q = target). Write ``u_m = (prod_{k<m} TV(p, r_k)) r_m`` for the
    unnormalised residual; ``u_1 = q`` and ``u_{m+1} = [u_m - |u_m| p]_+`` with
    ``|u_m| = P(candidates 1..m-1 all rejected)``, so ``P(all M rejected) = |u_{M+1}|``.
    Tokens with ``p(x) = 0`` are never drafted, never reduced: ``u_m(x) = q(x)``. Let
    ``L = lim |u_m|`` (it decreases). If ``L > 0`` each step removes at least ``L p(x)``
    from every other token, so after finitely many steps only ``{p = 0}`` keeps mass and
    ``L = q({p = 0})``; if ``L = 0`` then ``q({p = 0}) <= L = 0``. Either way

        lim_M P(all M rejected) = q({x : p(x) = 0}),

    the recovered token is ``q`` restricted to ``{p = 0}``, and the accepted part is ``q``
    restricted to ``{p > 0}``. The limit is positive exactly when the target can emit a
    token the draft never proposes.
    """
    # NOTE: exact zeros only; a draft probability of 1e-300 is still drafted eventually.
    rejected = np.where(draft > 0, 0.0, target)  # (..., S, S)
    return StepKernel(rejected.sum(axis=-1), target - rejected, rejected)
