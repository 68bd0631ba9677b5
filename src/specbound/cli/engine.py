"""``specbound engine``: the inference engine's fast paths and this machine's kernel cache."""

from __future__ import annotations

import json

import typer

from specbound.cli.app import app
from specbound.cli.common import echo_json


@app.command()
def engine(
    clear: bool = typer.Option(
        False,
        "--clear-kernel-cache",
        metavar="",
        help="Forget the matrix-product kernels chosen on this machine (timed anew next run).",
    ),
    as_json: bool = typer.Option(False, "--json", metavar="", help="Print JSON."),
) -> None:
    """The lean forwards (fast paths) per architecture, the fallback, and the kernel cache."""
    from specbound.lm.engine import FALLBACK, FAST_PATHS
    from specbound.lm.engine import clear_kernel_cache as clear_kernel_cache_now
    from specbound.lm.engine.kernel_cache import cache_path

    path = cache_path()
    removed = clear_kernel_cache_now() if clear else False
    try:
        entries = len(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError):
        entries = 0
    names = [p.name for p in FAST_PATHS]
    info = {
        "fast_paths": names,
        "fallback": FALLBACK,
        "kernel_cache": str(path),
        "kernel_cache_entries": entries,
        "cleared": removed,
    }
    if as_json:
        echo_json(info)
        return
    typer.echo(f"fast paths: {', '.join(names)} (else the {FALLBACK} forward)")
    typer.echo(f"kernel cache: {path} ({entries} group(s) remembered)")
    if clear:
        typer.echo("cleared" if removed else "nothing to clear")
