"""Deliberately wrong verifiers: the negative controls that statistical tests must reject."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

import specbound as sb
from specbound.core.block import BlockOutcome, BlockVerificationRule
from specbound.core.sampling import sample_categorical

__all__ = ["FirstFailure", "FirstFailureBlock"]


class FirstFailure(BlockVerificationRule):
    """Block verification with tau = the position before the first failed eta (instead of
    the last success): the output is no longer the target's law."""

    def verify(self, draft, target, tokens, rng):  # type: ignore[no-untyped-def]
        k = tokens.shape[-1]
        weights = self.weights(draft, target, tokens)
        heights = self.stop_probs(draft, target, weights)
        failed = rng.random(heights.shape) >= heights
        tau = np.where(failed.any(axis=-1), np.argmax(failed, axis=-1), k)
        token = np.full(tau.shape, -1)
        for t in np.unique(tau):
            rows = np.flatnonzero(np.ravel(tau) == t)
            if t < k:
                law = self.recovery_law(draft, target, weights, int(t))
            elif target.shape[-2] > k:
                law = target[..., k, :]
            else:
                continue
            flat = np.reshape(law, (-1, law.shape[-1]))[rows]
            token.flat[rows] = sample_categorical(flat, rng)
        return BlockOutcome(tau=np.asarray(tau), token=token)


@dataclass(frozen=True)
class FirstFailureBlock(sb.BlockSpeculative):
    """``BlockSpeculative`` verifying with :class:`FirstFailure`."""

    @property
    def block_rule(self) -> BlockVerificationRule:
        return FirstFailure()
