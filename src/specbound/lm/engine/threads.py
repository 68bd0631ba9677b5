"""How many CPU threads torch uses: one policy and one context manager for every caller.

Small models are bound by Python overhead, not by matrix products: intra-op threads only
add synchronisation, and on a shared machine OpenMP's busy waiting can collapse
throughput (``docs/performance.md`` has the measurements; on a 2-core machine torch's
default of two threads made wall-clock predictions 25x off). So specbound runs on one
thread on machines with 2 cores or fewer and for targets below
:data:`SMALL_MODEL_PARAMETERS`, and otherwise leaves torch's choice. ``generate``,
``profile`` and ``bench`` share this default (``--threads 0``).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

import torch

from specbound.validate import check_int

__all__ = ["SMALL_MODEL_PARAMETERS", "auto_threads", "torch_threads"]

#: Targets below this many parameters run on one CPU thread by default.
SMALL_MODEL_PARAMETERS = 100_000_000


def auto_threads(target_parameters: int, cores: int | None = None) -> int | None:
    """One thread on a machine of ``cores`` <= 2 (default: this one's) or for a small
    target, else None (torch's default)."""
    cores = os.cpu_count() if cores is None else cores
    if (cores is not None and cores <= 2) or target_parameters < SMALL_MODEL_PARAMETERS:
        return 1
    return None


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
