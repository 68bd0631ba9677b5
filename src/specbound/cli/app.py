"""The root typer application that every command module registers on."""

from __future__ import annotations

from typing import Any

import typer

from specbound import __version__

__all__ = ["app", "tidy_help"]

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


def _plain_usage(param: Any) -> None:
    """Show a required argument as ``PROMPT`` in the usage line (typer writes ``{prompt}``)."""
    name = param.metavar or str(param.name).upper()
    param.metavar = name
    suffix = "..." if param.nargs != 1 else ""
    shown = name if param.required else f"[{name}]"
    setattr(param, "get_usage_pieces", lambda ctx: [shown + suffix])  # noqa: B010


def tidy_help(command: Any) -> None:
    """Help that reads as the docs do, for ``command`` and every sub-command: arguments
    in capitals without braces (``PROMPT``), and no ``<bool>`` beside flags (``--help``,
    ``--json``, ``--quiet``) that take no value."""
    context = command.context_class(command, info_name=command.name)
    help_option = command.get_help_option(context)
    if help_option is not None:
        help_option.metavar = ""
    for param in command.params:
        if getattr(param, "param_type_name", "") == "argument":
            _plain_usage(param)
        elif getattr(param, "is_flag", False) and param.metavar is None:
            param.metavar = ""
    for sub in getattr(command, "commands", {}).values():
        tidy_help(sub)
