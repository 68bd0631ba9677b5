"""Brute-force enumeration of every algorithm's randomness on a tiny chain (test reference).

Walks the decoder's probability tree branch by branch: every drafted token (every tuple of
M candidates at a batch round start), every accept/reject outcome, every recovered and
bonus token, with the counting rules of docs/chains.md. It shares no code with the
library's recursions; SD's, Decoding-OPT's and -UNO's ``b`` and resampling laws are the
formulas of ``round_laws`` (written in the test, not taken from the rule under test); only a
test-defined Algorithm-2 member (``chain_cases.ShrunkSDRule``) supplies its own
``accept_probs``/``resample_probs``. Batch SD's recursive rejection is written out from
the paper (r_1 = q, accept with min(1, r_m/p), r_{m+1} = [r_m - p]_+ normalised), and
block verification from Sun et al. (``block_formula``: every drafted block, every tau).

Drafted tokens are drawn when verification reaches them; the discarded tail of a block
never influences the outputs or the counts, so this is the same tree, pruned.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from block_formula import formula_law
from round_laws import accept_formula, kind_of, resample_formula


@dataclass
class Enumerated:
    """Exact expectations and laws collected from the tree."""

    T: int
    S: int
    rejections: float = 0.0
    target_calls: float = 0.0
    draft_calls: float = 0.0
    total: float = 0.0
    law: dict[tuple[int, ...], float] = field(default_factory=lambda: defaultdict(float))
    # (n, decoder state label, previous token s, output token x) -> probability
    joint: dict[tuple[int, str, int, int], float] = field(
        default_factory=lambda: defaultdict(float)
    )

    def law_array(self) -> np.ndarray:
        out = np.zeros((self.S,) * self.T)
        for seq, prob in self.law.items():
            out[seq] += prob
        return out

    def bias_per_position(self, target: np.ndarray) -> np.ndarray:
        """sum over (state, s) of P(state, s) * TV(law of x | state, s, target[n, s])."""
        groups: dict[tuple[int, str, int], np.ndarray] = defaultdict(lambda: np.zeros(self.S))
        for (n, label, s, x), prob in self.joint.items():
            groups[(n, label, s)][x] += prob
        bias = np.zeros(self.T)
        for (n, _, s), row in groups.items():
            mass = row.sum()
            if mass > 0:
                bias[n] += mass * 0.5 * np.abs(row / mass - target[n, s]).sum()
        return bias


def enumerate_algorithm(draft: Any, target: Any, algorithm: Any) -> Enumerated:
    """Enumerate ``algorithm`` on the (draft, target) MarkovChain pair."""
    P, Q = draft.transitions, target.transitions
    T, S = P.shape[0], P.shape[1]
    rule = getattr(algorithm, "step_rule", None)  # block verification has none
    start_rule = algorithm.round_start_rule
    gamma = algorithm.gamma
    kind = kind_of(algorithm)
    out = Enumerated(T, S)

    def leaf(prob: float, rej: int, calls: int, dcalls: int, seq: tuple[int, ...]) -> None:
        out.total += prob
        out.rejections += prob * rej
        out.target_calls += prob * calls
        out.draft_calls += prob * dcalls
        out.law[seq] += prob

    def new_round(n: int, s: int, prob: float, rej: int, calls: int, dcalls: int, seq) -> None:
        if n == T:
            leaf(prob, rej, calls, dcalls, seq)
            return
        if algorithm.name == "ar":  # autoregressive: one call per token
            for x in range(S):
                pr = prob * Q[n, s, x]
                if pr > 0:
                    out.joint[(n, "ar", s, x)] += pr
                    new_round(n + 1, x, pr, rej, calls + 1, dcalls, (*seq, x))
            return
        length = T - n if gamma is None else min(gamma, T - n)
        calls, dcalls = calls + 1, dcalls + length
        if algorithm.name == "block":
            block_round(n, s, length, prob, rej, calls, dcalls, seq)
        elif start_rule is None:
            drafted(n, s, 0, prob, rej, calls, dcalls, seq)
        else:
            batch_start(n, s, prob, rej, calls, dcalls, seq)

    def drafted(n: int, s: int, j: int, prob: float, rej: int, calls: int, dcalls: int, seq):
        """Position n holds the (j+1)-th token of the round; previous output s."""
        if n == T:
            leaf(prob, rej, calls, dcalls, seq)
            return
        if gamma is not None and j == gamma:  # bonus token from the target, same call
            for x in range(S):
                pr = prob * Q[n, s, x]
                if pr > 0:
                    out.joint[(n, "bonus", s, x)] += pr
                    new_round(n + 1, x, pr, rej, calls, dcalls, (*seq, x))
            return
        p, q = P[n, s], Q[n, s]
        if kind is None:  # a test-defined rule: its definition is the rule itself
            b = rule.accept_probs(p, q)
            resample = rule.resample_probs(p, q, b)
        else:
            b = accept_formula(p, q, kind)
            resample = resample_formula(p, q, kind, b)
        label = f"draft{j}"
        for y in range(S):
            if p[y] == 0:
                continue
            if b[y] > 0:
                pa = prob * p[y] * b[y]
                out.joint[(n, label, s, y)] += pa
                drafted(n + 1, y, j + 1, pa, rej, calls, dcalls, (*seq, y))
            if b[y] < 1:
                for x in range(S):
                    pr = prob * p[y] * (1.0 - b[y]) * resample[x]
                    if pr > 0:
                        out.joint[(n, label, s, x)] += pr
                        new_round(n + 1, x, pr, rej + 1, calls, dcalls, (*seq, x))

    def batch_start(n: int, s: int, prob: float, rej: int, calls: int, dcalls: int, seq):
        p, q = P[n, s], Q[n, s]
        M = start_rule.num_drafts
        for cands in itertools.product(range(S), repeat=M):
            pc = prob * float(np.prod([p[c] for c in cands]))
            if pc == 0:
                continue
            r = q.copy()
            reach = 1.0
            for c in cands:
                a = min(1.0, r[c] / p[c])
                if a > 0:
                    pa = pc * reach * a
                    out.joint[(n, "start", s, c)] += pa
                    drafted(n + 1, c, 1, pa, rej, calls, dcalls, (*seq, c))
                reach *= 1.0 - a
                if reach == 0:
                    break
                excess = np.clip(r - p, 0.0, None)
                r = excess / excess.sum()
            if reach == 0:
                continue
            for x in range(S):  # all M refused: recovered from r_{M+1}, one rejection
                pr = pc * reach * r[x]
                if pr > 0:
                    out.joint[(n, "start", s, x)] += pr
                    new_round(n + 1, x, pr, rej + 1, calls, dcalls, (*seq, x))

    def block_round(n: int, s: int, k: int, prob: float, rej: int, calls: int, dcalls: int, seq):
        """Block verification: every block of k drafted tokens, judged by the formula."""
        for block in itertools.product(range(S), repeat=k):
            prev = (s, *block)
            pb = prob * float(np.prod([P[n + i, prev[i], block[i]] for i in range(k)]))
            if pb == 0:
                continue
            scored = k + 1 if n + k < T else k
            law = formula_law(
                np.array([P[n + i, prev[i]] for i in range(k)]),
                np.array([Q[n + i, prev[i]] for i in range(scored)]),
                np.array(block),
            )  # (k+1, S+1)
            for t in range(k + 1):
                for y in range(S + 1):
                    pr = pb * law[t, y]
                    if pr == 0:
                        continue
                    if y == S:  # all kept at the horizon
                        leaf(pr, rej, calls, dcalls, (*seq, *block))
                    else:
                        kept = (*seq, *block[:t], y)
                        new_round(n + t + 1, y, pr, rej + int(t < k), calls, dcalls, kept)

    new_round(0, draft.start, 1.0, 0, 0, 0, ())
    return out
