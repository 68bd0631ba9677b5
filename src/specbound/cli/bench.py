"""``specbound bench ...``: performance measurements that write JSON results.

:data:`bench_app` is the ``bench`` sub-command group; other modules add their own
benchmarks to it (``from specbound.cli.bench import bench_app``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from specbound.cli.app import app
from specbound.cli.bench_drafters import chosen_contenders, parse_bench_drafters
from specbound.cli.common import (
    MAX_LIST_DRAFTS,
    echo_json,
    model_sources,
    parse_count_list,
    workload_prompts,
)
from specbound.cli.options import (
    AUTO_THREADS_HELP,
    ChatOption,
    DeviceOption,
    NgramMaxOption,
    PairOption,
    parse_tree,
)
from specbound.validate import check_int

__all__ = ["bench_app", "format_lm_table"]

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
    quick: bool = typer.Option(False, "--quick", metavar="", help="Tiny sizes (a smoke test)."),
    seed: int = typer.Option(0, "--seed", help="Random seed."),
    as_json: bool = typer.Option(False, "--json", metavar="", help="Also print the JSON record."),
) -> None:
    """Chain simulator throughput vs a per-run Python loop, and exact-calculator timings."""
    from specbound.bench.sim import SimBenchConfig, run_sim_benchmark
    from specbound.io import check_output_file, write_json_atomic

    check_output_file(out, "--out", parents=out == DEFAULT_SIM_OUT)  # before any work
    config = SimBenchConfig.quick_config(seed) if quick else SimBenchConfig.full(seed)
    record = run_sim_benchmark(config)
    write_json_atomic(out, record, "--out")
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


DEFAULT_LM_OUT = Path("benchmarks/results/bench_lm.json")


def _lm_command(options: dict[str, Any]) -> str:
    """The command line that reproduces a run (options in a fixed order)."""
    parts = ["specbound", "bench", "lm"]
    for name, value in options.items():
        if value is None or value is False:
            continue
        flag = "--" + name.replace("_", "-")
        parts.append(flag if value is True else f"{flag} {value}")
    return " ".join(parts)


@bench_app.command("lm")
def bench_lm(
    ctx: typer.Context,
    target: str | None = typer.Option(
        None, "--target", help="Target model: a local path or hub id (default: embedded pair)."
    ),
    draft: str | None = typer.Option(None, "--draft", help="Draft model: a path or hub id."),
    pair_name: PairOption = None,
    chat: ChatOption = True,
    tokenizer: str | None = typer.Option(
        None, "--tokenizer", help="Tokenizer path or hub id (default: the target's)."
    ),
    prompts: str | None = typer.Option(
        None, "--prompts", help="Prompts file, one per line (default: the shipped prompts)."
    ),
    num_prompts: int = typer.Option(4, "--num-prompts", help="Use the first N prompts."),
    max_new_tokens: int = typer.Option(128, "--max-new-tokens", "-n", help="Tokens per run."),
    repeats: int = typer.Option(3, "--repeats", help="Timed repeats (median over them)."),
    gamma: int = typer.Option(
        0,
        "--gamma",
        help="Drafted tokens per round (0: the best predicted by profile; a value: the "
        "only one profiled).",
    ),
    num_drafts: str = typer.Option(
        "2,4", "--num-drafts", "-M", help=f"Batch SD draft counts M (each <= {MAX_LIST_DRAFTS})."
    ),
    eps: float = typer.Option(0.2, "--eps", help="Over-acceptance threshold (Decoding-OPT)."),
    temperature: float = typer.Option(1.0, "--temperature", help="0 = greedy."),
    top_k: int = typer.Option(0, "--top-k", help="Keep the k most likely tokens (0: off)."),
    top_p: float = typer.Option(1.0, "--top-p", help="Nucleus mass to keep (1: off)."),
    dtype: str = typer.Option("float32", "--dtype", help="float32 | bfloat16 | float16."),
    threads: int = typer.Option(0, "--threads", help=AUTO_THREADS_HELP),
    device: DeviceOption = "cpu",
    seed: int = typer.Option(0, "--seed", help="Seed (the same for every contender)."),
    hf: bool = typer.Option(
        True, "--hf/--no-hf", metavar="", help="Include the Hugging Face contenders."
    ),
    quick: bool = typer.Option(
        False, "--quick", metavar="", help="A cheap profile (2 paths per prompt, 1 timing repeat)."
    ),
    out: Annotated[Path, typer.Option("--out", "-o", help="Where to write the JSON.")] = (
        DEFAULT_LM_OUT
    ),
    as_json: bool = typer.Option(
        False, "--json", metavar="", help="Print the JSON record on stdout."
    ),
    drafter: str = typer.Option(
        "",
        "--drafter",
        help="Drafter contenders, a list of ngram, suffix, ngram+model, suffix+model (or "
        "all): SD with each, and HF prompt lookup beside ngram; 'model' in the list keeps "
        "SD with the draft model in --drafters-only.",
    ),
    drafter_gamma: int = typer.Option(
        0,
        "--drafter-gamma",
        help="Their gamma (0: the best predicted among 4, 8, 16; a value: the only one profiled).",
    ),
    ngram_max: NgramMaxOption = 3,
    workload: str | None = typer.Option(
        None, "--workload", help="A shipped prompt set instead of --prompts: grounded | open."
    ),
    only: str | None = typer.Option(
        None, "--contenders", help="Run only these contenders (a list; specbound_ar always)."
    ),
    stop_at_eos: bool = typer.Option(
        False,
        "--stop-at-eos/--no-stop-at-eos",
        metavar="",
        help="Stop each run at the end-of-sequence token, as a user would (tokens/s over "
        "the tokens each run made; the profile predicts the same). Off: every run makes "
        "-n tokens, past the answer's end.",
    ),
    drafters_only: bool = typer.Option(
        False,
        "--drafters-only",
        metavar="",
        help="Only specbound_ar, hf_ar, the --drafter contenders and hf_prompt_lookup "
        "(with 'model' in --drafter: specbound_sd too); the draft loads only if needed.",
    ),
    tree: str | None = typer.Option(
        None, "--tree", help="Contender specbound_tree runs this tree, e.g. 4,2,1."
    ),
    tree_budget: int | None = typer.Option(
        None,
        "--tree-budget",
        help="Contender specbound_tree runs profile's best tree of at most N nodes, "
        "specbound_sd the best chain (default with --tree: its node count).",
    ),
) -> None:
    """specbound AR / SD / batch SD / over-acceptance (and, with --drafter, model-free
    drafters) beside HF generate, HF assisted generation and HF prompt lookup on one pair:
    tokens/s, target calls per token, and the ratios."""

    sources = model_sources(pair_name, target, draft)
    check_int(num_prompts, "--num-prompts", low=1)
    check_int(threads, "--threads", low=0)
    check_int(gamma, "--gamma (0: the best from profile)", low=0)
    from specbound.io import check_output_file

    check_output_file(out, "--out", parents=out == DEFAULT_LM_OUT)  # before any work
    drafts = tuple(parse_count_list(num_drafts, "--num-drafts", low=2, high=MAX_LIST_DRAFTS))
    drafters, keep_sd = parse_bench_drafters(drafter)
    check_int(drafter_gamma, "--drafter-gamma (0: the best from profile)", low=0)
    chosen = chosen_contenders(only, drafters_only, drafters, keep_sd, hf)
    shape = None if tree is None else parse_tree(tree)

    from specbound.bench.lm import LMBenchConfig

    config = LMBenchConfig(
        prompts=tuple(workload_prompts(ctx, prompts, workload, num_prompts)),
        max_new_tokens=max_new_tokens,
        repeats=repeats,
        gamma=gamma or None,
        profile_gammas=(gamma,) if gamma else LMBenchConfig.profile_gammas,
        temperature=temperature,
        top_k=top_k or None,
        top_p=None if top_p == 1.0 else top_p,
        seed=seed,
        num_drafts=drafts,
        eps=eps,
        hf=hf,
        profile_samples=2 if quick else 16,
        profile_timing_repeats=1 if quick else 3,
        drafters=drafters,
        drafter_gamma=drafter_gamma or None,
        drafter_profile_gammas=(drafter_gamma,)
        if drafter_gamma
        else LMBenchConfig.drafter_profile_gammas,
        ngram_max=ngram_max,
        only=chosen,
        workload=workload,
        stop_at_eos=stop_at_eos,
        tree=shape,
        tree_budget=tree_budget,
    )
    record = _run_lm(config, *sources, tokenizer, dtype, threads, device, chat)
    record["command"] = _lm_command(
        {
            "pair": pair_name,
            "target": target,
            "draft": draft,
            "no_chat": not chat,
            "tokenizer": tokenizer,
            "prompts": prompts,
            "num_prompts": num_prompts,
            "max_new_tokens": max_new_tokens,
            "repeats": repeats,
            "gamma": gamma or None,
            "num_drafts": num_drafts,
            "eps": eps,
            "temperature": temperature,
            "top_k": top_k or None,
            "top_p": None if top_p == 1.0 else top_p,
            "dtype": dtype,
            "threads": threads,
            "device": device,
            "seed": seed,
            "no_hf": not hf,
            "quick": quick,
            "drafter": drafter or None,
            "drafter_gamma": drafter_gamma or None,
            "ngram_max": ngram_max if drafters else None,
            "workload": workload,
            "contenders": only,
            "drafters_only": drafters_only,
            "stop_at_eos": stop_at_eos or None,
            "tree": tree,
            "tree_budget": tree_budget,
        }
    )
    written = _write(out, record)
    if as_json:
        echo_json(record)
        return
    typer.echo(format_lm_table(record))
    typer.echo(f"wrote {written}")


def _run_lm(
    config: Any,
    target: str | None,
    draft: str | None,
    tokenizer: str | None,
    dtype: str,
    threads: int,
    device: str = "cpu",
    chat: bool = True,
) -> dict[str, Any]:
    """Load the pair and run the benchmark under ``threads``, with progress on stderr."""
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from specbound import lm
    from specbound.bench.lm import run_lm_benchmark
    from specbound.lm.engine.threads import auto_threads, torch_threads

    with_draft = config.needs_draft  # model-free contenders alone: the target alone loads
    pair = lm.load_pair(
        target=target,
        draft=draft if with_draft else None,
        tokenizer=tokenizer,
        dtype=dtype,
        device=device,
        chat=None if chat else False,
        with_draft=with_draft,
    )
    with torch_threads(threads or auto_threads(pair.target_parameters)):
        console = Console(stderr=True)
        with Progress(
            TextColumn("{task.description:<44}"),
            BarColumn(),
            TimeElapsedColumn(),
            console=console,
            transient=True,
        ) as bar:
            task = bar.add_task("bench lm", total=1.0)

            def progress(message: str, fraction: float) -> None:
                bar.update(task, description=message, completed=fraction)

            return run_lm_benchmark(pair, config, progress)


def _write(out: Path, record: dict[str, Any]) -> Path:
    from specbound.io import write_json_atomic

    return write_json_atomic(out, record, "--out")


def format_lm_table(record: dict[str, Any]) -> str:
    """The human-readable table of a ``bench lm`` record."""
    lines = [
        f"{record['pair']['target']}  /  {record['pair']['draft']}",
        f"gamma {record['gamma']['value']} ({record['gamma']['source']}); "
        f"{len(record['config']['prompts'])} prompts x {record['config']['max_new_tokens']} "
        f"tokens x {record['config']['repeats']} repeats; "
        f"{record['machine']['torch_threads']} thread(s)",
        "",
        f"{'contender':<24} {'tokens/s':>9} {'spread':>7} {'calls/token':>12}  description",
    ]
    for name, row in record["contenders"].items():
        tps = row["tokens_per_second"]
        spread = tps["relative_spread"]
        lines.append(
            f"{name:<24} {tps['median']:>9.1f} {'' if spread is None else f'{spread:.0%}':>7} "
            f"{row['target_calls_per_token']:>12.3f}  {row['description']}"
        )
    lines.append("")
    per_repeat = record.get("ratios_per_repeat", {})
    for name, value in record["ratios"].items():
        if value is None:
            continue
        if isinstance(value, str):
            lines.append(f"{name:<32} {value}")
            continue
        target = record["targets"].get(name)
        verdict = ""
        if target is not None:
            verdict = f"  (target >= {target}: {'met' if value >= target else 'MISSED'})"
        spread = [v for v in per_repeat.get(name, []) if v is not None]
        if len(spread) > 1:
            verdict = f"  [repeats {min(spread):.2f}-{max(spread):.2f}]" + verdict
        lines.append(f"{name:<32} {value:6.3f}{verdict}")
    paired = {k: v for k, v in record.get("ratios_paired", {}).items() if v is not None}
    if paired:
        lines += ["", "paired (median over back-to-back runs of one prompt, quartiles):"]
        for name, value in paired.items():
            low, high = value["quartiles"]
            lines.append(
                f"{name:<32} {value['median']:6.3f}  [{low:.2f}-{high:.2f}, {value['pairs']} pairs]"
            )
    return "\n".join(lines)
