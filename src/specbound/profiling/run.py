"""``specbound.profile``: predict a model pair's speed-up before running it, then run it.

Beyond the paper: the prediction (:mod:`specbound.profiling.predict`) turns exact
expectations along sampled output paths and the per-call costs timed on this machine
(:mod:`specbound.profiling.costs`) into expected rejections, target calls and seconds per
token; the measurement (:mod:`specbound.profiling.measure`) runs every algorithm on the
same prompts with other seeds and reports the measured means beside the predictions.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from specbound.algorithms import (
    Algorithm,
    BatchSpeculative,
    BlockSpeculative,
    OverAcceptance,
    Speculative,
    TreeSpeculative,
)
from specbound.core.families import RoundShapes
from specbound.core.rules import output_distribution
from specbound.errors import InvalidInputError
from specbound.estimates import Estimate, derive_seed
from specbound.lm.decode import encode_prompt
from specbound.lm.drafters import index_factory
from specbound.lm.loading import ModelPair
from specbound.lm.warping import SamplingConfig
from specbound.profiling.calibrate import measure_costs
from specbound.profiling.costs import LOOKUP
from specbound.profiling.fallback import MODEL_ROUND, add_fallback_paths
from specbound.profiling.lookup import (
    DEFAULT_DRAFTER_GAMMAS,
    LookupSetting,
    add_autoregressive_baseline,
    add_lookup_paths,
    calibration_drafters,
    calibration_fallbacks,
    check_profiled_drafters,
    drafter_factories,
    lookup_settings,
)
from specbound.profiling.measure import measure_algorithms
from specbound.profiling.paths import sample_paths
from specbound.profiling.predict import (
    HeadroomSamples,
    PathSamples,
    add_block_paths,
    add_headroom,
    add_lossless_paths,
    add_overaccept_paths,
    prediction,
)
from specbound.profiling.recommend import recommend
from specbound.profiling.report import Measurement, ProfileReport, ProfileRow
from specbound.profiling.tree_predict import (
    TreePaths,
    add_tree_samples,
    check_profiled_tree,
    pooled_acceptance,
    record_tree_paths,
)
from specbound.profiling.tree_search import (
    TreeSearch,
    check_budget,
    search_calibration,
    search_trees,
)
from specbound.validate import check_int, check_seed

__all__ = ["profile", "profiled_algorithms"]

Progress = Callable[[float], None]


class _JudgesBlocks(RoundShapes[bool]):
    """Whether a family judges a round's block as a whole (predicted along continuations
    of the target's paths, :func:`~specbound.profiling.predict.add_block_paths`)."""

    def block_rounds(self, block_rule: Any) -> bool:
        return True

    def otherwise(self, shape: str) -> bool:
        return False


def profiled_algorithms(
    gammas: Sequence[int],
    num_drafts: Sequence[int],
    eps: Sequence[float],
    blocks: bool = True,
    horizon: bool = True,
) -> tuple[list[Algorithm], list[OverAcceptance]]:
    """The lossless settings (SD, block verification with ``blocks``, batch SD, at every
    gamma and, with ``horizon``, at gamma None) and the lossy ones (OPT and UNO at every
    eps, gamma None) that :func:`profile` covers."""
    all_gammas: list[int | None] = [*([None] if horizon else []), *sorted(set(gammas))]
    lossless: list[Algorithm] = [Speculative(gamma=g) for g in all_gammas]
    if blocks:
        lossless += [BlockSpeculative(gamma=g) for g in all_gammas]
    lossless += [BatchSpeculative(num_drafts=m, gamma=g) for m in num_drafts for g in all_gammas]
    lossy = [OverAcceptance(eps=e, resample=r) for e in eps for r in ("opt", "uno")]
    return lossless, lossy


