"""Token trees on real models: tokens per target call and the chosen tree's speed-up.

p = draft, q = target. A token tree (:class:`~specbound.algorithms.TreeSpeculative`)
drafts ``b_d`` children per node at depth d and one target call scores every node with a
tree attention mask; the recursive verifier (the paper's Algorithm 4 rule at every node)
keeps the target's law. On a model pair the tree's expected tokens per call are predicted
from the *positional acceptance* measured along target-sampled paths (Sequoia: the chance
that one of the first b children drawn from the draft law is accepted,
:mod:`specbound.profiling.trees`). The section

1. samples target paths and measures positional acceptance (its own seed), of i.i.d.
   children and of children drawn without replacement (distinct);
2. at every node budget B takes the tree (either kind of children) and the chain with
   the most predicted tokens per call within B nodes (Sequoia's dynamic program,
   :func:`~specbound.profiling.tree_search.best_shapes`; the chain of B nodes is SD with
   gamma B);
3. profiles them (:func:`specbound.profile`, fresh paths and seeds: predicted and
   measured target calls), together with the tree the profile chooses for this machine
   within the largest budget (the best predicted wall-clock speed-up, which on a CPU is
   often a chain: scoring more nodes costs more).

Claims: the best tree's measured tokens per call are at least the best chain's at every
budget; the predicted tokens per call agree with the measured ones; the chosen tree's
measured speed-up agrees with its prediction (both standard errors); the recommendation
picks a tree only where the tree measured faster than the best chain. Timed, like
``lm_clock``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from specbound.estimates import Z95
from specbound.experiments import plotting
from specbound.experiments.base import Experiment, Progress, Record
from specbound.experiments.common import (
    LM_THREADS,
    TIMED_INPUTS,
    PairSpec,
    pair_inputs,
    profile_section,
)
from specbound.experiments.lm_trees_claims import claims
from specbound.experiments.prose import render

__all__ = ["EXPERIMENT", "LMTreesConfig"]


@dataclass(frozen=True)
class LMTreesConfig:
    """What the section measures, on the model ``pair`` (default: the embedded pair)."""

    seed: int
    num_prompts: int = 4
    samples_per_prompt: int = 12
    runs_per_prompt: int = 6
    max_new_tokens: int = 32
    budgets: tuple[int, ...] = (2, 4, 8, 12)
    max_depth: int = 12
    timing_repeats: int = 3
    pair: PairSpec = field(default_factory=PairSpec)


def _quick(seed: int, pair: PairSpec) -> LMTreesConfig:
    """``--quick``, on either pair: one prompt, 16 tokens, budgets 2 and 4 (6 timed runs:
    fewer leave the chosen shape's measured speed-up to a couple of lucky rounds)."""
    return LMTreesConfig(
        seed=seed,
        num_prompts=1,
        samples_per_prompt=6,
        runs_per_prompt=6,
        max_new_tokens=16,
        budgets=(2, 4),
        max_depth=3,
        timing_repeats=2,
        pair=pair,
    )


def make_config(quick: bool, seed: int) -> LMTreesConfig:
    return _quick(seed, PairSpec()) if quick else LMTreesConfig(seed=seed)


def make_pair_config(quick: bool, seed: int, pair: str) -> LMTreesConfig:
    """The section on the named pair ``pair`` (``reproduce --pair``): fewer prompts,
    paths and runs (a real target step costs 40-60 ms on a CPU)."""
    spec = PairSpec.named(pair)
    if quick:
        return _quick(seed, spec)
    return LMTreesConfig(
        seed=seed,
        num_prompts=3,
        samples_per_prompt=6,
        runs_per_prompt=3,
        max_new_tokens=24,
        budgets=(2, 4, 8, 12),
        max_depth=12,
        timing_repeats=2,
        pair=spec,
    )


def _most_tokens(
    acceptance: Any, budget: int, max_depth: int, chain: bool
) -> tuple[float, tuple[int, ...]]:
    """The most predicted accepted tokens per round within ``budget`` nodes, and the
    shape that gets them."""
    from specbound.profiling.tree_search import best_shapes

    shapes = best_shapes(acceptance, budget, min(budget, max_depth), chain=chain)
    return max(shapes.values(), key=lambda item: item[0])


def _best_tree(acceptance: dict[bool, Any], budget: int, max_depth: int) -> Any:
    """The tree of the most predicted tokens per call within ``budget`` nodes, its
    children i.i.d. (``acceptance[True]``) or drawn without replacement (``[False]``)."""
    from specbound.algorithms import TreeSpeculative

    iid_value, iid = _most_tokens(acceptance[True], budget, max_depth, False)
    distinct_value, distinct = _most_tokens(acceptance[False], budget, max_depth, False)
    if distinct_value > iid_value and max(distinct) > 1:
        return TreeSpeculative(branching=distinct, replacement=False)
    return TreeSpeculative(branching=iid)


def _acceptance(config: LMTreesConfig, pair: Any) -> dict[bool, Any]:
    """Positional acceptance pooled over the prompts' target-sampled paths (step 1), of
    i.i.d. children (key True) and of children drawn without replacement (False)."""
    from specbound.estimates import derive_seed
    from specbound.lm import encode_prompt
    from specbound.lm.prompts import load_prompts
    from specbound.lm.warping import SamplingConfig
    from specbound.profiling.paths import sample_paths
    from specbound.profiling.tree_predict import pooled_acceptance, record_tree_paths

    widest = max(config.budgets)
    records = []
    for i, prompt in enumerate(load_prompts(limit=config.num_prompts)):
        ids = encode_prompt(pair, prompt)
        rng = np.random.default_rng(derive_seed(config.seed, 7, i))
        paths = sample_paths(
            pair, ids, config.samples_per_prompt, config.max_new_tokens, SamplingConfig(), rng
        )
        records.append(record_tree_paths(paths, len(ids), widest, rng))
    return {replacement: pooled_acceptance(records, replacement) for replacement in (True, False)}


def _estimate(value: Any) -> dict[str, float]:
    return {"mean": float(value.mean), "se": float(value.se)}


def compute(config: LMTreesConfig, progress: Progress) -> dict[str, Any]:
    from specbound.algorithms import Speculative
    from specbound.lm.engine.threads import torch_threads

    with torch_threads(LM_THREADS):
        acceptance = _acceptance(config, config.pair.load())
    depth = min(config.max_depth, config.max_new_tokens)
    trees = [_best_tree(acceptance, b, depth) for b in config.budgets]
    chains = [list(_most_tokens(acceptance[True], b, depth, True)[1]) for b in config.budgets]
    report = profile_section(
        config,
        progress,
        gammas=tuple(sorted({len(c) for c in chains})),
        num_drafts=(),
        eps=(),
        blocks=False,
        horizon=False,
        stop_at_eos=False,
        timing_repeats=config.timing_repeats,
        trees=trees,
        tree_budget=max(config.budgets),
    )
    rows = {row.label: row for row in report.rows}

    def counts(algorithm: Any) -> dict[str, Any]:
        row = rows[algorithm.label]
        assert row.measurement is not None
        return {
            "shape": list(getattr(algorithm, "branching", (1,) * (algorithm.gamma or 0))),
            "replacement": getattr(algorithm, "replacement", True),
            "label": row.label,
            "predicted_calls": _estimate(row.prediction.expected_calls),
            "measured_calls": _estimate(row.measurement.calls),
        }

    search = report.trees
    assert search is not None and report.costs is not None
    chosen = rows[search.best_tree.algorithm.label]
    chain = rows[search.best_chain.algorithm.label]
    assert chosen.measurement is not None and chain.measurement is not None
    assert chosen.measurement.speedup is not None and chain.measurement.speedup is not None
    predicted = chosen.prediction.predicted_speedup
    assert predicted is not None
    recommended = None if report.recommended is None else report.recommended.algorithm
    return {
        "target": Path(report.target_name).name,
        "draft": Path(report.draft_name).name,
        "T": config.max_new_tokens,
        "budgets": list(config.budgets),
        "acceptance": acceptance[True].to_dict(),
        "distinct_acceptance": acceptance[False].to_dict(),
        "tree": [counts(t) for t in trees],
        "chain": [counts(Speculative(gamma=len(c))) for c in chains],
        "chosen": {
            "label": chosen.label,
            "is_chain": search.best_tree.is_chain,
            "predicted_speedup": _estimate(predicted),
            "measured_speedup": _estimate(chosen.measurement.speedup),
            "covered": chosen.speedup_covered,
        },
        "best_chain": {
            "label": chain.label,
            "measured_speedup": _estimate(chain.measurement.speedup),
        },
        "fastest_chain_measured": max(
            _speedup(row) for row in report.rows if _is_chain(row.prediction.algorithm)
        ),
        "recommended": None if report.recommended is None else report.recommended.label,
        "recommended_is_tree": recommended is not None and not _is_chain(recommended),
        "recommended_measured": None
        if report.recommended is None
        else _speedup(rows[report.recommended.label]),
    }


def _is_chain(algorithm: Any) -> bool:
    """SD, or a tree of one child per node."""
    return algorithm.name == "sd" or all(b == 1 for b in getattr(algorithm, "branching", (2,)))


def _speedup(row: Any) -> float:
    assert row.measurement is not None and row.measurement.speedup is not None
    return float(row.measurement.speedup.mean)


def plot(data: dict[str, Any], fig_dir: Path) -> list[Path]:
    return [plotting.lm_trees_figure(data, fig_dir / "lm_trees.png")]


def _shape(entry: dict[str, Any]) -> str:
    """``4,1``, or ``4,1 distinct`` for children drawn without replacement."""
    shape = ",".join(map(str, entry["shape"]))
    return shape if entry.get("replacement", True) else f"{shape} distinct"


def _ratio(tree: dict[str, Any], chain: dict[str, Any]) -> float:
    return float(chain["measured_calls"]["mean"] / tree["measured_calls"]["mean"])


def describe(record: Record) -> str:
    config, data = record.config, record.data
    T = data["T"]
    table = "\n".join(
        f"| {b} | {_shape(t)} | "
        f"{T / t['predicted_calls']['mean']:.2f} | {T / t['measured_calls']['mean']:.2f} | "
        f"{T / c['measured_calls']['mean']:.2f} (gamma {len(c['shape'])}) | {_ratio(t, c):.2f} |"
        for b, t, c in zip(data["budgets"], data["tree"], data["chain"], strict=True)
    )
    chosen = data["chosen"]
    half = Z95 * chosen["predicted_speedup"]["se"]
    return render(
        "lm_trees",
        {
            "rows": table,
            "chosen": chosen["label"],
            "predicted": f"{chosen['predicted_speedup']['mean']:.2f} ± {half:.2f}",
            "measured": f"{chosen['measured_speedup']['mean']:.2f}",
            "chain": data["best_chain"]["label"],
            "chain_measured": f"{data['best_chain']['measured_speedup']['mean']:.2f}",
            "recommended": data["recommended"] or "plain autoregressive decoding",
            **pair_inputs(config, data, *TIMED_INPUTS),
        },
    )


EXPERIMENT = Experiment(
    name="lm_trees",
    title="Token trees on real models — tokens per call and the chosen tree",
    revision=2,
    make_config=make_config,
    compute=compute,
    claims=claims,
    plot=plot,
    describe=describe,
    timed=True,
    on_pair=make_pair_config,
)
