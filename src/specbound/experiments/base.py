"""The experiment contract: a pure function from a small frozen config to a data file.

An :class:`Experiment` bundles five plain functions, each a module-level function so the
bundle pickles (a sweep can send ``compute`` to a process pool or a Ray worker unchanged):

* ``make_config(quick, seed)`` -> a frozen, JSON-serialisable dataclass;
* ``compute(config, progress)`` -> a JSON-serialisable ``dict`` of results. Pure and
  seeded: the same config gives the same data, byte for byte. ``progress`` receives the
  fraction done in [0, 1] (a no-op on a worker that has no progress bar); a compute made
  of counted parts reports through :class:`Steps`;
* ``claims(config, data)`` -> the list of :class:`Claim` that the data supports or refutes;
* ``plot(data, fig_dir)`` -> the PNG files drawn *from the data alone*;
* ``describe(record)`` -> the Markdown paragraphs of its report section: the claim, the
  theorem it checks, how its inputs were drawn;
* ``on_pair(quick, seed, pair)`` (language-model sections only) -> the config of the
  section on the named model pair ``pair`` (``specbound reproduce --pair smollm2``),
  sized for that pair's cost; None for a section that runs on Markov chains only.

The runner (:mod:`specbound.experiments.runner`) does the rest: caching by config hash,
atomic writes; :mod:`specbound.experiments.report` writes the section around
``describe``'s text (title, figures, claims table, the command that regenerates it).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = [
    "Claim",
    "Experiment",
    "Progress",
    "Record",
    "Steps",
    "config_dict",
    "config_hash",
    "no_progress",
]

#: Receives the fraction of an experiment's work that is done, in [0, 1].
Progress = Callable[[float], None]


def no_progress(fraction: float) -> None:
    """The progress callback of a run without a progress bar."""


class Steps:
    """Counts the finished parts of a ``compute`` and reports ``done / total`` to ``progress``.

    ``Steps(total, progress)``, then one :meth:`advance` per finished part (a simulation, a
    prompt, ...). Advancing past ``total`` is a counting bug and raises ``ValueError``.
    """

    def __init__(self, total: int, progress: Progress) -> None:
        if isinstance(total, bool) or not isinstance(total, int) or total < 1:
            raise ValueError(f"Steps: total must be a positive integer, got {total!r}")
        self.total = total
        self.done = 0
        self._progress = progress

    def advance(self, count: int = 1) -> None:
        """``count`` more parts are finished: report the new fraction done."""
        if count < 1 or self.done + count > self.total:
            raise ValueError(
                f"Steps: cannot advance by {count} with {self.done} of {self.total} done"
            )
        self.done += count
        self._progress(self.done / self.total)


@dataclass(frozen=True)
class Claim:
    """One statement of the paper checked against numbers: theory beside measurement.

    ``theory`` and ``measured`` are the values compared (None when the claim is about a
    whole curve, e.g. monotonicity); ``ci95`` is the 95% interval of ``measured`` when it
    is a Monte Carlo mean; ``check`` says in a few words what was tested and how
    (``"|z| = 0.41 < 2.58"``, ``"max gap 2e-16 < 1e-9"``); ``holds`` is its verdict.
    """

    id: str
    statement: str
    holds: bool
    check: str
    theory: float | None = None
    measured: float | None = None
    ci95: tuple[float, float] | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "statement": self.statement,
            "holds": self.holds,
            "check": self.check,
            "theory": self.theory,
            "measured": self.measured,
            "ci95": list(self.ci95) if self.ci95 is not None else None,
        }

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> Claim:
        """Rebuild a claim read from a data file; raises ``KeyError``/``TypeError`` if bad."""
        ci = raw["ci95"]
        return cls(
            id=str(raw["id"]),
            statement=str(raw["statement"]),
            holds=bool(raw["holds"]),
            check=str(raw["check"]),
            theory=None if raw["theory"] is None else float(raw["theory"]),
            measured=None if raw["measured"] is None else float(raw["measured"]),
            ci95=None if ci is None else (float(ci[0]), float(ci[1])),
        )


@dataclass(frozen=True)
class Record:
    """The contents of one data file ``OUT/data/<name>.json``."""

    experiment: str
    config: dict[str, Any]
    config_hash: str
    seed: int
    versions: dict[str, Any]
    data: dict[str, Any]
    claims: tuple[Claim, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "experiment": self.experiment,
            "config": self.config,
            "config_hash": self.config_hash,
            "seed": self.seed,
            "versions": self.versions,
            "claims": [claim.to_dict() for claim in self.claims],
            "data": self.data,
        }

    @classmethod
    def from_dict(cls, raw: Any) -> Record | None:
        """The record in a parsed data file, or None when its layout is wrong."""
        try:
            if not isinstance(raw["data"], dict) or not isinstance(raw["config"], dict):
                return None
            return cls(
                experiment=str(raw["experiment"]),
                config=raw["config"],
                config_hash=str(raw["config_hash"]),
                seed=int(raw["seed"]),
                versions=dict(raw["versions"]),
                data=raw["data"],
                claims=tuple(Claim.from_dict(c) for c in raw["claims"]),
            )
        except (KeyError, TypeError, ValueError, IndexError):
            return None


def config_dict(config: Any) -> dict[str, Any]:
    """A frozen config dataclass as a JSON-ready dict (tuples become lists)."""
    if not dataclasses.is_dataclass(config) or isinstance(config, type):
        raise TypeError(f"an experiment config must be a dataclass instance, got {config!r}")
    result: dict[str, Any] = json.loads(json.dumps(dataclasses.asdict(config)))
    return result


def config_hash(name: str, revision: int, config: Any) -> str:
    """A digest of (experiment, code revision, config): equal hashes mean reusable data."""
    canonical = json.dumps(
        {"experiment": name, "revision": revision, "config": config_dict(config)},
        sort_keys=True,
        separators=(",", ":"),
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:16]


@dataclass(frozen=True)
class Experiment:
    """One figure (or table) of the report; see the module docstring for the contract.

    ``revision`` is bumped whenever ``compute`` changes what it produces, so data files
    written by older code are recomputed rather than trusted. ``timed``: the data record
    wall-clock seconds, so the same seed need not give the same bytes. ``on_pair``: the
    section's config on a named model pair (None: the section does not run on one).
    """

    name: str
    title: str
    revision: int
    make_config: Callable[[bool, int], Any]
    compute: Callable[[Any, Progress], dict[str, Any]]
    claims: Callable[[Any, dict[str, Any]], list[Claim]]
    plot: Callable[[dict[str, Any], Path], list[Path]]
    describe: Callable[[Record], str]
    timed: bool = False
    on_pair: Callable[[bool, int, str], Any] | None = None
