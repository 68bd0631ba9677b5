"""Block verification: one drafted block judged as a whole (beyond the paper's Theorem 2).

Sun, Mendlovic, Leviathan, Aharoni, Beirami, Ro and Suresh, *Block Verification
Accelerates Speculative Decoding* (arXiv 2403.10444, ICLR 2025). Theorem 2 of the paper
says SD is optimal among unbiased verifiers that decide token by token (Algorithm 2);
block verification decides on the whole block at once and accepts at least as many
tokens in expectation, still losslessly. With p = draft, q = target and a drafted block
``X_1..X_k`` (``p_i``, ``q_i`` the laws at position i given ``X_<i``):

* weights ``w_0 = 1``, ``w_i = min(w_{i-1} q_i(X_i) / p_i(X_i), 1)``;
* for ``i < k``: ``Z_{i+1} = sum_x [w_i q_{i+1}(x) - p_{i+1}(x)]_+`` and
  ``h_i = Z_{i+1} / (Z_{i+1} + 1 - w_i)`` (``h_i = 1`` where ``w_i = 1``); ``h_k = w_k``;
* independent uniforms ``eta_i``; ``tau = max{i : eta_i < h_i}`` (0 if none) — a later
  position can be kept although an earlier ``eta`` failed;
* keep ``X_1..X_tau``; then ``Y ~ [w_tau q_{tau+1} - p_{tau+1}]_+`` normalised when
  ``tau < k`` (a *rejection*: the round ends early), else the bonus ``Y ~ q_{k+1}``
  when the target scored one more position (none at the horizon).

So ``P(tau = t) = h_t prod_{i > t} (1 - h_i)`` (``h_0 = 1``). With ``k = 1`` the rule is
SD's: ``h_1 = min(1, q/p)`` and the residual ``[q - p]_+``. Arrays: the vocabulary on the
last axis, the block's positions on the one before, leading axes batched (the runs of a
chain simulator, every enumerated block of the exact theory). NumPy or torch arrays.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from specbound.core import kernels
from specbound.core.sampling import sample_categorical, uniforms

__all__ = [
    "BlockOutcome",
    "BlockVerificationRule",
    "extend_weight",
    "stop_height",
    "weighted_residual",
]

Array = Any  # a NumPy array or a torch tensor


def extend_weight(previous: Array, target_prob: Array, draft_prob: Array) -> Array:
    """``w' = min(w q(x) / p(x), 1)``: the weight of a prefix extended by a drafted ``x``
    (0 where ``p(x) = 0`` or ``w = 0``): (...,) each -> (...,)."""
    xp = kernels.namespace(previous, target_prob, draft_prob)
    positive = draft_prob > 0
    with np.errstate(over="ignore", invalid="ignore"):  # subnormal p: inf; 0 * inf: 0 below
        ratio = xp.where(positive, target_prob / xp.where(positive, draft_prob, 1.0), 0.0)
        step = xp.clip(previous * ratio, max=1.0)
    return xp.where(previous > 0, step, xp.zeros_like(step))


def stop_height(weight: Array, target_next: Array, draft_next: Array) -> Array:
    """``h = Z / (Z + 1 - w)`` with ``Z = sum_x [w q(x) - p(x)]_+`` over the next
    position's laws (``h = 1`` where ``w = 1``, also when ``Z = 0`` makes it 0/0):
    (...,), (..., V), (..., V) -> (...,). Block verification's stop probability; also
    traversal verification's weight of a node whose drafted children were all refused."""
    xp = kernels.namespace(weight)
    excess = weight[..., None] * target_next - draft_next  # (..., V)
    mass = xp.sum(xp.clip(excess, min=0.0), axis=-1)  # Z: (...,)
    denominator = mass + (1.0 - weight)
    full = (weight >= 1.0) | (denominator <= 0)
    safe = xp.where(full, xp.ones_like(denominator), denominator)
    return xp.where(full, xp.ones_like(weight), mass / safe)


def weighted_residual(weight: Array, target_next: Array, draft_next: Array) -> Array:
    """``[w q - p]_+`` normalised (``q`` where it has no mass): (...,), (..., V), (..., V)
    -> (..., V). The law after ``w``-weighted drafted tokens were refused."""
    return kernels.normalised_positive_part(
        weight[..., None] * target_next - draft_next, target_next
    )


@dataclass(frozen=True)
class BlockOutcome:
    """The verdict on blocks: ``tau`` (...,) tokens kept; ``token`` (...,) the recovered
    or bonus token that follows them, -1 where there is none (all kept at the horizon)."""

    tau: NDArray[np.int64]
    token: NDArray[np.int64]


