"""Algorithm specs: an algorithm is data, and the backends (chains, LMs) interpret it.

Each spec is a frozen dataclass validated on construction. It exposes the ``core`` rule
it verifies with (``step_rule`` for every drafted position, ``round_start_rule`` for the
first position of a batch round), so no backend carries its own acceptance logic.

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
from specbound.core.rules import OverAcceptanceRule, SpeculativeRule, StepRule
from specbound.errors import InvalidAlgorithmError
from specbound.validate import check_float, check_int

__all__ = [
    "ALGORITHM_NAMES",
    "Algorithm",
    "Autoregressive",
    "BatchSpeculative",
    "OverAcceptance",
    "Speculative",
    "algorithm_from_options",
    "check_algorithm",
]


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
    ``round_start_rule``: the ``core`` rules it verifies with.
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
    def round_start_rule(self) -> RecursiveRejectionRule | None:
        return None

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
    def label(self) -> str:
        return "ar"


@dataclass(frozen=True)
class Speculative(_Spec):
    """Paper Algorithm 1 (speculative decoding); ``gamma=None`` drafts to the horizon."""

    gamma: int | None = None
    name = "sd"

    def __post_init__(self) -> None:
        _check_gamma(self.gamma)

    @property
    def step_rule(self) -> StepRule:
        return SpeculativeRule()


@dataclass(frozen=True)
class BatchSpeculative(_Spec):
    """Paper Algorithm 4: M independent drafts per round, recursive rejection at the
    round start, then SD along the accepted draft."""

    num_drafts: int = 2
    gamma: int | None = None
    name = "batch"

    def __post_init__(self) -> None:
        check_int(self.num_drafts, "num_drafts", low=1, error=InvalidAlgorithmError)
        _check_gamma(self.gamma)

    @property
    def label(self) -> str:
        return f"batch M={self.num_drafts} gamma={_gamma_text(self.gamma)}"

    @property
    def step_rule(self) -> StepRule:
        return SpeculativeRule()

    @property
    def round_start_rule(self) -> RecursiveRejectionRule:
        return RecursiveRejectionRule(self.num_drafts)


@dataclass(frozen=True)
class OverAcceptance(_Spec):
    """Section 4: lossy decoding that over-accepts drafted tokens by ``eps``.

    ``resample="opt"`` is Decoding-OPT (Theorem 4's optimal resampling, on the Pareto
    front of Theorem 5); ``"uno"`` is Decoding-UNO (resample from the target).
    """

    eps: float = 0.1
    resample: Literal["opt", "uno"] = "opt"
    gamma: int | None = None
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


Algorithm = Autoregressive | Speculative | BatchSpeculative | OverAcceptance

#: Names accepted by the CLI's ``--algorithm``.
ALGORITHM_NAMES = ("ar", "sd", "batch", "opt", "uno")


def algorithm_from_options(
    name: str, *, gamma: int | None = None, num_drafts: int = 2, eps: float = 0.1
) -> Algorithm:
    """Build a spec from CLI-style options (``ar|sd|batch|opt|uno``)."""
    if name == "ar":
        return Autoregressive()
    if name == "sd":
        return Speculative(gamma=gamma)
    if name == "batch":
        return BatchSpeculative(num_drafts=num_drafts, gamma=gamma)
    if name in ("opt", "uno"):
        return OverAcceptance(eps=eps, resample=name, gamma=gamma)  # type: ignore[arg-type]
    raise InvalidAlgorithmError(
        f"algorithm must be one of {', '.join(ALGORITHM_NAMES)}, got {name!r}"
    )


def check_algorithm(algorithm: object, name: str = "algorithm") -> Algorithm:
    """``algorithm`` if it is one of the specs above; else a named InvalidAlgorithmError."""
    if not isinstance(algorithm, _Spec):
        raise InvalidAlgorithmError(
            f"{name} must be an algorithm spec (specbound.Autoregressive, Speculative, "
            f"BatchSpeculative or OverAcceptance), got {algorithm!r}"
        )
    return algorithm  # type: ignore[return-value]
