"""A verification family is one object: what every backend asks of it, in one place.

The paper's Algorithm 2 describes token-by-token verifiers by a rule ``(b, P)`` at each
position; batch SD (Algorithm 4) changes the round start, block verification judges a
round's drafted block as a whole. Each such *family* is one subclass of
:class:`VerificationFamily`, and each backend asks the family — never the spec's type or
the rules it happens to carry — for what it needs:

* the **proposal** a round needs given the positions left (:meth:`~VerificationFamily.proposal`:
  sequences x length; the draft length ``min(gamma, remaining)`` is written once, in
  :func:`draft_length`);
* **one round's verification** on arrays of any array namespace (NumPy on the host, torch
  on the models' device): :meth:`~VerificationFamily.verify_round`;
* the **exact per-round quantities** of the chain theory, the simulator and the sequence
  enumerator: the family hands its rules to the one backend method that interprets its
  round shape (:meth:`~VerificationFamily.interpret`, a :class:`RoundShapes` visitor):
  a backend implements each round shape once, and no backend tests which family it holds;
* the **cost features** the profile prices: :attr:`~VerificationFamily.cost_kind` and
  :meth:`~VerificationFamily.round_cost`.

Counting (the same for every backend): a *rejection* is a drafted token verification
refused (a multi-draft round start whose M candidates were all refused counts once); a
*target call* is one forward of the target over a round's drafts (M sequences: one call);
autoregressive decoding makes one call per token; with a finite ``gamma`` a round that
accepts all its drafted tokens ends with a *bonus* token from the target.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import numpy as np
from numpy.typing import NDArray

from specbound.errors import InvalidAlgorithmError

__all__ = [
    "ProposalShape",
    "RoundCost",
    "RoundShapes",
    "RoundVerdict",
    "VerificationFamily",
    "draft_length",
    "draft_lengths",
]

R = TypeVar("R")


def draft_lengths(gamma: int | None, remaining: NDArray[np.int64]) -> NDArray[np.int64]:
    """Tokens a round drafts with ``remaining`` (n,) positions left: ``min(gamma,
    remaining)`` (``gamma=None``: all of them — the paper's drafting to the horizon)."""
    left = np.asarray(remaining, dtype=np.int64)  # (n,)
    return left.copy() if gamma is None else np.minimum(gamma, left)


def draft_length(gamma: int | None, remaining: int) -> int:
    """:func:`draft_lengths` of one round."""
    return int(draft_lengths(gamma, np.asarray(remaining)))


@dataclass(frozen=True)
class ProposalShape:
    """What a round drafts: ``sequences`` draft sequences of ``length`` tokens each
    (``length`` 0: nothing is drafted, the round is one target step)."""

    sequences: int
    length: int


@dataclass(frozen=True)
class RoundCost:
    """A round's cost features: the target scores ``sequences`` rows of ``rows_scored``
    positions in one call; the draft makes ``draft_forwards`` forwards (a batched forward
    of M rows counts once)."""

    sequences: int
    rows_scored: int
    draft_forwards: int


@dataclass(frozen=True)
class RoundVerdict:
    """The verdict on one round, as host integers.

    ``row``: the draft sequence the output follows (0 but for a multi-draft round start);
    ``accepted``: how many of its drafted tokens were kept; ``next_token``: the recovered
    or bonus token (None when every token was kept and no bonus position was scored, or
    the round ended at an accepted stop token); ``rejected``: whether a drafted token was
    refused; ``emitted``: the tokens the round outputs (the kept ones, then the next).
    """

    row: int
    accepted: int
    next_token: int | None
    rejected: bool
    emitted: tuple[int, ...] = ()

    @classmethod
    def build(
        cls, row: int, drafted: list[int], accepted: int, follower: int, rejected: int
    ) -> RoundVerdict:
        """The verdict from the drafted row, the kept count and the follower (-1: none)."""
        next_token = None if follower < 0 else follower
        emitted = (*drafted[:accepted], *([] if next_token is None else [next_token]))
        return cls(row, accepted, next_token, bool(rejected), tuple(emitted))


class RoundShapes(Generic[R]):
    """A backend's interpretation of each round shape (the visitor a family calls).

    ``no_draft``: every token from the target, one call each (autoregressive decoding);
    ``token_rounds``: drafted positions verified one by one with ``step_rule`` (paper
    Algorithm 2), the round's first position with ``start_rule`` when it is a multi-draft
    round start (Algorithm 4; None: the step rule there too); ``block_rounds``: the
    round's drafted block judged as a whole by ``block_rule`` (block verification);
    ``tree_rounds``: a token tree, a multi-draft rule per depth; ``traversal_rounds``: a
    token tree judged leaves first (traversal verification).

    A backend overrides the shapes it interprets; any other shape goes to
    :meth:`otherwise`, which refuses it by name (a question such as "does this family
    judge whole blocks?" overrides :meth:`otherwise` with its answer for the rest). A new
    family's shape is one new method here, overridden where it is supported.
    """

    def no_draft(self) -> R:
        return self.otherwise("no_draft")

    def token_rounds(self, step_rule: Any, start_rule: Any | None) -> R:
        return self.otherwise("token_rounds")

    def block_rounds(self, block_rule: Any) -> R:
        return self.otherwise("block_rounds")

    def tree_rounds(self, rules: tuple[Any, ...], replacement: bool) -> R:
        """A token tree: ``rules[d]`` verifies the children of the accepted node at depth d
        (its ``num_drafts`` children, i.i.d. or without ``replacement``)."""
        return self.otherwise("tree_rounds")

    def traversal_rounds(self, rule: Any, branching: tuple[int, ...]) -> R:
        """A token tree of this ``branching`` (i.i.d. children) judged leaves first by
        traversal verification (``rule``: :mod:`specbound.core.traversal`)."""
        return self.otherwise("traversal_rounds")

    def otherwise(self, shape: str) -> R:
        """What a shape this backend does not interpret gives (default: a named error)."""
        raise InvalidAlgorithmError(f"{type(self).__name__} does not interpret {shape} rounds")


class VerificationFamily(ABC):
    """One verification family (see the module docstring). Subclasses are frozen
    dataclasses holding their ``core`` rules."""

    #: Whether rounds draft at all (autoregressive decoding does not).
    drafts: bool = True
    #: The profile's cost kind of a round: ``sequence``, ``batch``, ``block`` or
    #: ``autoregressive`` (rounds of one kind share one fitted verification cost).
    cost_kind: str = "sequence"

    @property
    def num_sequences(self) -> int:
        """Draft sequences per round (M for a multi-draft round start, else 1)."""
        return 1

    def proposal(self, gamma: int | None, remaining: int) -> ProposalShape:
        """The proposal a round needs with ``remaining`` positions left."""
        length = draft_length(gamma, remaining) if self.drafts else 0
        return ProposalShape(self.num_sequences, length)

    def round_cost(self, length: int, bonus: bool) -> RoundCost:
        """The cost features of a round drafting ``length`` tokens (``bonus``: one more
        position scored for the bonus token)."""
        return RoundCost(self.num_sequences, length + int(bonus), length)

    @abstractmethod
    def interpret(self, shapes: RoundShapes[R]) -> R:
        """Hand this family's rules to the backend method of its round shape."""

    @abstractmethod
    def verify_round(
        self,
        draft_probs: Any,
        target_probs: Any,
        tokens: Any,
        rng: np.random.Generator,
        stop_token: int | None = None,
    ) -> RoundVerdict:
        """Verify ``tokens`` (M, k) drafted from ``draft_probs`` (M, k, V) against
        ``target_probs`` (M, k, V), or (M, k+1, V) whose last position gives a bonus token.

        NumPy arrays or torch tensors (float64 laws, int64 tokens); rows of position 0
        are identical (one prefix). ``stop_token``: nothing after the followed row's first
        stop token is output or judged; a round whose stop token is kept ends there.
        """

    def check_vocabulary(self, vocab_size: int) -> None:  # noqa: B027 (most need no check)
        """Refuse, before any work, a vocabulary this family cannot verify over."""

    def check_decoder(self) -> None:  # noqa: B027 (most families decode language models)
        """Refuse, before any work, a family the language-model decoder cannot run."""
