"""The ``specbound`` command. Thin: parses options, calls the library, prints.

Each command family lives in its own module and registers itself on :data:`app`.
User mistakes (any :class:`~specbound.errors.SpecboundError`) print one
``error: ...`` line on stderr and exit with code 2.
"""

from __future__ import annotations

import sys

# importing a command module registers its commands on `app`
from specbound.cli import (  # noqa: F401
    bench,
    chain,
    distill,
    engine,
    lm,
    profile,
    reproduce,
    step,
    sweep,
)
from specbound.cli.app import app
from specbound.cli.common import run_app

__all__ = ["app", "main"]


def main(argv: list[str] | None = None) -> None:
    """Entry point of the console script."""
    sys.exit(run_app(app, argv))
