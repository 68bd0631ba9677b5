"""Figure 2 analog: expected rejections of SD and batch SD on a non-stationary chain.

Paper Theorem 1 (SD drafting to the horizon rejects ``sum_n E_{x ~ q}[TV(p_n, q_n)]``
times on average), Theorem 3 (batch SD with M drafts: the same sum minus an improvement
collected at round starts) and Proposition 1 (as M -> infinity the rejections level off at
a positive limit). p = draft, q = target.

One 7-state chain pair is drawn for the largest horizon; shorter horizons use its first
positions. For every horizon: the running mean of simulated SD rejections against the
exact Theorem-1 value, the same for batch SD (M = 4, 5) against Theorem 3, and the exact
rejections for M = 1..20 with simulated points and the M -> infinity limit.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from specbound import theory
from specbound.algorithms import BatchSpeculative, Speculative
from specbound.chain import simulate
from specbound.estimates import Estimate, derive_seed
from specbound.experiments import plotting
from specbound.experiments.base import Claim, Experiment, Progress, Record, Steps
from specbound.experiments.checks import (
    EXACT_TOLERANCE,
    joint_claim,
    running_mean,
    tolerance_claim,
    z_claim,
)
from specbound.experiments.common import ChainSpec, truncate
from specbound.experiments.prose import render

__all__ = ["EXPERIMENT", "Fig2Config"]


@dataclass(frozen=True)
class Fig2Config:
    """What Figure 2 computes; ``chain.horizon`` must be the largest of ``horizons``."""

    seed: int
    chain: ChainSpec
    horizons: tuple[int, ...] = (50, 100)
    sd_runs: int = 100_000
    batch_drafts: tuple[int, ...] = (4, 5)
    batch_runs: int = 100_000
    sweep_max_drafts: int = 20
    sweep_points: tuple[int, ...] = field(default=(1, 2, 3, 5, 8, 13, 20))
    sweep_runs: int = 50_000


def make_config(quick: bool, seed: int) -> Fig2Config:
    chain = ChainSpec(num_states=7, horizon=100, mix=0.5, concentration=1.0, seed=seed)
    if quick:
        return Fig2Config(
            seed=seed,
            chain=chain,
            sd_runs=4_000,
            batch_runs=4_000,
            sweep_points=(1, 2, 4, 8, 20),
            sweep_runs=2_000,
        )
    return Fig2Config(seed=seed, chain=chain)


def _measure(values: Any, trace: bool) -> dict[str, Any]:
    est = Estimate.from_samples(values)
    out: dict[str, Any] = {
        "runs": int(np.size(values)),
        "mean": est.mean,
        "se": est.se,
        "std": float(np.std(values, ddof=1)),
    }
    if trace:
        out["trace_runs"], out["trace_mean"] = running_mean(values)
    return out


def compute(config: Fig2Config, progress: Progress) -> dict[str, Any]:
    pair = config.chain.draw()
    steps = Steps(
        len(config.horizons) * (1 + len(config.batch_drafts) + len(config.sweep_points)), progress
    )

    def run(draft: Any, target: Any, algorithm: Any, runs: int, *key: str | int) -> Any:
        result = simulate(draft, target, algorithm, runs, seed=derive_seed(config.seed, *key))
        steps.advance()
        return result.rejections

    panels = []
    for T in config.horizons:
        draft, target = truncate(pair, T)
        sd = Speculative()
        panel: dict[str, Any] = {
            "T": T,
            "theorem1": theory.theorem1_sum(draft, target),
            "sd_exact": theory.expected_rejections(draft, target, sd),
            "sd": _measure(run(draft, target, sd, config.sd_runs, "sd", T), trace=True),
            "batch": [],
        }
        for M in config.batch_drafts:
            batch = BatchSpeculative(num_drafts=M)
            rejections = run(draft, target, batch, config.batch_runs, "batch", T, M)
            panel["batch"].append(
                {
                    "M": M,
                    "exact": theory.expected_rejections(draft, target, batch),
                    **_measure(rejections, trace=True),
                }
            )
        drafts = list(range(1, config.sweep_max_drafts + 1))
        panel["sweep"] = {
            "M": drafts,
            "exact": [
                theory.expected_rejections(draft, target, BatchSpeculative(num_drafts=M))
                for M in drafts
            ],
            "limit": theory.batch_limit(draft, target).rejections,
            "points": [
                {
                    "M": M,
                    **_measure(
                        run(
                            draft,
                            target,
                            BatchSpeculative(num_drafts=M),
                            config.sweep_runs,
                            "sweep",
                            T,
                            M,
                        ),
                        trace=False,
                    ),
                }
                for M in config.sweep_points
            ],
        }
        panels.append(panel)
    return {"chain": asdict(config.chain), "panels": panels}


def _est(entry: dict[str, Any]) -> Estimate:
    return Estimate(entry["mean"], entry["se"])


def claims(config: Fig2Config, data: dict[str, Any]) -> list[Claim]:
    out: list[Claim] = []
    for panel in data["panels"]:
        T = panel["T"]
        sd, sweep = panel["sd"], panel["sweep"]
        out.append(
            tolerance_claim(
                f"theorem1-recursion-T{T}",
                f"T={T}: Theorem 1's closed-form sum equals the phase recursion's exact "
                "rejections of batch SD with M = 1 (which is SD)",
                panel["theorem1"],
                sweep["exact"][0],
            )
        )
        out.append(
            z_claim(
                f"sd-T{T}",
                f"T={T}: simulated SD rejections ({sd['runs']} runs) agree with Theorem 1",
                _est(sd),
                panel["theorem1"],
            )
        )
        for entry in panel["batch"]:
            out.append(
                z_claim(
                    f"batch-M{entry['M']}-T{T}",
                    f"T={T}: simulated batch SD rejections, M={entry['M']} "
                    f"({entry['runs']} runs), agree with Theorem 3",
                    _est(entry),
                    entry["exact"],
                )
            )
        exact = dict(zip(sweep["M"], sweep["exact"], strict=True))
        out.append(
            joint_claim(
                f"sweep-T{T}",
                f"T={T}: simulated rejections at M = "
                f"{', '.join(str(p['M']) for p in sweep['points'])} agree with the exact values",
                [_est(p) for p in sweep["points"]],
                [exact[p["M"]] for p in sweep["points"]],
            )
        )
        steps = np.diff(sweep["exact"])
        worst = float(steps.max())
        out.append(
            Claim(
                id=f"monotone-T{T}",
                statement=f"T={T}: exact batch rejections are non-increasing in "
                f"M = 1..{max(exact)}",
                holds=bool(worst <= EXACT_TOLERANCE),
                check=f"largest step E[M+1] - E[M] = {worst:.3g} <= {EXACT_TOLERANCE:.0e}",
                theory=None,
                measured=worst,
            )
        )
        smallest = min(sweep["exact"])
        limit = sweep["limit"]
        out.append(
            Claim(
                id=f"limit-T{T}",
                statement=f"T={T}: the M -> infinity limit (Proposition 1) is positive and "
                f"below every finite M",
                holds=bool(0 < limit < smallest),
                check=f"0 < {limit:.4g} < min over M of {smallest:.4g}",
                theory=limit,
                measured=smallest,
            )
        )
    return out


def plot(data: dict[str, Any], fig_dir: Path) -> list[Path]:
    """Figure 2, drawn from the data alone."""
    return [plotting.fig2_figure(data, fig_dir / "fig2_rejections.png")]


def describe(record: Record) -> str:
    """The section text: Theorems 1 and 3, Proposition 1, and how the chain was drawn."""
    config = record.config
    horizons = [
        render(
            "fig2_horizon",
            {
                "T": str(panel["T"]),
                "theorem1": f"{panel['theorem1']:.4f}",
                "at_m4": f"{panel['sweep']['exact'][3]:.4f}",
                "at_last": f"{panel['sweep']['exact'][-1]:.4f}",
                "last_m": str(panel["sweep"]["M"][-1]),
                "limit": f"{panel['sweep']['limit']:.4f}",
            },
        )
        for panel in record.data["panels"]
    ]
    chain = ChainSpec(**config["chain"])
    return render(
        "fig2",
        {
            "horizons": " ".join(horizons),
            "chain": chain.describe(),
            "horizon": str(chain.horizon),
            "sd_runs": str(config["sd_runs"]),
            "batch_runs": str(config["batch_runs"]),
            "sweep_runs": str(config["sweep_runs"]),
        },
    )


EXPERIMENT = Experiment(
    name="fig2",
    title="Figure 2 — expected rejections: Theorem 1, Theorem 3, Proposition 1",
    revision=1,
    make_config=make_config,
    compute=compute,
    claims=claims,
    plot=plot,
    describe=describe,
)
