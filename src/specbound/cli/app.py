"""The root typer application that every command module registers on."""

from __future__ import annotations

import typer

from specbound import __version__

__all__ = ["app"]

app = typer.Typer(
    name="specbound",
    help=(
        "Speculative decoding with its theory built in: exact rejection counts, batch "
        "drafts and lossy decoding on Markov chains and Hugging Face models."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"specbound {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False,
        "--version",
        callback=_version,
        is_eager=True,
        metavar="",
        help="Print the version and exit.",
    ),
) -> None:
    """specbound: speculative decoding with its theory built in."""
