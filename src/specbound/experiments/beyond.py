"""Beyond Theorem 2: verifiers outside the paper's token-by-token family, exactly.

Theorem 2 makes SD optimal among unbiased members of Algorithm 2, which verify one token
at a time (p = draft, q = target). Two verifiers outside that family do better, and this
section measures by how much with the same exact theory and proof by measurement as the
rest of the report:

(a) **block verification** (Sun et al. 2024, :mod:`specbound.core.block`): tokens per
    target call against gamma, exactly (a forward recursion over round starts that
    enumerates every drafted block) and simulated, beside SD, on Figure 2's chain and
    the phased chain of the gamma study; losslessness checked by sequence enumeration;
(b) **the multi-draft optimum** (:mod:`specbound.core.multidraft`): a batch round start's
    acceptance against M for the paper's recursive rejection (Algorithm 4), the best any
    lossless verifier of M i.i.d. drafts reaches (a max-flow/min-cut closed form, checked
    against a linear program) and the best with drafts without replacement, on the
    Bernoulli, uniform-support and Dirichlet families; the optimal sampler's simulated
    acceptance against the closed form;
(c) on the embedded model pair, the same acceptances per position along the target's
    sampled paths: the headroom any better batch verifier has on this pair.
"""

from __future__ import annotations

import itertools
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from specbound import core, theory
from specbound.algorithms import BlockSpeculative, Speculative
from specbound.chain import bernoulli_pairs, random_pair, simulate, uniform_support_pairs
from specbound.core.multidraft import OptimalMultiDraftRule
from specbound.estimates import Estimate, derive_seed
from specbound.experiments import plotting
from specbound.experiments.base import Experiment, Progress, Steps
from specbound.experiments.beyond_claims import claims, describe
from specbound.experiments.common import LM_THREADS, ChainSpec, PairSpec
from specbound.experiments.gamma_study import PhasedChainSpec

__all__ = ["EXPERIMENT", "BeyondConfig", "lp_acceptance"]

FAMILIES = ("bernoulli", "uniform", "dirichlet")


@dataclass(frozen=True)
class BeyondConfig:
    """What the section computes (see the module docstring)."""

    seed: int
    homogeneous: ChainSpec
    phased: PhasedChainSpec
    gammas: tuple[int, ...] = (1, 2, 3, 4)
    runs: int = 20_000
    n_pairs: int = 500
    max_drafts: int = 6
    uniform_vocab: int = 8
    dirichlet_vocab: int = 6
    without_max_drafts: int = 4
    lp_pairs: int = 6
    sampler_runs: int = 40_000
    pair: PairSpec = field(default_factory=PairSpec)
    lm_prompts: int = 4
    lm_samples: int = 8
    lm_tokens: int = 16
    lm_drafts: tuple[int, ...] = (2, 3, 4)


def make_config(quick: bool, seed: int) -> BeyondConfig:
    homogeneous = ChainSpec(num_states=7, horizon=100, mix=0.5, concentration=1.0, seed=seed)
    phased = PhasedChainSpec(7, 100, 20, 0.05, 0.95, 1.0, seed)
    if quick:
        return BeyondConfig(
            seed=seed,
            homogeneous=homogeneous,
            phased=phased,
            gammas=(1, 2, 3),
            runs=2_000,
            n_pairs=100,
            lp_pairs=3,
            sampler_runs=8_000,
            lm_prompts=2,
            lm_samples=4,
            lm_tokens=6,
        )
    return BeyondConfig(seed=seed, homogeneous=homogeneous, phased=phased)


# --------------------------------------------------------------------------- (a) blocks


