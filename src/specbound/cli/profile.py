"""``specbound profile``: predict a pair's rejections, calls and speed-up, then measure them.

Thin: parses options, calls :func:`specbound.profile`, prints the side-by-side table
(:mod:`specbound.cli.profile_table`, or ``--json``) and the recommended gamma and M.
torch and transformers (and the table) are imported inside the command, so ``specbound
--help`` stays fast.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import typer

from specbound.algorithms import TreeSpeculative
from specbound.cli.app import app
from specbound.cli.common import (
    MAX_LIST_DRAFTS,
    MAX_LIST_GAMMA,
    echo_json,
    given_on_command_line,
    model_sources,
    parse_count_list,
    parse_float_list,
    split_list,
    workload_prompts,
)
from specbound.cli.options import (
    AUTO_THREADS_HELP,
    DEFAULT_CHILDREN,
    ChatOption,
    ChildrenOption,
    DeviceOption,
    NgramMaxOption,
    NgramMinOption,
    PairOption,
    SuffixDepthOption,
    parse_tree,
)
from specbound.errors import InvalidInputError
from specbound.registry import algorithm_from_options
from specbound.validate import check_int, check_seed

__all__ = ["parse_drafters", "parse_gamma_list", "profile"]

#: What ``profile --drafter`` accepts (``specbound.profiling.lookup.PROFILED_DRAFTERS``,
#: spelled here so that ``--help`` imports no torch).
PROFILED_DRAFTERS = ("model", "ngram", "suffix", "ngram+model", "suffix+model")


def parse_drafters(text: str) -> list[str]:
    """``--drafter`` of profile: ``"model,ngram"`` or ``all`` (every drafter); an unknown
    name is refused by name."""
    parts = [part.strip().lower() for part in split_list(text, "--drafter")]
    if parts == ["all"]:
        return list(PROFILED_DRAFTERS)
    for part in parts:
        if part not in PROFILED_DRAFTERS:
            raise InvalidInputError(
                f"--drafter: each of {', '.join(PROFILED_DRAFTERS)} (or all); got {part!r}"
            )
    return list(dict.fromkeys(parts))


def parse_gamma_list(text: str) -> list[int]:
    """``--gamma`` of profile: draft lengths such as ``"1,2,4,8"`` (``none`` may be listed;
    it is always profiled); an empty part (``"2,,4"``) is refused."""
    parts = split_list(text, "--gamma")
    finite = [part for part in parts if part.lower() != "none"]
    return parse_count_list(",".join(finite), "--gamma", high=MAX_LIST_GAMMA) if finite else []


@contextmanager
def _progress_bar(enabled: bool) -> Iterator[Callable[[float], None] | None]:
    """A rich progress bar on stderr (share of the profile done, time); None when off."""
    if not enabled:
        yield None
        return
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TaskProgressColumn, TimeElapsedColumn

    columns = (
        "[bold]profile",
        BarColumn(),
        TaskProgressColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task("profile", total=1.0)
        yield lambda fraction: bar.update(task, completed=min(max(fraction, 0.0), 1.0))


@app.command()
def profile(
    ctx: typer.Context,
    target: str | None = typer.Option(
        None, "--target", help="Target model: a local path or hub id (default: embedded pair)."
    ),
    draft: str | None = typer.Option(None, "--draft", help="Draft model: a path or hub id."),
    pair_name: PairOption = None,
    chat: ChatOption = True,
    prompts: str | None = typer.Option(
        None, "--prompts", help="Prompts file, one per line (default: the shipped prompts)."
    ),
    workload: str | None = typer.Option(
        None, "--workload", help="A shipped prompt set instead of --prompts: grounded | open."
    ),
    num_prompts: int = typer.Option(4, "--num-prompts", help="Use the first N prompts."),
    max_new_tokens: int = typer.Option(32, "--max-new-tokens", "-n", help="Tokens per run."),
    samples_per_prompt: int = typer.Option(
        16, "--samples-per-prompt", help="Paths sampled per prompt for the prediction (cheap)."
    ),
    runs_per_prompt: int = typer.Option(
        4, "--runs-per-prompt", help="Measured decoder runs per prompt and algorithm."
    ),
    gamma: str = typer.Option(
        "1,2,4,8", "--gamma", help="Draft lengths to profile (gamma=none is always included)."
    ),
    num_drafts: str = typer.Option(
        "2,4",
        "--num-drafts",
        "-M",
        help=f"Batch SD draft counts M, e.g. '2,4' or '2-8' (each in 2..{MAX_LIST_DRAFTS}; "
        "M = 1 is SD, always profiled).",
    ),
    eps: str = typer.Option(
        "0.1,0.4", "--eps", help="Over-acceptance thresholds (OPT and UNO); 'none' for none."
    ),
    temperature: float = typer.Option(1.0, "--temperature", help="0 = greedy."),
    top_k: int = typer.Option(0, "--top-k", help="Keep the k most likely tokens (0: off)."),
    top_p: float = typer.Option(1.0, "--top-p", help="Nucleus mass to keep (1: off)."),
    measure: bool = typer.Option(
        True, "--measure/--no-measure", metavar="", help="Also run every algorithm and measure it."
    ),
    blocks: bool = typer.Option(
        True, "--blocks/--no-blocks", metavar="", help="Also block verification (Sun et al. 2024)."
    ),
    drafter: str = typer.Option(
        "model",
        "--drafter",
        help="Who drafts, a list: model (the draft model: every row), ngram (prompt "
        "lookup), suffix (suffix decoding), ngram+model, suffix+model, or all. All but "
        "model are profiled as SD at each --drafter-gamma; ngram/suffix alone load only "
        "the target.",
    ),
    drafter_gamma: str = typer.Option(
        "4,8,16", "--drafter-gamma", help="Draft lengths of the --drafter rows (all but model)."
    ),
    ngram_min: NgramMinOption = 1,
    ngram_max: NgramMaxOption = 3,
    suffix_depth: SuffixDepthOption = 16,
    tree: list[str] = typer.Option(  # noqa: B008 (typer's list option)
        [],
        "--tree",
        help="A token tree to profile, e.g. 4,2,1 (recursive rejection); repeat for several.",
    ),
    children: ChildrenOption = DEFAULT_CHILDREN,
    tree_budget: int | None = typer.Option(
        None,
        "--tree-budget",
        help="Also search the best tree and the best chain of at most N nodes on this "
        "machine (Sequoia's dynamic program) and profile both.",
    ),
    seed: int = typer.Option(0, "--seed", help="Seed (reproducible counts)."),
    dtype: str = typer.Option("float32", "--dtype", help="float32 | bfloat16 | float16."),
    threads: int = typer.Option(0, "--threads", help=AUTO_THREADS_HELP),
    device: DeviceOption = "cpu",
    as_json: bool = typer.Option(False, "--json", metavar="", help="Print one JSON object."),
    quiet: bool = typer.Option(
        False, "--quiet", "-q", metavar="", help="No progress bar and no notes on stderr."
    ),
) -> None:
    """Predict a model pair's rejections, target calls and speed-up, then measure them.

    Exact expectations along sampled paths for SD, batch SD and over-acceptance, with call
    costs timed on this machine; prints prediction beside measurement and recommends the
    gamma and M with the best predicted speed-up.
    """
    gammas = parse_gamma_list(gamma)
    # NOTE: M = 1 is SD (always profiled): refused, not silently dropped
    drafts = parse_count_list(num_drafts, "--num-drafts", low=2, high=MAX_LIST_DRAFTS)
    thresholds = parse_float_list(eps, "--eps")
    drafters = parse_drafters(drafter)
    drafter_gammas = parse_count_list(drafter_gamma, "--drafter-gamma", high=MAX_LIST_GAMMA)
    target, draft = model_sources(pair_name, target, draft)
    for value, name in (
        (num_prompts, "--num-prompts"),
        (max_new_tokens, "--max-new-tokens"),
        (samples_per_prompt, "--samples-per-prompt"),
        (runs_per_prompt, "--runs-per-prompt"),
    ):
        check_int(value, name, low=1)
    check_seed(seed, "--seed")
    shapes: list[TreeSpeculative] = []
    for text in tree:
        spec = algorithm_from_options("tree", branching=parse_tree(text), children=children)
        assert isinstance(spec, TreeSpeculative)  # the registry's "tree" entry builds one
        shapes.append(spec)
    if given_on_command_line(ctx, "children") and not shapes:
        raise InvalidInputError("--children applies to the --tree rows; add --tree 4,2,1")
    if tree_budget is not None:
        from specbound.profiling.tree_search import check_budget

        check_budget(tree_budget, "--tree-budget")
    if (shapes or tree_budget is not None) and "model" not in drafters:
        raise InvalidInputError("--tree, --tree-budget: token trees need --drafter model")
    check_int(threads, "--threads", low=0)
    from specbound import lm, profiling
    from specbound.lm.drafters import index_factory
    from specbound.lm.engine.threads import auto_threads, torch_threads
    from specbound.lm.warping import SamplingConfig

    options = {"ngram_min": ngram_min, "ngram_max": ngram_max, "suffix_depth": suffix_depth}
    if drafters == ["model"]:
        for name in options:
            if given_on_command_line(ctx, name):
                flag = "--" + name.replace("_", "-")
                raise InvalidInputError(
                    f"{flag} applies to model-free drafters; add --drafter ngram or suffix"
                )
    index_factory("suffix" if "suffix" in drafters else "ngram", **options)  # before loading
    sampling = SamplingConfig(temperature=temperature, top_k=top_k, top_p=top_p)
    texts = workload_prompts(ctx, prompts, workload, num_prompts, quiet=quiet)
    # NOTE: the bar is on stderr; off with --quiet, and with --json unless a terminal
    # shows stdout (a pipe's reader wants the JSON alone, and stderr is often captured too)
    shown = not quiet and (not as_json or sys.stdout.isatty())
    with_draft = lm.uses_draft_model(drafters)  # model-free alone: the target alone loads
    pair = lm.load_pair(
        target=target,
        draft=draft if with_draft else None,
        dtype=dtype,
        device=device,
        chat=None if chat else False,
        with_draft=with_draft,
    )
    with (
        torch_threads(threads or auto_threads(pair.target_parameters)),
        _progress_bar(shown) as advance,
    ):
        report = profiling.profile(
            pair,
            texts,
            max_new_tokens=max_new_tokens,
            samples_per_prompt=samples_per_prompt,
            runs_per_prompt=runs_per_prompt,
            seed=seed,
            gammas=gammas,
            num_drafts=drafts,
            eps=thresholds,
            sampling=sampling,
            measure=measure,
            blocks=blocks,
            progress=advance,
            drafter=drafters,
            drafter_gammas=drafter_gammas,
            drafter_options=options,
            trees=shapes,
            tree_budget=tree_budget,
        )
    if as_json:
        echo_json(report.to_dict())
        return
    from specbound.cli.profile_table import format_report

    typer.echo(format_report(report))
