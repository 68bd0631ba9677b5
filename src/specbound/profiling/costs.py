"""What a decoding round costs on this machine: the clock half of :func:`specbound.profile`.

The paper's cost model counts target calls. Turning expected calls into seconds needs what
each part of a round costs, and that is measured on the decoder itself: the model below is
linear in its coefficients and fitted by least squares (:mod:`specbound.profiling.fit`) to
the instrumented rounds of real generations (:mod:`specbound.profiling.calibrate`), each
round reporting what it did and the seconds of its three phases
(:class:`~specbound.lm.stats.RoundTiming`). For a round of *kind* K (``sequence``: SD,
Decoding-OPT/UNO; ``batch``: batch SD; ``block``: block verification; ``lookup``: SD with
a model-free drafter, :mod:`specbound.profiling.lookup`; ``tree``: a token tree, priced by
:meth:`CostBasis.tree_features`) that drafts k
tokens in M rows and scores s tokens per row at context L (tokens before the round, in
thousands in the features):

* target call: ``T(n) + c_attn n L + c_fan (M - 1) L`` with ``n = s M`` the token rows of
  the call and ``T`` piecewise linear in n through knots at the row counts calibrated
  (matrix-product kernels change algorithm with the row count: on one CPU three rows cost
  what one does and four cost half as much again, which no straight line follows);
* drafting: ``d_first + d_M (k - 1) + c_draft k L`` (the first position is one row with the
  pending tokens, the next k - 1 are forwards of M rows); a tree drafts k = D depths and
  adds ``d_tree`` per extra row of its wide depths (:func:`tree_draft_rows`); where the
  first forward feeds u > 2 pending tokens (the draft of ``ngram+model`` catching up on
  the tokens of model-free rounds it did not see) it adds ``d_fed (u - 2)``
  (:attr:`CostBasis.catch_up`; an SD round feeds 1 or 2 tokens, which ``d_first``
  covers; one slope, because a calibration meets few long catch-ups and a curve through
  them is noise);
* the rest of the round (verification, cache crops, bookkeeping): ``v_K + w_K k M``;
  a ``lookup`` round has no draft forwards: its drafting (an index lookup in Python) is
  fitted with the rest, and its target call is priced like any other by its rows (k + 1,
  k = 0 when nothing matched: one row, an autoregressive step's size);
* once per generation, prefill excluded: ``f_K`` (cache allocation, set-up);
* autoregressive decoding: ``a_0 + a_1 L`` per token and ``f_autoregressive`` once.

A generation's predicted seconds are the sum over its rounds plus its fixed cost; where
it stops at the end-of-sequence token, the round that emits it is a full round (the
decoder drafts and scores ``min(gamma, tokens left)`` tokens without looking at them), so
the prediction charges full rounds up to the path's end, as the decoder meets them.
The coefficients come with bootstrap replicates (refits on resampled generations), which
carry the timing uncertainty into the predicted speed-up's interval.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from specbound.algorithms import Algorithm, TreeSpeculative
from specbound.core.families import draft_lengths, tree_nodes
from specbound.errors import InvalidInputError

__all__ = ["KINDS", "LOOKUP", "CostBasis", "CostFit", "CostModel", "round_kind", "tree_draft_rows"]

Array = NDArray[np.float64]

#: Round kinds with their own verification cost, and autoregressive decoding.
KINDS = ("sequence", "batch", "block", "lookup", "tree", "autoregressive")

#: The kind of SD rounds drafted by a model-free drafter (no draft forwards).
LOOKUP = "lookup"

#: Context lengths enter the features in thousands of tokens (well-scaled columns).
CONTEXT_UNIT = 1000.0


def round_kind(algorithm: Algorithm) -> str:
    """The cost model's kind of ``algorithm``'s rounds (see the module docstring): its
    family's :attr:`~specbound.core.families.VerificationFamily.cost_kind`."""
    return algorithm.family.cost_kind


def tree_draft_rows(branching: tuple[int, ...], depth: int) -> int:
    """Rows a tree round's draft forwards carry beyond one per forward: the forwards at
    depths 1..D-1 carry every node of their depth (``n_d - 1`` extra rows each); 0 for a
    chain, whose drafting is SD's."""
    return sum(n - 1 for n in tree_nodes(branching, depth)[:-1])


