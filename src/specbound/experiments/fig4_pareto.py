"""Figure 4 analog: the rejection/bias trade-off of lossy decoding with over-acceptance.

Paper Section 4 (p = draft, q = target). Over-acceptance with threshold ``eps`` accepts a
drafted token with ``b = min(1, (q + eps)/p)``; after a rejection Decoding-OPT samples
Theorem 4's ``P* = [q - p b]_+`` normalised, Decoding-UNO samples q. Both reject with the
same probability ``r(b) = 1 - sum p b``; Theorem 4: OPT's bias ``TV(A, q)`` is the least
any resampling law can reach, ``sum [p b - q]_+``; Theorem 5: ``r + bias >= TV(p, q)``,
with equality exactly when ``b >= min(1, q/p)`` — so OPT lies *on* the straight front and
UNO above it.

At sequence level (a chain, drafting to the horizon) the same identity, summed along the
decoder's own output process, reads ``E[N_rej] + total bias = sum_n E_out[TV(p_n, q_n)]``
for OPT, and UNO exceeds it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from specbound import theory
from specbound.algorithms import OverAcceptance
from specbound.chain import MarkovChain, one_step_chains, random_pair, simulate
from specbound.core import kernels
from specbound.core.summary import summarise_step
from specbound.estimates import Estimate, derive_seed
from specbound.experiments import plotting
from specbound.experiments.base import Claim, Experiment, Progress, Record, Steps
from specbound.experiments.checks import (
    EXACT_TOLERANCE,
    chi_square_pvalue,
    fisher_claim,
    joint_claim,
    tolerance_claim,
)
from specbound.experiments.common import DECODERS, ChainSpec
from specbound.experiments.prose import render

__all__ = ["EXPERIMENT", "Fig4Config"]

Array = NDArray[np.float64]


@dataclass(frozen=True)
class Fig4Config:
    """What Figure 4 computes. Thresholds are given as fractions of ``max(draft - target)``
    (over the vocabulary for one step; over every position and state for the chain)."""

    seed: int
    chain: ChainSpec
    vocab_size: int = 6
    num_eps: int = 25
    overshoot: float = 1.25
    measured_fractions: tuple[float, ...] = (0.0, 0.2, 0.4, 0.6, 0.8)
    step_runs: int = 200_000
    chain_num_eps: int = 15
    chain_measured_fractions: tuple[float, ...] = (0.0, 0.1, 0.25)
    chain_runs: int = 20_000


def make_config(quick: bool, seed: int) -> Fig4Config:
    chain = ChainSpec(num_states=7, horizon=50, mix=0.5, concentration=1.0, seed=seed)
    if quick:
        return Fig4Config(
            seed=seed,
            chain=chain,
            num_eps=13,
            step_runs=20_000,
            chain_num_eps=9,
            chain_runs=2_000,
        )
    return Fig4Config(seed=seed, chain=chain)


def step_pair(config: Fig4Config) -> tuple[Array, Array]:
    """The single-step (draft, target) pair: independent Dirichlet(1) vectors, drawn as
    row ``[0, 0]`` of ``random_pair(T=1, S=V, mix=1, seed)``."""
    draft, target = random_pair(
        1, config.vocab_size, mix=1.0, seed=derive_seed(config.seed, "step-pair")
    )
    return draft.transitions[0, 0].copy(), target.transitions[0, 0].copy()


def _sweep(top: float, count: int, overshoot: float) -> list[float]:
    return np.linspace(0.0, overshoot * top, count).tolist()


def _step_exact(draft: Array, target: Array, eps: float) -> dict[str, Any]:
    opt = summarise_step(draft, target, eps, "opt")
    uno = summarise_step(draft, target, eps, "uno")
    return {
        "eps": eps,
        "rejection": opt.rejection,
        "bias_opt": opt.bias,
        "bias_uno": uno.bias,
        "min_bias": opt.min_bias,
        "gap_opt": opt.rejection + opt.bias - opt.tv,
        "gap_uno": uno.rejection + uno.bias - uno.tv,
        "output_opt": opt.output,
        "output_uno": uno.output,
    }


def _step_measured(
    chains: tuple[MarkovChain, MarkovChain], exact: dict[str, Any], runs: int, seed: int
) -> dict[str, Any]:
    out: dict[str, Any] = {"eps": exact["eps"]}
    target = chains[1].transitions[0, 0]
    for resample in DECODERS:
        algorithm = OverAcceptance(eps=exact["eps"], resample=resample)  # type: ignore[arg-type]
        result = simulate(*chains, algorithm, runs, seed=derive_seed(seed, "step", resample))
        est = Estimate.from_samples(result.rejections)
        counts = np.bincount(result.sequences[:, 0], minlength=target.size)  # (V,)
        out[resample] = {
            "runs": runs,
            "rejection_mean": est.mean,
            "rejection_se": est.se,
            "counts": counts.tolist(),
            "pvalue": chi_square_pvalue(counts, exact[f"output_{resample}"]),
            "plugin_bias": float(kernels.tv_rows(counts / runs, target)),
        }
    return out


def _chain_exact(draft: MarkovChain, target: MarkovChain, eps: float) -> dict[str, Any]:
    tvs = kernels.tv_rows(draft.transitions, target.transitions)  # (T, S)
    out: dict[str, Any] = {"eps": eps}
    for resample in DECODERS:
        algorithm = OverAcceptance(eps=eps, resample=resample)  # type: ignore[arg-type]
        result = theory.analyse(draft, target, algorithm)
        states = theory.output_chain(draft, target, algorithm).marginals()[:-1]  # (T, S)
        budget = float(np.einsum("ns,ns->", states, tvs))
        out[resample] = {
            "rejections": result.rejections,
            "total_bias": result.total_bias,
            "budget": budget,
            "gap": result.rejections + result.total_bias - budget,
        }
    return out


def compute(config: Fig4Config, progress: Progress) -> dict[str, Any]:
    draft, target = step_pair(config)
    top = float((draft - target).max())
    step = [
        _step_exact(draft, target, eps) for eps in _sweep(top, config.num_eps, config.overshoot)
    ]
    chains = one_step_chains(draft, target)
    steps = Steps(
        len(config.measured_fractions) + len(config.chain_measured_fractions) + 1, progress
    )
    measured = []
    for k, fraction in enumerate(config.measured_fractions):
        exact = _step_exact(draft, target, fraction * top)
        measured.append(
            {
                **_step_measured(chains, exact, config.step_runs, derive_seed(config.seed, k)),
                "rejection": exact["rejection"],
                "bias_opt": exact["bias_opt"],
                "bias_uno": exact["bias_uno"],
            }
        )
        steps.advance()
    chain_draft, chain_target = config.chain.draw()
    chain_top = float((chain_draft.transitions - chain_target.transitions).max())
    sweep = [
        _chain_exact(chain_draft, chain_target, eps)
        for eps in _sweep(chain_top, config.chain_num_eps, 1.1)
    ]
    steps.advance()
    chain_measured = []
    for k, fraction in enumerate(config.chain_measured_fractions):
        eps = fraction * chain_top
        point = _chain_exact(chain_draft, chain_target, eps)
        for resample in DECODERS:
            algorithm = OverAcceptance(eps=eps, resample=resample)  # type: ignore[arg-type]
            seed = derive_seed(config.seed, "chain", k, resample)
            est = Estimate.from_samples(
                simulate(
                    chain_draft, chain_target, algorithm, config.chain_runs, seed=seed
                ).rejections
            )
            point[resample].update(
                {"runs": config.chain_runs, "rejection_mean": est.mean, "rejection_se": est.se}
            )
        chain_measured.append(point)
        steps.advance()
    return {
        "step": {
            "draft": draft.tolist(),
            "target": target.tolist(),
            "tv": float(kernels.tv_rows(draft, target)),
            "max_excess": top,
            "sweep": step,
            "measured": measured,
        },
        "chain": {
            "spec": asdict(config.chain),
            "theorem1": theory.theorem1_sum(chain_draft, chain_target),
            "max_excess": chain_top,
            "sweep": sweep,
            "measured": chain_measured,
        },
    }


def _rates(point: dict[str, Any], resample: str) -> Estimate:
    return Estimate(point[resample]["rejection_mean"], point[resample]["rejection_se"])


def claims(config: Fig4Config, data: dict[str, Any]) -> list[Claim]:
    step, chain = data["step"], data["chain"]
    sweep = step["sweep"]
    rejecting = [p for p in sweep if p["rejection"] > EXACT_TOLERANCE]
    still = [p for p in sweep if p["rejection"] <= EXACT_TOLERANCE]
    uno_gap = min(p["gap_uno"] for p in rejecting)
    measured = step["measured"]
    differences = [
        Estimate(
            _rates(p, "opt").mean - _rates(p, "uno").mean,
            float(np.hypot(_rates(p, "opt").se, _rates(p, "uno").se)),
        )
        for p in measured
    ]
    chain_rejecting = [p for p in chain["sweep"] if p["uno"]["rejections"] > EXACT_TOLERANCE]
    chain_uno_gap = min(p["uno"]["gap"] for p in chain_rejecting)
    n_eps = len(sweep)
    return [
        tolerance_claim(
            "opt-theorem4",
            f"One step, {n_eps} values of eps: OPT's bias equals Theorem 4's minimum Σ [p·b − q]_+",
            [p["min_bias"] for p in sweep],
            [p["bias_opt"] for p in sweep],
        ),
        tolerance_claim(
            "opt-front",
            f"One step, {n_eps} values of eps: OPT lies on Theorem 5's line "
            "(rejection + bias = TV)",
            0.0,
            [p["gap_opt"] for p in sweep],
        ),
        Claim(
            id="uno-above",
            statement=f"One step: UNO lies strictly above the line at all {len(rejecting)} eps "
            f"where it can reject (eps < max(p − q)), and on it at the {len(still)} beyond",
            holds=bool(
                uno_gap > EXACT_TOLERANCE
                and all(abs(p["gap_uno"]) <= EXACT_TOLERANCE for p in still)
            ),
            check=f"smallest gap above the line {uno_gap:.3g} > {EXACT_TOLERANCE:.0e}",
            theory=0.0,
            measured=uno_gap,
        ),
        joint_claim(
            "step-rates-equal",
            f"One step: measured OPT and UNO rejection rates are equal "
            f"({len(measured)} eps, {measured[0]['opt']['runs']} runs each)",
            differences,
            [0.0] * len(differences),
        ),
        joint_claim(
            "step-rates-theory",
            "One step: measured rejection rates of OPT and UNO agree with r(b) = 1 − Σ p·b",
            [_rates(p, r) for p in measured for r in DECODERS],
            [p["rejection"] for p in measured for _ in DECODERS],
        ),
        fisher_claim(
            "step-output-law",
            "One step: the measured output tokens of OPT and UNO follow A = p·b + r·P "
            "(chi-square per eps and rule)",
            [p[r]["pvalue"] for p in measured for r in DECODERS],
        ),
        tolerance_claim(
            "chain-opt-identity",
            f"Chain (T={chain['spec']['horizon']}): OPT's E[N_rej] + total bias equals "
            "Σ_n E_out[TV(p_n, q_n)] at every eps (Theorem 5 summed)",
            [p["opt"]["budget"] for p in chain["sweep"]],
            [p["opt"]["rejections"] + p["opt"]["total_bias"] for p in chain["sweep"]],
        ),
        Claim(
            id="chain-uno-above",
            statement=f"Chain: UNO's E[N_rej] + total bias exceeds its Σ_n E_out[TV] at all "
            f"{len(chain_rejecting)} eps where it rejects",
            holds=bool(chain_uno_gap > EXACT_TOLERANCE),
            check=f"smallest excess {chain_uno_gap:.3g} > {EXACT_TOLERANCE:.0e}",
            theory=0.0,
            measured=chain_uno_gap,
        ),
        joint_claim(
            "chain-rejections",
            "Chain: simulated rejections of OPT and UNO agree with the exact expectation "
            f"({len(chain['measured'])} eps, {config.chain_runs} runs each)",
            [_rates(p, r) for p in chain["measured"] for r in DECODERS],
            [p[r]["rejections"] for p in chain["measured"] for r in DECODERS],
        ),
    ]


def plot(data: dict[str, Any], fig_dir: Path) -> list[Path]:
    """Figure 4, drawn from the data alone."""
    return [plotting.fig4_figure(data, fig_dir / "fig4_pareto.png")]


def describe(record: Record) -> str:
    """The section text: Theorems 4 and 5, one step and a chain, and the inputs."""
    step, chain = record.data["step"], record.data["chain"]
    config = record.config
    differing = [p for p in chain["sweep"] if p["uno"]["rejections"] > EXACT_TOLERANCE]
    lower = sum(
        p["opt"]["total_bias"] < p["uno"]["total_bias"] - EXACT_TOLERANCE for p in differing
    )
    return render(
        "fig4",
        {
            "num_eps": str(len(step["sweep"])),
            "overshoot": f"{config['overshoot']:g}",
            "theorem1": f"{chain['theorem1']:.3f}",
            "lower": str(lower),
            "rejecting": str(len(differing)),
            "vocab_size": str(config["vocab_size"]),
            "draft": ", ".join(f"{v:.3f}" for v in step["draft"]),
            "target": ", ".join(f"{v:.3f}" for v in step["target"]),
            "tv": f"{step['tv']:.4f}",
            "max_excess": f"{step['max_excess']:.4f}",
            "seed": str(record.seed),
            "step_runs": str(config["step_runs"]),
            "chain": ChainSpec(**chain["spec"]).describe(),
            "chain_max_excess": f"{chain['max_excess']:.4f}",
            "chain_runs": str(config["chain_runs"]),
        },
    )


EXPERIMENT = Experiment(
    name="fig4",
    title="Figure 4 — the Pareto front of lossy decoding: Theorems 4 and 5",
    revision=1,
    make_config=make_config,
    compute=compute,
    claims=claims,
    plot=plot,
    describe=describe,
)
