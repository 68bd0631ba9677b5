"""One round of token-level verification of a single draft sequence, for any array backend.

Paper Algorithm 2 (SD is Algorithm 1; p = draft, q = target) applied to a drafted
sequence ``x_1..x_k`` at once: position i is *accepted* when ``u_i < b_i(x_i)``; the
first refused position is filled by a *recovered* token from the rule's resampling law
there, and nothing after it counts; if all k are accepted and the target scored one
position further, a *bonus* token comes from that position's target law.

Everything is decided from uniforms drawn up front (float64: ``k`` acceptance uniforms,
one for the recovered token, one for the bonus), so a decoder can run the whole round on
its models' device with array operations only and read one small result back: nothing
here branches on array values in Python. The arithmetic is the rule's own
(:meth:`~specbound.core.rules.StepRule.accept_at`, ``resample_law``) and
:func:`~specbound.core.kernels.inverse_cdf`; NumPy arrays and torch tensors both work
(the Python array API standard through ``array_api_compat``).
"""

from __future__ import annotations

from typing import Any, NamedTuple

from array_api_compat import device as _device

from specbound.core import kernels
from specbound.core.rules import StepRule

__all__ = ["SequenceVerdict", "verify_sequence"]

Array = Any


class SequenceVerdict(NamedTuple):
    """0-d integer arrays: how many drafted tokens are ``accepted``; the ``next_token``
    (recovered or bonus; -1 when there is none); ``rejected`` (1 if a position was
    refused, else 0)."""

    accepted: Array
    next_token: Array
    rejected: Array


def verify_sequence(
    rule: StepRule,
    draft: Array,
    target: Array,
    tokens: Array,
    u: Array,
    stop_token: int | None = None,
) -> SequenceVerdict:
    """Verify ``tokens`` (k,) drafted from ``draft`` (k, V) against ``target`` (k, V) or
    (k+1, V) (the last position gives the bonus token).

    ``u`` (k+1,): float64 uniforms — ``u[:k]`` decide acceptance, ``u[k]`` draws the
    recovered or the bonus token. ``stop_token`` (the end-of-sequence
    token): positions after its first occurrence do not count (nothing after it is
    output), and a round whose stop token is accepted ends there, with no bonus token.
    """
    xp = kernels.namespace(draft, target)
    k = int(tokens.shape[0])
    none = xp.asarray(-1, dtype=xp.int64, device=_device(tokens))
    if k == 0:  # nothing drafted to judge (a batch round start took the only token)
        bonus = kernels.inverse_cdf(target[0], u[0]) if target.shape[0] else none
        zero = xp.asarray(0, dtype=xp.int64, device=_device(tokens))
        return SequenceVerdict(zero, xp.astype(bonus, xp.int64), zero)
    positions = xp.arange(k, device=_device(tokens))  # (k,)
    accepted_draw = u[:k] < rule.accept_at(draft, target[:k], tokens)  # (k,)
    limit = xp.asarray(k, device=_device(tokens))  # () positions that count
    stopped = xp.asarray(False, device=_device(tokens))
    if stop_token is not None:
        is_stop = tokens == stop_token  # (k,)
        stopped = xp.any(is_stop)
        first_stop = xp.argmax(xp.astype(is_stop, xp.int8))  # () 0 when there is none
        limit = xp.where(stopped, first_stop + 1, limit)
    refused = xp.logical_and(xp.logical_not(accepted_draw), positions < limit)  # (k,)
    rejected = xp.any(refused)  # ()
    at = xp.where(rejected, xp.argmax(xp.astype(refused, xp.int8)), limit)  # () kept count
    row = xp.reshape(xp.clip(at, max=k - 1), (1,))  # (1,) the refused position, if any
    draft_row = xp.take(draft, row, axis=0)[0]  # (V,)
    target_row = xp.take(target, row, axis=0)[0]  # (V,)
    law = rule.resample_law(draft_row, target_row)  # (V,)
    if target.shape[0] > k:  # a bonus position was scored: one draw from one of two laws
        law = xp.where(rejected, law, target[k])  # (V,)
        follower = xp.where(xp.logical_or(rejected, xp.logical_not(stopped)), 0, -1)
    else:
        follower = xp.where(rejected, 0, -1)
    drawn = kernels.inverse_cdf(law, u[k])  # () the recovered or the bonus token
    next_token = xp.where(follower == 0, drawn, none)
    return SequenceVerdict(
        accepted=xp.astype(at, xp.int64),
        next_token=xp.astype(next_token, xp.int64),
        rejected=xp.astype(rejected, xp.int64),
    )