def hat_weights(values: ArrayLike, knots: tuple[int, ...]) -> Array:
    """Piecewise-linear interpolation weights of ``values`` (n,) on ``knots``: (n, K).

    ``weights @ y`` interpolates the knot values ``y`` linearly; below the first knot it is
    the first value, above the last it extends the last segment's line.
    """
    x = np.atleast_1d(np.asarray(values, dtype=np.float64))  # (n,)
    grid = np.asarray(knots, dtype=np.float64)  # (K,)
    eye = np.eye(grid.size)
    weights = np.stack([np.interp(x, grid, eye[j]) for j in range(grid.size)], axis=-1)
    if grid.size > 1:
        above = x > grid[-1]
        step = (x[above] - grid[-1]) / (grid[-1] - grid[-2])  # (a,)
        weights[above] = 0.0
        weights[above, -1] = 1.0 + step
        weights[above, -2] = -step
    return weights


@dataclass(frozen=True)
class CostBasis:
    """The model's columns: knots of the target call's row counts, the draft row counts
    and the round kinds calibrated."""

    knots: tuple[int, ...]
    rows: tuple[int, ...]
    kinds: tuple[str, ...]
    #: Whether calibration met a first draft forward feeding more than 2 tokens (then
    #: the column ``draft_catch_up``, the cost per token beyond 2, is fitted).
    catch_up: bool = False

    @property
    def columns(self) -> list[str]:
        return [
            *(f"target@{n}" for n in self.knots),
            "target_context",
            "target_fanout",
            "draft_first",
            *(f"draft_rows@{m}" for m in self.rows),
            "draft_context",
            "draft_tree_rows",
            *(["draft_catch_up"] if self.catch_up else []),
            *(f"other@{k}" for k in self.kinds),
            *(f"other_tokens@{k}" for k in self.kinds),
            *(f"fixed@{k}" for k in (*self.kinds, "autoregressive")),
            "autoregressive_token",
            "autoregressive_context",
        ]

    def index(self, column: str) -> int:
        return self.columns.index(column)

    def group(self, prefixes: tuple[str, ...]) -> list[int]:
        """Indices of the columns whose names start with one of ``prefixes``."""
        return [i for i, c in enumerate(self.columns) if c.startswith(prefixes)]

    def _empty(self, n: int) -> Array:
        return np.zeros((n, len(self.columns)))

    def _check_kind(self, kind: str) -> None:
        if kind not in self.kinds:
            raise InvalidInputError(
                f"the cost model was not calibrated for {kind!r} rounds "
                f"(calibrated: {', '.join(self.kinds) or 'none'})"
            )

    def target_features(self, scored: ArrayLike, rows: int, context: ArrayLike) -> Array:
        """One target call scoring ``scored`` (n,) tokens per row in ``rows`` rows: (n, P)."""
        tokens = np.atleast_1d(np.asarray(scored, dtype=np.float64)) * rows  # (n,)
        at = np.broadcast_to(np.asarray(context, dtype=np.float64) / CONTEXT_UNIT, tokens.shape)
        out = self._empty(tokens.size)
        first = self.index(f"target@{self.knots[0]}")
        out[:, first : first + len(self.knots)] = hat_weights(tokens, self.knots)
        out[:, self.index("target_context")] = tokens * at
        out[:, self.index("target_fanout")] = (rows - 1) * at
        return out

    def draft_features(
        self,
        drafted: ArrayLike,
        rows: int,
        context: ArrayLike,
        tree_rows: ArrayLike = 0,
        fed: ArrayLike | None = None,
    ) -> Array:
        """Drafting ``drafted`` (n,) tokens in ``rows`` rows (a tree: ``drafted`` depths
        and ``tree_rows`` (n,) more rows, :func:`tree_draft_rows`), the first forward
        feeding ``fed`` (n,) tokens (None: 1 or 2, no catch-up): (n, P)."""
        if rows not in self.rows:
            raise InvalidInputError(
                f"the cost model was not calibrated for {rows} draft rows "
                f"(calibrated: {', '.join(map(str, self.rows))})"
            )
        k = np.atleast_1d(np.asarray(drafted, dtype=np.float64))  # (n,)
        at = np.broadcast_to(np.asarray(context, dtype=np.float64) / CONTEXT_UNIT, k.shape)
        out = self._empty(k.size)
        out[:, self.index("draft_first")] = k > 0
        out[:, self.index(f"draft_rows@{rows}")] = np.maximum(k - 1, 0)
        out[:, self.index("draft_context")] = k * at
        out[:, self.index("draft_tree_rows")] = tree_rows
        if fed is not None:
            out += self.catch_up_features(np.broadcast_to(np.asarray(fed), k.shape))
        return out

    def catch_up_features(self, fed: ArrayLike) -> Array:
        """The catch-up part ``d_fed (u - 2)`` of first draft forwards feeding ``fed``
        (n,) tokens (the module docstring; 0 for u <= 2): (n, P). A catch-up beyond 2
        tokens needs the calibration to have met one."""
        extra = np.maximum(np.atleast_1d(np.asarray(fed, dtype=np.float64)) - 2.0, 0.0)  # (n,)
        out = self._empty(extra.size)
        if not extra.any():
            return out
        if not self.catch_up:
            raise InvalidInputError(
                "the cost model was not calibrated for draft forwards that catch up on "
                "more than 2 tokens (calibrate the combined drafter's rounds)"
            )
        out[:, self.index("draft_catch_up")] = extra
        return out

    def other_features(self, kind: str, drafted: ArrayLike, rows: int) -> Array:
        """Verification and bookkeeping of a round of ``kind``: (n, P)."""
        self._check_kind(kind)
        k = np.atleast_1d(np.asarray(drafted, dtype=np.float64))  # (n,)
        out = self._empty(k.size)
        out[:, self.index(f"other@{kind}")] = 1.0
        out[:, self.index(f"other_tokens@{kind}")] = k * rows
        return out

    def fixed_features(self, kind: str) -> Array:
        """The once-per-generation cost of ``kind``: (P,)."""
        if kind != "autoregressive":
            self._check_kind(kind)
        out = self._empty(1)[0]
        out[self.index(f"fixed@{kind}")] = 1.0
        return out

    def autoregressive_features(self, context: ArrayLike) -> Array:
        """Autoregressive steps at ``context`` (n,): (n, P)."""
        at = np.atleast_1d(np.asarray(context, dtype=np.float64)) / CONTEXT_UNIT  # (n,)
        out = self._empty(at.size)
        out[:, self.index("autoregressive_token")] = 1.0
        out[:, self.index("autoregressive_context")] = at
        return out

    def round_features(
        self,
        kind: str,
        num_drafts: int,
        gamma: int | None,
        remaining: ArrayLike,
        context: ArrayLike,
    ) -> Array:
        """A round that starts with ``remaining`` (n,) tokens left at ``context`` (n,).

        The decoder drafts ``k = min(gamma, remaining)`` tokens (all of them when gamma is
        None) and scores ``min(gamma + 1, remaining)`` positions per row: (n, P).
        """
        left = np.atleast_1d(np.asarray(remaining, dtype=np.int64))  # (n,)
        drafted = draft_lengths(gamma, left)  # (n,)
        scored = np.minimum(drafted + 1, left)  # (n,) a bonus position unless at the horizon
        return (
            self.target_features(scored, num_drafts, context)
            + self.draft_features(drafted, num_drafts, context)
            + self.other_features(kind, drafted, num_drafts)
        )

    def tree_features(
        self, tree: TreeSpeculative, remaining: ArrayLike, context: ArrayLike
    ) -> Array:
        """Rounds of a token ``tree`` (its family's cost kind, ``tree``) starting with
        ``remaining`` (n,) tokens left at ``context`` (n,), as the tree decoder reports
        them (:mod:`specbound.lm.tree_round`): the tree cut to ``D' = min(D, remaining)``
        depths, one target call of ``family.round_cost(D', bonus)`` rows (the pending
        token and every node; the deepest level only with a bonus position), D' draft
        forwards (one row each after the first, plus the extra rows of the wide depths,
        :func:`tree_draft_rows`), and the tree's verification: (n, P)."""
        left = np.atleast_1d(np.asarray(remaining, dtype=np.int64))  # (n,)
        at = np.broadcast_to(np.asarray(context, dtype=np.float64), left.shape)
        out = self._empty(left.size)
        family = tree.family
        for i, r in enumerate(left.tolist()):
            depth = family.proposal(None, int(r)).length
            cost = family.round_cost(depth, bonus=depth < r)
            out[i] = (
                self.target_features(cost.rows_scored, cost.sequences, at[i])[0]
                + self.draft_features(
                    cost.draft_forwards, 1, at[i], tree_draft_rows(tree.branching, depth)
                )[0]
                + self.other_features(family.cost_kind, depth, 1)[0]
            )
        return out

    def lookup_features(
        self, drafted: ArrayLike, remaining: ArrayLike, context: ArrayLike
    ) -> Array:
        """Rounds of a model-free drafter that drafted ``drafted`` (n,) tokens with
        ``remaining`` (n,) tokens left at ``context`` (n,): one target call of
        ``min(k + 1, remaining)`` rows and the round's rest, no draft forwards: (n, P)."""
        k = np.atleast_1d(np.asarray(drafted, dtype=np.int64))  # (n,)
        scored = np.minimum(k + 1, np.asarray(remaining, dtype=np.int64))  # (n,)
        return self.target_features(scored, 1, context) + self.other_features(LOOKUP, k, 1)