def _block_study(spec: Any, config: BeyondConfig, key: str, steps: Steps) -> dict[str, Any]:
    draft, target = spec.draw()
    T = draft.horizon
    out: dict[str, Any] = {"spec": asdict(spec), "T": T, "gammas": list(config.gammas)}
    for name, make in (("sd", Speculative), ("block", BlockSpeculative)):
        exact, measured = [], []
        for g in config.gammas:
            algorithm = make(gamma=g)
            exact.append(theory.expected_target_calls(draft, target, algorithm))
            result = simulate(
                draft, target, algorithm, config.runs, derive_seed(config.seed, key, name, g)
            )
            est = Estimate.from_samples(result.target_calls)
            measured.append({"gamma": g, "mean": est.mean, "se": est.se, "runs": config.runs})
            steps.advance()
        out[name] = {"exact": exact, "measured": measured}
    return out


def _lossless_gap(seed: int) -> float:
    """Largest |block verification's output law - the target's| over every sequence of a
    random pair small enough to enumerate (T = 4, S = 3)."""
    draft, target = random_pair(4, 3, 0.5, seed=derive_seed(seed, "beyond", "lossless"))
    law = target.sequence_probs()
    gaps = [theory.sequence_law(draft, target, BlockSpeculative(g)) - law for g in (1, 2, None)]
    return max(float(np.abs(gap).max()) for gap in gaps)


# --------------------------------------------------------------------------- (b) optimum


def lp_acceptance(draft: np.ndarray, target: np.ndarray, num_drafts: int) -> float:
    """The largest P(Y in drafts) over couplings of ordered i.i.d. draft tuples with Y ~ q,
    by a linear program (SciPy's HiGHS dual simplex, presolve off): the reference."""
    from scipy.optimize import linprog

    vocab = draft.size
    tuples = list(itertools.product(range(vocab), repeat=num_drafts))
    cost = np.zeros(len(tuples) * vocab)
    rows, rhs = [], []
    for i, t in enumerate(tuples):
        for y in set(t):
            cost[i * vocab + y] = -1.0
        row = np.zeros_like(cost)
        row[i * vocab : (i + 1) * vocab] = 1.0
        rows.append(row)
        rhs.append(float(np.prod(draft[list(t)])))
    for y in range(vocab):
        row = np.zeros_like(cost)
        row[y::vocab] = 1.0
        rows.append(row)
        rhs.append(float(target[y]))
    solution = linprog(
        cost,
        A_eq=np.array(rows),
        b_eq=rhs,
        bounds=(0, None),
        method="highs-ds",
        options={"presolve": False},
    )
    return float(-solution.fun)


def _family_pairs(family: str, config: BeyondConfig) -> tuple[np.ndarray, np.ndarray]:
    seed = derive_seed(config.seed, "beyond", family)
    if family == "bernoulli":
        return bernoulli_pairs(config.n_pairs, seed)
    if family == "uniform":
        return uniform_support_pairs(config.n_pairs, config.uniform_vocab, seed)
    rng = np.random.default_rng(seed)
    shape = (config.n_pairs, config.dirichlet_vocab)
    return rng.dirichlet(np.ones(shape[1]), shape[0]), rng.dirichlet(np.ones(shape[1]), shape[0])


def _optimum_study(family: str, config: BeyondConfig, steps: Steps) -> dict[str, Any]:
    draft, target = _family_pairs(family, config)
    drafts = list(range(1, config.max_drafts + 1))
    recursive = [1.0 - core.all_rejected_probability(draft, target, m) for m in drafts]
    optimal = [core.optimal_multidraft_acceptance(draft, target, m) for m in drafts]
    without = [
        core.optimal_multidraft_acceptance(draft, target, m, replacement=False)
        for m in drafts[: config.without_max_drafts]
    ]
    steps.advance()
    lp = [
        {"m": m, "closed": float(optimal[m - 1][i]), "lp": lp_acceptance(draft[i], target[i], m)}
        for i in range(config.lp_pairs)
        for m in (1, 2, 3)
        if draft.shape[1] ** m <= 512
    ]
    steps.advance()
    tv = 0.5 * np.abs(draft - target).sum(axis=-1)
    return {
        "vocab": int(draft.shape[1]),
        "drafts": drafts,
        "recursive": [float(v.mean()) for v in recursive],
        "optimal": [float(v.mean()) for v in optimal],
        "without": [float(v.mean()) for v in without],
        "recursive_over_optimal": max(
            float((r - o).max()) for r, o in zip(recursive, optimal, strict=True)
        ),
        "optimal_over_without": max(
            float((o - w).max()) for o, w in zip(optimal, without, strict=False)
        ),
        "one_draft_gap": float(np.abs(optimal[0] - (1.0 - tv)).max()),
        "largest_gain": float(max((o - r).max() for r, o in zip(recursive, optimal, strict=True))),
        "lp": lp,
    }


