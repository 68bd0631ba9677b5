"""The laws of one verification round, written from the paper in plain loops (tests only).

Nothing here calls :mod:`specbound`: every acceptance probability and resampling law is
the formula of Yin et al. (NeurIPS 2024), token by token, with p = draft, q = target:

* SD (Algorithm 1): ``b(x) = min(1, q(x)/p(x))`` (0 where p(x) = 0); after a rejection
  the residual ``P*(y) = max(q(y) - p(y), 0) / sum_z max(q(z) - p(z), 0)``;
* Decoding-OPT (Section 4, Theorem 4): ``b(x) = min(1, (q(x) + eps)/p(x))``; after a
  rejection ``max(q - p b, 0)`` normalised;
* Decoding-UNO: the same ``b``; after a rejection the target ``q`` itself;
* batch SD's round start (Algorithm 4): candidates c_1..c_M tried in turn, ``r_1 = q``,
  c_m accepted with ``min(1, r_m(c_m)/p(c_m))``, ``r_{m+1} = max(r_m - p, 0)`` normalised;
  after M refusals the token comes from ``r_{M+1}``.

Each law carries two *mutant* knobs — the bugs the statistical tests are sized to see:
``accept_scale`` multiplies every acceptance probability (0.98: a 2% smaller acceptance)
and ``residual_draft_scale`` builds the residual from ``scale * p`` instead of ``p``
(0.9: the "residual from 0.9 x the draft" bug). An empty residual falls back to ``q``.
"""

from __future__ import annotations

import itertools

import numpy as np

__all__ = [
    "Kind",
    "accept_formula",
    "batch_round_law",
    "chain_law",
    "kind_of",
    "output_formula",
    "resample_formula",
    "round_law",
]

#: ``("sd", 0.0)``, ``("opt", eps)`` or ``("uno", eps)``.
Kind = tuple[str, float]


def _normalised(excess: np.ndarray, fallback: np.ndarray) -> np.ndarray:
    positive = np.array([max(float(v), 0.0) for v in excess])
    total = float(positive.sum())
    return fallback.copy() if total <= 1e-12 else positive / total


def accept_formula(p: np.ndarray, q: np.ndarray, kind: Kind, scale: float = 1.0) -> np.ndarray:
    """``b(x)`` token by token: SD ``min(1, q/p)``, OPT/UNO ``min(1, (q + eps)/p)``."""
    name, eps = kind
    lift = 0.0 if name == "sd" else eps
    out = np.zeros(len(p))
    for x in range(len(p)):
        if p[x] > 0:
            out[x] = scale * min(1.0, (q[x] + lift) / p[x])
    return out


def resample_formula(
    p: np.ndarray, q: np.ndarray, kind: Kind, b: np.ndarray, draft_scale: float = 1.0
) -> np.ndarray:
    """The law after a rejection: SD ``[q - p]_+``, OPT ``[q - p b]_+`` (normalised), UNO q.

    ``draft_scale`` (a mutant): SD and OPT subtract ``draft_scale * p``; UNO then samples
    OPT's law instead of q (a rule that mixes the two up).
    """
    name, _ = kind
    if name == "sd":
        return _normalised(q - draft_scale * p, q)
    if name == "opt" or draft_scale != 1.0:
        return _normalised(q - draft_scale * p * b, q)
    return q.copy()


def output_formula(p: np.ndarray, q: np.ndarray, kind: Kind) -> np.ndarray:
    """The law of the token one step outputs, ``sum_x p(x) [b(x) 1_x + (1 - b(x)) P]``,
    for (V,) or row by row for (..., V) laws."""
    if p.ndim > 1:
        flat = [
            output_formula(a, c, kind)
            for a, c in zip(p.reshape(-1, p.shape[-1]), q.reshape(-1, q.shape[-1]), strict=True)
        ]
        return np.reshape(flat, p.shape)
    b = accept_formula(p, q, kind)
    res = resample_formula(p, q, kind, b)
    out = np.zeros(len(p))
    for x in range(len(p)):
        out[x] += p[x] * b[x]
        out += p[x] * (1.0 - b[x]) * res
    return out


def kind_of(algorithm: object) -> Kind | None:
    """The rule a library algorithm spec names (``sd``/``batch``: SD's step; ``overaccept``:
    its resample and eps), or None for anything else (test-defined rules, block)."""
    name = getattr(algorithm, "name", "")
    if name in ("sd", "batch"):
        return ("sd", 0.0)
    if name == "overaccept":
        return (str(algorithm.resample), float(algorithm.eps))  # type: ignore[attr-defined]
    return None