@dataclass(frozen=True)
class CostFit:
    """How well the cost model describes the rounds it was fitted to.

    ``residual_spread``: relative root-mean-square error of the fitted round seconds
    (all phases) over the calibration rounds; ``held_out_error``: median |predicted /
    measured - 1| of whole generations' seconds (prefill excluded) for the timing repeats
    left out of a fit on the others; ``outliers``: observations dropped as timing spikes;
    ``drift``: per round kind, the relative spread over timing repeats of its cost against
    autoregressive decoding's (:mod:`specbound.profiling.fit`), which a prediction for a
    later run must allow for.
    """

    rounds: int
    generations: int
    residual_spread: float
    held_out_error: float | None
    outliers: int
    drift: dict[str, float]

    def to_dict(self) -> dict[str, Any]:
        return {
            "rounds": self.rounds,
            "generations": self.generations,
            "residual_spread": self.residual_spread,
            "held_out_error": self.held_out_error,
            "outliers": self.outliers,
            "drift": self.drift,
        }


@dataclass(frozen=True)
class CostModel:
    """Seconds of rounds and generations on this machine: ``coefficients`` (P,) over
    ``basis.columns``, ``bootstrap`` (B, P) refits on resampled generations, the ``fit``'s
    quality and the median calibrated ``context``."""

    basis: CostBasis
    coefficients: Array
    bootstrap: Array
    fit: CostFit
    context: int

    def seconds(self, features: ArrayLike) -> Array:
        """``features`` (..., P) in seconds (...)."""
        return np.asarray(np.asarray(features, dtype=np.float64) @ self.coefficients)

    def bootstrap_seconds(self, features: ArrayLike) -> Array:
        """``features`` (..., P) in seconds under each bootstrap refit: (..., B)."""
        return np.asarray(np.asarray(features, dtype=np.float64) @ self.bootstrap.T)

    def target_seconds(self, rows: int, tokens: ArrayLike, context: int | None = None) -> Array:
        """One target call over ``tokens`` (n,) new tokens per row in ``rows`` rows: (n,)."""
        at = self.context if context is None else context
        return self.seconds(self.basis.target_features(tokens, rows, at))

    def draft_seconds(self, rows: int, context: int | None = None) -> float:
        """One draft position of ``rows`` rows after the first (the marginal cost)."""
        at = self.context if context is None else context
        two, one = self.basis.draft_features(np.array([2, 1]), rows, at)
        return float(self.seconds(two - one))

    def overhead_seconds(self, kind: str, drafted: int, rows: int) -> float:
        """Verification and bookkeeping of one round."""
        return float(self.seconds(self.basis.other_features(kind, drafted, rows))[0])

    def autoregressive_per_token(self, context: int | None = None) -> float:
        """Seconds per token of autoregressive decoding at ``context`` (fixed cost aside)."""
        at = self.context if context is None else context
        return float(self.seconds(self.basis.autoregressive_features(at))[0])

    def to_dict(self) -> dict[str, Any]:
        spread = self.bootstrap.std(axis=0, ddof=1) if len(self.bootstrap) > 1 else None
        return {
            "model": "least squares on the decoder's instrumented rounds",
            "context": self.context,
            "coefficients_seconds": dict(
                zip(self.basis.columns, self.coefficients.tolist(), strict=True)
            ),
            "bootstrap_se_seconds": None
            if spread is None
            else dict(zip(self.basis.columns, spread.tolist(), strict=True)),
            "bootstrap_replicates": len(self.bootstrap),
            "fit": self.fit.to_dict(),
            "autoregressive_seconds_per_token": self.autoregressive_per_token(),
        }
