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
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from specbound.estimates import Estimate
from specbound.experiments import plotting
from specbound.experiments.base import Claim, Experiment, Progress, Record
from specbound.experiments.checks import joint_claim

__all__ = ["EXPERIMENT", "LMTheoryConfig"]


@dataclass(frozen=True)
class LMTheoryConfig:
    """What the section computes. ``target``/``draft``/``tokenizer`` None: the embedded
    pair. ``samples_per_prompt`` paths feed the prediction, ``runs_per_prompt`` decoder
    runs the measurement (each algorithm its own seeds)."""

    seed: int
    num_prompts: int = 6
    samples_per_prompt: int = 12
    runs_per_prompt: int = 6
    max_new_tokens: int = 20
    gammas: tuple[int, ...] = (1, 2, 4, 8)
    num_drafts: tuple[int, ...] = (2, 4)
    temperature: float = 1.0
    target: str | None = None
    draft: str | None = None
    tokenizer: str | None = None


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


def _load(config: Any) -> Any:
    """The model pair a config names (the embedded pair by default)."""
    from specbound.lm import load_pair

    if config.target is None and config.draft is None:
        return load_pair()
    return load_pair(target=config.target, draft=config.draft, tokenizer=config.tokenizer)


def _estimate(raw: dict[str, Any]) -> dict[str, float]:
    return {"mean": raw["mean"], "se": raw["se"], "n": raw["n"]}


def compute(config: LMTheoryConfig, progress: Progress) -> dict[str, Any]:
    from specbound.lm.prompts import load_prompts
    from specbound.lm.threads import torch_threads
    from specbound.lm.warping import SamplingConfig
    from specbound.profiling import profile

    with torch_threads(1):  # tiny models on a shared machine: one thread is fastest
        pair = _load(config)
        report = profile(
            pair,
            load_prompts(limit=config.num_prompts),
            max_new_tokens=config.max_new_tokens,
            samples_per_prompt=config.samples_per_prompt,
            runs_per_prompt=config.runs_per_prompt,
            seed=config.seed,
            gammas=config.gammas,
            num_drafts=config.num_drafts,
            eps=(),
            sampling=SamplingConfig(temperature=config.temperature),
            measure=True,
            timing=False,
            stop_at_eos=False,
            common_seeds=False,
            progress=progress,
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
        "mean_tv": _estimate(report.mean_tv.to_dict()),
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
    return [plotting.lm_theory_figure(data, fig_dir / "lm_theory.png")]


def describe(record: Record) -> str:
    config, data = record.config, record.data
    rows = data["rows"]
    sd_none = next(
        r for r in rows if r["algorithm"]["name"] == "sd" and r["algorithm"]["gamma"] is None
    )
    tv = data["mean_tv"]
    lines = [
        "| setting | predicted rejections | measured rejections | predicted calls | "
        "measured calls |",
        "|---|---:|---:|---:|---:|",
    ]
    for r in rows:
        p, m = r["predicted"], r["measured"]
        lines.append(
            f"| {r['label']} | {p['rejections']['mean']:.3f} ± {1.96 * p['rejections']['se']:.3f}"
            f" | {m['rejections']['mean']:.3f} ± {1.96 * m['rejections']['se']:.3f}"
            f" | {p['calls']['mean']:.3f} ± {1.96 * p['calls']['se']:.3f}"
            f" | {m['calls']['mean']:.3f} ± {1.96 * m['calls']['se']:.3f} |"
        )
    pair = (
        "The embedded pair"
        if config["target"] is None
        else f"target `{data['target']}`, draft `{data['draft']}`"
    )
    return "\n\n".join(
        [
            "**Claim.** The paper's theorems are about Markov chains; on a real model pair the "
            "same quantities are expectations over the target's law, and they can be "
            "*predicted* before running the decoder. SD and batch SD output exactly the "
            "target's law (Theorems 1 and 3), and given the output path the acceptance "
            "events are independent — probability min(p, q)(x)/q(x) at a drafted position, "
            "1 − P(all M rejected)·r_{M+1}(x)/q(x) at a batch round start — so a forward "
            "recursion over the position within the round gives the exact expected "
            "rejections and target calls for any gamma and M along each continuation "
            "sampled from the target; their average is an unbiased prediction. For SD "
            "drafting to the horizon the prediction is Theorem 1's sum of TV(p_n, q_n) "
            "along the samples (the same expectation, less variance). The decoders "
            "(`specbound.lm.generate`) then run on the same prompts with their own seeds. "
            "Left: expected rejections per generation against gamma (the rightmost point, "
            f"gamma = T = {config['max_new_tokens']}, is drafting to the horizon); middle: "
            "target calls per generated token; right: every prediction against its "
            "measurement (95% intervals).",
            f"Along the target's samples the mean per-token TV(p, q) is "
            f"{tv['mean']:.3f} ± {1.96 * tv['se']:.3f}, so SD drafting to the horizon is "
            f"predicted to reject {sd_none['predicted']['rejections']['mean']:.2f} times in "
            f"{config['max_new_tokens']} tokens and measured at "
            f"{sd_none['measured']['rejections']['mean']:.2f}.",
            "\n".join(lines),
            f"**Inputs.** {pair}; the first {config['num_prompts']} shipped prompts "
            "(`specbound/data/prompts.txt`); temperature "
            f"{config['temperature']:g}, no top-k/top-p; {config['max_new_tokens']} new tokens "
            "per generation, end-of-text not stopping it (the paper's fixed horizon T); "
            f"{config['samples_per_prompt']} sampled paths per prompt for the prediction, "
            f"{config['runs_per_prompt']} decoder runs per prompt and setting for the "
            "measurement, all seeded from the run's seed. Only counts are stored (wall-clock "
            "speed-ups differ from run to run; `specbound profile` times and predicts them).",
        ]
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
)
