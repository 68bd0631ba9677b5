"""The results table of a sweep: one Parquet file, rewritten atomically as cells finish.

``DIR/results.parquet`` holds one row per cell (the record of
:func:`~specbound.sweep.cells.run_cell`); ``DIR/sweep.json`` the spec it came from. Each
flush writes the whole table to a temporary file in ``DIR`` and ``os.replace``-s it over
the old one, so a reader (or a sweep killed mid-write) sees either the table before the
flush or the one after, never half a file. ``pandas.read_parquet(DIR/"results.parquet")``
reads it.

A cell re-run on ``--resume`` (one that had failed) replaces its old row.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path
from typing import Any

from specbound.errors import InvalidInputError

__all__ = ["RESULTS_NAME", "SPEC_NAME", "ResultsStore", "read_results"]

RESULTS_NAME = "results.parquet"
SPEC_NAME = "sweep.json"


def read_results(folder: str | Path) -> list[dict[str, Any]]:
    """The rows of ``folder``'s results table ([] when there is none yet)."""
    import pyarrow.parquet as pq

    path = Path(folder) / RESULTS_NAME
    if not path.exists():
        return []
    try:
        rows: list[dict[str, Any]] = pq.read_table(path).to_pylist()
    except Exception as exc:  # pyarrow raises several types for a damaged file
        raise InvalidInputError(f"{path}: not a readable results table ({exc})") from None
    return rows


class ResultsStore:
    """The table of one sweep folder: rows by cell id, flushed at most every ``interval``
    seconds (and always by :meth:`flush`)."""

    def __init__(self, folder: str | Path, interval: float = 0.5) -> None:
        self.folder = Path(folder)
        self.path = self.folder / RESULTS_NAME
        self.interval = interval
        self.rows: dict[str, dict[str, Any]] = {
            row["cell_id"]: row for row in read_results(self.folder)
        }
        self._dirty = False
        self._last = 0.0

    def finished(self) -> set[str]:
        """Ids of the cells already computed successfully."""
        return {cell_id for cell_id, row in self.rows.items() if row.get("status") == "ok"}

    def add(self, record: dict[str, Any]) -> None:
        """Add (or replace) a cell's row; flush when ``interval`` has passed."""
        self.rows[record["cell_id"]] = record
        self._dirty = True
        if time.monotonic() - self._last >= self.interval:
            self.flush()

    def flush(self) -> None:
        """Write the table atomically (nothing to do when nothing changed)."""
        if not self._dirty:
            return
        import pyarrow as pa
        import pyarrow.parquet as pq

        rows = sorted(self.rows.values(), key=lambda row: row["index"])
        columns: dict[str, None] = {}
        for row in rows:
            columns.update(dict.fromkeys(row))
        table = pa.Table.from_pylist([{c: row.get(c) for c in columns} for row in rows])
        self.folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{RESULTS_NAME}.", suffix=".tmp", dir=self.folder)
        os.close(fd)
        try:
            pq.write_table(table, tmp)
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        self._dirty = False
        self._last = time.monotonic()
