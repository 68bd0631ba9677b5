"""The distillation objectives: total variation (the paper's Theorem 1) and forward KL.

Theorem 1: the expected number of rejections of speculative decoding to the horizon is
the sum over positions of ``E_{target path}[TV(p_n, q_n)]`` (p the draft, q the
target). So ``TV(p_n, q_n)`` averaged over target-sampled positions is the quantity to
minimise; forward ``KL(q_n || p_n)`` is the usual surrogate (its gradient does not
vanish where the two laws barely overlap, TV's does).

What is computed. The target's law is cached as its top-k set ``S`` (probabilities
``q_S``) and the tail mass ``T = 1 - q(S)``. The draft's law ``p`` (zero outside its head
tokens) is known in full. Both laws are pushed forward by the map that keeps each token
of ``S`` and sends every other token to one atom "other"; on those coarse laws

    TV_c = 1/2 * ( sum_{i in S} |p_i - q_i| + |p(not S) - T| )
    KL_c = sum_{i in S} q_i log(q_i / p_i) + T log(T / p(not S)).

By data processing both are lower bounds of the full-vocabulary values, and for TV
``TV_c <= TV <= TV_c + min(p(not S), T)`` (the triangle inequality on the tokens outside
``S``), so the bound is tight up to the target's tail mass. Held-out TV in the training
record is also measured exactly, on full laws (:func:`tv_full`).
"""

from __future__ import annotations

import torch

__all__ = ["coarse_kl", "coarse_tv", "draft_law_on", "greedy_agreement", "tv_full"]

#: Floor of a probability inside a logarithm (a head without the token gives p = 0).
LOG_FLOOR = 1e-9


def draft_law_on(
    log_p_head: torch.Tensor, head_position: torch.Tensor, top_ids: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """The draft's probabilities on the target's top-k tokens and on "other".

    ``log_p_head`` (n, K): the draft's log-law over its head tokens; ``head_position``
    (V,): the column of each vocabulary token in the head, -1 when outside it;
    ``top_ids`` (n, k). Returns ``(p_S (n, k), p_other (n,))``.
    """
    cols = head_position[top_ids]  # (n, k): -1 where the head lacks the token
    inside = cols >= 0  # (n, k)
    p_s = torch.gather(log_p_head, 1, cols.clamp(min=0)).exp() * inside  # (n, k)
    p_other = (1.0 - p_s.sum(dim=1)).clamp(min=0.0)  # (n,)
    return p_s, p_other


def coarse_tv(
    p_s: torch.Tensor, p_other: torch.Tensor, q_s: torch.Tensor, tail: torch.Tensor
) -> torch.Tensor:
    """``TV_c`` per position (n,): see the module docstring (a lower bound of TV)."""
    return 0.5 * ((p_s - q_s).abs().sum(dim=1) + (p_other - tail).abs())  # (n,)


def coarse_kl(
    p_s: torch.Tensor, p_other: torch.Tensor, q_s: torch.Tensor, tail: torch.Tensor
) -> torch.Tensor:
    """``KL_c(q || p)`` per position (n,), with ``p`` floored at :data:`LOG_FLOOR`."""
    log_ratio = torch.log(q_s.clamp(min=LOG_FLOOR)) - torch.log(p_s.clamp(min=LOG_FLOOR))  # (n, k)
    inside = (q_s * log_ratio).sum(dim=1)  # (n,)
    outside = tail * (
        torch.log(tail.clamp(min=LOG_FLOOR)) - torch.log(p_other.clamp(min=LOG_FLOOR))
    )  # (n,)
    return inside + outside


def tv_full(p: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
    """Exact ``TV(p, q) = 1/2 sum_x |p(x) - q(x)|`` per row: (n, V), (n, V) -> (n,)."""
    return 0.5 * (p - q).abs().sum(dim=-1)


def greedy_agreement(draft_argmax: torch.Tensor, target_argmax: torch.Tensor) -> float:
    """Share of positions where the draft's most likely token is the target's."""
    return float((draft_argmax == target_argmax).float().mean())
