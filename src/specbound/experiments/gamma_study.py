"""Beyond the paper: expected target calls against the draft length gamma, exactly.

The paper drafts to the horizon; practice drafts ``gamma`` tokens per round and, when all
are accepted, takes a bonus token from the target in the same call (the counting of
:mod:`specbound.algorithms`). The usual back-of-the-envelope (Leviathan et al. 2023)
treats acceptances as i.i.d. with rate ``a``: a call then yields
``(1 - a^(gamma+1)) / (1 - a)`` tokens on average, so ``T`` tokens need about
``T (1 - a) / (1 - a^(gamma+1))`` calls. Here ``a`` is the chain's average acceptance
along the target, ``1 - Theorem-1 sum / T`` (p = draft, q = target).

On a chain the exact finite-gamma expectation comes from the phase recursion of
:mod:`specbound.chain.recursion`. Two chains show where the approximation holds and where
it breaks: Figure 2's chain (every position drawn alike), and a *phased* chain whose draft
is nearly the target in some stretches and nearly independent of it in others.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from specbound import theory
from specbound.algorithms import Algorithm, BatchSpeculative, Speculative
from specbound.chain import MarkovChain, random_pair, simulate
from specbound.estimates import Estimate, derive_seed
from specbound.experiments import plotting
from specbound.experiments.base import Claim, Experiment, Progress, Record, Steps
from specbound.experiments.checks import joint_claim, tolerance_claim
from specbound.experiments.common import ChainSpec
from specbound.experiments.prose import render

__all__ = ["EXPERIMENT", "FAMILIES", "GammaConfig", "PhasedChainSpec", "iid_calls"]


@dataclass(frozen=True)
class PhasedChainSpec:
    """A pair whose draft quality changes along the sequence: positions come in blocks of
    ``block``, alternately *easy* (draft mixed with ``mix_easy``) and *hard* (``mix_hard``).

    Drawn as ``other, target = random_pair(T, S, mix=1, seed)`` (independent
    Dirichlet(``concentration``) rows), then ``draft_n = (1 - mix_n) q_n + mix_n D_n``.
    """

    num_states: int
    horizon: int
    block: int
    mix_easy: float
    mix_hard: float
    concentration: float
    seed: int

    def draw(self) -> tuple[MarkovChain, MarkovChain]:
        other, target = random_pair(
            self.horizon,
            self.num_states,
            mix=1.0,
            seed=self.seed,
            concentration=self.concentration,
        )
        hard = (np.arange(self.horizon) // self.block) % 2 == 1  # (T,)
        mix = np.where(hard, self.mix_hard, self.mix_easy)[:, None, None]  # (T, 1, 1)
        draft = (1.0 - mix) * target.transitions + mix * other.transitions  # (T, S, S)
        return MarkovChain(draft, target.start, name="draft"), target

    def describe(self) -> str:
        """One sentence for the report: exactly how the pair was drawn."""
        return render(
            "phased_chain_spec",
            {
                "horizon": str(self.horizon),
                "num_states": str(self.num_states),
                "seed": str(self.seed),
                "concentration": f"{self.concentration:g}",
                "mix_easy": f"{self.mix_easy:g}",
                "mix_hard": f"{self.mix_hard:g}",
                "block": str(self.block),
                "third_start": str(2 * self.block + 1),
                "third_end": str(3 * self.block),
            },
        )


@dataclass(frozen=True)
class GammaConfig:
    """What the gamma study computes: two chains, one grid of gamma."""

    seed: int
    homogeneous: ChainSpec
    phased: PhasedChainSpec
    num_drafts: int = 4
    gammas: tuple[int, ...] = (*range(1, 33), 40, 48, 56, 64, 80, 100)
    measured_gammas: tuple[int, ...] = (1, 2, 4, 8, 16, 32)
    runs: int = 50_000


def make_config(quick: bool, seed: int) -> GammaConfig:
    homogeneous = ChainSpec(num_states=7, horizon=100, mix=0.5, concentration=1.0, seed=seed)
    phased = PhasedChainSpec(
        num_states=7,
        horizon=100,
        block=20,
        mix_easy=0.05,
        mix_hard=0.95,
        concentration=1.0,
        seed=seed,
    )
    if quick:
        return GammaConfig(
            seed=seed,
            homogeneous=homogeneous,
            phased=phased,
            measured_gammas=(1, 4, 16),
            runs=2_000,
        )
    return GammaConfig(seed=seed, homogeneous=homogeneous, phased=phased)


def iid_calls(horizon: int, acceptance: float, gamma: int) -> float:
    """Target calls predicted by i.i.d. acceptances at rate ``a``: ``T (1-a) / (1-a^(g+1))``."""
    if acceptance >= 1.0:
        return horizon / (gamma + 1)
    return horizon * (1.0 - acceptance) / (1.0 - acceptance ** (gamma + 1))


#: The decoders studied: SD and batch SD (``GammaConfig.num_drafts`` drafts).
FAMILIES = ("sd", "batch")


def _algorithms(num_drafts: int) -> dict[str, Callable[[int | None], Algorithm]]:
    """Each of :data:`FAMILIES` as a function of the draft length gamma (None: the horizon)."""
    return {
        "sd": lambda g: Speculative(gamma=g),
        "batch": lambda g: BatchSpeculative(num_drafts=num_drafts, gamma=g),
    }


def _study(
    draft: MarkovChain, target: MarkovChain, config: GammaConfig, key: str, steps: Steps
) -> dict[str, Any]:
    T = draft.horizon
    acceptance = 1.0 - theory.theorem1_sum(draft, target) / T
    algorithms = _algorithms(config.num_drafts)
    exact = {
        name: [theory.expected_target_calls(draft, target, make(g)) for g in config.gammas]
        for name, make in algorithms.items()
    }
    horizon = {
        name: theory.expected_target_calls(draft, target, make(None))
        for name, make in algorithms.items()
    }
    at_horizon = {
        name: theory.expected_target_calls(draft, target, make(T))
        for name, make in algorithms.items()
    }
    measured: dict[str, list[dict[str, Any]]] = {name: [] for name in algorithms}
    for name, make in algorithms.items():
        for g in config.measured_gammas:
            seed = derive_seed(config.seed, key, name, g)
            result = simulate(draft, target, make(g), config.runs, seed=seed)
            est = Estimate.from_samples(result.target_calls)
            measured[name].append(
                {
                    "gamma": g,
                    "runs": config.runs,
                    "mean": est.mean,
                    "se": est.se,
                    "exact": theory.expected_target_calls(draft, target, make(g)),
                }
            )
            steps.advance()
    return {
        "T": T,
        "acceptance": acceptance,
        "gammas": list(config.gammas),
        "exact": exact,
        "iid": [iid_calls(T, acceptance, g) for g in config.gammas],
        "to_horizon": horizon,
        "gamma_equals_T": at_horizon,
        "measured": measured,
    }


def compute(config: GammaConfig, progress: Progress) -> dict[str, Any]:
    chains: dict[str, ChainSpec | PhasedChainSpec] = {
        "homogeneous": config.homogeneous,
        "phased": config.phased,
    }
    steps = Steps(len(chains) * len(FAMILIES) * len(config.measured_gammas), progress)
    out: dict[str, Any] = {"num_drafts": config.num_drafts, "chains": {}}
    for key, spec in chains.items():
        draft, target = spec.draw()
        out["chains"][key] = {"spec": asdict(spec), **_study(draft, target, config, key, steps)}
    return out


def claims(config: GammaConfig, data: dict[str, Any]) -> list[Claim]:
    out: list[Claim] = []
    M = data["num_drafts"]
    chains = data["chains"]
    for key, chain in chains.items():
        points = [(name, p) for name in FAMILIES for p in chain["measured"][name]]
        gammas = ", ".join(str(p["gamma"]) for p in chain["measured"]["sd"])
        out.append(
            joint_claim(
                f"calls-{key}",
                f"{key.capitalize()} chain: simulated target calls of SD and batch SD (M={M}) "
                f"agree with the exact finite-gamma values at gamma = {gammas}",
                [Estimate(p["mean"], p["se"]) for _, p in points],
                [p["exact"] for _, p in points],
            )
        )
    out.append(
        tolerance_claim(
            "gamma-T-is-horizon",
            "Both chains, SD and batch SD: gamma = T gives exactly the calls of drafting to "
            "the horizon (gamma = None)",
            [c["to_horizon"][name] for c in chains.values() for name in FAMILIES],
            [c["gamma_equals_T"][name] for c in chains.values() for name in FAMILIES],
        )
    )
    return out


def _relative_error(chain: dict[str, Any]) -> np.ndarray:
    exact = np.asarray(chain["exact"]["sd"])
    return (np.asarray(chain["iid"]) - exact) / exact


def plot(data: dict[str, Any], fig_dir: Path) -> list[Path]:
    """The target calls vs gamma figure, drawn from the data alone."""
    errors = {key: _relative_error(chain) for key, chain in data["chains"].items()}
    return [plotting.gamma_figure(data, errors, fig_dir / "gamma_calls.png")]


def _worst(chain: dict[str, Any]) -> tuple[float, int]:
    errors = _relative_error(chain)
    k = int(np.argmax(np.abs(errors)))
    return float(errors[k]), int(chain["gammas"][k])


def describe(record: Record) -> str:
    """The section text: the exact calls, the i.i.d. approximation's error, the chains."""
    chains = record.data["chains"]
    config = record.config
    h_err, h_gamma = _worst(chains["homogeneous"])
    p_err, p_gamma = _worst(chains["phased"])
    return render(
        "gamma",
        {
            "h_err": f"{100 * abs(h_err):.1f}",
            "h_gamma": str(h_gamma),
            "block": str(config["phased"]["block"]),
            "p_err": f"{100 * abs(p_err):.1f}",
            "p_gamma": str(p_gamma),
            "direction": "too optimistic" if p_err < 0 else "too pessimistic",
            "homogeneous": ChainSpec(**config["homogeneous"]).describe(),
            "phased": PhasedChainSpec(**config["phased"]).describe(),
            "num_drafts": str(config["num_drafts"]),
            "runs": str(config["runs"]),
        },
    )


EXPERIMENT = Experiment(
    name="gamma",
    title="Beyond the paper — target calls vs draft length γ, and the i.i.d. approximation",
    revision=1,
    make_config=make_config,
    compute=compute,
    claims=claims,
    plot=plot,
    describe=describe,
)
