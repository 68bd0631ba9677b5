"""``specbound theory``, ``specbound simulate`` and ``specbound chain random``.

Thin: parse options, call :mod:`specbound.chain`, print a table or JSON.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from specbound.algorithms import Algorithm
from specbound.cli.app import app
from specbound.cli.common import check_algorithm_values, echo_json
from specbound.cli.options import (
    DEFAULT_CHILDREN,
    DEFAULT_EPS,
    DEFAULT_GAMMA_TEXT,
    DEFAULT_NUM_DRAFTS,
    DEFAULT_TREE_TEXT,
    DEFAULT_VERIFIER,
    AlgorithmOption,
    ChildrenOption,
    EpsOption,
    GammaOption,
    JsonOption,
    NumDraftsOption,
    SeedOption,
    TreeOption,
    VerifierOption,
    build_algorithm,
)
from specbound.validate import check_int, check_seed

__all__ = ["chain_app"]

chain_app = typer.Typer(name="chain", help="Make Markov-chain pair files.", no_args_is_help=True)
app.add_typer(chain_app, name="chain")

ChainFile = Annotated[Path, typer.Argument(help="Chain pair JSON: {start, draft, target}.")]


def _theory_payload(path: Path, algorithm: Algorithm) -> dict[str, Any]:
    from specbound.chain.files import load_chains
    from specbound.chain.theory import summarise

    draft, target = load_chains(path)
    chain = {"file": str(path), "T": draft.horizon, "S": draft.num_states, "start": draft.start}
    return {"chain": chain, **summarise(draft, target, algorithm)}


def _interval_text(ci: list[float] | None) -> str:
    return "undefined (1 run)" if ci is None else f"[{ci[0]:.6f}, {ci[1]:.6f}]"


def _table(title: str, rows: Sequence[Sequence[str]], columns: tuple[str, ...]) -> None:
    table = Table(title=title)
    for i, column in enumerate(columns):
        table.add_column(column, justify="left" if i == 0 else "right")
    for row in rows:
        table.add_row(*row)
    Console().print(table)


@app.command()
def theory(
    ctx: typer.Context,
    chain_file: ChainFile,
    algorithm: AlgorithmOption = "sd",
    num_drafts: NumDraftsOption = DEFAULT_NUM_DRAFTS,
    verifier: VerifierOption = DEFAULT_VERIFIER,
    gamma: GammaOption = DEFAULT_GAMMA_TEXT,
    eps: EpsOption = DEFAULT_EPS,
    branching: TreeOption = DEFAULT_TREE_TEXT,
    children: ChildrenOption = DEFAULT_CHILDREN,
    as_json: JsonOption = False,
) -> None:
    """Exact expected rejections, target/draft calls and bias on a chain pair."""
    check_algorithm_values(algorithm, num_drafts=num_drafts, eps=eps)
    spec = build_algorithm(
        algorithm,
        gamma=gamma,
        num_drafts=num_drafts,
        eps=eps,
        verifier=verifier,
        tree=branching,
        children=children,
        context=ctx,
    )
    payload = _theory_payload(chain_file, spec)
    if as_json:
        echo_json(payload)
        return
    rows = [
        ("expected rejections", f"{payload['rejections']:.6f}"),
        ("expected target calls", f"{payload['target_calls']:.6f}"),
        ("expected draft calls", f"{payload['draft_calls']:.6f}"),
        ("Theorem 1 sum (SD, gamma=None)", f"{payload['theorem1_sum']:.6f}"),
    ]
    if "batch" in payload:
        batch = payload["batch"]
        rows += [
            ("SD rejections (same gamma)", f"{batch['sd_rejections']:.6f}"),
            ("batch improvement (Theorem 3)", f"{batch['improvement']:.6f}"),
            ("rejections as M -> inf (Prop. 1)", f"{batch['limit_rejections']:.6f}"),
        ]
    if "bias" in payload:
        rows.append(("total expected bias", f"{payload['bias']['total']:.6f}"))
        if payload["bias"]["sequence_tv"] is not None:
            rows.append(("sequence-level TV", f"{payload['bias']['sequence_tv']:.6f}"))
    chain = payload["chain"]
    _table(
        f"{algorithm} on {chain['file']} (T={chain['T']}, S={chain['S']})",
        rows,
        ("quantity", "exact"),
    )


@app.command()
def simulate(
    ctx: typer.Context,
    chain_file: ChainFile,
    algorithm: AlgorithmOption = "sd",
    num_drafts: NumDraftsOption = DEFAULT_NUM_DRAFTS,
    verifier: VerifierOption = DEFAULT_VERIFIER,
    gamma: GammaOption = DEFAULT_GAMMA_TEXT,
    eps: EpsOption = DEFAULT_EPS,
    branching: TreeOption = DEFAULT_TREE_TEXT,
    children: ChildrenOption = DEFAULT_CHILDREN,
    runs: int = typer.Option(10_000, "--runs", "-n", help="Number of simulated runs."),
    seed: SeedOption = 0,
    as_json: JsonOption = False,
) -> None:
    """Monte Carlo of the algorithm beside the exact theory (mean and 95% interval)."""
    from specbound.chain.files import load_chains
    from specbound.chain.recursion import analyse
    from specbound.chain.result import METRICS
    from specbound.chain.simulator import simulate as run_simulation

    check_algorithm_values(algorithm, num_drafts=num_drafts, eps=eps)
    spec = build_algorithm(
        algorithm,
        gamma=gamma,
        num_drafts=num_drafts,
        eps=eps,
        verifier=verifier,
        tree=branching,
        children=children,
        context=ctx,
    )
    check_int(runs, "--runs", low=1)
    check_seed(seed, "--seed")
    draft, target = load_chains(chain_file)
    exact = analyse(draft, target, spec)
    start = time.perf_counter()
    result = run_simulation(draft, target, spec, n_runs=runs, seed=seed)
    elapsed = time.perf_counter() - start
    metrics = {}
    for metric in METRICS:
        estimate = result.estimate(metric)
        value = float(getattr(exact, metric))
        metrics[metric] = {
            "theory": value,
            **estimate.to_dict(),
            "theory_in_ci": estimate.contains(value),
        }
    payload = {
        "chain": {"file": str(chain_file), "T": draft.horizon, "S": draft.num_states},
        "algorithm": spec.to_dict(),
        "runs": runs,
        "seed": seed,
        "elapsed_s": elapsed,
        "metrics": metrics,
    }
    if as_json:
        echo_json(payload)
        return
    rows = [
        (
            metric,
            f"{m['theory']:.6f}",
            f"{m['mean']:.6f}",
            _interval_text(m["ci95"]),
            {True: "yes", False: "NO", None: "undefined"}[m["theory_in_ci"]],
        )
        for metric, m in metrics.items()
    ]
    _table(
        f"{algorithm}: {runs} runs, seed {seed} ({elapsed:.2f} s)",
        rows,
        ("count", "theory", "simulated mean", "95% interval", "theory inside"),
    )


@chain_app.command("random")
def chain_random(
    out: Annotated[Path, typer.Option("--out", "-o", help="Where to write the pair JSON.")],
    horizon: int = typer.Option(50, "--T", help="Horizon: tokens per run."),
    states: int = typer.Option(7, "--S", help="Number of states (vocabulary size)."),
    mix: float = typer.Option(
        0.5, "--mix", help="0 = draft equals target, 1 = independent draft rows."
    ),
    seed: int = typer.Option(0, "--seed", help="Random seed."),
    concentration: float = typer.Option(1.0, "--concentration", help="Dirichlet parameter."),
    as_json: bool = typer.Option(False, "--json", metavar="", help="Print a JSON summary."),
) -> None:
    """Write a random draft/target pair (target rows Dirichlet; draft rows mixed)."""
    from specbound.chain.files import check_save_size, save_chains
    from specbound.chain.generators import random_pair
    from specbound.chain.theory import theorem1_sum
    from specbound.io import check_output_file
    from specbound.validate import check_int

    check_output_file(out, "--out")  # before any work
    check_save_size(check_int(horizon, "--T", low=1), check_int(states, "--S", low=1))
    draft, target = random_pair(horizon, states, mix, seed, concentration=concentration)
    save_chains(out, draft, target, name="--out")
    summary = {
        "path": str(out),
        "T": horizon,
        "S": states,
        "mix": mix,
        "seed": seed,
        "concentration": concentration,
        "theorem1_sum": theorem1_sum(draft, target),
    }
    if as_json:
        echo_json(summary)
        return
    typer.echo(
        f"wrote {out} (T={horizon}, S={states}, mix={mix:g}, seed={seed}); "
        f"SD expected rejections (Theorem 1) = {summary['theorem1_sum']:.4f}"
    )
