"""``specbound profile``: predict a pair's rejections, calls and speed-up, then measure them.

Thin: parses options, calls :func:`specbound.profile`, prints the side-by-side table
(or ``--json``) and the recommended gamma and M. torch and transformers are imported
inside the command, so ``specbound --help`` stays fast.
"""

from __future__ import annotations

from typing import Any

import typer

from specbound.cli.app import app
from specbound.cli.common import (
    MAX_LIST_DRAFTS,
    MAX_LIST_GAMMA,
    echo_json,
    model_sources,
    parse_count_list,
    parse_float_list,
)
from specbound.cli.options import AUTO_THREADS_HELP, ChatOption, DeviceOption, PairOption
from specbound.validate import check_int, check_seed

__all__ = ["format_report", "profile"]


def _pm(estimate: Any, digits: int = 2) -> str:
    """``mean±half-width`` of the 95% interval."""
    if estimate is None:
        return "-"
    low, high = estimate.ci95
    return f"{estimate.mean:.{digits}f}±{(high - low) / 2:.{digits}f}"


def _speed(estimate: Any) -> str:
    if estimate is None:
        return "-"
    low, high = estimate.ci95
    return f"{estimate.mean:.2f}x [{low:.2f},{high:.2f}]"


def _verdict(row: Any) -> str:
    if row.holds is None:
        return ""
    mark = "ok" if row.holds else "MISS"
    return f"{mark} (z {row.z_rejections:+.1f}/{row.z_calls:+.1f})"


def format_report(report: Any) -> str:
    """The human-readable side-by-side table of a :class:`~specbound.profiling.ProfileReport`."""
    sampling = report.sampling
    lines = [
        f"target {report.target_name}",
        f"draft  {report.draft_name}",
        f"{len(report.prompts)} prompts x {report.samples_per_prompt} sampled paths "
        f"(prediction), x {report.runs_per_prompt} runs (measurement); "
        f"{report.max_new_tokens} new tokens; temperature {sampling.temperature:g}, "
        f"top-k {sampling.top_k or 'off'}, top-p {sampling.top_p or 'off'}",
        f"mean TV(draft, target) per token along target samples: {_pm(report.mean_tv, 3)}",
    ]
    if report.costs is not None:
        costs = report.costs
        target_one = float(costs.target_seconds(1, 1.0)[0]) * 1e3
        fit = costs.fit
        held_out = "n/a" if fit.held_out_error is None else f"{100 * fit.held_out_error:.1f}%"
        lines.append(
            f"costs (fitted to {fit.rounds} rounds of {fit.generations} generations; "
            f"round residual {100 * fit.residual_spread:.1f}%, held-out generations "
            f"{held_out}): target call {target_one:.2f} ms (1 token), draft position "
            f"{costs.draft_seconds(1) * 1e3:.2f} ms, SD round overhead "
            f"{costs.overhead_seconds('sequence', 1, 1) * 1e3:.2f} ms; autoregressive "
            f"{costs.autoregressive_per_token() * 1e3:.2f} ms/token predicted"
            + (
                ""
                if report.autoregressive is None or report.autoregressive.seconds_per_token is None
                else f", {report.autoregressive.seconds_per_token.mean * 1e3:.2f} measured"
            )
        )
    header = (
        f"{'algorithm':<26} {'rejections/gen':>25} {'target calls/token':>25} "
        f"{'speed-up vs autoregressive':>40}  agree"
    )
    sub = (
        f"{'':<26} {'predicted':>12} {'measured':>12} {'predicted':>12} {'measured':>12} "
        f"{'predicted':>20} {'measured':>19}"
    )
    lines += ["", header, sub]
    for row in report.rows:
        p, m = row.prediction, row.measurement
        label = row.label + ("" if p.lossless else " *")
        lines.append(
            f"{label:<26} {_pm(p.expected_rejections):>12} "
            f"{_pm(None if m is None else m.rejections):>12} "
            f"{_pm(p.calls_per_token, 3):>12} "
            f"{_pm(None if m is None else m.calls_per_token, 3):>12} "
            f"{_speed(p.predicted_speedup):>20} {_speed(None if m is None else m.speedup):>19}  "
            f"{_verdict(row)}"
        )
    lines.append("")
    lines.append(
        "± is the 95% interval over runs; 'agree': measured rejections and calls within the "
        "99% interval of the prediction (z = gap / combined standard error)."
    )
    if any(not p.lossless for p in report.predictions):
        lines.append(
            "* lossy (over-acceptance, drafting to the horizon): biased output; its per-token "
            "bias TV(A, q) is in --json."
        )
    for item in report.headroom:
        lines.append(
            f"batch round start, M={item.num_drafts}: recursive rejection accepts "
            f"{_pm(item.recursive, 3)}, the best lossless verifier of {item.num_drafts} "
            f"drafts {_pm(item.optimal, 3)} (headroom {_pm(item.gap, 3)}) per position"
        )
    if report.recommended is not None:
        rec = report.recommended
        lines.append(
            f"recommended: {rec.label} — best predicted speed-up among lossless settings, "
            f"{_speed(rec.predicted_speedup)} (its 95% interval lies above 1)"
        )
    elif report.costs is not None:
        lines.append(
            "recommended: plain autoregressive decoding — no lossless setting's predicted "
            "speed-up has its 95% interval above 1 on this pair and machine"
        )
    if report.holds is not None:
        lines.append(
            "prediction holds for every measured row"
            if report.holds
            else "prediction MISSES at least one row (see 'agree'). Each row misses by chance "
            "1% of the time, and rows share their seeds (common random numbers, for the "
            "speed-up comparison), so they tend to miss together: rerun with another --seed "
            "or more --runs-per-prompt"
        )
    error, coverage = report.speedup_median_abs_error, report.speedup_coverage
    if error is not None and coverage is not None:
        lines.append(
            f"wall-clock: median |measured/predicted speed-up - 1| = {100 * error:.1f}% over "
            f"the lossless rows; {100 * coverage:.0f}% of them measured inside the predicted "
            "95% interval"
        )
    return "\n".join(lines)


