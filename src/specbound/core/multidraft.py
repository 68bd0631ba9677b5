"""The best any lossless verifier of M drafts can do at a round start (beyond the paper).

At a batch round start M draft tokens ``X_1..X_M`` are proposed (i.i.d. from the draft
law p, or without replacement) and the verifier outputs ``Y`` with ``Y ~ q`` exactly
(p = draft, q = target). It *accepts* when it follows a draft, i.e. ``Y`` is one of the
``X_j``. The largest acceptance probability over all such couplings is a max flow from
draft sets to tokens (SpecTr, Sun et al., arXiv 2310.15141; Khisti et al., arXiv
2410.18234); by max-flow/min-cut it is

    alpha*(M) = 1 - max_H [ P(all M drafts in H) - q(H) ]      over token sets H,

(H empty gives 0; M = 1 gives ``1 - TV(p, q)``). The paper's recursive rejection
(Algorithm 4) reaches ``1 - prod_m TV(p, r_m)``, below it in general.

**Prefixes suffice for i.i.d. drafts.** ``P(all in H) = g(p(H))`` with ``g(x) = x^M``
convex, so ``g(a) = sup_l [l a - g*(l)]`` and

    max_H [g(p(H)) - q(H)] = sup_l [ max_H sum_{x in H} (l p(x) - q(x)) - g*(l) ].

For fixed ``l`` the inner maximum is attained by ``H_l = {x : q(x)/p(x) < l}``, a prefix
of the tokens sorted by ``q/p`` ascending; each term of the sup is at most the value of
that prefix (``g(p(H_l)) >= l p(H_l) - g*(l)``), so the maximum over all H equals the
maximum over the V + 1 prefixes: ``O(V log V)``. (Ties in ``q/p`` break either way.)
Drafts without replacement (Hu et al., arXiv 2502.18779) change ``P(all in H)``; there
the maximum is found by enumerating every H (small vocabularies only).

**Which optimal coupling.** The optimum fixes only the acceptance probability; what
happens after the round start depends on ``a(y) = P(accept, Y = y)``. specbound's
optimal verifier (``BatchSpeculative(verifier="optimal")``) uses the *greedy* accepted law
in descending ``q/p`` order: the accepted laws a coupling can realise are the vectors
with ``a <= q`` and ``a(H) <= f(H) = P(some draft in H) = 1 - (1 - p(H))^M`` (Hall's
condition), a polymatroid with rank ``f'(H) = min_{K <= H} [f(K) + q(H - K)]``; its greedy
base in the order ``y_1, y_2, ...`` (``q/p`` descending) is
``a(y_k) = f'(P_k) - f'(P_{k-1})`` with ``P_k = {y_1..y_k}``, and since ``f`` is concave
in ``p(H)`` the same conjugate argument gives ``f'(P_k) = q(P_k) + min_{j <= k} [f(P_j) -
q(P_j)]``. Its total is ``alpha*(M)``. The exact chain theory uses this ``a``; the
sampler builds a coupling of the draft *sets* with exactly this accepted law (a linear
program) and draws a rejected token from ``(q - a) / (1 - alpha*)``.
"""

from __future__ import annotations

import functools
import itertools
import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from specbound.core.rules import SplitLaw
from specbound.core.sampling import sample_categorical, uniforms
from specbound.core.validation import checked_pair
from specbound.errors import InvalidAlgorithmError
from specbound.validate import check_int

__all__ = [
    "MAX_COUPLING_SETS",
    "MAX_ENUMERATED_VOCABULARY",
    "MultiDraftCoupling",
    "OptimalMultiDraftRule",
    "build_coupling",
    "check_coupling_size",
    "draft_set_law",
    "iid_optimal_acceptance",
    "optimal_accepted_law",
    "optimal_multidraft_acceptance",
]

Array = NDArray[np.float64]

#: The sampler's coupling lists every possible set of draft tokens; above this many sets
#: it is refused (the exact theory, which needs only the accepted law, has no limit).
MAX_COUPLING_SETS = 100_000
#: Drafts without replacement are handled by enumerating every token set H.
MAX_ENUMERATED_VOCABULARY = 16


