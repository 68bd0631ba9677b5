"""How many CPU threads torch uses: one policy and one context manager for every caller.

Small models are bound by Python overhead, not by matrix products: intra-op threads only
add synchronisation, and on a shared machine OpenMP's busy waiting can collapse
throughput (``docs/performance.md`` has the measurements). So specbound runs targets
below :data:`SMALL_MODEL_PARAMETERS` on one thread, and otherwise leaves torch's choice.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch

from specbound.validate import check_int

__all__ = ["SMALL_MODEL_PARAMETERS", "auto_threads", "torch_threads"]

#: Targets below this many parameters run on one CPU thread by default.
SMALL_MODEL_PARAMETERS = 100_000_000


def auto_threads(target_parameters: int) -> int | None:
    """One thread for a small target, else None (torch's default)."""
    return 1 if target_parameters < SMALL_MODEL_PARAMETERS else None


@contextlib.contextmanager
def torch_threads(threads: int | None) -> Iterator[None]:
    """Run the block with ``threads`` torch CPU threads (None: leave them), then restore."""
    if threads is None:
        yield
        return
    check_int(threads, "threads", low=1)
    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(previous)
