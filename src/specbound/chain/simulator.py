"""Monte Carlo of the real algorithms on a chain pair, vectorised over runs.

Each run executes the decoder itself — draft tokens sampled from the draft chain,
accepted or rejected by the algorithm's ``core`` rule, recovered tokens sampled from the
rule's resampling law, bonus tokens from the target — with the same rule objects the LM
decoder uses (:meth:`~specbound.core.rules.StepRule.verify_rows`,
:meth:`~specbound.core.batch.RecursiveRejectionRule.verify_rows`,
:func:`~specbound.core.sampling.sample_rows`).

Python loops run over positions only; runs are numpy array rows, each in its own phase
(:mod:`specbound.chain.spec`). A round's drafted tokens are drawn as verification reaches
them: the token at a drafted position is drawn from the draft chain's row at the previous
drafted token, which (accepted) is the previous output token. Drafting the whole block
first, as the LM decoder does, draws the same tokens in law; the tail after the first
rejection is discarded unseen, so the outputs and counts have the same joint law, and the
round's draft calls are charged for the whole block when it starts.
:mod:`specbound.chain.reference` is that block-drafting loop, one run at a time.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from specbound.chain.model import MarkovChain, check_pair
from specbound.chain.result import SimulationResult
from specbound.chain.spec import (
    DecodingAlgorithm,
    PhaseLayout,
    at_horizon,
    describe,
    draft_length,
)
from specbound.chain.traversal_sim import traversal_round
from specbound.core.block import BlockVerificationRule
from specbound.core.families import RoundShapes, tree_nodes
from specbound.core.rules import StepRule
from specbound.core.sampling import sample_rows
from specbound.core.traversal import TraversalVerificationRule
from specbound.core.without_replacement import draw_without_replacement
from specbound.validate import check_int, check_memory, check_seed

__all__ = ["check_runs", "memory_estimate", "simulate"]

Array = NDArray[np.float64]
Ints = NDArray[np.int64]

#: Runs per chunk are chosen so one (runs, M, S) array holds about this many numbers.
CHUNK_ELEMENTS = 1 << 20


def check_runs(n_runs: object, seed: object) -> tuple[int, int]:
    """Validate ``n_runs >= 1`` and a non-negative integer ``seed``."""
    return check_int(n_runs, "n_runs", low=1), check_seed(seed)


def chunk_size(num_states: int, num_drafts: int) -> int:
    """Runs simulated together; depends only on (S, M), so a seed reproduces a result."""
    return int(np.clip(CHUNK_ELEMENTS // (num_states * num_drafts), 1 << 10, 1 << 16))


def memory_estimate(horizon: int, num_states: int, n_runs: int, width: int) -> float:
    """Bytes :func:`simulate` needs: the (T, runs) token buffer, the per-run counts, and a
    chunk's (runs, width, S) draws and laws (width: M candidates, or a block's length)."""
    chunk = min(chunk_size(num_states, width), n_runs)
    per_chunk = 6 * chunk * width * num_states + 3 * num_states * (width + 1) * num_states
    return 8.0 * (horizon * n_runs + 4 * n_runs + per_chunk)


class _Chunk:
    """The state of ``R`` runs, advanced one position at a time."""

    def __init__(
        self,
        draft: MarkovChain,
        target: MarkovChain,
        algorithm: DecodingAlgorithm,
        tokens: Ints,
        rng: np.random.Generator,
    ) -> None:
        runs = tokens.shape[1]
        self.draft, self.target, self.algorithm, self.rng = draft, target, algorithm, rng
        self.layout = PhaseLayout(algorithm.gamma)
        self.state = np.full(runs, draft.start, dtype=np.int64)  # (R,) previous token
        self.phase = np.zeros(runs, dtype=np.int64)  # (R,)
        self.rejections = np.zeros(runs, dtype=np.int64)  # (R,)
        self.target_calls = np.zeros(runs, dtype=np.int64)  # (R,)
        self.draft_calls = np.zeros(runs, dtype=np.int64)  # (R,)
        self.tokens = tokens  # (T, R) this chunk's columns of the output buffer
        self.next_start = np.zeros(runs, dtype=np.int64)  # (R,) block verification only

    def block_round(self, n: int, rule: BlockVerificationRule) -> None:
        """Block verification: runs whose round starts at ``n`` draft a whole block, the
        block rule judges it at once, and the kept tokens, the recovered or bonus token
        are written ahead (:meth:`~specbound.core.block.BlockVerificationRule.verify`)."""
        idx = np.flatnonzero(self.next_start == n)  # (r,)
        if idx.size == 0:
            return
        T = self.draft.horizon
        k = draft_length(self.algorithm, T, n)
        prev = self.state[idx]  # (r,)
        drafted, draft_laws, target_laws = [], [], []
        for i in range(k):
            draft_laws.append(self.draft.transitions[n + i][prev])  # (r, S)
            target_laws.append(self.target.transitions[n + i][prev])  # (r, S)
            prev = sample_rows(self.draft.transitions[n + i], prev, self.rng)  # (r,)
            drafted.append(prev)
        if n + k < T:  # the bonus position, scored in the same call
            target_laws.append(self.target.transitions[n + k][prev])
        block = np.stack(drafted, axis=1)  # (r, k)
        outcome = rule.verify(np.stack(draft_laws, 1), np.stack(target_laws, 1), block, self.rng)
        lengths = outcome.tau + (outcome.token >= 0)  # (r,) tokens this round outputs
        for j in range(k + 1):
            rows = np.flatnonzero(lengths > j)  # runs that output a token at n + j
            if rows.size == 0:
                break
            kept = block[rows, min(j, k - 1)]  # the j-th drafted token where j < tau
            value = np.where(j < outcome.tau[rows], kept, outcome.token[rows])
            self.tokens[n + j, idx[rows]] = value
        self.state[idx] = np.where(outcome.token >= 0, outcome.token, block[:, -1])
        self.next_start[idx] = n + lengths
        self.target_calls[idx] += 1
        self.draft_calls[idx] += k
        self.rejections[idx] += outcome.tau < k

    def _round_starts(
        self, rule: Any, p: Array, q: Array, token: Ints, rejected: NDArray[np.bool_]
    ) -> None:
        """Batch SD's round starts: M candidates, recursive rejection (Algorithm 4)."""
        idx = np.flatnonzero(self.phase == 0)  # (k,)
        if idx.size == 0:
            return
        rows = self.state[idx]  # (k,)
        candidates = sample_rows(p, np.repeat(rows[:, None], rule.num_drafts, axis=1), self.rng)
        winner, chosen = rule.verify_rows(p, q, rows, candidates, self.rng)  # (k,), (k,)
        token[idx] = chosen
        rejected[idx] = winner < 0

    def _drafted(
        self,
        rule: StepRule,
        p: Array,
        q: Array,
        mask: NDArray[np.bool_],
        token: Ints,
        rejected: NDArray[np.bool_],
    ) -> None:
        """Drafted positions: draw from the draft, verify and recover with the step rule
        (:meth:`~specbound.core.rules.StepRule.verify_rows`, on the (S, S) kernels)."""
        idx = np.flatnonzero(mask)  # (k,)
        if idx.size == 0:
            return
        rows = self.state[idx]  # (k,)
        drafted = sample_rows(p, rows, self.rng)  # (k,)
        ok, token[idx] = rule.verify_rows(p, q, rows, drafted, self.rng)  # (k,), (k,)
        rejected[idx] = ~ok

    def autoregressive_step(self, n: int) -> None:
        """Every run draws its token at ``n`` from the target: one call each."""
        token = sample_rows(self.target.transitions[n], self.state, self.rng)  # (R,)
        self.target_calls += 1
        self.state = token
        self.tokens[n] = token

    def token_step(self, n: int, rule: StepRule, start_rule: Any | None) -> None:
        """Position ``n`` of token-level rounds: round starts (with ``start_rule`` when it
        is a multi-draft one), drafted positions, bonus positions — each run in its phase."""
        p, q = self.draft.transitions[n], self.target.transitions[n]  # (S, S)
        token = np.empty_like(self.state)  # (R,)
        rejected = np.zeros(self.state.shape, dtype=bool)  # (R,)
        starting = self.phase == 0  # (R,)
        self.target_calls += starting
        self.draft_calls += starting * draft_length(self.algorithm, self.draft.horizon, n)
        drafting = np.ones_like(starting)  # (R,)
        if start_rule is not None:
            self._round_starts(start_rule, p, q, token, rejected)
            drafting &= ~starting
        bonus = self.layout.bonus
        if bonus is not None:
            at_bonus = self.phase == bonus  # (R,)
            drafting &= ~at_bonus
            idx = np.flatnonzero(at_bonus)
            token[idx] = sample_rows(q, self.state[idx], self.rng)
        self._drafted(rule, p, q, drafting, token, rejected)
        self.rejections += rejected
        if bonus is None:
            self.phase = (~rejected).astype(np.int64)
        else:
            self.phase = np.where(rejected | (self.phase == bonus), 0, self.phase + 1)
        self.state = token
        self.tokens[n] = token

    def tree_step(self, n: int, rules: tuple[Any, ...], replacement: bool) -> None:
        """Position ``n`` of token-tree rounds: each run at depth d of its accepted path
        draws that node's children and verifies them with ``rules[d]``; a run past an
        accepted leaf takes the bonus token. Only the accepted path's children are drawn:
        the other subtrees are independent of what is kept and discarded unseen."""
        p, q = self.draft.transitions[n], self.target.transitions[n]  # (S, S)
        depth = len(rules)
        token = np.empty_like(self.state)  # (R,)
        rejected = np.zeros(self.state.shape, dtype=bool)  # (R,)
        starting = self.phase == 0  # (R,)
        self.target_calls += starting
        self.draft_calls += starting * draft_length(self.algorithm, self.draft.horizon, n)
        bonus = np.flatnonzero(self.phase == depth)  # (b,)
        token[bonus] = sample_rows(q, self.state[bonus], self.rng)
        for d, rule in enumerate(rules):
            idx = np.flatnonzero(self.phase == d)  # (k,)
            if idx.size == 0:
                continue
            rows = self.state[idx]  # (k,)
            children = int(rule.num_drafts)
            if replacement:
                drawn = sample_rows(p, np.repeat(rows[:, None], children, axis=1), self.rng)
                winner, chosen = rule.verify_rows(p, q, rows, drawn, self.rng)  # (k,), (k,)
            else:
                drawn = draw_without_replacement(p[rows], children, self.rng)  # (k, b)
                winner, chosen = rule.verify(p[rows], q[rows], drawn, self.rng)
            token[idx] = chosen
            rejected[idx] = winner < 0
        self.rejections += rejected
        self.phase = np.where(rejected | (self.phase == depth), 0, self.phase + 1)
        self.state = token
        self.tokens[n] = token


