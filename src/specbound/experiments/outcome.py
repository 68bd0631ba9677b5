"""What a run produced: one :class:`Outcome` per experiment, and the :class:`RunResult`.

Shared by :mod:`specbound.experiments.runner` (which builds them) and
:mod:`specbound.experiments.report` (which writes them up), so neither imports the other.
:class:`Reporter` is what the runner tells a progress display.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Protocol

from specbound.experiments.base import Experiment, Progress, Record

__all__ = ["Outcome", "Reporter", "RunResult", "Status"]

#: How an experiment's data came to be in a run's report.
Status = Literal["computed", "reused", "report-only"]


class Reporter(Protocol):
    """What the runner tells a progress display (the CLI's rich bar, or nothing)."""

    def start(self, name: str, label: str) -> Progress:
        """A task begins; returns the callback that receives its fraction done."""
        ...

    def finish(self, name: str, status: str) -> None:
        """The task ended with ``status`` ("computed", "reused", "plotted", ...)."""
        ...


@dataclass(frozen=True)
class Outcome:
    """What happened to one experiment in a run."""

    experiment: Experiment
    status: Status
    record: Record
    figures: tuple[Path, ...]
    seconds: float

    @property
    def name(self) -> str:
        return self.experiment.name

    @property
    def all_hold(self) -> bool:
        return all(claim.holds for claim in self.record.claims)


@dataclass(frozen=True)
class RunResult:
    """A finished run: the report's path and one outcome per experiment in it."""

    report: Path
    outcomes: tuple[Outcome, ...] = field(default_factory=tuple)

    @property
    def claims_total(self) -> int:
        return sum(len(o.record.claims) for o in self.outcomes)

    @property
    def claims_held(self) -> int:
        return sum(c.holds for o in self.outcomes for c in o.record.claims)

    @property
    def failed(self) -> list[str]:
        return [f"{o.name}:{c.id}" for o in self.outcomes for c in o.record.claims if not c.holds]
