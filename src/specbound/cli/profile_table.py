"""The text report of ``specbound profile``: prediction beside measurement, per algorithm.

Every interval printed is the one a verdict uses: the predicted speed-up's 95% interval,
and for a measured row the interval predicted *for that measurement* (the prediction's
widened by the measurement's own error, :func:`~specbound.profiling.validation.
coverage_interval`) beside "speed-up in/OUT". A speed-up's lower bound is never printed
below 0; an estimate of one sample prints ``±?`` (its spread is undefined), and a report
built on fewer than :data:`~specbound.profiling.validation.MIN_INTERVAL_SAMPLES` samples
per row ends with a warning that its intervals are unreliable.
"""

from __future__ import annotations

from typing import Any

from specbound.profiling.validation import MIN_INTERVAL_SAMPLES, coverage_interval

__all__ = ["format_report", "small_sample_warning"]


def _pm(estimate: Any, digits: int = 2) -> str:
    """``mean±half-width`` of the 95% interval (``mean±?`` from a single sample)."""
    if estimate is None:
        return "-"
    bounds = estimate.ci95
    if bounds is None:
        return f"{estimate.mean:.{digits}f}±?"
    low, high = bounds
    return f"{estimate.mean:.{digits}f}±{(high - low) / 2:.{digits}f}"


def _bounds(low: float, high: float) -> str:
    return f"[{max(low, 0.0):.2f},{high:.2f}]"


def _speed(estimate: Any) -> str:
    """``mean x [low,high]``: a speed-up and its 95% interval, never below 0."""
    if estimate is None:
        return "-"
    bounds = estimate.ci95
    if bounds is None:
        return f"{estimate.mean:.2f}x [?]"
    return f"{estimate.mean:.2f}x {_bounds(*bounds)}"


def _verdict(row: Any) -> str:
    parts = []
    if row.holds is not None:
        mark = "ok" if row.holds else "MISS"
        parts.append(f"{mark} (z {row.z_rejections:+.1f}/{row.z_calls:+.1f})")
    measured = None if row.measurement is None else row.measurement.speedup
    bounds = coverage_interval(row.prediction.predicted_speedup, measured)
    if bounds is not None and row.prediction.lossless and measured is not None:
        inside = bounds[0] <= measured.mean <= bounds[1]
        parts.append(f"speed-up {'in' if inside else 'OUT'} {_bounds(*bounds)}")
    return "; ".join(parts)


def small_sample_warning(report: Any) -> str | None:
    """A warning when the report's intervals rest on too few samples, else None."""
    paths = len(report.prompts) * report.samples_per_prompt
    runs = len(report.prompts) * report.runs_per_prompt if report.measurements else None
    small = [
        f"{count} {what}"
        for count, what in ((paths, "sampled paths"), (runs, "measured runs"))
        if count is not None and count < MIN_INTERVAL_SAMPLES
    ]
    if not small:
        return None
    return (
        f"warning: {' and '.join(small)} per row: fewer than {MIN_INTERVAL_SAMPLES} samples "
        "give unreliable intervals and z-scores (±? : one sample, no spread; ±0.00: runs "
        "that happened to agree); raise --num-prompts, --samples-per-prompt or "
        "--runs-per-prompt"
    )


def _header(report: Any) -> list[str]:
    sampling = report.sampling
    runs = (
        f", x {report.runs_per_prompt} runs (measurement)"
        if report.measurements
        else " (no measurement)"
    )
    lines = [
        f"target {report.target_name}",
        f"draft  {report.draft_name}",
        f"{len(report.prompts)} prompts x {report.samples_per_prompt} sampled paths "
        f"(prediction){runs}; "
        f"{report.max_new_tokens} new tokens; temperature {sampling.temperature:g}, "
        f"top-k {sampling.top_k or 'off'}, top-p {sampling.top_p or 'off'}",
    ]
    if report.mean_tv is not None:
        lines.append(
            f"mean TV(draft, target) per token along target samples: {_pm(report.mean_tv, 3)}"
        )
    return lines


