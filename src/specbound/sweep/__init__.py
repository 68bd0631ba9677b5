"""Sweeps: a grid of experiments in a TOML spec, run on a local process pool or on Ray.

``specbound sweep run SPEC.toml`` (guide: ``docs/sweep.md``). The pieces, one idea each:
:mod:`~specbound.sweep.spec` (the TOML spec, errors by key and line),
:mod:`~specbound.sweep.grid` (cells with stable ids and seeds),
:mod:`~specbound.sweep.cells` and :mod:`~specbound.sweep.lm_cells` (a cell's pure
computation), :mod:`~specbound.sweep.executors` (``local`` and ``ray``),
:mod:`~specbound.sweep.store` (the Parquet table), :mod:`~specbound.sweep.runner` (the
run, resume) and :mod:`~specbound.sweep.summarize` (table and plots).
"""

from specbound.errors import require_extra

require_extra("sweep", ("pyarrow", "pandas"), "sweeps (their Parquet results tables)")

from specbound.sweep.cells import run_cell  # noqa: E402
from specbound.sweep.executors import EXECUTORS, LocalExecutor, RayExecutor, make_executor  # noqa: E402
from specbound.sweep.grid import Cell, expand  # noqa: E402
from specbound.sweep.runner import SweepRun, run_sweep  # noqa: E402
from specbound.sweep.spec import SweepSpec, SweepSpecError, load_spec, parse_spec  # noqa: E402
from specbound.sweep.store import ResultsStore, read_results  # noqa: E402

__all__ = [
    "EXECUTORS",
    "Cell",
    "LocalExecutor",
    "RayExecutor",
    "ResultsStore",
    "SweepRun",
    "SweepSpec",
    "SweepSpecError",
    "expand",
    "load_spec",
    "make_executor",
    "parse_spec",
    "read_results",
    "run_cell",
    "run_sweep",
]