class _Position(RoundShapes[None]):
    """Advance a chunk by position ``n`` in its family's round shape
    (:class:`~specbound.core.families.RoundShapes`)."""

    def __init__(self, chunk: _Chunk, n: int) -> None:
        self.chunk, self.n = chunk, n

    def no_draft(self) -> None:
        self.chunk.autoregressive_step(self.n)

    def token_rounds(self, step_rule: StepRule, start_rule: Any | None) -> None:
        self.chunk.token_step(self.n, step_rule, start_rule)

    def block_rounds(self, block_rule: BlockVerificationRule) -> None:
        self.chunk.block_round(self.n, block_rule)

    def tree_rounds(self, rules: tuple[Any, ...], replacement: bool) -> None:
        self.chunk.tree_step(self.n, rules, replacement)

    def traversal_rounds(self, rule: TraversalVerificationRule, branching: tuple[int, ...]) -> None:
        traversal_round(self.chunk, self.n, rule, branching)


class _Width(RoundShapes[int]):
    """Candidates per round start (M), or a block's laws per run (k + 1): the width of a
    chunk's (runs, width, S) arrays."""

    def __init__(self, algorithm: DecodingAlgorithm, horizon: int) -> None:
        self.algorithm, self.horizon = algorithm, horizon

    def no_draft(self) -> int:
        return 1

    def token_rounds(self, step_rule: StepRule, start_rule: Any | None) -> int:
        return 1 if start_rule is None else int(start_rule.num_drafts)

    def block_rounds(self, block_rule: BlockVerificationRule) -> int:
        return draft_length(self.algorithm, self.horizon, 0) + 1

    def tree_rounds(self, rules: tuple[Any, ...], replacement: bool) -> int:
        return max(int(rule.num_drafts) for rule in rules)

    def traversal_rounds(self, rule: TraversalVerificationRule, branching: tuple[int, ...]) -> int:
        """A round's (node, law) rows: the whole tree, the root included."""
        return 2 + sum(tree_nodes(branching, len(branching)))