def _costs(report: Any) -> list[str]:
    if report.costs is None:
        return []
    costs = report.costs
    target_one = float(costs.target_seconds(1, 1.0)[0]) * 1e3
    fit = costs.fit
    held_out = "n/a" if fit.held_out_error is None else f"{100 * fit.held_out_error:.1f}%"
    measured = (
        ""
        if report.autoregressive is None or report.autoregressive.seconds_per_token is None
        else f", {report.autoregressive.seconds_per_token.mean * 1e3:.2f} measured"
    )
    rounds = [
        f"{name} {costs.overhead_seconds(kind, 1, 1) * 1e3:.2f} ms"
        for kind, name in (("sequence", "SD"), ("lookup", "model-free SD"))
        if kind in costs.basis.kinds
    ]
    draft = (
        f"draft position {costs.draft_seconds(1) * 1e3:.2f} ms, "
        if "sequence" in costs.basis.kinds
        else ""
    )
    return [
        f"costs (fitted to {fit.rounds} rounds of {fit.generations} generations; "
        f"round residual {100 * fit.residual_spread:.1f}%, held-out generations "
        f"{held_out}): target call {target_one:.2f} ms (1 token), {draft}round overhead "
        f"{', '.join(rounds)}; autoregressive "
        f"{costs.autoregressive_per_token() * 1e3:.2f} ms/token predicted{measured}"
    ]


def _table(report: Any) -> list[str]:
    width = max([26, *(len(row.label) + 2 for row in report.rows)])  # "SD ... drafter=..."
    header = (
        f"{'algorithm':<{width}} {'rejections/gen':>25} {'target calls/token':>25} "
        f"{'speed-up vs autoregressive':>40}  agree"
    )
    sub = (
        f"{'':<{width}} {'predicted':>12} {'measured':>12} {'predicted':>12} {'measured':>12} "
        f"{'predicted':>20} {'measured':>19}"
    )
    lines = ["", header, sub]
    for row in report.rows:
        p, m = row.prediction, row.measurement
        label = row.label + ("" if p.lossless else " *")
        lines.append(
            f"{label:<{width}} {_pm(p.expected_rejections):>12} "
            f"{_pm(None if m is None else m.rejections):>12} "
            f"{_pm(p.calls_per_token, 3):>12} "
            f"{_pm(None if m is None else m.calls_per_token, 3):>12} "
            f"{_speed(p.predicted_speedup):>20} {_speed(None if m is None else m.speedup):>19}  "
            f"{_verdict(row)}"
        )
    lines.append("")
    lines.append(
        "± is the 95% interval over runs; 'agree': measured rejections and calls within the "
        "99% interval of the prediction (z = gap / combined standard error); 'speed-up "
        "in [a,b]': the measured speed-up inside the 95% interval predicted for it (the "
        "prediction's, widened by the measurement's own error)."
    )
    if any(not p.lossless for p in report.predictions):
        lines.append(
            "* lossy (over-acceptance, drafting to the horizon): biased output; its per-token "
            "bias TV(A, q) is in --json."
        )
    return lines


def _verdicts(report: Any) -> list[str]:
    lines = []
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
            f"the lossless rows; {100 * coverage:.0f}% of them measured inside the interval "
            "predicted for them ('speed-up in [a,b]' above)"
        )
    return lines


def format_report(report: Any) -> str:
    """The human-readable side-by-side table of a :class:`~specbound.profiling.ProfileReport`."""
    lines = [*_header(report), *_costs(report), *_table(report)]
    for item in report.headroom:
        lines.append(
            f"batch round start, M={item.num_drafts}: recursive rejection accepts "
            f"{_pm(item.recursive, 3)}, the best lossless verifier of {item.num_drafts} "
            f"drafts {_pm(item.optimal, 3)} (headroom {_pm(item.gap, 3)}) per position"
        )
    if report.trees is not None:
        search = report.trees
        tree, chain = search.best_tree, search.best_chain
        lines.append(
            f"best tree within {search.budget} nodes: {','.join(map(str, tree.branching))}"
            f"{'' if tree.algorithm.replacement else ' (distinct children)'} "
            f"({tree.tokens_per_call:.2f} tokens/call, predicted speed-up "
            f"{tree.speedup:.2f}x); best chain: {','.join(map(str, chain.branching))} "
            f"({chain.tokens_per_call:.2f} tokens/call, {chain.speedup:.2f}x); positional "
            f"acceptance {', '.join(f'{r:.3f}' for r in search.acceptance.rates[:4])}"
        )
    lines += _verdicts(report)
    warning = small_sample_warning(report)
    if warning is not None:
        lines.append(warning)
    return "\n".join(lines)
