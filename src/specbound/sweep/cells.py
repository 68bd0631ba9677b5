"""What one cell computes: a pure function from a :class:`~specbound.sweep.grid.Cell` to a
record, the same on every executor.

A record is a flat dict, one row of the results table (``docs/sweep.md``, "Results"):
identity (``cell_id``, ``index``, ``kind``, ``seed``, ``status``, ``error``), the config
(``config`` as JSON and its main fields as columns), the results (``results`` as JSON
and the headline numbers as columns), ``versions``, and timings in the ``time_*``
columns — the only ones that differ between two runs of the same cell.

Chain cells draw (or load) the pair, build the algorithm with
:func:`specbound.registry.algorithm_from_options`, and call
:func:`specbound.chain.theory.summarise` and/or :func:`specbound.chain.simulate`. LM cells
are :mod:`specbound.sweep.lm_cells`. A cell that raises is recorded with
``status="failed"`` and its error; it never stops the sweep.
"""

from __future__ import annotations

import os
import socket
import time
import traceback
from datetime import datetime, timezone
from functools import cache
from typing import Any

from specbound.io import to_json
from specbound.sweep.grid import Cell

__all__ = ["TIMING_PREFIX", "algorithm_spec", "chain_cell", "run_cell", "versions"]

#: Columns whose names start with this hold timings (excluded when comparing records).
TIMING_PREFIX = "time_"


@cache
def versions() -> dict[str, str | None]:
    """Versions of specbound, Python, NumPy and torch (torch: installed, not imported)."""
    from specbound.io import environment_info

    info = environment_info()
    return {key: info[key] for key in ("specbound", "python", "numpy", "torch")}


def _estimate(samples: Any) -> dict[str, Any]:
    from specbound.estimates import Estimate

    return Estimate.from_samples(samples).to_dict()


def _pair(chain: dict[str, Any]) -> tuple[Any, Any]:
    from specbound.chain.files import load_chains
    from specbound.chain.generators import random_pair

    if chain["source"] == "file":
        return load_chains(chain["file"])
    return random_pair(
        chain["T"],
        chain["S"],
        chain["mix"],
        chain["chain_seed"],
        concentration=chain["concentration"],
        zeros=chain["zeros"],
    )


def algorithm_spec(config: dict[str, Any]) -> Any:
    """The algorithm spec a cell config names (``algorithm``, ``gamma``, ``M``, ``eps``,
    ``verifier``: the registry's sweep keys), built by
    :func:`specbound.registry.algorithm_from_options`."""
    from specbound.registry import OPTIONS, algorithm_from_options

    options = {
        name: config[option.sweep_key]
        for name, option in OPTIONS.items()
        if option.sweep_key in config
    }
    return algorithm_from_options(config["algorithm"], **options)


def chain_cell(config: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(results, headline columns) of one chain cell (``compute``: theory, simulate, both)."""
    from specbound.chain.result import METRICS
    from specbound.chain.simulator import simulate
    from specbound.chain.theory import summarise

    draft, target = _pair(config["chain"])
    algorithm = algorithm_spec(config)
    horizon = draft.horizon
    results: dict[str, Any] = {"label": algorithm.label, "T": horizon, "S": draft.num_states}
    columns: dict[str, Any] = {"label": algorithm.label, "T": horizon, "S": draft.num_states}
    if config["compute"] in ("theory", "both"):
        exact = summarise(draft, target, algorithm)
        exact.pop("per_position", None)
        results["theory"] = exact
        for metric in METRICS:
            columns[f"exact_{metric}"] = float(exact[metric])
        columns["exact_total_bias"] = float(exact["total_bias"])
        columns["theorem1_sum"] = float(exact["theorem1_sum"])
    if config["compute"] in ("simulate", "both"):
        run = simulate(draft, target, algorithm, n_runs=config["n_runs"], seed=config["seed"])
        sim = {metric: _estimate(getattr(run, metric)) for metric in METRICS}
        results["simulation"] = {"n_runs": run.n_runs, **sim}
        for metric in METRICS:
            interval = sim[metric]["ci95"]
            low, high = (None, None) if interval is None else (interval[0], interval[1])
            columns[f"sim_{metric}"] = sim[metric]["mean"]
            columns[f"sim_{metric}_se"] = sim[metric]["se"]
            columns[f"sim_{metric}_ci_low"] = low
            columns[f"sim_{metric}_ci_high"] = high
            if "theory" in results:
                exact_value = columns[f"exact_{metric}"]
                inside = (
                    None
                    if low is None or high is None
                    else bool(low - 1e-9 <= exact_value <= high + 1e-9)
                )
                columns[f"{metric}_theory_in_ci"] = inside
    calls = columns.get("exact_target_calls", columns.get("sim_target_calls"))
    columns["target_calls_per_token"] = None if calls is None else calls / horizon
    return results, columns


def _config_columns(cell: Cell) -> dict[str, Any]:
    """The config fields that become columns of their own (the rest stays in ``config``)."""
    config = cell.config
    chain = config.get("chain", {})
    pair = config.get("pair") or {}
    return {
        "compute": config.get("compute"),
        "algorithm": config.get("algorithm"),
        "gamma": config.get("gamma"),
        "M": config.get("M"),
        "eps": config.get("eps") if not isinstance(config.get("eps"), list) else None,
        "verifier": config.get("verifier"),
        "n_runs": config.get("n_runs"),
        "chain": chain.get("file")
        or (
            f"random T={chain['T']} S={chain['S']} mix={chain['mix']:g} "
            f"conc={chain['concentration']:g} zeros={chain['zeros']:g} seed={chain['chain_seed']}"
            if chain
            else None
        ),
        "pair": None if not config.get("pair") else (pair.get("target") or "embedded"),
        "prompt_index": config.get("prompt_index"),
        "temperature": config.get("temperature"),
    }


def run_cell(cell: Cell) -> dict[str, Any]:
    """The record of ``cell`` (never raises: a failure is a record with its error)."""
    started = time.perf_counter()
    record: dict[str, Any] = {
        "cell_id": cell.cell_id,
        "index": cell.index,
        "kind": cell.kind,
        "seed": cell.seed,
        "status": "ok",
        "error": None,
        "config": cell.config_json,
        **_config_columns(cell),
    }
    timings: dict[str, Any] = {}
    try:
        if cell.kind == "chains":
            results, columns = chain_cell(cell.config)
        else:
            from specbound.sweep.lm_cells import lm_cell

            results, columns, timings = lm_cell(cell.config)
        record["results"] = to_json(results, indent=None)
        record.update(columns)
    except Exception as exc:  # a failing cell is data, not the end of the sweep
        record["status"] = "failed"
        last = traceback.extract_tb(exc.__traceback__)[-1:] or None
        where = f" (at {os.path.basename(last[0].filename)}:{last[0].lineno})" if last else ""
        record["error"] = f"{type(exc).__name__}: {exc}{where}"
        record["results"] = None
    record["versions"] = to_json(versions(), indent=None)
    record[f"{TIMING_PREFIX}elapsed_s"] = time.perf_counter() - started
    record[f"{TIMING_PREFIX}finished_at"] = datetime.now(timezone.utc).isoformat()
    record[f"{TIMING_PREFIX}worker"] = f"{socket.gethostname()}:{os.getpid()}"
    for key, value in timings.items():
        record[f"{TIMING_PREFIX}{key}"] = value
    return record