def _ratio_order(draft: Array, target: Array) -> NDArray[np.int64]:
    """Token indices sorted by ``q/p`` ascending (``p = 0``: ratio +inf, last): (..., V)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(draft > 0, target / np.where(draft > 0, draft, 1.0), np.inf)
    return np.argsort(ratio, axis=-1, kind="stable")


def iid_optimal_acceptance(draft: Array, target: Array, num_drafts: int) -> Array:
    """``alpha*(M) = 1 - max over ratio prefixes H of [p(H)^M - q(H)]`` (unchecked): (...,)."""
    order = _ratio_order(draft, target)  # (..., V)
    p_prefix = np.cumsum(np.take_along_axis(draft, order, axis=-1), axis=-1)  # (..., V)
    q_prefix = np.cumsum(np.take_along_axis(target, order, axis=-1), axis=-1)  # (..., V)
    gap = np.clip(p_prefix, 0.0, 1.0) ** num_drafts - q_prefix  # (..., V)
    best = np.maximum(gap.max(axis=-1), 0.0)  # H empty gives 0
    return 1.0 - best


def optimal_accepted_law(draft: Array, target: Array, num_drafts: int) -> Array:
    """The greedy optimal accepted law ``a(y) = P(accept, Y = y)`` (module docstring):
    (..., V) -> (..., V), summing to ``alpha*(M)`` (unchecked)."""
    order = _ratio_order(draft, target)[..., ::-1]  # (..., V) q/p descending
    p_sorted = np.take_along_axis(draft, order, axis=-1)
    q_sorted = np.take_along_axis(target, order, axis=-1)
    p_prefix = np.clip(np.cumsum(p_sorted, axis=-1), 0.0, 1.0)  # p(P_k), k = 1..V
    q_prefix = np.cumsum(q_sorted, axis=-1)  # q(P_k)
    slack = 1.0 - (1.0 - p_prefix) ** num_drafts - q_prefix  # f(P_k) - q(P_k)
    zeros = np.zeros((*slack.shape[:-1], 1))
    running_min = np.minimum.accumulate(np.concatenate([zeros, slack], axis=-1), axis=-1)
    rank = q_prefix + running_min[..., 1:]  # f'(P_k): (..., V)
    increments = np.diff(np.concatenate([zeros, rank], axis=-1), axis=-1)  # a(y_k)
    accepted = np.empty_like(increments)
    np.put_along_axis(accepted, order, np.clip(increments, 0.0, None), axis=-1)
    return np.minimum(accepted, target)  # (..., V); NOTE: clips rounding residue only


def draft_set_law(
    draft: Array, num_drafts: int, *, replacement: bool = True
) -> tuple[NDArray[np.int64], Array]:
    """The law of the *set* of M draft tokens: (bit masks (n,), probabilities (n,)).

    ``draft`` is one law (V,). With replacement the M tokens are i.i.d.; without, each
    is drawn from ``draft`` restricted to the tokens not drawn yet (drawing stops when
    no mass is left). Enumerates every ordered draw: small vocabularies only.
    """
    support = [int(x) for x in np.flatnonzero(draft > 0)]
    law: dict[int, float] = {}
    if replacement:
        # P(S = A) = sum_{B <= A} (-1)^{|A| - |B|} p(B)^M (Moebius inversion of p(A)^M)
        for size in range(1, min(num_drafts, len(support)) + 1):
            for members in itertools.combinations(support, size):
                total = 0.0
                for inner in range(size + 1):
                    for sub in itertools.combinations(members, inner):
                        total += (-1) ** (size - inner) * float(
                            draft[list(sub)].sum()
                        ) ** num_drafts
                law[sum(1 << t for t in members)] = max(total, 0.0)
    else:
        size = min(num_drafts, len(support))
        for draw in itertools.permutations(support, size):
            prob, left = 1.0, 1.0
            for token in draw:
                prob *= draft[token] / left
                left -= draft[token]
            mask = sum(1 << token for token in draw)
            law[mask] = law.get(mask, 0.0) + prob
    masks = np.array(sorted(law), dtype=np.int64)
    return masks, np.array([law[int(m)] for m in masks])


def _subset_sums(masks: NDArray[np.int64], probs: Array, vocab: int) -> Array:
    """``P(S subset of H)`` for every mask H (the zeta transform): (2^V,)."""
    table = np.zeros(1 << vocab)
    np.add.at(table, masks, probs)
    for bit in range(vocab):
        step = 1 << bit
        view = table.reshape(-1, 2 * step)
        view[:, step:] += view[:, :step]
    return table


def _without_replacement_acceptance(draft: Array, target: Array, num_drafts: int) -> float:
    vocab = draft.shape[-1]
    if vocab > MAX_ENUMERATED_VOCABULARY:
        raise InvalidAlgorithmError(
            f"the optimum for drafts without replacement enumerates all 2^V token sets; "
            f"V = {vocab} exceeds {MAX_ENUMERATED_VOCABULARY}"
        )
    masks, probs = draft_set_law(draft, num_drafts, replacement=False)
    contained = _subset_sums(masks, probs, vocab)  # (2^V,)
    bits = (np.arange(1 << vocab)[:, None] >> np.arange(vocab)) & 1  # (2^V, V)
    q_of = bits @ target  # (2^V,) q(H)
    return float(1.0 - max(0.0, float((contained - q_of).max())))


def optimal_multidraft_acceptance(
    draft_probs: ArrayLike, target_probs: ArrayLike, num_drafts: int, replacement: bool = True
) -> Array:
    """The largest round-start acceptance of any lossless verifier of M drafts.

    ``alpha*(M) = 1 - max_H [P(all M drafts in H) - q(H)]`` (module docstring):
    i.i.d. drafts (``replacement=True``) by the ratio-prefix closed form, batched over
    leading axes; drafts without replacement by enumerating every token set (one law at
    a time, V <= :data:`MAX_ENUMERATED_VOCABULARY`). M = 1 gives ``1 - TV(p, q)``.
    """
    draft, target = checked_pair(draft_probs, target_probs)
    num_drafts = check_int(num_drafts, "num_drafts", low=1, error=InvalidAlgorithmError)
    if replacement:
        return iid_optimal_acceptance(draft, target, num_drafts)
    flat_d = draft.reshape(-1, draft.shape[-1])
    flat_t = target.reshape(-1, target.shape[-1])
    values = [
        _without_replacement_acceptance(d, t, num_drafts)
        for d, t in zip(flat_d, flat_t, strict=True)
    ]
    return np.asarray(values).reshape(draft.shape[:-1])


@dataclass(frozen=True)
class MultiDraftCoupling:
    """A coupling of the draft sets of one (p, q) with ``Y ~ q``, accepting optimally.

    ``masks`` (n,) the possible draft sets (bit masks, sorted); ``accept`` (n, V): given the
    set, the probability of accepting each of its tokens (the rest of the row is the
    probability of a rejection); ``rejected`` (V,): the law of ``Y`` after a rejection.
    """

    masks: NDArray[np.int64]
    accept: Array
    rejected: Array
    accepted_law: Array


def _set_count(support: int, num_drafts: int) -> int:
    return sum(math.comb(support, m) for m in range(1, min(num_drafts, support) + 1))


def check_coupling_size(support: int, num_drafts: int, vocab: int | None = None) -> None:
    """Refuse (a named error) a sampler coupling over more than :data:`MAX_COUPLING_SETS`
    draft sets, before anything is computed."""
    count = _set_count(support, num_drafts)
    vocab = support if vocab is None else vocab
    if count > MAX_COUPLING_SETS or vocab > 62:
        raise InvalidAlgorithmError(
            f"the optimal verifier's sampler couples every set of draft tokens: "
            f"{count} sets for a draft support of {support} tokens (V = {vocab}) and "
            f"M = {num_drafts}, more than {MAX_COUPLING_SETS} (or V > 62); use "
            "verifier='recursive', or the exact chain theory (which needs no coupling)"
        )


def build_coupling(draft: Array, target: Array, num_drafts: int) -> MultiDraftCoupling:
    """The linear program behind the optimal sampler for one (p, q) row."""
    from scipy.optimize import linprog
    from scipy.sparse import coo_matrix

    vocab = draft.shape[-1]
    support = int(np.count_nonzero(draft > 0))
    check_coupling_size(support, num_drafts, vocab)
    goal = optimal_accepted_law(draft, target, num_drafts)  # (V,)
    masks, probs = draft_set_law(draft, num_drafts)
    pairs = [(i, y) for i, m in enumerate(masks) for y in range(vocab) if (int(m) >> y) & 1]
    rows_set = np.array([i for i, _ in pairs])
    cols_token = np.array([y for _, y in pairs])
    n = len(pairs)
    upper = coo_matrix(
        (
            np.ones(2 * n),
            (
                np.concatenate([rows_set, masks.size + cols_token]),
                np.concatenate([np.arange(n), np.arange(n)]),
            ),
        ),
        shape=(masks.size + vocab, n),
    ).tocsr()
    bounds_b = np.concatenate([probs, goal])
    solution = linprog(
        -np.ones(n),
        A_ub=upper,
        b_ub=bounds_b,
        bounds=(0, None),
        method="highs-ds",
        options={"presolve": False},
    )
    if solution.status != 0 or abs(-solution.fun - goal.sum()) > 1e-8:
        raise RuntimeError(  # a bug: the greedy law is realisable by construction
            f"optimal coupling LP: status {solution.status}, flow {-solution.fun} vs {goal.sum()}"
        )
    flow = np.clip(solution.x, 0.0, None)  # (n,)
    accept = np.zeros((masks.size, vocab))
    np.add.at(accept, (rows_set, cols_token), flow)
    realised = accept.sum(axis=0)  # (V,) the accepted law the sampler realises
    accept = accept / np.where(probs > 0, probs, 1.0)[:, None]
    scale = np.maximum(accept.sum(axis=1, keepdims=True), 1.0)  # rounding: rows <= 1
    accept = accept / scale
    leftover = np.clip(target - realised, 0.0, None)
    rejected = leftover / leftover.sum() if leftover.sum() > 0 else target
    return MultiDraftCoupling(masks, accept, rejected, realised)


@functools.lru_cache(maxsize=4096)
def _cached_coupling(
    draft_bytes: bytes, target_bytes: bytes, num_drafts: int
) -> MultiDraftCoupling:
    draft = np.frombuffer(draft_bytes, dtype=np.float64)
    target = np.frombuffer(target_bytes, dtype=np.float64)
    return build_coupling(draft, target, num_drafts)


@dataclass(frozen=True)
class OptimalMultiDraftRule:
    """The optimal verifier of M i.i.d. drafts at a batch round start (module docstring)."""

    num_drafts: int

    def __post_init__(self) -> None:
        check_int(self.num_drafts, "num_drafts", low=1, error=InvalidAlgorithmError)

    def accepted_law(self, draft: Array, target: Array) -> Array:
        """``a(y) = P(accept, Y = y)``: (..., V)."""
        return optimal_accepted_law(draft, target, self.num_drafts)

    def all_rejected_probability(self, draft: Array, target: Array) -> Array:
        """``1 - alpha*(M)``: the chance the round start is a rejection. (...,)"""
        return 1.0 - iid_optimal_acceptance(draft, target, self.num_drafts)

    def split(self, draft: Array, target: Array) -> SplitLaw:
        """Accepted part ``a``, rejected part ``q - a`` (the output law is exactly q)."""
        accepted = self.accepted_law(draft, target)  # (..., V)
        rejected = np.clip(target - accepted, 0.0, None)  # (..., V)
        return SplitLaw(np.clip(1.0 - accepted.sum(axis=-1), 0.0, 1.0), accepted, rejected)

    def output_distribution(self, draft: Array, target: Array) -> Array:
        """The law of the round start's token: exactly the target."""
        return self.split(draft, target).output

    def coupling(self, draft: Array, target: Array) -> MultiDraftCoupling:
        """The sampler's coupling for one (p, q) row, built once and cached."""
        draft = np.ascontiguousarray(draft, dtype=np.float64)
        target = np.ascontiguousarray(target, dtype=np.float64)
        return _cached_coupling(draft.tobytes(), target.tobytes(), self.num_drafts)

    def _sample(
        self, coupling: MultiDraftCoupling, candidates: NDArray[np.int64], rng: np.random.Generator
    ) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
        bits = np.left_shift(np.int64(1), candidates)  # (..., M)
        masks = np.bitwise_or.reduce(bits, axis=-1)  # (...,)
        rows = np.searchsorted(coupling.masks, masks)  # (...,)
        cdf = np.cumsum(coupling.accept[rows], axis=-1)  # (..., V)
        u = uniforms(rng, masks.shape)  # (...,)
        accepted = u < cdf[..., -1]
        chosen = np.minimum((cdf <= u[..., None]).sum(axis=-1), cdf.shape[-1] - 1)
        recovered = sample_categorical(np.broadcast_to(coupling.rejected, cdf.shape), rng)
        token = np.where(accepted, chosen, recovered)
        hits = candidates == token[..., None]  # (..., M)
        winner = np.where(accepted, np.argmax(hits, axis=-1), -1)
        return winner.astype(np.int64), token.astype(np.int64)

    def verify(
        self, draft: Array, target: Array, candidates: NDArray[np.int64], rng: np.random.Generator
    ) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
        """``candidates`` (..., M) drafted i.i.d. from ``draft`` (V,): (winner, token).

        ``winner`` is the first candidate equal to the accepted token (-1: a rejection).
        """
        return self._sample(self.coupling(draft, target), candidates, rng)

    def verify_rows(
        self,
        draft_table: Array,
        target_table: Array,
        rows: NDArray[np.int64],
        candidates: NDArray[np.int64],
        rng: np.random.Generator,
    ) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
        """``verify`` for entries whose laws are ``draft_table[rows]`` (tables (K, V))."""
        winner = np.empty(rows.shape, dtype=np.int64)
        token = np.empty(rows.shape, dtype=np.int64)
        for row in np.unique(rows):
            at = np.flatnonzero(rows == row)
            coupling = self.coupling(draft_table[row], target_table[row])
            winner[at], token[at] = self._sample(coupling, candidates[at], rng)
        return winner, token
