"""Run experiments: compute (or reuse) each data file, plot from the data, write the report.

For every selected experiment the runner builds its config, and

* reuses ``OUT/data/<name>.json`` when it parses, has the right layout and carries the
  same config hash (same experiment revision, same config, hence same seed); its claims
  are judged again from the stored data (cheap), so verdicts follow the current code;
* otherwise (missing, corrupt, other config, or ``force``) computes the data, judges the
  claims and writes the file atomically — an interrupted run loses nothing finished.

Figures are then drawn from the data *as read back from disk*, under ``OUT/figures/``,
and ``OUT/REPORT.md`` is written atomically. The report also covers registered
experiments that were not selected but whose data file for the same config exists, so
``--only fig4 --force`` refreshes one section without dropping the others.
"""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path

from specbound.experiments import registry
from specbound.experiments.base import Experiment, Progress, Record, config_dict, config_hash
from specbound.experiments.outcome import Outcome, Reporter, RunResult, Status
from specbound.experiments.report import write_report
from specbound.io import environment_info, read_json, write_json_atomic

__all__ = ["data_path", "reproduce"]


class _Silent:
    """The :class:`Reporter` of a run without a progress display."""

    def start(self, name: str, label: str) -> Progress:
        return lambda fraction: None

    def finish(self, name: str, status: str) -> None:
        return None


def data_path(out_dir: Path, name: str) -> Path:
    """Where experiment ``name`` keeps its data: ``OUT/data/<name>.json``."""
    return Path(out_dir) / "data" / f"{name}.json"


def _load_valid(path: Path, name: str, digest: str) -> Record | None:
    record = Record.from_dict(read_json(path))
    if record is None or record.experiment != name or record.config_hash != digest:
        return None
    return record


def _rejudge(experiment: Experiment, config: object, record: Record, path: Path) -> None:
    """Judge reused data with the current claims code; rewrite the file if a verdict moved.

    Claims are a cheap, pure function of (config, data), so a change in how a claim is
    checked never needs the data recomputed — only the stored verdicts refreshed.
    """
    claims = tuple(experiment.claims(config, record.data))
    if [c.to_dict() for c in claims] != [c.to_dict() for c in record.claims]:
        write_json_atomic(path, replace(record, claims=claims).to_dict())


def _compute(experiment: Experiment, config: object, digest: str, progress: Progress) -> Record:
    data = experiment.compute(config, progress)
    claims = experiment.claims(config, data)
    versions = environment_info()
    versions.pop("date", None)  # NOTE: same seed -> byte-identical data files
    return Record(
        experiment=experiment.name,
        config=config_dict(config),
        config_hash=digest,
        seed=int(config_dict(config)["seed"]),
        versions=versions,
        data=data,
        claims=tuple(claims),
    )


def reproduce(
    out_dir: str | Path,
    *,
    seed: int = 0,
    quick: bool = False,
    only: str | None = None,
    force: bool = False,
    reporter: Reporter | None = None,
    pair: str | None = None,
) -> RunResult:
    """Compute (or reuse) the selected experiments, plot them, and write ``REPORT.md``.

    ``pair``: a named model pair other than the embedded one (``"smollm2"``): only the
    language-model sections run, each with its config for that pair
    (``Experiment.on_pair``); give such a run its own ``out_dir``."""
    out = Path(out_dir)
    if pair is not None:
        from specbound.lm.pairs import check_pair_name  # imports torch: only for a pair

        pair = None if check_pair_name(pair) == "embedded" else pair
    selected = registry.select(only, pair)
    reporter = reporter or _Silent()
    outcomes: list[Outcome] = []
    for name in registry.REGISTRY:
        wanted = name in selected
        path = data_path(out, name)
        if not wanted and not path.exists():
            continue
        experiment = registry.load(name)
        if pair is not None and experiment.on_pair is None:
            continue  # a chain section: it has no config on a model pair
        config = (
            experiment.make_config(quick, seed)
            if pair is None or experiment.on_pair is None
            else experiment.on_pair(quick, seed, pair)
        )
        digest = config_hash(name, experiment.revision, config)
        started = time.perf_counter()
        record = None if (wanted and force) else _load_valid(path, name, digest)
        status: Status
        if not wanted:
            if record is None:
                continue
            status = "report-only"
            _rejudge(experiment, config, record, path)
        elif record is not None:
            status = "reused"
            reporter.start(name, experiment.title)(1.0)
            _rejudge(experiment, config, record, path)
        else:
            record = _compute(experiment, config, digest, reporter.start(name, experiment.title))
            write_json_atomic(path, record.to_dict())
            status = "computed"
        # Plot from the data as stored, so the figures can never disagree with the file.
        stored = _load_valid(path, name, digest)
        if stored is None:
            raise RuntimeError(f"{path} could not be read back after writing it")
        figures = tuple(experiment.plot(stored.data, out / "figures"))
        if wanted:
            reporter.finish(name, status)
        outcomes.append(
            Outcome(
                experiment=experiment,
                status=status,
                record=stored,
                figures=figures,
                seconds=time.perf_counter() - started,
            )
        )
    report = write_report(out, outcomes, seed=seed, quick=quick, pair=pair)
    return RunResult(report=report, outcomes=tuple(outcomes))
