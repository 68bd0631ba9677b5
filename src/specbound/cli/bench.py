"""``specbound bench ...``: performance measurements that write JSON results.

:data:`bench_app` is the ``bench`` sub-command group; other modules add their own
benchmarks to it (``from specbound.cli.bench import bench_app``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from specbound.cli.app import app
from specbound.cli.common import echo_json

__all__ = ["bench_app"]

bench_app = typer.Typer(
    name="bench", help="Benchmarks (results written as JSON).", no_args_is_help=True
)
app.add_typer(bench_app, name="bench")

DEFAULT_SIM_OUT = Path("benchmarks/results/bench_sim.json")


@bench_app.command("sim")
def bench_sim(
    out: Annotated[Path, typer.Option("--out", "-o", help="Where to write the JSON.")] = (
        DEFAULT_SIM_OUT
    ),
    quick: bool = typer.Option(False, "--quick", help="Tiny sizes (a smoke test)."),
    seed: int = typer.Option(0, "--seed", help="Random seed."),
    as_json: bool = typer.Option(False, "--json", help="Also print the JSON record."),
) -> None:
    """Chain simulator throughput vs a per-run Python loop, and exact-calculator timings."""
    from specbound.chain.bench import SimBenchConfig, run_sim_benchmark
    from specbound.io import write_json_atomic

    config = SimBenchConfig.quick_config(seed) if quick else SimBenchConfig.full(seed)
    record = run_sim_benchmark(config)
    write_json_atomic(out, record)
    if as_json:
        echo_json(record)
        return
    for row in record["simulator"]:
        typer.echo(
            f"simulate {row['algorithm']:>22}: {row['sim_token_steps_per_s']:.3g} token-steps/s"
            f" vs naive {row['naive_token_steps_per_s']:.3g}  (x{row['ratio']:.0f})"
        )
    for row in record["calculators"]:
        typer.echo(
            f"theory   {row['algorithm']:>22}: T={row['T']:>5} S={row['S']:>4}"
            f"  {row['seconds']:.3f} s"
        )
    typer.echo(f"sim_vs_naive (min over algorithms) = {record['ratios']['sim_vs_naive']:.0f}")
    typer.echo(f"wrote {out}")
