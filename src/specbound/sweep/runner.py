"""Running a sweep: check everything first, then compute the missing cells, recording each.

:func:`run_sweep` reads the spec, expands the grid, checks that the output folder is
writable and that it does not already hold a results table (unless ``resume``), and only
then starts an executor. Cells whose ids are already in the table with ``status="ok"``
are skipped on ``resume``; failed ones are computed again. Each finished record goes to
the :class:`~specbound.sweep.store.ResultsStore` at once (flushed atomically), so a
sweep killed half way keeps every cell it had finished and ``--resume`` computes none of
them again. A resume first checks that the folder holds a sweep of the same spec, or one
the new spec widens (:func:`check_same_sweep`); Ctrl-C raises :class:`SweepInterrupted`
once every finished cell is saved, with the counts a caller reports.
"""

from __future__ import annotations

import hashlib
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from specbound.errors import InvalidInputError
from specbound.io import read_json, write_json_atomic
from specbound.sweep.executors import make_executor
from specbound.sweep.grid import Cell, canonical, expand
from specbound.sweep.spec import SweepSpec, load_spec
from specbound.sweep.store import PARTS_DIR, RESULTS_NAME, SPEC_NAME, ResultsStore

__all__ = [
    "SweepInterrupted",
    "SweepRun",
    "check_output",
    "check_same_sweep",
    "default_out",
    "run_sweep",
    "spec_hash",
]


class SweepInterrupted(KeyboardInterrupt):
    """Ctrl-C during :func:`run_sweep`, after every finished cell was saved: ``saved`` of
    the grid's ``total`` cells are in ``out`` (``computed`` of them by this run)."""

    def __init__(self, out: Path, saved: int, total: int, computed: int) -> None:
        super().__init__(f"sweep interrupted: {saved} of {total} cells saved in {out}")
        self.out = out
        self.saved = saved
        self.total = total
        self.computed = computed


@dataclass(frozen=True)
class SweepRun:
    """What one :func:`run_sweep` call did: ``computed`` holds the ids of the cells it ran
    (in completion order), ``skipped`` how many it found finished already."""

    out: Path
    total: int
    skipped: int
    computed: tuple[str, ...]
    failed: tuple[str, ...]
    seconds: float
    executor: str
    workers: int
    errors: dict[str, str] = field(default_factory=dict)

    @property
    def remaining(self) -> int:
        """Cells neither finished before nor computed now (a ``limit`` stopped early)."""
        return self.total - self.skipped - len(self.computed)


def default_out(spec: SweepSpec) -> Path:
    """Where a sweep writes when no ``--out`` is given: ``results/sweeps/NAME``."""
    return Path("results") / "sweeps" / spec.name


def check_output(out: Path, resume: bool) -> None:
    """Refuse an output folder that cannot be written, or that holds a results table
    when ``resume`` is not set."""
    if out.exists() and not out.is_dir():
        raise InvalidInputError(f"--out {str(out)!r} exists and is not a folder")
    try:
        out.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=out):
            pass
    except OSError as exc:
        raise InvalidInputError(f"--out {str(out)!r} is not writable ({exc})") from None
    if ((out / RESULTS_NAME).exists() or any((out / PARTS_DIR).glob("*.parquet"))) and not resume:
        raise InvalidInputError(
            f"--out {str(out)!r} already holds a results table ({RESULTS_NAME}); pass "
            "--resume to continue that sweep, or choose another --out"
        )


def spec_hash(spec: SweepSpec) -> str:
    """The first 16 hex digits of the SHA-256 of the normalised spec (name, kind, seed and
    the parsed grid; not the file's path): equal for equal specs however they are written."""
    payload = {key: value for key, value in asdict(spec).items() if key != "source"}
    return hashlib.sha256(canonical(payload).encode("utf-8")).hexdigest()[:16]


