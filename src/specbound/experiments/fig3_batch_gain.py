"""Figure 3 analog: the batch improvement of one round start as the number of drafts grows.

At a round start batch SD (paper Algorithm 4) rejects with probability
``prod_{m=1..M} TV(p, r_m)`` instead of SD's ``TV(p, q)`` (Theorem 3; p = draft,
q = target, ``r_1 = q``, ``r_{m+1} = [r_m - p]_+`` normalised). The *batch improvement*
is their difference; the *gain of the M-th draft* is ``improvement(M) - improvement(M-1)``.

Two facts, both checked on every pair drawn:

* **Diminishing returns.** ``t_m = TV(p, r_m)`` is non-decreasing in m: on
  ``S = {r_m > p}`` one has ``sum_S min(p, r_{m+1}) <= p(S) <= sum min(p, r_m)``. Hence the
  gain of draft M+1, ``R_{M-1} t_M (1 - t_{M+1})`` with ``R_k = prod_{m<=k} t_m``, is at most
  ``R_{M-1} t_M (1 - t_M) <= R_{M-1} (1 - t_M)``, the gain of draft M.
* **Saturation (Proposition 1, one step).** As M -> infinity the rejection probability
  falls to ``q({x : p(x) = 0})``, so the improvement never exceeds ``TV - q({p = 0})``.

Families (drawn by :mod:`specbound.chain.generators`): Bernoulli pairs with
``a, b ~ Uniform(0, 1)``, where the expectation is in closed form,
``E[P(all M rejected)] = 1/(M+2)`` (derived in :func:`bernoulli_expected_rejection`); and
uniform-support pairs over vocabularies of size V, whose expectation is computed exactly by
enumerating support sizes and overlaps (:func:`uniform_support_expectation`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy.stats import hypergeom

from specbound import core
from specbound.chain import bernoulli_pairs, uniform_support_pairs
from specbound.estimates import Estimate, derive_seed
from specbound.experiments import plotting
from specbound.experiments.base import Claim, Experiment, Progress, Record, Steps
from specbound.experiments.checks import (
    EXACT_TOLERANCE,
    joint_claim,
    z_claim,
)
from specbound.experiments.prose import render

__all__ = [
    "EXPERIMENT",
    "Fig3Config",
    "bernoulli_expected_rejection",
    "rejection_curves",
    "uniform_support_expectation",
]

Array = NDArray[np.float64]

#: Pairs per block in the exact enumeration (bounds memory: block x (M+1) x V floats).
_BLOCK = 8192


@dataclass(frozen=True)
class Fig3Config:
    """What Figure 3 computes; ``check_drafts`` is the M where samples meet the theory."""

    seed: int
    n_pairs: int = 20_000
    vocab_sizes: tuple[int, ...] = (2, 4, 8, 16, 32, 64)
    max_drafts: int = 20
    check_drafts: int = 4


def make_config(quick: bool, seed: int) -> Fig3Config:
    if quick:
        return Fig3Config(seed=seed, n_pairs=2_000, vocab_sizes=(2, 4, 8, 16, 32), max_drafts=16)
    return Fig3Config(seed=seed)


def rejection_curves(draft: Array, target: Array, max_drafts: int) -> tuple[Array, Array]:
    """``(TV, P(all M rejected) for M = 1..max_drafts)`` per pair: (n,), (n, max_drafts)."""
    residuals = core.recursive_residuals(draft, target, max_drafts)[..., :-1, :]  # (n, M, V)
    tvs = core.tv(np.broadcast_to(draft[:, None, :], residuals.shape), residuals)  # (n, M)
    rejected: Array = np.cumprod(tvs, axis=-1, dtype=np.float64)  # (n, M)
    return tvs[:, 0], rejected


def bernoulli_expected_rejection(max_drafts: int) -> Array:
    """``E[P(all M rejected)] = 1/(M+2)`` for Bernoulli pairs, ``M = 1..max_drafts``.

    With draft ``Ber(a)``, target ``Ber(b)``, ``b > a``: ``r_2`` is the point mass on 1,
    every later ``t_m = 1 - a``, so ``P = (b - a)(1 - a)^(M-1)`` and
    ``E = int_0^1 (1-a)^(M-1) (1-a)^2 / 2 da = 1 / (2(M+2))``; ``a > b`` is symmetric.
    M = 1 gives ``E[TV] = E|a - b| = 1/3``.
    """
    drafts = np.arange(1, max_drafts + 1, dtype=np.float64)
    return 1.0 / (drafts + 2.0)


def _support_configurations(V: int) -> tuple[Array, Array, Array, Array]:
    """Every (draft size a, target size b, overlap c) with its probability under
    :func:`specbound.chain.uniform_support_pairs`: a, b ~ Uniform{1..V} independently,
    c ~ Hypergeometric(V, a, b)."""
    a, b, c, w = [], [], [], []
    for size_a in range(1, V + 1):
        for size_b in range(1, V + 1):
            overlaps = np.arange(max(0, size_a + size_b - V), min(size_a, size_b) + 1)
            a.append(np.full(overlaps.size, size_a))
            b.append(np.full(overlaps.size, size_b))
            c.append(overlaps)
            w.append(hypergeom.pmf(overlaps, V, size_a, size_b) / V**2)
    return tuple(np.concatenate(x) for x in (a, b, c, w))  # type: ignore[return-value]


def uniform_support_expectation(V: int, max_drafts: int) -> dict[str, Any]:
    """Exact ``E[TV]``, ``E[P(all M rejected)]`` and ``E[q({p = 0})]`` over uniform-support
    pairs of vocabulary ``V``.

    The quantities are invariant under relabelling tokens, so a pair matters only through
    (a, b, c): the draft is uniform on ``{0..a-1}``, the target on ``{a-c .. a-c+b-1}``.
    """
    sizes_a, sizes_b, overlaps, weights = _support_configurations(V)
    tokens = np.arange(V)  # (V,)
    tv_sum, limit_sum = 0.0, 0.0
    rejection_sum = np.zeros(max_drafts)
    for lo in range(0, sizes_a.size, _BLOCK):
        a = sizes_a[lo : lo + _BLOCK, None]  # (k, 1)
        b = sizes_b[lo : lo + _BLOCK, None]
        first = a - overlaps[lo : lo + _BLOCK, None]  # (k, 1) first target token
        w = weights[lo : lo + _BLOCK]  # (k,)
        draft = (tokens < a) / a  # (k, V)
        target = ((tokens >= first) & (tokens < first + b)) / b  # (k, V)
        tv, rejected = rejection_curves(draft, target, max_drafts)
        tv_sum += float(w @ tv)
        rejection_sum += w @ rejected
        limit_sum += float(w @ (target * (draft == 0)).sum(axis=-1))
    return {
        "V": V,
        "configurations": int(sizes_a.size),
        "tv": tv_sum,
        "rejection": rejection_sum.tolist(),
        "limit_rejection": limit_sum,
    }


def _sample_stats(draft: Array, target: Array, max_drafts: int) -> dict[str, Any]:
    """Per-pair checks and the sample mean of the improvement, with standard errors."""
    tv, rejected = rejection_curves(draft, target, max_drafts)  # (n,), (n, M)
    improvement = tv[:, None] - rejected  # (n, M)
    gains = np.diff(improvement, axis=-1)  # (n, M-1) gain of draft M = 2..max
    limit = tv - (target * (draft == 0)).sum(axis=-1)  # (n,) Proposition 1's ceiling
    n = tv.size
    return {
        "pairs": n,
        "mean": improvement.mean(axis=0).tolist(),
        "se": (improvement.std(axis=0, ddof=1) / np.sqrt(n)).tolist(),
        "min_gain": float(gains.min()),
        "max_gain_increase": float(np.diff(gains, axis=-1).max()),
        "max_over_ceiling": float((improvement - limit[:, None]).max()),
    }


def compute(config: Fig3Config, progress: Progress) -> dict[str, Any]:
    M = config.max_drafts
    steps = Steps(1 + len(config.vocab_sizes), progress)
    draft, target = bernoulli_pairs(config.n_pairs, derive_seed(config.seed, "bernoulli"))
    bernoulli = {
        "tv": 1.0 / 3.0,
        "rejection": bernoulli_expected_rejection(M).tolist(),
        "limit_rejection": 0.0,
        "sample": _sample_stats(draft, target, M),
    }
    steps.advance()
    uniform = []
    for V in config.vocab_sizes:
        exact = uniform_support_expectation(V, M)
        draft, target = uniform_support_pairs(
            config.n_pairs, V, derive_seed(config.seed, "uniform", V)
        )
        uniform.append({**exact, "sample": _sample_stats(draft, target, M)})
        steps.advance()
    return {
        "M": list(range(1, M + 1)),
        "check_drafts": config.check_drafts,
        "bernoulli": bernoulli,
        "uniform": uniform,
    }


def _improvement(family: dict[str, Any]) -> Array:
    rejection = np.asarray(family["rejection"])
    return family["tv"] - rejection  # (M,)


def _relative(family: dict[str, Any]) -> Array:
    return _improvement(family) / family["tv"]  # (M,)


def _sample_at(family: dict[str, Any], m: int) -> Estimate:
    return Estimate(family["sample"]["mean"][m - 1], family["sample"]["se"][m - 1])


def claims(config: Fig3Config, data: dict[str, Any]) -> list[Claim]:
    m = data["check_drafts"]
    bern, uniform = data["bernoulli"], data["uniform"]
    families = [bern, *uniform]
    worst_increase = max(f["sample"]["max_gain_increase"] for f in families)
    exact_gains = [np.diff(_improvement(f)) for f in families]
    worst_exact = max(float(np.diff(g).max()) for g in exact_gains)
    min_gain = min(min(f["sample"]["min_gain"] for f in families), *(g.min() for g in exact_gains))
    over = max(f["sample"]["max_over_ceiling"] for f in families)
    relative = np.array([_relative(f)[1:] for f in uniform])  # (len(V), M-1), M = 2..
    steps = np.diff(relative, axis=0)  # (len(V)-1, M-1) change from one V to the next
    sizes = ", ".join(str(f["V"]) for f in uniform)
    n_pairs = bern["sample"]["pairs"]
    return [
        Claim(
            id="diminishing-returns",
            statement="On every pair drawn (both families) and in expectation, the gain of "
            "the M-th draft is >= 0 and non-increasing in M",
            holds=bool(
                max(worst_increase, worst_exact) <= EXACT_TOLERANCE and min_gain >= -EXACT_TOLERANCE
            ),
            check=f"largest increase {max(worst_increase, worst_exact):.1e} <= "
            f"{EXACT_TOLERANCE:.0e}; smallest gain {min_gain:.1e} >= -{EXACT_TOLERANCE:.0e}",
            measured=max(worst_increase, worst_exact),
        ),
        Claim(
            id="ceiling",
            statement="On every pair drawn, the improvement stays below Proposition 1's "
            "ceiling TV - q({draft = 0})",
            holds=bool(over <= EXACT_TOLERANCE),
            check=f"largest excess {over:.1e} <= {EXACT_TOLERANCE:.0e}",
            measured=over,
        ),
        z_claim(
            "bernoulli-closed-form",
            f"Bernoulli: mean improvement at M={m} over {n_pairs} pairs agrees with 1/3 - 1/(M+2)",
            _sample_at(bern, m),
            float(_improvement(bern)[m - 1]),
        ),
        joint_claim(
            "uniform-expectation",
            f"Uniform support, V = {sizes}: mean improvement at M={m} over {n_pairs} pairs "
            "agrees with the exact expectation",
            [_sample_at(f, m) for f in uniform],
            [float(_improvement(f)[m - 1]) for f in uniform],
        ),
        Claim(
            id="vocabulary",
            statement=f"Uniform support: the expected improvement relative to SD's rejection "
            f"probability falls as V grows ({sizes}) at every M = 2..{data['M'][-1]}",
            holds=bool(steps.max() < 0),
            check=f"largest change from one V to the next {steps.max():.2e} < 0",
            measured=float(steps.max()),
        ),
    ]


def _gain_crossing(data: dict[str, Any]) -> int | None:
    """The first M at which the relative gain of the M-th draft is no longer decreasing in V."""
    gains = np.array([np.diff(_relative(f)) for f in data["uniform"]])  # (len(V), M-1)
    increasing = (np.diff(gains, axis=0) >= 0).any(axis=0)  # (M-1,)
    hits = np.flatnonzero(increasing)
    return int(data["M"][hits[0] + 1]) if hits.size else None


def plot(data: dict[str, Any], fig_dir: Path) -> list[Path]:
    """Figure 3, drawn from the data alone."""
    bern = data["bernoulli"]
    return [
        plotting.fig3_figure(
            data,
            improvement=_improvement(bern),
            relative=_relative(bern),
            uniform_relative=[_relative(f) for f in data["uniform"]],
            path=fig_dir / "fig3_batch_gain.png",
        )
    ]


def describe(record: Record) -> str:
    """The section text: Theorem 3's improvement, Proposition 1's ceiling, the pairs drawn."""
    data, config = record.data, record.config
    uniform = data["uniform"]
    first, last = uniform[0], uniform[-1]
    crossing = _gain_crossing(data)
    last_gain = [float(np.diff(_relative(f))[-1]) for f in (first, last)]
    gains = (
        render("fig3_gains_ordered", {})
        if crossing is None
        else render(
            "fig3_gains_crossing",
            {
                "crossing": str(crossing),
                "last_m": str(data["M"][-1]),
                "first_gain": f"{last_gain[0]:.1e}",
                "last_gain": f"{last_gain[1]:.1e}",
                "first_v": str(first["V"]),
                "last_v": str(last["V"]),
            },
        )
    )
    return render(
        "fig3",
        {
            "first_v": str(first["V"]),
            "last_v": str(last["V"]),
            "last_m": str(data["M"][-1]),
            "first_at_2": f"{_relative(first)[1]:.3f}",
            "last_at_2": f"{_relative(last)[1]:.3f}",
            "first_at_last": f"{_relative(first)[-1]:.3f}",
            "last_at_last": f"{_relative(last)[-1]:.3f}",
            "gains": gains,
            "n_pairs": str(config["n_pairs"]),
        },
    )


EXPERIMENT = Experiment(
    name="fig3",
    title="Figure 3 — batch improvement vs the number of drafts M",
    revision=1,
    make_config=make_config,
    compute=compute,
    claims=claims,
    plot=plot,
    describe=describe,
)
