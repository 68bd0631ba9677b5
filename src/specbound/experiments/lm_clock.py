"""Theory on real models, in seconds: predicted vs measured wall-clock speed-up (beyond the paper).

p = draft, q = target. :func:`specbound.profile` turns the exact expected counts of every
setting into seconds with a cost model fitted to the decoder's own instrumented rounds
(:mod:`specbound.profiling.costs`), predicts each setting's speed-up over autoregressive
decoding with a 95% interval (path sampling, the coefficients' bootstrap and the machine's
drift between timing repeats), then runs every setting and autoregressive decoding
interleaved. The claim checks the interval's coverage.

Unlike the other sections this one is **timed**: its data file records seconds, which
differ from run to run and machine to machine, so the same seed does not give the same
bytes (the counts inside do not depend on the clock).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scipy import stats

from specbound.experiments import plotting
from specbound.experiments.base import Claim, Experiment, Progress, Record
from specbound.experiments.common import TIMED_INPUTS, PairSpec, pair_inputs, profile_section
from specbound.experiments.prose import render

__all__ = ["EXPERIMENT", "LMClockConfig", "coverage_claim"]

#: The claim's one-sided binomial test level (a coverage below 95% that this would flag).
ALPHA = 0.01


@dataclass(frozen=True)
class LMClockConfig:
    """What the section times, on the model ``pair`` (default: the embedded pair)."""

    seed: int
    num_prompts: int = 6
    samples_per_prompt: int = 12
    runs_per_prompt: int = 4
    max_new_tokens: int = 32
    gammas: tuple[int, ...] = (1, 2, 4)
    num_drafts: tuple[int, ...] = (2,)
    eps: tuple[float, ...] = (0.1,)
    timing_repeats: int = 4
    pair: PairSpec = field(default_factory=PairSpec)


def make_config(quick: bool, seed: int) -> LMClockConfig:
    if quick:
        return LMClockConfig(
            seed=seed,
            num_prompts=2,
            samples_per_prompt=4,
            runs_per_prompt=2,
            max_new_tokens=8,
            gammas=(2,),
            num_drafts=(2,),
            eps=(),
            timing_repeats=2,
        )
    return LMClockConfig(seed=seed)


def make_pair_config(quick: bool, seed: int, pair: str) -> LMClockConfig:
    """The section on the named pair ``pair`` (``reproduce --pair``): a real target step
    costs 30-60 ms on a CPU, so fewer prompts, paths, runs and timing repeats; gamma 2
    and 4 (2 when ``quick``), batch M = 2, Decoding-OPT/UNO at eps 0.1 (none when quick)."""
    spec = PairSpec.named(pair)
    if quick:
        return LMClockConfig(
            seed=seed,
            num_prompts=1,
            samples_per_prompt=2,
            runs_per_prompt=2,
            max_new_tokens=8,
            gammas=(2,),
            num_drafts=(2,),
            eps=(),
            timing_repeats=2,
            pair=spec,
        )
    return LMClockConfig(
        seed=seed,
        num_prompts=3,
        samples_per_prompt=6,
        runs_per_prompt=3,
        max_new_tokens=24,
        gammas=(2, 4),
        num_drafts=(2,),
        eps=(0.1,),
        timing_repeats=3,
        pair=spec,
    )


def _family(algorithm: dict[str, Any]) -> str:
    name = algorithm["name"]
    if name == "batch":
        return f"batch SD, M = {algorithm['num_drafts']}"
    if name == "overaccept":
        return f"Decoding-{str(algorithm.get('resample', '')).upper()} (lossy)"
    return {"sd": "SD", "block": "block verification"}.get(name, name)


def compute(config: LMClockConfig, progress: Progress) -> dict[str, Any]:
    report = profile_section(config, progress, eps=config.eps, timing_repeats=config.timing_repeats)
    rows = []
    for row in report.rows:
        predicted, measurement = row.prediction.predicted_speedup, row.measurement
        assert predicted is not None and measurement is not None
        assert measurement.speedup is not None
        rows.append(
            {
                "label": row.label,
                "family": _family(row.prediction.algorithm.to_dict()),
                "lossless": row.prediction.lossless,
                "predicted": {"mean": predicted.mean, "se": predicted.se},
                "measured": {"mean": measurement.speedup.mean, "se": measurement.speedup.se},
                "covered": row.speedup_covered,
                "ratio": row.speedup_ratio,
            }
        )
    assert report.costs is not None
    return {
        "target": Path(report.target_name).name,
        "draft": Path(report.draft_name).name,
        "rows": rows,
        "median_abs_error": report.speedup_median_abs_error,
        "coverage": report.speedup_coverage,
        "fit": report.costs.fit.to_dict(),
        "recommended": None if report.recommended is None else report.recommended.label,
    }


def coverage_claim(flags: list[bool]) -> Claim:
    """Covered rows against a one-sided binomial test of 95% coverage at level ALPHA.

    Rows are not independent (common seeds, one cost model), so this is a screen for
    intervals far too narrow, not an exact test.
    """
    n, hits = len(flags), sum(flags)
    pvalue = float(stats.binom.cdf(hits, n, 0.95)) if n else 1.0
    return Claim(
        id="clock-coverage",
        statement=(
            "the measured wall-clock speed-up lies inside the 95% interval predicted for it "
            f"in a share of the lossless settings consistent with 95% ({n} settings)"
        ),
        holds=pvalue >= ALPHA,
        check=f"{hits}/{n} covered; P(X <= {hits} | Bin({n}, 0.95)) = {pvalue:.3g} >= {ALPHA}"
        if pvalue >= ALPHA
        else f"{hits}/{n} covered; P(X <= {hits} | Bin({n}, 0.95)) = {pvalue:.3g} < {ALPHA}",
        theory=0.95,
        measured=hits / n if n else math.nan,
    )


def claims(config: LMClockConfig, data: dict[str, Any]) -> list[Claim]:
    flags = [bool(r["covered"]) for r in data["rows"] if r["lossless"] and r["covered"] is not None]
    return [coverage_claim(flags)]


def plot(data: dict[str, Any], fig_dir: Path) -> list[Path]:
    return [plotting.lm_clock_figure(data, fig_dir / "lm_clock.png")]


def describe(record: Record) -> str:
    config, data = record.config, record.data
    table = "\n".join(
        f"| {r['label']} | {r['predicted']['mean']:.2f} ± {1.96 * r['predicted']['se']:.2f}"
        f" | {r['measured']['mean']:.2f} ± {1.96 * r['measured']['se']:.2f}"
        f" | {r['ratio']:.3f} | {'yes' if r['covered'] else 'no'} |"
        for r in data["rows"]
    )
    fit = data["fit"]
    error = data["median_abs_error"]
    held_out = fit["held_out_error"]
    return render(
        "lm_clock",
        {
            "rows": table,
            "median_error": "n/a" if error is None else f"{100 * error:.1f}%",
            "coverage": "n/a" if data["coverage"] is None else f"{100 * data['coverage']:.0f}%",
            "rounds": str(fit["rounds"]),
            "generations": str(fit["generations"]),
            "residual": f"{100 * fit['residual_spread']:.1f}%",
            "held_out": "n/a" if held_out is None else f"{100 * held_out:.1f}%",
            "recommended": data["recommended"] or "plain autoregressive decoding",
            **pair_inputs(config, data, *TIMED_INPUTS),
        },
    )


EXPERIMENT = Experiment(
    name="lm_clock",
    title="Wall clock on real models — predicted vs measured speed-up",
    revision=1,
    make_config=make_config,
    compute=compute,
    claims=claims,
    plot=plot,
    describe=describe,
    timed=True,
    on_pair=make_pair_config,
)