@app.command()
def profile(
    target: str | None = typer.Option(
        None, "--target", help="Target model: a local path or hub id (default: embedded pair)."
    ),
    draft: str | None = typer.Option(None, "--draft", help="Draft model: a path or hub id."),
    pair_name: PairOption = None,
    chat: ChatOption = True,
    prompts: str | None = typer.Option(
        None, "--prompts", help="Prompts file, one per line (default: the shipped prompts)."
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
        help=f"Batch SD draft counts M, e.g. '2,4' or '2-8' (each <= {MAX_LIST_DRAFTS}).",
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
    seed: int = typer.Option(0, "--seed", help="Seed (reproducible counts)."),
    dtype: str = typer.Option("float32", "--dtype", help="float32 | bfloat16 | float16."),
    threads: int = typer.Option(0, "--threads", help=AUTO_THREADS_HELP),
    device: DeviceOption = "cpu",
    as_json: bool = typer.Option(False, "--json", metavar="", help="Print one JSON object."),
) -> None:
    """Predict a model pair's rejections, target calls and speed-up, then measure them.

    Exact expectations along sampled paths for SD, batch SD and over-acceptance, with call
    costs timed on this machine; prints prediction beside measurement and recommends the
    gamma and M with the best predicted speed-up.
    """
    finite = [part for part in gamma.split(",") if part.strip().lower() not in ("", "none")]
    gammas = parse_count_list(",".join(finite), "--gamma", high=MAX_LIST_GAMMA) if finite else []
    drafts = parse_count_list(num_drafts, "--num-drafts", high=MAX_LIST_DRAFTS)
    thresholds = parse_float_list(eps, "--eps")
    target, draft = model_sources(pair_name, target, draft)
    for value, name in (
        (num_prompts, "--num-prompts"),
        (max_new_tokens, "--max-new-tokens"),
        (samples_per_prompt, "--samples-per-prompt"),
        (runs_per_prompt, "--runs-per-prompt"),
    ):
        check_int(value, name, low=1)
    check_seed(seed, "--seed")
    check_int(threads, "--threads", low=0)
    from specbound import lm, profiling
    from specbound.lm.engine.threads import auto_threads, torch_threads
    from specbound.lm.prompts import load_prompts
    from specbound.lm.warping import SamplingConfig

    sampling = SamplingConfig(temperature=temperature, top_k=top_k, top_p=top_p)
    texts = load_prompts(prompts, limit=num_prompts)
    pair = lm.load_pair(
        target=target, draft=draft, dtype=dtype, device=device, chat=None if chat else False
    )
    with torch_threads(threads or auto_threads(pair.target_parameters)):
        report = profiling.profile(
            pair,
            texts,
            max_new_tokens=max_new_tokens,
            samples_per_prompt=samples_per_prompt,
            runs_per_prompt=runs_per_prompt,
            seed=seed,
            gammas=gammas,
            num_drafts=[m for m in drafts if m > 1] or [],
            eps=thresholds,
            sampling=sampling,
            measure=measure,
            blocks=blocks,
        )
    if as_json:
        echo_json(report.to_dict())
        return
    typer.echo(format_report(report))
