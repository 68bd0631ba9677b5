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

__all__ = [
    "ALGORITHM_NAMES",
    "Algorithm",
    "Autoregressive",
    "BatchSpeculative",
    "OverAcceptance",
    "Speculative",
    "algorithm_from_options",
]


def _check_gamma(gamma: int | None) -> None:
    if gamma is None:
        return
    if isinstance(gamma, bool) or not isinstance(gamma, int):
        raise InvalidAlgorithmError(f"gamma must be None or an integer >= 1, got {gamma!r}")
    if gamma < 1:
        raise InvalidAlgorithmError(
            f"gamma must be >= 1 (or None: draft to the horizon), got {gamma}"
        )


class _Spec:
    """Shared behaviour of the algorithm specs."""

    name: str = ""

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable description, ``{"name": ..., **fields}``."""
        return {"name": self.name, **asdict(self)}  # type: ignore[call-overload]


@dataclass(frozen=True)
class Autoregressive(_Spec):
    """Paper Algorithm 3: sample every token from the target, one target call per token."""

    name = "ar"
    unbiased = True
    gamma = None
    step_rule = None
    round_start_rule = None


@dataclass(frozen=True)
class Speculative(_Spec):
    """Paper Algorithm 1 (speculative decoding); ``gamma=None`` drafts to the horizon."""

    gamma: int | None = None
    name = "sd"
    unbiased = True

    def __post_init__(self) -> None:
        _check_gamma(self.gamma)

    @property
    def step_rule(self) -> StepRule:
        return SpeculativeRule()

    @property
    def round_start_rule(self) -> None:
        return None


@dataclass(frozen=True)
class BatchSpeculative(_Spec):
    """Paper Algorithm 4: M independent drafts per round, recursive rejection at the
    round start, then SD along the accepted draft."""

    num_drafts: int = 2
    gamma: int | None = None
    name = "batch"
    unbiased = True

    def __post_init__(self) -> None:
        if isinstance(self.num_drafts, bool) or not isinstance(self.num_drafts, int):
            raise InvalidAlgorithmError(
                f"num_drafts must be an integer >= 1, got {self.num_drafts!r}"
            )
        if self.num_drafts < 1:
            raise InvalidAlgorithmError(f"num_drafts must be >= 1, got {self.num_drafts}")
        _check_gamma(self.gamma)

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
        try:
            eps = float(self.eps)
        except (TypeError, ValueError) as exc:
            raise InvalidAlgorithmError(f"eps must be a number >= 0, got {self.eps!r}") from exc
        if not eps >= 0 or eps == float("inf"):
            raise InvalidAlgorithmError(f"eps must be a finite number >= 0, got {self.eps!r}")
        object.__setattr__(self, "eps", eps)
        if self.resample not in ("opt", "uno"):
            raise InvalidAlgorithmError(f"resample must be 'opt' or 'uno', got {self.resample!r}")
        _check_gamma(self.gamma)

    @property
    def unbiased(self) -> bool:
        return self.step_rule.unbiased

    @property
    def step_rule(self) -> OverAcceptanceRule:
        return OverAcceptanceRule(self.eps, self.resample)

    @property
    def round_start_rule(self) -> None:
        return None


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
