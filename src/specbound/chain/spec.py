"""How a chain backend reads an algorithm spec: its rules and the phases of a round.

An algorithm is data (:mod:`specbound.algorithms`); the chain theory and simulator only
need three attributes, so any object with them works (the tests build random members of
the paper's Algorithm-2 family this way):

* ``family`` — its :class:`~specbound.core.families.VerificationFamily`, which hands its
  rules to the backend's interpretation of its round shape (no backend tests which family
  it holds: each backend implements ``no_draft``, ``token_rounds`` and ``block_rounds``
  of :class:`~specbound.core.families.RoundShapes` once);
* ``gamma`` — tokens drafted per round (``None``: to the horizon);
* ``unbiased`` — whether the output law is the target's.

**Phases.** While a run fills position ``n`` it is in a *phase*: ``0`` = the position
starts a round; ``j = 1..gamma-1`` = the ``j+1``-th drafted token of the round (the
previous ``j`` were accepted); ``gamma`` = the bonus position after ``gamma`` accepted
tokens, filled from the target. With ``gamma=None`` there are two phases, ``0`` (round
start) and ``1`` (inside a round). Given the phase and the previous output token the
future is independent of the past, which is what makes the forward recursions exact.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from specbound.core.families import VerificationFamily
from specbound.errors import InvalidAlgorithmError

__all__ = [
    "DecodingAlgorithm",
    "PhaseLayout",
    "at_horizon",
    "check_decoding_algorithm",
    "describe",
    "draft_length",
]

_ATTRIBUTES = ("gamma", "family", "unbiased")


class DecodingAlgorithm(Protocol):
    """What the chain backends read from an algorithm spec."""

    @property
    def gamma(self) -> int | None: ...

    @property
    def family(self) -> VerificationFamily: ...

    @property
    def unbiased(self) -> bool: ...


@dataclass(frozen=True)
class PhaseLayout:
    """The phases of a round (see the module docstring)."""

    gamma: int | None

    @property
    def count(self) -> int:
        """Number of phases."""
        return 2 if self.gamma is None else self.gamma + 1

    @property
    def bonus(self) -> int | None:
        """Index of the bonus phase, or None (``gamma=None`` has no bonus)."""
        return self.gamma

    @property
    def inside(self) -> slice:
        """Phases inside a round (a drafted position that does not start the round)."""
        return slice(1, None) if self.gamma is None else slice(1, self.gamma)


def draft_length(algorithm: DecodingAlgorithm, horizon: int, position: int) -> int:
    """Tokens drafted by a round that starts at ``position``: ``min(gamma, T - n)``.

    This is also the round's number of draft calls (batch SD drafts its M sequences in
    parallel, one batched call per position). Autoregressive decoding drafts nothing.
    """
    return algorithm.family.proposal(algorithm.gamma, horizon - position).length


def describe(algorithm: Any) -> dict[str, Any]:
    """A JSON-serialisable description of ``algorithm`` (its ``to_dict`` when it has one)."""
    to_dict = getattr(algorithm, "to_dict", None)
    if callable(to_dict):
        return dict(to_dict())
    return {"name": type(algorithm).__name__, "gamma": getattr(algorithm, "gamma", None)}


def check_decoding_algorithm(algorithm: object, name: str = "algorithm") -> DecodingAlgorithm:
    """``algorithm`` if it reads as a spec (the attributes above, ``gamma`` None or an
    integer >= 1); else :class:`InvalidAlgorithmError` naming ``name``."""
    if isinstance(algorithm, type):
        raise InvalidAlgorithmError(
            f"{name} must be an algorithm spec instance, got the class {algorithm.__name__}; "
            f"call it, e.g. {algorithm.__name__}()"
        )
    missing = [attr for attr in _ATTRIBUTES if not hasattr(algorithm, attr)]
    if missing:
        raise InvalidAlgorithmError(
            f"{name} must be an algorithm spec (specbound.Autoregressive, Speculative, "
            f"BlockSpeculative, BatchSpeculative or OverAcceptance), got {algorithm!r}"
        )
    gamma = algorithm.gamma  # type: ignore[attr-defined]
    if gamma is not None and (isinstance(gamma, bool) or not isinstance(gamma, int) or gamma < 1):
        raise InvalidAlgorithmError(f"{name}.gamma must be None or an integer >= 1, got {gamma!r}")
    return algorithm  # type: ignore[return-value]


class _ToTheHorizon:
    """``algorithm`` read with ``gamma=None``; every other attribute is the original's."""

    gamma = None

    def __init__(self, algorithm: DecodingAlgorithm) -> None:
        self._algorithm = algorithm

    def __getattr__(self, attr: str) -> Any:
        return getattr(self._algorithm, attr)

    def __repr__(self) -> str:
        return repr(self._algorithm)


def at_horizon(algorithm: object, horizon: int, name: str = "algorithm") -> DecodingAlgorithm:
    """``algorithm`` checked, and read with ``gamma=None`` when ``gamma >= horizon``.

    A round starting at ``n`` drafts ``min(gamma, T - n)`` tokens, and the first round
    starts at 0, so every ``gamma >= T`` drafts exactly what ``gamma=None`` does (to the
    horizon, no bonus token): the same law and counts, at the cost of two phases instead
    of ``gamma + 1``. ``describe`` still reports the ``gamma`` asked for.
    """
    spec = check_decoding_algorithm(algorithm, name)
    if spec.gamma is not None and spec.gamma >= horizon:
        return _ToTheHorizon(spec)
    return spec
