"""Theory on real models: predicted vs measured rejections and target calls (beyond the paper).

p = draft, q = target. On the embedded model pair, :func:`specbound.profile` predicts
the expected rejections and target calls of SD and batch SD for every draft length gamma
— exact conditional expectations given continuations sampled from the target (the
output law of both, Theorems 1 and 3), averaged over the samples — and then runs the
decoders on the same prompts with independent seeds. The claims check the measurement
against the prediction at every (algorithm, gamma).

Generations have a fixed length (the paper's horizon T: ``stop_at_eos=False``), so the
prediction and the measurement count the same positions. Only counts are stored: wall-
clock times differ between runs, and the data file of a seed must be reproducible byte
for byte (``specbound profile`` reports the timed speed-up).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from specbound.estimates import Estimate
from specbound.experiments import plotting
from specbound.experiments.base import Claim, Experiment, Progress, Record
from specbound.experiments.checks import joint_claim
from specbound.experiments.common import PairSpec, pair_inputs, profile_section
from specbound.experiments.prose import plus_minus, render

__all__ = ["EXPERIMENT", "LMTheoryConfig"]


@dataclass(frozen=True)
class LMTheoryConfig:
    """What the section computes, on the model ``pair`` (default: the embedded pair).
    ``samples_per_prompt`` paths feed the prediction, ``runs_per_prompt`` decoder runs the
    measurement (each algorithm its own seeds)."""

    seed: int
    num_prompts: int = 6
    samples_per_prompt: int = 12
    runs_per_prompt: int = 6
    max_new_tokens: int = 20
    gammas: tuple[int, ...] = (1, 2, 4, 8)
    num_drafts: tuple[int, ...] = (2, 4)
    temperature: float = 1.0
    pair: PairSpec = field(default_factory=PairSpec)


def make_config(quick: bool, seed: int) -> LMTheoryConfig:
    if quick:
        return LMTheoryConfig(
            seed=seed,
            num_prompts=2,
            samples_per_prompt=4,
            runs_per_prompt=3,
            max_new_tokens=6,
            gammas=(2,),
            num_drafts=(2,),
        )
    return LMTheoryConfig(seed=seed)


def make_pair_config(quick: bool, seed: int, pair: str) -> LMTheoryConfig:
    """The section on the named pair ``pair`` (``reproduce --pair``). A real target step
    costs 30-60 ms on a CPU (the embedded pair's ~2 ms): fewer prompts, paths, runs and
    tokens, gamma 2 and 4 (2 when ``quick``), batch M = 2."""
    spec = PairSpec.named(pair)
    if quick:
        return LMTheoryConfig(
            seed=seed,
            num_prompts=1,
            samples_per_prompt=2,
            runs_per_prompt=2,
            max_new_tokens=6,
            gammas=(2,),
            num_drafts=(2,),
            pair=spec,
        )
    return LMTheoryConfig(
        seed=seed,
        num_prompts=4,
        samples_per_prompt=6,
        runs_per_prompt=4,
        max_new_tokens=16,
        gammas=(2, 4),
        num_drafts=(2,),
        pair=spec,
    )


def _estimate(raw: dict[str, Any]) -> dict[str, float]:
    return {"mean": raw["mean"], "se": raw["se"], "n": raw["n"]}


def compute(config: LMTheoryConfig, progress: Progress) -> dict[str, Any]:
    from specbound.lm.warping import SamplingConfig

    report = profile_section(
        config,
        progress,
        eps=(),
        sampling=SamplingConfig(temperature=config.temperature),
        measure=True,
        timing=False,
        stop_at_eos=False,
        common_seeds=False,
        blocks=False,
    )
    rows = []
    for row in report.rows:
        p, m = row.prediction, row.measurement
        assert m is not None
        rows.append(
            {
                "label": row.label,
                "algorithm": p.algorithm.to_dict(),
                "predicted": {
                    "rejections": _estimate(p.expected_rejections.to_dict()),
                    "calls": _estimate(p.expected_calls.to_dict()),
                    "calls_per_token": _estimate(p.calls_per_token.to_dict()),
                },
                "measured": {
                    "rejections": _estimate(m.rejections.to_dict()),
                    "calls": _estimate(m.calls.to_dict()),
                    "calls_per_token": _estimate(m.calls_per_token.to_dict()),
                },
            }
        )
    return {
        "target": Path(report.target_name).name,
        "draft": Path(report.draft_name).name,
        "prompts": list(report.prompts),
        "mean_tv": _estimate(report.to_dict()["mean_tv"]),  # the model is profiled
        "rows": rows,
    }


def _pair(row: dict[str, Any], side: str, what: str) -> Estimate:
    raw = row[side][what]
    return Estimate(raw["mean"], raw["se"])


def _gap(row: dict[str, Any], what: str) -> Estimate:
    """Measured minus predicted, with the combined standard error (independent runs)."""
    predicted, measured = _pair(row, "predicted", what), _pair(row, "measured", what)
    return Estimate(measured.mean - predicted.mean, math.hypot(predicted.se, measured.se))


def _joint(claim_id: str, statement: str, group: list[dict[str, Any]], what: str) -> Claim:
    """One chi-square test over the settings of ``group``; the table shows the worst one."""
    gaps = [_gap(r, what) for r in group]
    claim = joint_claim(claim_id, statement, gaps, [0.0] * len(gaps))
    worst = max(range(len(group)), key=lambda k: abs(gaps[k].mean) / max(gaps[k].se, 1e-300))
    measured = _pair(group[worst], "measured", what)
    return replace(
        claim,
        check=claim.check.replace("(worst", f"(worst: {group[worst]['label']},"),
        theory=group[worst]["predicted"][what]["mean"],
        measured=measured.mean,
        ci95=measured.ci95,
    )


def claims(config: LMTheoryConfig, data: dict[str, Any]) -> list[Claim]:
    rows = data["rows"]
    out = []
    for name, label in (("sd", "SD"), ("batch", "batch SD")):
        group = [r for r in rows if r["algorithm"]["name"] == name]
        if not group:
            continue
        if name == "batch":
            sizes = sorted({r["algorithm"]["num_drafts"] for r in group})
            label += f" (M = {', '.join(map(str, sizes))})"
        runs = group[0]["measured"]["rejections"]["n"]
        for what, noun in (("rejections", "rejections"), ("calls", "target calls")):
            out.append(
                _joint(
                    f"{name}-{what}",
                    f"{label}: measured {noun} per generation agree with the along-path "
                    f"prediction at every gamma ({len(group)} settings, {runs} runs each)",
                    group,
                    what,
                )
            )
    return out


def plot(data: dict[str, Any], fig_dir: Path) -> list[Path]:
    """The predicted-vs-measured figure, drawn from the data alone."""
    return [plotting.lm_theory_figure(data, fig_dir / "lm_theory.png")]


def describe(record: Record) -> str:
    """The section text: Theorems 1 and 3 predicted along target samples, the table, inputs."""
    config, data = record.config, record.data
    rows = data["rows"]
    sd_none = next(
        r for r in rows if r["algorithm"]["name"] == "sd" and r["algorithm"]["gamma"] is None
    )
    tv = data["mean_tv"]
    table = "\n".join(
        f"| {r['label']} | {plus_minus(r['predicted']['rejections'])}"
        f" | {plus_minus(r['measured']['rejections'])}"
        f" | {plus_minus(r['predicted']['calls'])} | {plus_minus(r['measured']['calls'])} |"
        for r in rows
    )
    return render(
        "lm_theory",
        {
            "max_new_tokens": str(config["max_new_tokens"]),
            "tv": plus_minus(tv),
            "predicted": f"{sd_none['predicted']['rejections']['mean']:.2f}",
            "measured": f"{sd_none['measured']['rejections']['mean']:.2f}",
            "rows": table,
            **pair_inputs(config, data, "num_prompts", "samples_per_prompt", "runs_per_prompt"),
            "temperature": f"{config['temperature']:g}",
        },
    )


EXPERIMENT = Experiment(
    name="lm_theory",
    title="Theory on real models — predicted vs measured rejections and calls",
    revision=1,
    make_config=make_config,
    compute=compute,
    claims=claims,
    plot=plot,
    describe=describe,
    on_pair=make_pair_config,
)
