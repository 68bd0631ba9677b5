"""``specbound bench lm``: specbound's decoders beside Hugging Face generation, timed.

On one model pair, the same prompts, sampling settings and seeds (paper notation: p =
draft, q = target), every *contender* generates ``max_new_tokens`` tokens per prompt
(the end-of-sequence stop is off, so all generate the same number; with ``stop_at_eos``,
``--stop-at-eos``, each run stops at the end of its answer, as a user's would, and the
profile predicts the same: a model-free drafter copies from the prompt only while the
answer lasts):

* ``specbound_ar`` / ``hf_ar`` — autoregressive sampling from the target (specbound's
  decoder; ``target.generate``);
* ``specbound_sd`` / ``hf_assisted`` — speculative decoding with gamma drafted tokens per
  round (gamma: the best predicted by :func:`specbound.profile`, or given), and HF
  assisted generation with sampling and exactly gamma assistant tokens per round
  (constant schedule, no confidence threshold): the like-for-like pair;
* ``specbound_sd_k20`` / ``hf_assisted_default`` — HF's default number of assistant
  tokens (20, and HF's heuristic schedule and threshold for HF);
* ``specbound_block`` — block verification (Sun et al. 2024) at gamma, beyond the
  paper: the same drafts and scoring call as SD, the block judged as a whole;
* ``specbound_batch_m2``, ``specbound_batch_m4`` (batch SD, M drafts) and
  ``specbound_opt_eps0.2`` (over-acceptance, Decoding-OPT), at gamma;
* with ``drafters``: SD with model-free drafters and transformers' prompt lookup
  (:mod:`specbound.bench.lm_drafters`);
* with ``tree`` or ``tree_budget``: ``specbound_tree``, the best tree beside SD at the
  best chain (:mod:`specbound.bench.lm_trees`).

``only`` runs a subset (:mod:`specbound.bench.lm_contenders`; specbound's autoregressive
decoding, the baseline, always runs); a run whose contenders never use the draft model
works on a pair loaded without it.

Each repeat runs every contender on every prompt, in an order that alternates between
repeats (A B ... B A) so that drift on a shared machine hits all alike; each contender's
tokens/s is the median over repeats. ``ratios`` compares the medians; ``sd_vs_predicted``
is the measured speed-up of SD over specbound's autoregressive decoding (prefill excluded,
as in the prediction) over the speed-up ``profile`` predicts from the measured acceptance
and per-call costs — the share of the theoretical ceiling the implementation reaches.

``profile`` (no measurement runs: only its prediction and its timed per-call costs) runs
once before every repeat, so its clock sees the same load as the timed runs, and the
prediction is the median over these runs; the first one chooses gamma when it is not
given. HF's tokens/s include its prefill (the prompt is a few tokens); so do specbound's.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import Any

import torch

from specbound.algorithms import BatchSpeculative, BlockSpeculative, Speculative
from specbound.bench import lm_trees
from specbound.bench.hf_baseline import check_assistable, hf_generate
from specbound.bench.lm_config import LMBenchConfig
from specbound.bench.lm_contenders import (
    Contender,
    contenders,
    drafter_contenders,
    recommended_contender,
)
from specbound.bench.lm_drafters import (
    drafter_gammas,
    drafter_ratios,
    drafter_targets,
    profiled_drafters,
)
from specbound.bench.lm_predictions import best_gamma, ceiling, predicted, record_speedups
from specbound.bench.lm_summary import (
    Record,
    Run,
    headline_ratios,
    paired_ratios,
    ratio,
    ratios_per_repeat,
    summarise_contender,
)
from specbound.errors import InvalidInputError
from specbound.estimates import derive_seed
from specbound.lm.decode import encode_prompt, generate
from specbound.lm.drafters import drafter_factory
from specbound.lm.engine.kernel_cache import cpu_name
from specbound.lm.loading import ModelPair
from specbound.profiling import ProfileReport, profile
from specbound.profiling.recommend import recommend

__all__ = ["TARGETS", "Contender", "LMBenchConfig", "contenders", "run_lm_benchmark"]

#: What the issue asks of a run on the embedded pair (ratios of one run).
TARGETS = {
    "sd_vs_hf_assisted": 2.5,
    "sd_vs_autoregressive": 1.6,
    "sd_vs_ceiling": 0.8,
    "sd_vs_predicted": 0.85,
}

Progress = Callable[[str, float], None]


def _proposer(contender: Contender, config: LMBenchConfig) -> dict[str, Any]:
    """generate's ``drafter``: its default, the draft model's (trees need it), or a factory."""
    if contender.drafter == "model":
        return {}
    return {"drafter": drafter_factory(contender.drafter, ngram_max=config.ngram_max)}


def _run(
    contender: Contender,
    pair: ModelPair,
    prompt: str,
    config: LMBenchConfig,
    seed: int,
    max_new_tokens: int,
) -> Run:
    sampling = config.sampling
    if contender.algorithm is not None:
        stats = generate(
            pair,
            prompt,
            contender.algorithm,
            max_new_tokens=max_new_tokens,
            seed=seed,
            sampling=sampling,
            stop_at_eos=config.stop_at_eos,
            **_proposer(contender, config),
        ).stats
        speculative = contender.algorithm.drafts
        return Run(
            tokens=stats.new_tokens,
            seconds=stats.wall_time,
            decode_seconds=max(stats.wall_time - stats.prefill_time, 0.0),
            target_calls=stats.target_calls,
            accepted=sum(stats.accepted_lengths) if speculative else None,
            rejections=stats.rejections if speculative else None,
        )
    run = hf_generate(
        pair,
        encode_prompt(pair, prompt),
        max_new_tokens=max_new_tokens,
        seed=seed,
        sampling=sampling,
        assistant=contender.assistant,
        num_assistant_tokens=contender.num_assistant_tokens,
        stop_at_eos=config.stop_at_eos,
        prompt_lookup=contender.prompt_lookup,
        max_matching_ngram_size=config.ngram_max,
    )
    return Run(run.new_tokens, run.seconds, None, run.target_calls)


def _pair_info(pair: ModelPair) -> dict[str, Any]:
    def parameters(model: Any) -> int:
        return int(sum(p.numel() for p in model.parameters()))

    return {
        "target": pair.target_name,
        "draft": pair.draft_name,
        "vocab_size": pair.vocab_size,
        "target_parameters": parameters(pair.target),
        "draft_parameters": parameters(pair.draft),
        "dtype": str(pair.dtype).removeprefix("torch."),
        "device": str(pair.device),
        "fast_path": "transformers" not in pair.engines.values(),
        "engine": pair.engines,
    }


def run_lm_benchmark(
    pair: ModelPair, config: LMBenchConfig, progress: Progress | None = None
) -> dict[str, Any]:
    """Profile the pair, then time every contender; return the JSON-ready record."""
    from specbound.io import environment_info

    report_progress = progress or (lambda message, fraction: None)
    started = time.perf_counter()
    every = config.chosen(contenders(1, config.num_drafts, config.eps, config.hf))
    if any(c.assistant for c in every):
        check_assistable(pair)  # fail before minutes of profiling
    if config.needs_draft and not pair.has_draft:
        raise InvalidInputError(
            "a contender of this run drafts with the draft model, but the pair was loaded "
            "without it; load the draft or run only model-free contenders"
        )
    gammas = tuple(sorted({*config.profile_gammas, *([config.gamma] if config.gamma else [])}))
    profiled = [*(["model"] if config.needs_draft else []), *profiled_drafters(config.drafters)]
    # only the families that run are profiled (and so can be recommended)
    batch = any(isinstance(c.algorithm, BatchSpeculative) for c in every)
    blocks = any(isinstance(c.algorithm, BlockSpeculative) for c in every)

    def run_profile(repeat: int) -> ProfileReport | None:
        report_progress(f"repeat {repeat + 1}/{config.repeats}: profile", done / total)
        if not profiled:
            return None
        return profile(
            pair,
            list(config.prompts),
            max_new_tokens=config.max_new_tokens,
            samples_per_prompt=config.profile_samples,
            seed=config.seed,
            gammas=gammas,
            num_drafts=config.num_drafts if batch else (),
            eps=(),
            sampling=config.sampling,
            measure=False,
            timing=True,
            timing_repeats=config.profile_timing_repeats,
            stop_at_eos=config.stop_at_eos,
            horizon=False,  # no contender drafts to the horizon
            blocks=blocks,
            drafter=profiled,
            drafter_gammas=config.drafter_profile_gammas,
            drafter_options={"ngram_max": config.ngram_max},
            **lm_trees.tree_profile_options(config.tree, config.tree_budget),
        )

    done, total = 0, config.repeats * len(config.prompts) * (len(every) + len(config.drafters) + 2)
    reports = [r for r in [run_profile(0)] if r is not None]
    gamma = config.gamma or lm_trees.chain_gamma(reports) or best_gamma(reports[:1], gammas)
    chosen_gammas = drafter_gammas(
        config.drafters, reports[:1], config.drafter_profile_gammas, config.drafter_gamma
    )
    items = config.chosen(
        contenders(gamma, config.num_drafts, config.eps, config.hf)
        + drafter_contenders(chosen_gammas, config.ngram_max, config.hf)
    )
    items += config.chosen(lm_trees.tree_contender(config.tree, reports))
    chosen = recommend(reports[0].predictions) if reports else None
    if config.drafters:  # the recommendation is measured too (recommendation_vs_best)
        items += recommended_contender(chosen, items)
    for contender in items:  # warm-up: the first timed configuration of a process runs slow
        _run(contender, pair, config.prompts[0], config, 0, min(8, config.max_new_tokens))
    records = {c.name: Record() for c in items}
    for repeat in range(config.repeats):
        if repeat > 0:  # one profile per repeat: its call costs see the same load
            reports += [r for r in [run_profile(repeat)] if r is not None]
        done += len(config.prompts)
        order = items if repeat % 2 == 0 else items[::-1]
        for record in records.values():
            record.runs.append([])
        for index, prompt in enumerate(config.prompts):
            seed = derive_seed(config.seed, repeat, index)
            for contender in order:
                report_progress(
                    f"repeat {repeat + 1}/{config.repeats}: {contender.name}", done / total
                )
                run = _run(contender, pair, prompt, config, seed, config.max_new_tokens)
                records[contender.name].runs[-1].append(run)
                done += 1
    report_progress("done", 1.0)

    summaries = {c.name: summarise_contender(c, records[c.name]) for c in items}
    sd_prediction = predicted(reports, Speculative(gamma=gamma))
    sd_predicted = None if sd_prediction is None else sd_prediction["predicted_speedup"]
    ratios = headline_ratios(summaries, sd_predicted)
    record_speedups(summaries, reports, items)
    sd_ceiling_speedup = ceiling(reports, gamma)
    ratios["sd_ceiling_speedup"] = sd_ceiling_speedup
    ratios["sd_vs_ceiling"] = ratio(ratios["sd_measured_speedup"], sd_ceiling_speedup)
    ratios.update(lm_trees.tree_ratios(summaries, reports, chosen))
    if config.drafters:
        ratios.update(drafter_ratios(summaries, items, chosen))
    targets = {**TARGETS, **drafter_targets(config.workload, config.drafters)}
    env = environment_info()
    return {
        "benchmark": "lm",
        "date": env["date"],
        "config": config.to_dict(),
        "pair": _pair_info(pair),
        "machine": {
            "cpu": cpu_name(),
            "cpu_count": os.cpu_count(),
            "torch_threads": torch.get_num_threads(),
            "load_average": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
        },
        "versions": env,
        "gamma": {
            "value": gamma,
            "source": lm_trees.gamma_source(config.gamma, reports),
            "predicted_speedup_by_gamma": {
                str(g): (predicted(reports, Speculative(gamma=g)) or {}).get("predicted_speedup")
                for g in gammas
            },
        },
        "drafter_gamma": {
            "values": chosen_gammas,
            "source": "option" if config.drafter_gamma is not None else "profile (first run)",
            "predicted_speedup_by_gamma": {
                d: {
                    str(g): (predicted(reports, Speculative(gamma=g), d) or {}).get(
                        "predicted_speedup"
                    )
                    for g in config.drafter_profile_gammas
                }
                for d in profiled_drafters(config.drafters)
            },
        },
        "profile": {
            "runs": len(reports),
            "drafters": profiled,
            "mean_tv": reports[0].to_dict()["mean_tv"] if reports else None,
            "costs": [None if r.costs is None else r.costs.to_dict() for r in reports],
            "predictions": {
                c.name: predicted(reports, c.algorithm, c.drafter)
                for c in items
                if c.algorithm is not None and c.algorithm.drafts
            },
        },
        "recommendation": "autoregressive" if chosen is None else chosen.label,
        "trees": None if not reports or reports[0].trees is None else reports[0].trees.to_dict(),
        "contenders": summaries,
        "ratios": ratios,
        "ratios_paired": paired_ratios(summaries),
        "ratios_per_repeat": ratios_per_repeat(
            summaries, None if sd_prediction is None else sd_prediction["predicted_speedup_runs"]
        ),
        "targets": targets,
        "meets_targets": {
            name: None if ratios.get(name) is None else bool(ratios[name] >= bound)
            for name, bound in targets.items()
        },
        "seconds": time.perf_counter() - started,
    }