def check_same_sweep(out: Path, spec: SweepSpec, cells: list[Cell], held: set[str]) -> None:
    """Refuse to ``--resume`` into ``out`` a sweep of another spec.

    The folder's ``sweep.json`` records the spec's name and hash. The same hash resumes;
    another spec of the same name whose grid holds every cell already in the folder
    (``held``: the table's cell ids, and those ``sweep.json`` lists) widens the sweep and
    resumes too. Anything else would mix cells of two grids in one table.
    """
    recorded = read_json(out / SPEC_NAME)
    if not isinstance(recorded, dict):
        return
    digest = spec_hash(spec)
    if recorded.get("spec_hash") == digest:
        return
    listed = recorded.get("cell_ids")
    known = held | (set(listed) if isinstance(listed, list) else set())
    foreign = known - {cell.cell_id for cell in cells}
    if recorded.get("name") == spec.name and not foreign:
        return
    old = f"sweep {recorded.get('name')!r} (spec {recorded.get('source')}"
    old += f", hash {recorded['spec_hash']})" if recorded.get("spec_hash") else ")"
    raise InvalidInputError(
        f"--resume: --out {str(out)!r} holds {old}, but the spec given is sweep "
        f"{spec.name!r} ({spec.source}, hash {digest}); {len(foreign)} of the folder's "
        "cells are not in its grid. Resume with the same spec (or one that only adds "
        "values to it), or choose another --out"
    )


@contextmanager
def _progress(enabled: bool, total: int, done: int) -> Iterator[Any]:
    """A rich progress bar on stderr (cells done, failed, time left); a no-op if off."""
    if not enabled:
        yield None
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    columns = (
        TextColumn("[bold]sweep"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("cells, [red]{task.fields[failed]} failed"),
        TimeElapsedColumn(),
        TextColumn("left"),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=Console(stderr=True)) as bar:
        task = bar.add_task("sweep", total=total, completed=done, failed=0)
        yield lambda failed: bar.update(task, advance=1, failed=failed)


def run_sweep(
    spec: SweepSpec | str | Path,
    out: str | Path | None = None,
    *,
    executor: str = "local",
    workers: int | None = None,
    address: str | None = None,
    resume: bool = False,
    limit: int | None = None,
    progress: bool = False,
) -> SweepRun:
    """Run ``spec`` (a parsed spec or a TOML path) into the folder ``out``.

    ``executor``: ``local`` (a process pool of ``workers``, default the cores) or ``ray``
    (the cluster at ``address``, else a local instance). ``resume`` skips the cells
    already finished in ``out``; ``limit`` computes at most that many cells, then stops
    (the rest is left for a later ``resume``). ``progress`` shows a bar on stderr.
    """
    started = time.perf_counter()
    parsed = spec if isinstance(spec, SweepSpec) else load_spec(spec)
    cells = expand(parsed)
    if limit is not None and limit < 1:
        raise InvalidInputError(f"--limit must be an integer >= 1, got {limit}")
    folder = Path(out) if out is not None else default_out(parsed)
    check_output(folder, resume)
    store = ResultsStore(folder)
    if resume:
        check_same_sweep(folder, parsed, cells, set(store.rows))
    finished = store.finished()
    todo: list[Cell] = [cell for cell in cells if cell.cell_id not in finished]
    skipped = len(cells) - len(todo)
    if limit is not None:
        todo = todo[:limit]
    write_json_atomic(
        folder / SPEC_NAME,
        {
            "name": parsed.name,
            "kind": parsed.kind,
            "seed": parsed.seed,
            "source": parsed.source,
            "cells": len(cells),
            "spec_hash": spec_hash(parsed),
            "cell_ids": [cell.cell_id for cell in cells],
            "executor": executor,
            "updated": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        },
    )
    computed: list[str] = []
    failed: list[str] = []
    errors: dict[str, str] = {}
    runner = make_executor(executor, workers, address) if todo else None
    interrupted = False
    try:
        with _progress(progress and bool(todo), len(cells), skipped) as advance:
            for record in runner.run(todo) if runner is not None else ():
                store.add(record)
                computed.append(record["cell_id"])
                if record["status"] != "ok":
                    failed.append(record["cell_id"])
                    errors[record["cell_id"]] = str(record["error"])
                if advance is not None:
                    advance(len(failed))
    except KeyboardInterrupt:
        interrupted = True
    finally:
        store.compact()
        if runner is not None:
            runner.close()
    if interrupted:
        saved = len(store.finished() & {cell.cell_id for cell in cells})
        raise SweepInterrupted(folder, saved, len(cells), len(computed))
    return SweepRun(
        out=folder,
        total=len(cells),
        skipped=skipped,
        computed=tuple(computed),
        failed=tuple(failed),
        seconds=time.perf_counter() - started,
        executor=executor,
        workers=runner.workers if runner is not None else 0,
        errors=errors,
    )