def round_law(
    p: np.ndarray,
    q: np.ndarray,
    x: np.ndarray,
    kind: Kind,
    accept_scale: float = 1.0,
    residual_draft_scale: float = 1.0,
) -> np.ndarray:
    """P(accepted = a, next token = y) of one round with drafted tokens ``x`` fixed.

    ``p`` (k, V), ``q`` (k or k+1, V): the laws at the drafted positions (and the bonus
    position when q has k+1 rows). Returns a (k+1, V+1) table; column V: no next token
    (all k accepted and no bonus position). The drafted tokens are accepted one at a time
    with independent uniforms; the first refusal ends the round with a resampled token.
    """
    k, V = len(x), p.shape[-1]
    law = np.zeros((k + 1, V + 1))
    reach = 1.0
    for i in range(k):
        b = accept_formula(p[i], q[i], kind, accept_scale)
        law[i, :V] += (
            reach * (1.0 - b[x[i]]) * resample_formula(p[i], q[i], kind, b, residual_draft_scale)
        )
        reach *= b[x[i]]
    if len(q) > k:
        law[k, :V] += reach * q[k]
    else:
        law[k, V] += reach
    return law


def batch_round_law(
    p: np.ndarray,
    q: np.ndarray,
    x: np.ndarray,
    accept_scale: float = 1.0,
    residual_draft_scale: float = 1.0,
) -> np.ndarray:
    """P(row = m, accepted = a, next = y) of a batch SD round with the drafts ``x`` fixed.

    ``p`` (M, k, V), ``q`` (M, k or k+1, V), ``x`` (M, k); row 0 of position 0 is the
    round start's law. Returns (M, k+1, V+1): all M refused is row 0, accepted 0 (Algorithm
    4); after candidate m wins, row m continues with SD from its second token.
    """
    M, k = x.shape
    V = p.shape[-1]
    law = np.zeros((M, k + 1, V + 1))
    p0, r = p[0, 0], q[0, 0].copy()
    reach = 1.0
    for m in range(M):
        c = x[m, 0]
        b = accept_scale * min(1.0, r[c] / p0[c]) if p0[c] > 0 else 0.0
        rest = round_law(p[m, 1:], q[m, 1:], x[m, 1:], ("sd", 0.0), accept_scale)
        law[m, 1:] += reach * b * rest
        reach *= 1.0 - b
        r = _normalised(r - residual_draft_scale * p0, r)
    law[0, 0, :V] += reach * r
    return law


def chain_law(
    P: np.ndarray,
    Q: np.ndarray,
    start: int,
    kind: Kind,
    num_drafts: int = 1,
    accept_scale: float = 1.0,
    residual_draft_scale: float = 1.0,
    gamma: int | None = None,
) -> np.ndarray:
    """P(rejections = j, x_1 = a, x_2 = b) of a chain decoder over T = 2, gamma None or 1
    (``gamma=1``: after an accepted x_1 the target draws x_2 as the bonus token).

    ``P``/``Q`` (2, S, S): draft and target transitions. A round drafts to the horizon;
    each drafted token is drawn from the draft row at the previous token (so the drafted
    tokens are summed over here). With ``num_drafts > 1`` the first position of a round is
    batch SD's round start over that many i.i.d. candidates. Returns (3, S, S).
    """
    S = P.shape[-1]
    law = np.zeros((3, S, S))

    def start_split(n: int, s: int) -> tuple[np.ndarray, np.ndarray]:
        """(accepted mass per token, rejected mass per token) at a round start."""
        p, q = P[n, s], Q[n, s]
        accepted, rejected = np.zeros(S), np.zeros(S)
        if num_drafts == 1:
            b = accept_formula(p, q, kind, accept_scale)
            res = resample_formula(p, q, kind, b, residual_draft_scale)
            for y in range(S):
                accepted[y] += p[y] * b[y]
                rejected += p[y] * (1.0 - b[y]) * res
            return accepted, rejected
        for cands in itertools.product(range(S), repeat=num_drafts):
            weight = float(np.prod([p[c] for c in cands]))
            if weight == 0.0:
                continue
            r, reach = q.copy(), 1.0
            for c in cands:
                b = accept_scale * min(1.0, r[c] / p[c])
                accepted[c] += weight * reach * b
                reach *= 1.0 - b
                r = _normalised(r - residual_draft_scale * p, r)
            rejected += weight * reach * r
        return accepted, rejected

    acc0, rej0 = start_split(0, start)
    for a in range(S):
        # accepted x_1 = a: position 2 is drafted in the same round with SD's rule
        p, q = P[1, a], Q[1, a]
        if gamma == 1:
            law[0, a] += acc0[a] * q
            acc1, rej1 = start_split(1, a)
            law[1, a] += rej0[a] * acc1
            law[2, a] += rej0[a] * rej1
            continue
        b = accept_formula(p, q, kind, accept_scale)
        res = resample_formula(p, q, kind, b, residual_draft_scale)
        for y in range(S):
            law[0, a, y] += acc0[a] * p[y] * b[y]
            law[1, a] += acc0[a] * p[y] * (1.0 - b[y]) * res
        # refused at position 1: x_1 = a resampled, a new round starts at position 2
        acc1, rej1 = start_split(1, a)
        law[1, a] += rej0[a] * acc1
        law[2, a] += rej0[a] * rej1
    return law
