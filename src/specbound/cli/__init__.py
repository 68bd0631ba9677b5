"""The ``specbound`` command. Thin: parses options, calls the library, prints.

Each command family lives in its own module and registers itself on :data:`app`.
User mistakes (any :class:`~specbound.errors.SpecboundError`) print one
``error: ...`` line on stderr and exit with code 2.
"""

from __future__ import annotations

import sys

import specbound.cli.lm  # noqa: F401  (registers `generate`)
import specbound.cli.reproduce  # noqa: F401  (registers `reproduce`)
from specbound.cli import step  # noqa: F401  (registers commands)
from specbound.cli import bench, chain  # noqa: F401  (registers theory, simulate, chain, bench)
from specbound.cli.app import app
from specbound.cli.common import run_app

__all__ = ["app", "main"]


def main(argv: list[str] | None = None) -> None:
    """Entry point of the console script."""
    sys.exit(run_app(app, argv))