def profile(
    pair: ModelPair,
    prompts: Sequence[str],
    *,
    max_new_tokens: int = 32,
    samples_per_prompt: int = 16,
    seed: int = 0,
    gammas: Sequence[int] = (1, 2, 4, 8),
    num_drafts: Sequence[int] = (2, 4),
    eps: Sequence[float] = (0.1, 0.4),
    sampling: SamplingConfig | None = None,
    measure: bool = True,
    runs_per_prompt: int = 4,
    timing: bool = True,
    timing_repeats: int = 5,
    stop_at_eos: bool = True,
    common_seeds: bool = True,
    blocks: bool = True,
    horizon: bool = True,
    block_continuations: int = 1,
    progress: Progress | None = None,
    drafter: str | Sequence[str] = "model",
    drafter_gammas: Sequence[int] = DEFAULT_DRAFTER_GAMMAS,
    drafter_options: Mapping[str, int] | None = None,
    trees: Sequence[Sequence[int] | TreeSpeculative] = (),
    tree_budget: int | None = None,
) -> ProfileReport:
    """Predict, then measure, the rejections, target calls and speed-up of SD (gamma None
    and each of ``gammas``), batch SD (each M in ``num_drafts``, each gamma) and
    over-acceptance (Decoding-OPT and -UNO for each of ``eps``, gamma None) on ``pair``.

    Prediction: ``samples_per_prompt`` continuations of each prompt are drawn from the
    output law (the target's for SD and batch SD; ``A_n`` of Theorem 4 for over-
    acceptance) and the exact expectations given each path are averaged
    (:mod:`specbound.profiling.predict`). ``timing``: time the per-call costs on this
    machine and predict seconds per token and the speed-up over autoregressive decoding.
    ``measure``: then run every algorithm (and, with ``timing``, autoregressive decoding,
    the clock's baseline) ``runs_per_prompt`` times per prompt, with seeds independent of
    the prediction's, and report the measured means beside the predictions. Generations
    stop at ``max_new_tokens`` or at the end-of-sequence token (``stop_at_eos``), for the
    prediction and the measurement alike; ``sampling`` warps both models (default:
    temperature 1). Every estimate carries a 95% interval over the runs (prompts x
    samples). ``common_seeds``: every algorithm runs with the same seeds (common random
    numbers: sharper speed-up comparisons, but correlated rows); False gives each
    algorithm its own seeds, so the rows are independent tests. ``horizon``: also every
    lossless setting at gamma None (drafting to the horizon: one round of
    ``max_new_tokens`` drafts, dear to calibrate for long generations). ``blocks``: also block
    verification at every gamma (:mod:`specbound.profiling.blocks`; each path position
    drafts ``block_continuations`` blocks), beyond the paper. The report's
    ``headroom`` sets, for every M, the recursive rejection's round-start acceptance
    beside the optimum of any lossless verifier of M drafts.

    ``drafter``: who drafts, one name or several of ``model`` (the draft model: every
    row above), ``ngram`` and ``suffix`` (model-free drafters: SD at each of
    ``drafter_gammas``, rows labelled ``SD gamma=8 drafter=ngram``; their rounds are
    replayed along the target's paths, :mod:`specbound.profiling.lookup`), and
    ``ngram+model``, ``suffix+model`` (model-free first, the draft model where nothing
    matches: :mod:`specbound.profiling.fallback`).
    ``drafter_options``: ``ngram_min``, ``ngram_max``, ``suffix_depth`` of
    :func:`~specbound.lm.drafter_factory`. Without ``model`` the pair's draft is never
    run (a pair from ``load_pair(..., with_draft=False)`` will do) and ``mean_tv`` is
    None. The recommendation considers every lossless row, model-free ones included.

    ``trees``: token trees to predict and measure (shapes such as ``(4, 2, 1)``,
    recursive rejection with i.i.d. children; rows labelled ``tree 4,2,1 recursive``):
    a chain exactly along the target's paths, any other shape by Sequoia's positional
    acceptance model (:mod:`specbound.profiling.tree_predict`). ``tree_budget``: also
    search the best tree and the best chain of at most that many nodes on this machine
    (:mod:`specbound.profiling.tree_search`; needs ``timing``), add both as rows and
    report the search as ``report.trees``. The recommendation picks a tree only where
    it is predicted faster than every other row.
    """
    started = time.perf_counter()
    if isinstance(prompts, str) or not prompts:
        raise InvalidInputError("prompts: give a non-empty list of prompt strings")
    max_new_tokens = check_int(max_new_tokens, "max_new_tokens", low=1)
    samples_per_prompt = check_int(samples_per_prompt, "samples_per_prompt", low=1)
    runs = check_int(runs_per_prompt, "runs_per_prompt", low=1)
    timing_repeats = check_int(timing_repeats, "timing_repeats", low=1)
    seed = check_seed(seed)
    sampling = SamplingConfig() if sampling is None else sampling
    block_continuations = check_int(block_continuations, "block_continuations", low=1)
    drafters = check_profiled_drafters(drafter)
    tree_specs = list(dict.fromkeys(check_profiled_tree(t) for t in trees))
    if tree_budget is not None:
        tree_budget = check_budget(tree_budget)
        if not timing:
            raise InvalidInputError(
                "tree_budget: the search prices rounds on this machine; it needs timing=True"
            )
    options = dict(drafter_options or {})
    settings: list[LookupSetting] = lookup_settings(drafters, drafter_gammas)
    if settings:
        index_factory(settings[0].index, **options)  # refuse bad options now
    with_model = "model" in drafters
    if (tree_specs or tree_budget is not None) and not with_model:
        raise InvalidInputError(
            "trees, tree_budget: token trees are drafted by the draft model; add 'model' "
            "to the drafters"
        )
    budget_trees = [] if tree_budget is None else search_calibration(tree_budget, max_new_tokens)
    max_children = max([tree_budget or 1, *(max(t.branching) for t in tree_specs)])
    combined = [s for s in settings if s.combined]
    plain = [s for s in settings if not s.combined]
    if (with_model or combined) and not pair.has_draft:
        raise InvalidInputError(
            "drafter 'model' (or 'ngram+model', 'suffix+model') needs the draft model, but "
            "the pair was loaded without it (with_draft=False); profile only model-free "
            "drafters or load the draft"
        )
    lossless, lossy = (
        profiled_algorithms(gammas, num_drafts, eps, blocks, horizon) if with_model else ([], [])
    )
    block_specs = [a for a in lossless if a.family.interpret(_JudgesBlocks())]
    token_specs = [a for a in lossless if not a.family.interpret(_JudgesBlocks())]
    encoded = [encode_prompt(pair, prompt) for prompt in prompts]
    report = progress or (lambda fraction: None)
    measure_share = 0.6 if measure else 0.0
    predict_share = 1.0 - measure_share

    costs = None
    if timing:
        costs = measure_costs(
            pair,
            prompts,
            [*lossless, *lossy, *tree_specs, *budget_trees, *(s.algorithm for s in combined)],
            max_new_tokens=max_new_tokens,
            sampling=sampling,
            repeats=timing_repeats,
            seed=derive_seed(seed, 5),
            progress=lambda fraction: report(0.25 * fraction * predict_share),
            lookups=calibration_drafters(settings, options),
            fallbacks=calibration_fallbacks(settings, options),
        )
    report(0.25 * predict_share)

    samples = {a: PathSamples() for a in [*lossless, *lossy]}
    target_paths = PathSamples()  # Theorem 1's TV sums; autoregressive decoding's cost
    headroom = {m: HeadroomSamples() for m in sorted(set(num_drafts))} if with_model else {}
    looked = {s: PathSamples() for s in settings}
    tree_paths: list[TreePaths] = []
    eos = pair.eos_token_id if stop_at_eos else None
    for i, prompt_ids in enumerate(encoded):
        paths = sample_paths(
            pair,
            prompt_ids,
            samples_per_prompt,
            max_new_tokens,
            sampling,
            np.random.default_rng(derive_seed(seed, 0, i, 0)),
            stop_at_eos=stop_at_eos,
            draft_laws=with_model or bool(combined),
        )
        add_lookup_paths(paths, prompt_ids, plain, looked, costs, max_new_tokens, eos, options)
        add_fallback_paths(paths, prompt_ids, combined, looked, costs, max_new_tokens, eos, options)
        if not with_model:
            if costs is not None:
                add_autoregressive_baseline(paths, target_paths, costs, len(prompt_ids))
            report((0.25 + 0.75 * (i + 1) / len(encoded)) * predict_share)
            continue
        add_lossless_paths(
            paths, token_specs, samples, target_paths, costs, max_new_tokens, len(prompt_ids)
        )
        add_headroom(paths, headroom)
        if tree_specs or tree_budget is not None:
            tree_rng = np.random.default_rng(derive_seed(seed, 8, i))
            tree_paths.append(record_tree_paths(paths, len(prompt_ids), max_children, tree_rng))
        add_block_paths(
            pair,
            prompt_ids,
            paths,
            block_specs,
            samples,
            costs,
            max_new_tokens,
            sampling,
            np.random.default_rng(derive_seed(seed, 3, i)),
            continuations=block_continuations,
            stop_at_eos=stop_at_eos,
        )
        for j, algorithm in enumerate(lossy):
            law = functools.partial(output_distribution, algorithm.step_rule)
            paths = sample_paths(
                pair,
                prompt_ids,
                samples_per_prompt,
                max_new_tokens,
                sampling,
                np.random.default_rng(derive_seed(seed, 0, i, j + 1)),
                output_law=law,
                stop_at_eos=stop_at_eos,
            )
            add_overaccept_paths(
                paths, algorithm, samples[algorithm], costs, max_new_tokens, len(prompt_ids)
            )
        report((0.25 + 0.75 * (i + 1) / len(encoded)) * predict_share)
    predictions = [prediction(a, samples[a], costs, target_paths) for a in [*lossless, *lossy]]
    search: TreeSearch | None = None
    if tree_budget is not None and costs is not None:
        depth = min(tree_budget, max_new_tokens)
        search = search_trees(
            pooled_acceptance(tree_paths),
            costs,
            tree_budget,
            depth,
            distinct=pooled_acceptance(tree_paths, replacement=False),
        )
        for choice in (search.best_tree, search.best_chain):
            tree_specs.append(choice.algorithm)
        tree_specs = list(dict.fromkeys(tree_specs))
    for tree in tree_specs:
        samples[tree] = PathSamples()
        add_tree_samples(tree, tree_paths, samples[tree], costs, max_new_tokens)
        predictions.append(prediction(tree, samples[tree], costs, target_paths))
    predictions += [
        prediction(
            s.algorithm,
            looked[s],
            costs,
            target_paths,
            s.drafter,
            MODEL_ROUND if s.combined else LOOKUP,
        )
        for s in settings
    ]

    measured: dict[tuple[str, Algorithm], Measurement] = {}
    autoregressive = None
    if measure:
        autoregressive, measured = measure_algorithms(
            pair,
            prompts,
            [*lossless, *lossy, *tree_specs],
            runs_per_prompt=runs,
            max_new_tokens=max_new_tokens,
            sampling=sampling,
            seed=seed,
            stop_at_eos=stop_at_eos,
            timing=timing,
            common_seeds=common_seeds,
            progress=lambda fraction: report(predict_share + measure_share * fraction),
            lookups=[
                (s.drafter, s.algorithm, factory)
                for s, factory in drafter_factories(settings, options).items()
            ],
        )

    rows = tuple(ProfileRow(p, measured.get((p.drafter, p.algorithm))) for p in predictions)
    recommended = recommend(predictions)
    report(1.0)
    return ProfileReport(
        target_name=pair.target_name,
        draft_name=pair.draft_name,
        prompts=tuple(prompts),
        max_new_tokens=max_new_tokens,
        samples_per_prompt=samples_per_prompt,
        runs_per_prompt=runs,
        seed=seed,
        sampling=sampling,
        stop_at_eos=stop_at_eos,
        mean_tv=Estimate.ratio(target_paths.rejections, target_paths.tokens)
        if with_model
        else None,
        costs=costs,
        autoregressive=autoregressive,
        rows=rows,
        recommended=recommended,
        headroom=tuple(record.headroom(m) for m, record in headroom.items()),
        seconds=time.perf_counter() - started,
        engine=pair.engines,
        trees=search,
    )
