"""Algorithm specs: an algorithm is data, and the backends (chains, LMs) interpret it.

Each spec is a frozen dataclass validated on construction. Its ``family``
(:mod:`specbound.core.families`) is the one object every backend asks — the proposal a
round needs, one round's verification, the exact per-round quantities, the cost features
— so no backend carries its own acceptance logic or tests which family it holds. The
``core`` rules themselves stay visible (``step_rule`` for every drafted position,
``round_start_rule`` for the first position of a batch round, ``block_rule``).

:mod:`specbound.registry` says, once, which options each algorithm reads, with their
defaults, CLI names and sweep keys; the CLI, the sweep grid and the specs' builders read it.
The default ``gamma`` is :data:`DEFAULT_GAMMA` = None everywhere (the paper's drafting to
the horizon, which the theory is stated for); on language models pick a finite gamma —
``specbound profile`` recommends one for a pair and a machine.

Counting (the same for theory, simulation and LM decoding):

* a **rejection** is a drafted token that verification refused (batch SD: a round start
  where all M candidates were refused counts once);
* a **target call** is one forward pass of the target over a round's drafts (the M
  sequences of a batch round are one call); autoregressive decoding makes one per token;
* ``gamma=None`` drafts to the horizon (the paper's setting); with a finite ``gamma`` a
  round that accepts all ``gamma`` drafted tokens ends with a *bonus* token sampled from
  the target in the same call.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

from specbound.core.batch import RecursiveRejectionRule
from specbound.core.block import BlockVerificationRule
from specbound.core.families import (
    BlockFamily,
    MultiDraftFamily,
    NoDraftFamily,
    TokenFamily,
    TraversalTreeFamily,
    TreeFamily,
    VerificationFamily,
)
from specbound.core.multidraft import OptimalMultiDraftRule
from specbound.core.rules import OverAcceptanceRule, SpeculativeRule, StepRule
from specbound.core.without_replacement import RecursiveWithoutReplacementRule
from specbound.errors import InvalidAlgorithmError
from specbound.validate import check_float, check_int

__all__ = [
    "DEFAULT_GAMMA",
    "TREE_CHILDREN",
    "TREE_VERIFIERS",
    "VERIFIERS",
    "Algorithm",
    "Autoregressive",
    "BatchSpeculative",
    "BlockSpeculative",
    "OverAcceptance",
    "Speculative",
    "TreeSpeculative",
    "check_algorithm",
]


#: The one default draft length: None, drafting to the horizon (see the module docstring).
DEFAULT_GAMMA: int | None = None


def _check_gamma(gamma: int | None) -> None:
    """``gamma`` is None (draft to the horizon) or an integer >= 1."""
    if gamma is None:
        return
    if isinstance(gamma, bool) or not isinstance(gamma, int):
        raise InvalidAlgorithmError(f"gamma must be None or an integer >= 1, got {gamma!r}")
    check_int(gamma, "gamma", low=1, error=InvalidAlgorithmError)


def _gamma_text(gamma: int | None) -> str:
    return "none" if gamma is None else str(gamma)


class _Spec:
    """What every spec tells the backends (see the module docstring).

    ``name``: the family (``ar``, ``sd``, ``batch``, ``overaccept``); ``label``: a short
    unique description (``"sd gamma=4"``); ``drafts``: whether it drafts at all;
    ``num_drafts``: draft sequences per round (1 but for batch SD); ``unbiased`` (alias
    ``lossless``): whether its output law is the target's; ``step_rule`` /
    ``round_start_rule`` / ``block_rule``: the ``core`` rules it verifies with (a
    ``block_rule`` judges a round's whole block at once; then the other two are unused).
    """

    name: str = ""
    gamma: int | None = None
    num_drafts: int = 1
    drafts: bool = True
    unbiased: bool = True

    @property
    def lossless(self) -> bool:
        """Whether the output law is exactly the target's (``unbiased``)."""
        return bool(self.unbiased)

    @property
    def label(self) -> str:
        """A short description: ``"sd gamma=4"``, ``"batch M=3 gamma=none"``, ..."""
        return f"{self.name} gamma={_gamma_text(self.gamma)}"

    @property
    def round_start_rule(self) -> RecursiveRejectionRule | OptimalMultiDraftRule | None:
        return None

    @property
    def block_rule(self) -> BlockVerificationRule | None:
        return None

    @property
    def family(self) -> VerificationFamily:
        """The verification family every backend asks (:mod:`specbound.core.families`)."""
        raise NotImplementedError

    def draft_length(self, remaining: int) -> int:
        """Tokens a round drafts with ``remaining`` positions left (0: drafts nothing)."""
        return self.family.proposal(self.gamma, remaining).length

    def check_vocabulary(self, vocab_size: int) -> None:
        """Refuse, before any work, a vocabulary this algorithm cannot sample over."""
        self.family.check_vocabulary(vocab_size)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable description, ``{"name": ..., **fields}``."""
        return {"name": self.name, **asdict(self)}  # type: ignore[call-overload]


@dataclass(frozen=True)
class Autoregressive(_Spec):
    """Paper Algorithm 3: sample every token from the target, one target call per token."""

    name = "ar"
    drafts = False
    step_rule = None

    @property
    def family(self) -> VerificationFamily:
        return NoDraftFamily()

    @property
    def label(self) -> str:
        return "ar"


@dataclass(frozen=True)
class Speculative(_Spec):
    """Paper Algorithm 1 (speculative decoding); ``gamma=None`` drafts to the horizon."""

    gamma: int | None = DEFAULT_GAMMA
    name = "sd"

    def __post_init__(self) -> None:
        _check_gamma(self.gamma)

    @property
    def step_rule(self) -> StepRule:
        return SpeculativeRule()

    @property
    def family(self) -> VerificationFamily:
        return TokenFamily(self.step_rule)


@dataclass(frozen=True)
class BatchSpeculative(_Spec):
    """Paper Algorithm 4: M independent drafts per round, a multi-draft verifier at the
    round start, then SD along the accepted draft.

    ``verifier="recursive"`` is the paper's recursive rejection; ``"optimal"`` couples the
    M first draft tokens with the target optimally (the largest round-start acceptance
    of any lossless verifier, :mod:`specbound.core.multidraft`) — beyond the paper.
    """

    num_drafts: int = 2
    gamma: int | None = DEFAULT_GAMMA
    verifier: Literal["recursive", "optimal"] = "recursive"
    name = "batch"

    def __post_init__(self) -> None:
        check_int(self.num_drafts, "num_drafts", low=1, error=InvalidAlgorithmError)
        _check_gamma(self.gamma)
        if self.verifier not in VERIFIERS:
            hint = "; traversal verifies token trees (TreeSpeculative)" * (
                self.verifier == "traversal"
            )
            raise InvalidAlgorithmError(
                f"verifier must be one of {', '.join(VERIFIERS)}, got {self.verifier!r}{hint}"
            )

    @property
    def label(self) -> str:
        family = "batch" if self.verifier == "recursive" else "batch-optimal"
        return f"{family} M={self.num_drafts} gamma={_gamma_text(self.gamma)}"

    @property
    def step_rule(self) -> StepRule:
        return SpeculativeRule()

    @property
    def round_start_rule(self) -> RecursiveRejectionRule | OptimalMultiDraftRule:
        if self.verifier == "optimal":
            return OptimalMultiDraftRule(self.num_drafts)
        return RecursiveRejectionRule(self.num_drafts)

    @property
    def family(self) -> VerificationFamily:
        return MultiDraftFamily(self.step_rule, self.round_start_rule)

    def to_dict(self) -> dict[str, Any]:
        data = super().to_dict()
        if self.verifier == "recursive":  # the paper's default: records stay as they were
            data.pop("verifier")
        return data


@dataclass(frozen=True)
class BlockSpeculative(_Spec):
    """Block verification (Sun et al. 2024, :mod:`specbound.core.block`): one draft of
    ``gamma`` tokens per round (``None``: to the horizon), judged as a whole block.

    Lossless, and it keeps at least as many tokens as token-by-token SD in expectation;
    with ``gamma=1`` it is SD. It lies outside Theorem 2's Algorithm-2 family.
    """

    gamma: int | None = DEFAULT_GAMMA
    name = "block"

    def __post_init__(self) -> None:
        _check_gamma(self.gamma)

    @property
    def block_rule(self) -> BlockVerificationRule:
        return BlockVerificationRule()

    @property
    def family(self) -> VerificationFamily:
        return BlockFamily(self.block_rule)


@dataclass(frozen=True)
class OverAcceptance(_Spec):
    """Section 4: lossy decoding that over-accepts drafted tokens by ``eps``.

    ``resample="opt"`` is Decoding-OPT (Theorem 4's optimal resampling, on the Pareto
    front of Theorem 5); ``"uno"`` is Decoding-UNO (resample from the target).
    """

    eps: float = 0.1
    resample: Literal["opt", "uno"] = "opt"
    gamma: int | None = DEFAULT_GAMMA
    name = "overaccept"

    def __post_init__(self) -> None:
        eps = check_float(self.eps, "eps", low=0.0, error=InvalidAlgorithmError)
        object.__setattr__(self, "eps", eps)
        if self.resample not in ("opt", "uno"):
            raise InvalidAlgorithmError(f"resample must be 'opt' or 'uno', got {self.resample!r}")
        _check_gamma(self.gamma)

    @property
    def unbiased(self) -> bool:  # type: ignore[override]
        return self.step_rule.unbiased

    @property
    def label(self) -> str:
        return f"{self.resample} eps={self.eps:g} gamma={_gamma_text(self.gamma)}"

    @property
    def step_rule(self) -> OverAcceptanceRule:
        return OverAcceptanceRule(self.eps, self.resample)

    @property
    def family(self) -> VerificationFamily:
        return TokenFamily(self.step_rule)


@dataclass(frozen=True)
class TreeSpeculative(_Spec):
    """A token tree (SpecInfer, Sequoia; :mod:`specbound.core.families.tree`): every node at
    depth d-1 gets ``branching[d-1]`` children drawn from the draft law at that node; the
    accepted path is walked down by a multi-draft verifier at every node —
    ``"recursive"`` (paper Algorithm 4 at each node) or ``"optimal"`` (the best lossless
    coupling of the children) — or judged leaves first by ``"traversal"`` verification
    (Weng et al. 2025, sequence level, i.i.d. children only; on a chain it is
    ``BlockSpeculative(gamma=D)``). ``replacement=False`` draws a node's children without
    replacement (recursive verifier only). One target call per round; the tree is cut at
    the horizon. ``(1,) * D`` is ``Speculative(gamma=D)``; ``(M,) + (1,) * (D-1)`` is
    ``BatchSpeculative(num_drafts=M, gamma=D)``.
    """

    branching: tuple[int, ...] = (2, 1)
    verifier: Literal["recursive", "optimal", "traversal"] = "recursive"
    replacement: bool = True
    name = "tree"

    def __post_init__(self) -> None:
        branching = self.branching
        if isinstance(branching, list):
            branching = tuple(branching)
        if not isinstance(branching, tuple) or not branching:
            raise InvalidAlgorithmError(
                f"branching must be a non-empty tuple of integers >= 1 (children per node "
                f"at each depth, e.g. (4, 2, 1)), got {self.branching!r}"
            )
        for b in branching:
            if isinstance(b, bool) or not isinstance(b, int) or b < 1:
                raise InvalidAlgorithmError(
                    f"branching must hold integers >= 1, got {self.branching!r}"
                )
        object.__setattr__(self, "branching", branching)
        if self.verifier not in TREE_VERIFIERS:
            raise InvalidAlgorithmError(
                f"verifier must be one of {', '.join(TREE_VERIFIERS)}, got {self.verifier!r}"
            )
        if not isinstance(self.replacement, bool):
            raise InvalidAlgorithmError(
                f"replacement must be True or False, got {self.replacement!r}"
            )
        if self.verifier == "optimal" and not self.replacement:
            raise InvalidAlgorithmError(
                "the optimal verifier couples children drawn i.i.d.; with "
                "replacement=False use verifier='recursive'"
            )
        if self.verifier == "traversal" and not self.replacement:
            raise InvalidAlgorithmError(
                "verifier='traversal' is lossless for children drawn i.i.d. only "
                "(replacement=True); with replacement=False use verifier='recursive'"
            )

    @property
    def gamma(self) -> int:  # type: ignore[override]
        """The tree's depth D (the most tokens a round drafts along one path)."""
        return len(self.branching)

    @property
    def label(self) -> str:
        shape = ",".join(str(b) for b in self.branching)
        suffix = "" if self.replacement else " w/o replacement"
        return f"tree {shape} {self.verifier}{suffix}"

    def _rule(self, children: int) -> Any:
        if self.verifier == "optimal":
            return OptimalMultiDraftRule(children)
        if self.replacement:
            return RecursiveRejectionRule(children)
        return RecursiveWithoutReplacementRule(children)

    @property
    def family(self) -> VerificationFamily:
        if self.verifier == "traversal":
            return TraversalTreeFamily(self.branching)
        return TreeFamily(tuple(self._rule(b) for b in self.branching), self.replacement)


Algorithm = (
    Autoregressive
    | Speculative
    | BatchSpeculative
    | BlockSpeculative
    | OverAcceptance
    | TreeSpeculative
)

#: Batch SD's round-start verifiers.
VERIFIERS = ("recursive", "optimal")
#: A token tree's verifiers: the round-start ones at every node, or traversal
#: verification of the whole tree (Weng et al. 2025, :mod:`specbound.core.traversal`).
TREE_VERIFIERS = (*VERIFIERS, "traversal")

#: How a token tree draws a node's children from the draft law (``--children``):
#: independently, or without replacement (``TreeSpeculative(replacement=False)``).
TREE_CHILDREN = ("iid", "distinct")


def check_algorithm(algorithm: object, name: str = "algorithm") -> Algorithm:
    """``algorithm`` if it is one of the specs above; else a named InvalidAlgorithmError."""
    if isinstance(algorithm, type):
        raise InvalidAlgorithmError(
            f"{name} must be an algorithm spec instance, got the class {algorithm.__name__}; "
            f"call it, e.g. {algorithm.__name__}()"
        )
    if not isinstance(algorithm, _Spec):
        raise InvalidAlgorithmError(
            f"{name} must be an algorithm spec (specbound.Autoregressive, Speculative, "
            f"BlockSpeculative, BatchSpeculative, OverAcceptance or TreeSpeculative), "
            f"got {algorithm!r}"
        )
    return algorithm  # type: ignore[return-value]