def _sampler_check(config: BeyondConfig) -> dict[str, Any]:
    """The optimal sampler's round-start acceptance, simulated, on two Dirichlet pairs."""
    rng = np.random.default_rng(derive_seed(config.seed, "beyond", "sampler"))
    points = []
    for m in (2, 3):
        p, q = rng.dirichlet(np.ones(5)), rng.dirichlet(np.ones(5))
        candidates = rng.choice(5, size=(config.sampler_runs, m), p=p)
        winner, _ = OptimalMultiDraftRule(m).verify(p, q, candidates, rng)
        est = Estimate.from_samples((winner >= 0).astype(float))
        exact = float(core.optimal_multidraft_acceptance(p, q, m))
        points.append({"m": m, "mean": est.mean, "se": est.se, "exact": exact})
    return {"points": points}


# --------------------------------------------------------------------------- (c) the LM pair


def _lm_headroom(config: BeyondConfig) -> dict[str, Any]:
    from specbound.lm import SamplingConfig, encode_prompt
    from specbound.lm.prompts import load_prompts
    from specbound.lm.engine.threads import torch_threads
    from specbound.profiling.paths import sample_paths
    from specbound.profiling.predict import HeadroomSamples, add_headroom

    samples = {m: HeadroomSamples() for m in config.lm_drafts}
    with torch_threads(LM_THREADS):
        pair = config.pair.load()
        for i, prompt in enumerate(load_prompts(limit=config.lm_prompts)):
            rng = np.random.default_rng(derive_seed(config.seed, "beyond", "lm", i))
            paths = sample_paths(
                pair,
                encode_prompt(pair, prompt),
                config.lm_samples,
                config.lm_tokens,
                SamplingConfig(),
                rng,
                stop_at_eos=False,
            )
            add_headroom(paths, samples)
    rows = []
    for m, record in samples.items():
        item = record.headroom(m)
        gaps = np.asarray(record.optimal) - np.asarray(record.recursive)
        rows.append({**item.to_dict(), "min_gap": float(gaps.min())})
    return {"target": Path(pair.target_name).name, "rows": rows}


def compute(config: BeyondConfig, progress: Progress) -> dict[str, Any]:
    steps = Steps(4 * len(config.gammas) + 2 * len(FAMILIES) + 2, progress)
    chains = {
        key: _block_study(spec, config, key, steps)
        for key, spec in (("homogeneous", config.homogeneous), ("phased", config.phased))
    }
    families = {family: _optimum_study(family, config, steps) for family in FAMILIES}
    sampler = _sampler_check(config)
    steps.advance()
    lm = _lm_headroom(config)
    steps.advance()
    return {
        "chains": chains,
        "lossless_gap": _lossless_gap(config.seed),
        "families": families,
        "sampler": sampler,
        "lm": lm,
    }


def plot(data: dict[str, Any], fig_dir: Path) -> list[Path]:
    return [plotting.beyond_figure(data, fig_dir / "beyond.png")]


EXPERIMENT = Experiment(
    name="beyond",
    title="Beyond Theorem 2 — block verification and the optimal multi-draft verifier",
    revision=1,
    make_config=make_config,
    compute=compute,
    claims=claims,
    plot=plot,
    describe=describe,
)
