"""Executors: where cells run. The cell function does not know which one runs it.

An executor maps :func:`~specbound.sweep.cells.run_cell` over cells and yields the
records as they finish (in completion order):

* :class:`LocalExecutor` — a ``concurrent.futures`` process pool (``spawn`` start
  method: no state inherited from the parent), ``workers`` processes (default: the
  machine's cores);
* :class:`RayExecutor` — tasks on a Ray cluster: the one at ``address`` (``host:port``,
  ``ray://host:10001`` or ``auto``), or a local Ray instance with ``workers`` CPUs when
  no address is given (an instance already started in this process is reused and left
  running). An address that does not answer is a :class:`SpecboundError` naming it.
"""

from __future__ import annotations

import multiprocessing
import os
import socket
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from typing import Any, Protocol

from specbound.errors import InvalidInputError, SpecboundError, require_extra
from specbound.sweep.cells import run_cell
from specbound.sweep.grid import Cell

__all__ = ["EXECUTORS", "Executor", "LocalExecutor", "RayExecutor", "make_executor"]

#: The executors ``specbound sweep run --executor`` accepts.
EXECUTORS = ("local", "ray")
#: Seconds to wait for a Ray address to accept a connection before calling it unreachable.
CONNECT_TIMEOUT_S = 5.0

Record = dict[str, Any]
CellFunction = Callable[[Cell], Record]


class Executor(Protocol):
    """Runs cells; yields each record as its cell finishes."""

    workers: int

    def run(self, cells: Sequence[Cell]) -> Iterator[Record]: ...

    def close(self) -> None: ...


_THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def default_workers() -> int:
    """The number of cores (at least 1)."""
    return max(1, os.cpu_count() or 1)


class LocalExecutor:
    """A process pool on this machine."""

    def __init__(self, workers: int | None = None, function: CellFunction = run_cell) -> None:
        self.workers = workers or default_workers()
        self.function = function
        self._pool: ProcessPoolExecutor | None = None

    def _ensure_pool(self) -> ProcessPoolExecutor:
        if self._pool is None:
            # NOTE: one math-library thread per worker (as Ray does for its workers): N
            # workers each starting one OpenMP/BLAS thread per core oversubscribe the
            # machine. Spawned workers inherit the environment; a value the user set wins.
            for variable in _THREAD_VARIABLES:
                os.environ.setdefault(variable, "1")
            context = multiprocessing.get_context("spawn")
            self._pool = ProcessPoolExecutor(max_workers=self.workers, mp_context=context)
        return self._pool

    def run(self, cells: Sequence[Cell]) -> Iterator[Record]:
        pool = self._ensure_pool()
        # NOTE: at most 2 x workers cells in flight, so an interrupted sweep leaves little
        # submitted-but-unfinished work behind, and a huge grid does not sit in the queue.
        pending = iter(cells)
        running: set[Future[Record]] = set()
        limit = 2 * self.workers
        try:
            while True:
                while len(running) < limit:
                    cell = next(pending, None)
                    if cell is None:
                        break
                    running.add(pool.submit(self.function, cell))
                if not running:
                    return
                done, running = wait(running, return_when=FIRST_COMPLETED)
                for future in done:
                    yield future.result()
        finally:
            for future in running:
                future.cancel()

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None


def _host_port(address: str) -> tuple[str, int] | None:
    """``(host, port)`` of a ``host:port`` or ``ray://host:port`` address; None for
    ``auto`` and other forms Ray resolves itself."""
    text = address.removeprefix("ray://")
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit():
        return None
    return host.strip("[]"), int(port)


def check_reachable(address: str, timeout: float = CONNECT_TIMEOUT_S) -> None:
    """Refuse a Ray address that does not accept a TCP connection within ``timeout``."""
    target = _host_port(address)
    if target is None:
        return
    try:
        with socket.create_connection(target, timeout=timeout):
            pass
    except OSError as exc:
        raise SpecboundError(
            f"cannot reach the Ray cluster at --address {address!r} ({exc}); start one with "
            "`ray start --head` and pass the address it prints, or omit --address to run "
            "a local Ray instance"
        ) from None


class RayExecutor:
    """Ray tasks, one per cell (``num_cpus=1`` each)."""

    def __init__(
        self,
        workers: int | None = None,
        address: str | None = None,
        function: CellFunction = run_cell,
    ) -> None:
        require_extra("sweep", ("ray",), "sweeps on Ray (--executor ray)")
        import ray

        self.address = address
        self.function = function
        self._owns = False
        if address is not None:
            check_reachable(address)
        if not ray.is_initialized():
            self._start(ray, workers)
        self.workers = workers or int(ray.cluster_resources().get("CPU", 1))

    def _start(self, ray: Any, workers: int | None) -> None:
        options: dict[str, Any] = {
            "include_dashboard": False,
            "log_to_driver": False,
            "configure_logging": False,
        }
        if self.address is not None:
            options["address"] = self.address
        else:
            options["num_cpus"] = workers or default_workers()
        try:
            ray.init(**options)
        except (ConnectionError, RuntimeError, ValueError) as exc:
            where = self.address if self.address is not None else "a local instance"
            raise SpecboundError(f"cannot start Ray ({where}): {exc}") from None
        self._owns = True

    def run(self, cells: Sequence[Cell]) -> Iterator[Record]:
        import ray

        task = ray.remote(num_cpus=1, max_retries=0)(self.function)
        limit = 2 * self.workers
        pending = iter(cells)
        running: list[Any] = []
        try:
            while True:
                while len(running) < limit:
                    cell = next(pending, None)
                    if cell is None:
                        break
                    running.append(task.remote(cell))
                if not running:
                    return
                done, running = ray.wait(running, num_returns=1)
                for ref in done:
                    yield ray.get(ref)
        finally:
            for ref in running:
                ray.cancel(ref, force=True)

    def close(self) -> None:
        if self._owns:
            import ray

            ray.shutdown()
            self._owns = False


def make_executor(name: str, workers: int | None = None, address: str | None = None) -> Executor:
    """The executor ``name`` (``local`` | ``ray``); ``address`` only for ``ray``."""
    if name not in EXECUTORS:
        raise InvalidInputError(f"--executor must be one of {', '.join(EXECUTORS)}, got {name!r}")
    if workers is not None and workers < 1:
        raise InvalidInputError(f"--workers must be an integer >= 1, got {workers}")
    if name == "local":
        if address is not None:
            raise InvalidInputError("--address is for --executor ray; the local pool has none")
        return LocalExecutor(workers)
    return RayExecutor(workers, address)
