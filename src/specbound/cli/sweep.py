"""``specbound sweep run SPEC.toml``, ``specbound sweep summarize DIR`` and ``specbound bench
sweep``.

Thin: parse options, call :mod:`specbound.sweep`, print. ``specbound sweep SPEC.toml``
(no sub-command) is read as ``specbound sweep run SPEC.toml``.
"""

from __future__ import annotations

import shlex
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from specbound.cli.app import app
from specbound.cli.bench import bench_app
from specbound.cli.common import EXIT_INTERRUPTED, echo_json

__all__ = ["sweep_app"]


class _RunByDefault(TyperGroup):
    """A group whose first argument, when it is not a sub-command, is ``run``'s spec."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        if args and not args[0].startswith("-") and args[0] not in self.commands:
            args = ["run", *args]
        return super().parse_args(ctx, args)


sweep_app = typer.Typer(
    name="sweep",
    cls=_RunByDefault,
    help="Run a grid of experiments from a TOML spec (local process pool or Ray).",
    no_args_is_help=True,
)
app.add_typer(sweep_app, name="sweep")


def _float_text(value: Any, digits: int = 4) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


@sweep_app.command("run")
def sweep_run(
    spec: Annotated[Path, typer.Argument(help="The sweep spec (TOML; see docs/sweep.md).")],
    executor: str = typer.Option("local", "--executor", "-e", help="local | ray."),
    workers: int | None = typer.Option(
        None, "--workers", "-w", help="Processes (local) or CPUs of a local Ray (default: cores)."
    ),
    address: str | None = typer.Option(
        None, "--address", help="Ray cluster address (host:port, ray://host:10001, auto)."
    ),
    out: Annotated[
        Path | None,
        typer.Option("--out", "-o", help="Output folder (default: results/sweeps/NAME)."),
    ] = None,
    resume: bool = typer.Option(False, "--resume", help="Skip the cells already finished."),
    limit: int | None = typer.Option(
        None, "--limit", help="Compute at most this many cells, then stop (resume later)."
    ),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Progress bar."),
    as_json: bool = typer.Option(False, "--json", help="Print the run's summary as JSON."),
) -> None:
    """Compute every cell of SPEC's grid; results in OUT/results.parquet."""
    from specbound.sweep.runner import SweepInterrupted, run_sweep
    from specbound.sweep.store import RESULTS_NAME

    try:
        run = run_sweep(
            spec,
            out,
            executor=executor,
            workers=workers,
            address=address,
            resume=resume,
            limit=limit,
            progress=progress and not as_json,
        )
    except SweepInterrupted as stop:
        typer.echo(
            f"interrupted: {stop.saved} of {stop.total} cells are saved in {stop.out} "
            f"({stop.computed} computed by this run); continue with: specbound sweep run "
            f"{shlex.quote(str(spec))} --out {shlex.quote(str(stop.out))} --resume",
            err=True,
        )
        raise typer.Exit(code=EXIT_INTERRUPTED) from None
    summary = {
        "out": str(run.out),
        "results": str(run.out / RESULTS_NAME),
        "cells": run.total,
        "computed": len(run.computed),
        "failed": len(run.failed),
        "skipped": run.skipped,
        "remaining": run.remaining,
        "executor": run.executor,
        "workers": run.workers,
        "seconds": run.seconds,
        "errors": run.errors,
    }
    if as_json:
        echo_json(summary)
        return
    typer.echo(
        f"{run.total} cells: {len(run.computed)} computed ({len(run.failed)} failed), "
        f"{run.skipped} already finished, {run.remaining} left; "
        f"{run.executor} executor, {run.workers} workers, {run.seconds:.1f} s"
    )
    for cell_id, error in list(run.errors.items())[:5]:
        typer.echo(f"failed cell {cell_id}: {error}")
    typer.echo(f"results: {run.out / RESULTS_NAME}")


@sweep_app.command("summarize")
def sweep_summarize(
    folder: Annotated[Path, typer.Argument(help="A sweep's output folder.")],
    as_json: bool = typer.Option(
        False, "--json", metavar="", help="Print the summary rows as JSON."
    ),
    plots: bool = typer.Option(
        True, "--plots/--no-plots", metavar="", help="Write the plots into DIR/plots."
    ),
) -> None:
    """Print a table of a sweep's results and write its plots into DIR/plots.

    A folder that cannot be written still gives the table; the plots are then reported
    as not written, in one line on stderr.
    """
    from rich.console import Console
    from rich.table import Table

    from specbound.sweep.summarize import SHOWN, summarize

    summary = summarize(folder, plots=plots)
    rows = summary.rows
    if as_json:
        echo_json(
            {
                "rows": rows,
                "plots": [str(p) for p in summary.plots],
                "plot_error": summary.plot_error,
            }
        )
        return
    shown = [c for c in SHOWN if any(c in row for row in rows)]
    table = Table(title=f"sweep {folder}")
    table.add_column("setting", no_wrap=True)
    for header in ("cells", "failed", *(SHOWN[c] for c in shown)):
        table.add_column(header, justify="right")
    for row in rows:
        values = [_float_text(row.get(c)) for c in shown]
        table.add_row(row["label"], str(row["cells"]), str(row["failed"]), *values)
    # NOTE: piped output gets a wide table rather than rich's default of 80 columns
    Console(width=None if sys.stdout.isatty() else 160).print(table)
    for path in summary.plots:
        typer.echo(f"wrote {path}")
    if summary.plot_error is not None:
        typer.echo(f"note: {summary.plot_error} (the table above is complete)", err=True)


DEFAULT_BENCH_OUT = Path("benchmarks/bench_sweep.json")


@bench_app.command("sweep")
def bench_sweep(
    out: Annotated[Path, typer.Option("--out", "-o", help="Where to write the JSON.")] = (
        DEFAULT_BENCH_OUT
    ),
    quick: bool = typer.Option(False, "--quick", help="Tiny sizes (a smoke test)."),
    repeats: int = typer.Option(3, "--repeats", help="Interleaved 1-/2-worker pairs."),
    as_json: bool = typer.Option(False, "--json", help="Also print the JSON record."),
) -> None:
    """Sweep throughput: cells/s of the local executor with 1 vs 2 workers (interleaved)."""
    from specbound.bench.sweep import SweepBenchConfig, run_sweep_benchmark
    from specbound.io import write_json_atomic
    from specbound.validate import check_int

    check_int(repeats, "--repeats", low=1)
    config = SweepBenchConfig.quick() if quick else SweepBenchConfig(repeats=repeats)
    record = run_sweep_benchmark(config)
    write_json_atomic(out, record)
    if as_json:
        echo_json(record)
        return
    rates = record["cells_per_s"]
    typer.echo(
        f"{record['cells']} cells: {rates['1']:.2f} cells/s with 1 worker, {rates['2']:.2f} "
        f"with 2: x{record['speedup_2_vs_1']:.2f} (target x{record['target']:g})"
    )
    typer.echo(f"wrote {out}")
