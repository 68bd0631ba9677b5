"""``specbound reproduce``: regenerate the paper's figures, with a report of every claim.

Thin: parses options, shows a rich progress bar (stderr), calls
:func:`specbound.experiments.reproduce`, prints where the report is and how many claims
held. Exit code 0 when every claim holds, 1 when one fails (everything is still written),
2 for a user mistake such as an unknown experiment in ``--only``.
"""

from __future__ import annotations

from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
)

from specbound.cli.app import app
from specbound.io import check_output_folder
from specbound.validate import check_seed

if TYPE_CHECKING:
    from specbound.experiments.base import Progress as ProgressFn

EXIT_CLAIM_FAILED = 1
DEFAULT_OUT = "results"


class _RichReporter:
    """The runner's progress display: one bar per experiment, on stderr."""

    def __init__(self, console: Console) -> None:
        self._progress = Progress(
            SpinnerColumn(),
            TextColumn("[bold]{task.fields[name]:<6}[/bold] {task.description}"),
            BarColumn(),
            TaskProgressColumn(),
            TimeElapsedColumn(),
            console=console,
            transient=False,
        )
        self._tasks: dict[str, TaskID] = {}

    def __enter__(self) -> _RichReporter:
        self._progress.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._progress.stop()

    def start(self, name: str, label: str) -> ProgressFn:
        task = self._progress.add_task(label.split(" — ")[0], total=1.0, name=name)
        self._tasks[name] = task

        def update(fraction: float) -> None:
            self._progress.update(task, completed=min(max(fraction, 0.0), 1.0))

        return update

    def finish(self, name: str, status: str) -> None:
        task = self._tasks.get(name)
        if task is not None:
            self._progress.update(task, completed=1.0)
            label = self._progress.tasks[task].description
            self._progress.update(task, description=f"{label} [dim]({status})[/dim]")


@app.command()
def reproduce(
    out: str = typer.Option(
        DEFAULT_OUT, "--out", help="Output folder: REPORT.md, data/, figures/."
    ),
    seed: int = typer.Option(0, "--seed", help="Seed of every chain drawn and every simulation."),
    quick: bool = typer.Option(
        False,
        "--quick",
        metavar="",
        help="Small run counts: the whole report in well under a minute.",
    ),
    only: str | None = typer.Option(
        None, "--only", help="Comma-separated experiments to run, e.g. 'fig2,fig4'."
    ),
    force: bool = typer.Option(
        False,
        "--force",
        metavar="",
        help="Recompute even when a data file with the same config exists.",
    ),
) -> None:
    """Regenerate the paper's figures and Table 1, every claim checked, into REPORT.md.

    Figures 2-4, a gamma study, the theory on real models and a Table 1 analog.
    """
    from specbound.experiments import reproduce as run_experiments
    from specbound.experiments import select

    check_seed(seed, "--seed")
    select(only)  # a user mistake fails before any work
    check_output_folder(out, "--out")  # before any work
    console = Console(stderr=True)
    with _RichReporter(console) as reporter:
        result = run_experiments(
            Path(out), seed=seed, quick=quick, only=only, force=force, reporter=reporter
        )
    typer.echo(f"report: {result.report}")
    typer.echo(f"claims: {result.claims_held} of {result.claims_total} hold")
    if result.failed:
        typer.echo(
            f"error: {len(result.failed)} claim(s) failed: {', '.join(result.failed)} "
            f"(see {result.report})",
            err=True,
        )
        raise typer.Exit(code=EXIT_CLAIM_FAILED)
