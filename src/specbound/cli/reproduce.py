"""``specbound reproduce``: regenerate the paper's figures, with a report of every claim.

Thin: parses options, shows a rich progress bar (stderr), calls
:func:`specbound.experiments.reproduce`, prints where the report is and how many claims
held. Exit code 0 when every claim holds, 1 when one fails (everything is still written),
2 for a user mistake such as an unknown experiment in ``--only``.

``--pair smollm2`` runs the language-model sections on that named pair as a second report
(default folder ``results/smollm2``); the Markov-chain sections are skipped with a note,
and refused when ``--only`` names one.
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
from specbound.cli.common import model_sources
from specbound.cli.options import PairOption
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


def default_out(pair: str | None) -> str:
    """The output folder when ``--out`` is not given: ``results``, or ``results/<pair>``
    for a named model pair (so its report never mixes with the main one)."""
    return DEFAULT_OUT if pair is None else f"{DEFAULT_OUT}/{pair}"


@app.command()
def reproduce(
    out: str | None = typer.Option(
        None,
        "--out",
        help=f"Output folder: REPORT.md, data/, figures/ (default: {DEFAULT_OUT}; "
        f"{DEFAULT_OUT}/PAIR with --pair).",
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
    pair: PairOption = None,
) -> None:
    """Regenerate the paper's figures and Table 1, every claim checked, into REPORT.md.

    Figures 2-4, a gamma study, the theory on real models and a Table 1 analog. With
    --pair smollm2: the language-model sections on that pair, as a second report.
    """
    from specbound.experiments import reproduce as run_experiments
    from specbound.experiments import select

    check_seed(seed, "--seed")
    name, _ = model_sources(pair, None, None)  # None: the embedded pair
    chosen = select(only, name)  # a user mistake fails before any work
    if out is None:
        out = default_out(name)
        check_output_folder(DEFAULT_OUT, "--out")  # before any work; the pair's folder inside
    else:
        check_output_folder(out, "--out")  # before any work
    if name is not None:
        check_pair_installed(name)
        if only is None:
            note_skipped(name, chosen)
    console = Console(stderr=True)
    with _RichReporter(console) as reporter:
        result = run_experiments(
            Path(out),
            seed=seed,
            quick=quick,
            only=only,
            force=force,
            reporter=reporter,
            pair=name,
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


def check_pair_installed(name: str) -> None:
    """The named pair's model and shipped draft are installed (one error line if not),
    before any section starts."""
    from specbound.lm.pairs import shipped_draft, smollm2_gguf

    if name == "smollm2":
        smollm2_gguf()
    shipped_draft(name)


def note_skipped(name: str, chosen: list[str]) -> None:
    """Say on stderr which sections a ``--pair`` run leaves out."""
    from specbound.experiments import REGISTRY

    skipped = [section for section in REGISTRY if section not in chosen]
    typer.echo(
        f"note: --pair {name} runs the language-model sections ({', '.join(chosen)}); "
        f"the Markov-chain sections are skipped: {', '.join(skipped)}",
        err=True,
    )