@dataclass(frozen=True)
class BlockVerificationRule:
    """Block verification of one drafted block per leading index (module docstring)."""

    def weights(self, draft: Array, target: Array, tokens: Array) -> Array:
        """``w_0..w_k``: (..., k, V), (..., >=k, V), (..., k) -> (..., k+1).

        NOTE: a drafted token the draft gives probability 0 gets weight 0 (it cannot have
        been proposed; refusing it is the only choice that cannot bias the output).
        """
        k = tokens.shape[-1]
        q_drafted = kernels.gather(target[..., :k, :], tokens)  # (..., k)
        p_drafted = kernels.gather(draft[..., :k, :], tokens)  # (..., k)
        xp = kernels.namespace(q_drafted, p_drafted)
        weights = [xp.ones_like(q_drafted[..., 0])]
        for i in range(k):
            weights.append(extend_weight(weights[-1], q_drafted[..., i], p_drafted[..., i]))
        return xp.stack(weights, axis=-1)  # (..., k+1)

    def stop_probs(self, draft: Array, target: Array, weights: Array) -> Array:
        """``h_1..h_k`` from the weights: (..., k, V), (..., >=k, V), (..., k+1) -> (..., k)."""
        k = weights.shape[-1] - 1
        xp = kernels.namespace(weights)
        heights = [
            stop_height(weights[..., i], target[..., i, :], draft[..., i, :]) for i in range(1, k)
        ]
        heights.append(weights[..., k])  # h_k = w_k
        return xp.stack(heights, axis=-1)  # (..., k)

    def tau_law(self, heights: Array) -> Array:
        """``P(tau = t) = h_t prod_{i > t} (1 - h_i)`` for ``t = 0..k`` (``h_0 = 1``):
        (..., k) -> (..., k+1)."""
        xp = kernels.namespace(heights)
        k = heights.shape[-1]
        survive = xp.ones_like(heights[..., 0])  # prod_{i > t} (1 - h_i), from t = k down
        law = [survive]  # t = k: h_k is applied below
        for t in range(k - 1, -1, -1):
            survive = survive * (1.0 - heights[..., t])
            law.append(survive)
        after = xp.stack(law[::-1], axis=-1)  # (..., k+1): prod_{i > t} (1 - h_i)
        height = xp.concat([xp.ones_like(heights[..., :1]), heights], axis=-1)  # (..., k+1)
        return height * after

    def recovery_law(self, draft: Array, target: Array, weights: Array, tau: int) -> Array:
        """``[w_tau q_{tau+1} - p_{tau+1}]_+`` normalised (the target where it has no mass):
        the law of the token after ``tau`` kept tokens, ``tau < k``: (..., V)."""
        return weighted_residual(weights[..., tau], target[..., tau, :], draft[..., tau, :])

    def verify(
        self, draft: Array, target: Array, tokens: NDArray[np.int64], rng: np.random.Generator
    ) -> BlockOutcome:
        """Verify ``tokens`` (..., k) drafted from ``draft`` (..., k, V) against ``target``
        (..., k, V), or (..., k+1, V) whose last position gives the bonus token."""
        k = tokens.shape[-1]
        if k == 0:  # nothing drafted (a model-free drafter without a match): one target step
            tau = np.zeros(tokens.shape[:-1], dtype=np.int64)  # (...,)
            if target.shape[-2] == 0:
                return BlockOutcome(tau=tau, token=np.full(tau.shape, -1, dtype=np.int64))
            first = np.reshape(target[..., 0, :], (-1, target.shape[-1]))  # (r, V)
            token = sample_categorical(first, rng).reshape(tau.shape)  # (...,)
            return BlockOutcome(tau=tau, token=token.astype(np.int64))
        weights = self.weights(draft, target, tokens)  # (..., k+1)
        heights = self.stop_probs(draft, target, weights)  # (..., k)
        kept = uniforms(rng, heights.shape) < heights  # (..., k)
        positions = np.arange(1, k + 1)  # (k,)
        tau = np.max(np.where(kept, positions, 0), axis=-1).astype(np.int64)  # (...,)
        token = np.full(tau.shape, -1, dtype=np.int64)
        for t in np.unique(tau):
            rows = np.flatnonzero(tau.ravel() == t)
            if t < k:
                law = self.recovery_law(draft, target, weights, int(t))  # (..., V)
            elif target.shape[-2] > k:
                law = target[..., k, :]
            else:
                continue
            flat = np.reshape(law, (-1, law.shape[-1]))[rows]  # (r, V)
            token.flat[rows] = sample_categorical(flat, rng)
        return BlockOutcome(tau=tau, token=token)
