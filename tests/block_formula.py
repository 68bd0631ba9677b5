"""Block verification's law of one round, written from the paper in plain loops (tests only).

Sun et al. 2024 (p = draft, q = target, a drafted block x_1..x_k): ``w_0 = 1``,
``w_i = min(w_{i-1} q_i(x_i)/p_i(x_i), 1)``; for i < k ``Z_{i+1} = sum_y [w_i q_{i+1}(y) -
p_{i+1}(y)]_+`` and ``h_i = Z_{i+1}/(Z_{i+1} + 1 - w_i)`` (1 where w_i = 1); ``h_k = w_k``;
``P(tau = t) = h_t prod_{i > t}(1 - h_i)``; after tau = t < k the next token follows
``[w_t q_{t+1} - p_{t+1}]_+`` normalised, after tau = k the bonus q_{k+1} (if scored).
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["formula_law"]


def formula_law(
    p: np.ndarray, q: np.ndarray, x: np.ndarray, scale: float = 1.0, first_failure: bool = False
) -> np.ndarray:
    """P(tau = t, next = y) as a (k+1, V+1) table (y = V: no next token).

    ``p`` (k, V) and ``q`` (k or k+1, V): the laws at the block's positions; ``x`` (k,)
    the drafted tokens. ``scale`` multiplies every stop probability (a mutant);
    ``first_failure``: tau is the position before the first failed eta (a mutant).
    """
    k = len(x)
    V = p.shape[-1]
    w = [1.0]
    for i in range(k):
        ratio = q[i][x[i]] / p[i][x[i]] if p[i][x[i]] > 0 else 0.0
        w.append(min(w[-1] * ratio, 1.0))
    h = []
    for i in range(1, k):
        z = sum(max(w[i] * q[i][y] - p[i][y], 0.0) for y in range(V))
        h.append(1.0 if w[i] == 1.0 else z / (z + 1.0 - w[i]))
    h.append(w[k])
    h = [min(scale * v, 1.0) for v in h]
    law = np.zeros((k + 1, V + 1))
    for t in range(k + 1):
        if first_failure:  # the negative control: keep while every eta passes
            prob = math.prod(h[:t]) * ((1.0 - h[t]) if t < k else 1.0)
        else:
            prob = (1.0 if t == 0 else h[t - 1]) * math.prod(1.0 - h[i] for i in range(t, k))
        if prob == 0.0:
            continue
        if t < k:
            residual = np.array([max(w[t] * q[t][y] - p[t][y], 0.0) for y in range(V)])
            law[t, :V] = prob * residual / residual.sum()
        elif len(q) > k:
            law[t, :V] = prob * q[k]
        else:
            law[t, V] = prob
    return law
