"""The results table of a sweep: Parquet, appended atomically as each cell finishes.

A sweep folder holds ``results.parquet`` (the table, one row per cell: the record of
:func:`~specbound.sweep.cells.run_cell`), ``parts/`` (rows not yet merged into it) and
``sweep.json`` (what was run). Every finished cell is written at once as its own part
file — to a temporary name, then ``os.replace`` — so a sweep killed at any moment keeps
every cell it finished, and no reader ever sees half a file. :meth:`ResultsStore.compact`
(at the end of every run, interrupted or not, and by ``summarize``) merges the parts
into ``results.parquet`` — again a temporary file and ``os.replace`` — and only then
deletes them; a part that survives a kill during compaction duplicates a row that
:func:`read_results` keeps once (the newest). After a run,
``pandas.read_parquet(DIR / "results.parquet")`` reads the whole table.

A cell computed again on ``--resume`` (one that had failed) replaces its old row.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from specbound.errors import InvalidInputError
from specbound.io import atomic_output

__all__ = ["PARTS_DIR", "RESULTS_NAME", "SPEC_NAME", "ResultsStore", "read_results"]

RESULTS_NAME = "results.parquet"
PARTS_DIR = "parts"
SPEC_NAME = "sweep.json"


def _read(path: Path) -> list[dict[str, Any]]:
    import pyarrow.parquet as pq

    try:
        rows: list[dict[str, Any]] = pq.read_table(path).to_pylist()
    except Exception as exc:  # pyarrow raises several types for a damaged file
        raise InvalidInputError(f"{path}: not a readable results table ({exc})") from None
    return rows


def _parts(folder: Path) -> list[Path]:
    return sorted((folder / PARTS_DIR).glob("part-*.parquet"))


def read_results(folder: str | Path) -> list[dict[str, Any]]:
    """Every row of ``folder``'s sweep (the table and any parts not merged yet), one per
    cell id (the newest), in grid order; [] when there is none."""
    folder = Path(folder)
    rows: dict[str, dict[str, Any]] = {}
    main = folder / RESULTS_NAME
    for path in [main] if main.exists() else []:
        rows.update((row["cell_id"], row) for row in _read(path))
    for path in _parts(folder):
        rows.update((row["cell_id"], row) for row in _read(path))
    return sorted(rows.values(), key=lambda row: row["index"])


def _write_atomic(rows: Iterable[dict[str, Any]], path: Path) -> None:
    """``rows`` as one Parquet file at ``path`` through :func:`specbound.io.atomic_output`
    (a temporary file, then ``os.replace``; the umask's permissions, like every output)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = list(rows)
    columns: dict[str, None] = {}
    for row in rows:
        columns.update(dict.fromkeys(row))
    table = pa.Table.from_pylist([{c: row.get(c) for c in columns} for row in rows])
    with atomic_output(path, "results table", parents=True) as tmp:
        pq.write_table(table, tmp)


class ResultsStore:
    """The table of one sweep folder, with the rows already there."""

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)
        self.rows: dict[str, dict[str, Any]] = {
            row["cell_id"]: row for row in read_results(self.folder)
        }
        self._count = 0

    def finished(self) -> set[str]:
        """Ids of the cells already computed successfully."""
        return {cell_id for cell_id, row in self.rows.items() if row.get("status") == "ok"}

    def add(self, record: dict[str, Any]) -> None:
        """Record a finished cell now: its row as a new part file (atomic)."""
        self.rows[record["cell_id"]] = record
        self._count += 1
        name = f"part-{time.time_ns():020d}-{os.getpid()}-{self._count:06d}.parquet"
        _write_atomic([record], self.folder / PARTS_DIR / name)

    def compact(self) -> None:
        """Merge every part into ``results.parquet`` (atomic), then delete the parts."""
        parts = _parts(self.folder)
        if not parts and (self.folder / RESULTS_NAME).exists():
            return
        if not self.rows:
            return
        rows = sorted(self.rows.values(), key=lambda row: row["index"])
        _write_atomic(rows, self.folder / RESULTS_NAME)
        for path in parts:
            path.unlink(missing_ok=True)
