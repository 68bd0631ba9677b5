"""``specbound step``: the theory of one verification step for a (draft, target) pair."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from specbound.cli.app import app
from specbound.cli.common import echo_json, parse_probs
from specbound.core.summary import summarise_step
from specbound.errors import InvalidAlgorithmError


def _fmt(values: list[float]) -> str:
    return "[" + ", ".join(f"{v:.4g}" for v in values) + "]"


@app.command()
def step(
    draft_probs: str = typer.Argument(
        ..., help="Draft distribution as JSON, e.g. '[0.5,0.3,0.2]'."
    ),
    target_probs: str = typer.Argument(..., help="Target distribution as JSON."),
    eps: float = typer.Option(0.0, "--eps", help="Over-acceptance threshold (0 = plain SD)."),
    resample: str = typer.Option(
        "opt", "--resample", help="After a rejection: opt (P*) or uno (target)."
    ),
    as_json: bool = typer.Option(
        False, "--json", metavar="", help="Print JSON instead of a table."
    ),
) -> None:
    """One step: TV, rejection probability, residual / P*, min bias, and the Pareto line."""
    if resample not in ("opt", "uno"):
        raise InvalidAlgorithmError(f"--resample must be 'opt' or 'uno', got {resample!r}")
    summary = summarise_step(
        parse_probs(draft_probs, "DRAFT_PROBS"),
        parse_probs(target_probs, "TARGET_PROBS"),
        eps=eps,
        resample=resample,  # type: ignore[arg-type]
    )
    if as_json:
        echo_json(summary.to_dict())
        return
    table = Table(title=f"One step (eps={summary.eps:g}, resample={summary.resample})")
    table.add_column("quantity")
    table.add_column("value", justify="right")
    table.add_column("meaning")
    rows = [
        ("TV(draft, target)", f"{summary.tv:.6g}", "SD's rejection probability"),
        ("SD residual", _fmt(summary.sd_residual), "[target - draft]_+ normalised"),
        ("accept probs b", _fmt(summary.accept_probs), "min(1, (target + eps) / draft)"),
        ("rejection", f"{summary.rejection:.6g}", "sum draft * (1 - b)"),
        ("resampling law", _fmt(summary.resample_law), "P* (Theorem 4) or the target"),
        ("output law", _fmt(summary.output), "draft * b + rejection * P"),
        ("bias TV(output, target)", f"{summary.bias:.6g}", ""),
        ("min bias (Theorem 4)", f"{summary.min_bias:.6g}", "sum [draft * b - target]_+"),
        (
            "Pareto (Theorem 5)",
            summary.position,
            f"rejection + bias - TV = {summary.pareto_gap:.3g}",
        ),
    ]
    for row in rows:
        table.add_row(*(escape(cell) for cell in row))
    Console().print(table)
