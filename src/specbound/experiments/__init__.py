"""The paper's figures, regenerated: experiments, their data files, and the report.

Each experiment is a pure function from a small frozen config to a data file
(:mod:`specbound.experiments.base`); :data:`~specbound.experiments.registry.REGISTRY`
lists them; :func:`~specbound.experiments.runner.reproduce` runs them (reusing finished
data), plots from the data and writes ``REPORT.md``. See ``docs/reproduce.md``.
"""

from specbound.experiments.base import Claim, Experiment, Record
from specbound.experiments.outcome import Outcome, RunResult
from specbound.experiments.registry import REGISTRY, load, select
from specbound.experiments.runner import reproduce

__all__ = [
    "REGISTRY",
    "Claim",
    "Experiment",
    "Outcome",
    "Record",
    "RunResult",
    "load",
    "reproduce",
    "select",
]