def simulate(
    draft: MarkovChain,
    target: MarkovChain,
    algorithm: DecodingAlgorithm,
    n_runs: int = 10_000,
    seed: int = 0,
) -> SimulationResult:
    """Run ``algorithm`` ``n_runs`` times on the pair; per-run counts and sequences.

    Runs are simulated in chunks (:func:`chunk_size`), chunk ``c`` with its own generator
    from ``SeedSequence(seed).spawn``: the same ``(seed, n_runs)`` gives the same result.
    """
    check_pair(draft, target)
    n_runs, seed = check_runs(n_runs, seed)
    algorithm = at_horizon(algorithm, draft.horizon)
    width = algorithm.family.interpret(_Width(algorithm, draft.horizon))
    size = chunk_size(draft.num_states, width)
    check_memory(
        memory_estimate(draft.horizon, draft.num_states, n_runs, width),
        f"simulate: n_runs={n_runs} runs of T={draft.horizon} tokens "
        f"({width} candidate(s) per round start)",
    )
    bounds = [*range(0, n_runs, size), n_runs]
    seeds = np.random.SeedSequence(seed).spawn(len(bounds) - 1)
    # NOTE: tokens are stored position-major, so each step writes one contiguous row;
    # ``sequences`` is returned as the (n_runs, T) transposed view.
    tokens = np.empty((draft.horizon, n_runs), dtype=np.int64)  # (T, n_runs)
    chunks = []
    for lo, hi, child in zip(bounds[:-1], bounds[1:], seeds, strict=True):
        chunk = _Chunk(draft, target, algorithm, tokens[:, lo:hi], np.random.default_rng(child))
        for n in range(draft.horizon):
            algorithm.family.interpret(_Position(chunk, n))
        chunks.append(chunk)
    return SimulationResult(
        rejections=np.concatenate([c.rejections for c in chunks]),
        target_calls=np.concatenate([c.target_calls for c in chunks]),
        draft_calls=np.concatenate([c.draft_calls for c in chunks]),
        sequences=tokens.T,
        algorithm=describe(algorithm),
        seed=seed,
    )
