"""LM cells: generate statistics, profile rows, or Table 1's OPT vs UNO on one prompt.

Every cell decodes one prompt of one model pair at one temperature, on one torch thread
(:data:`specbound.experiments.common.LM_THREADS`; the sweep's parallelism is across
cells). The pair is loaded once per worker process and kept. ``compute``:

* ``generate`` — ``responses`` runs of :func:`specbound.lm.generate` (seed ``j``:
  ``derive_seed(cell seed, j)``) drafted by the cell's ``drafter`` (the draft model when
  absent); target calls and rejections per token, tokens per call (ratio estimates over
  the runs) and the acceptance rate;
* ``profile`` — :func:`specbound.profile` on the prompt (no timing, so every number is a
  count and reproducible): the predicted and measured rows of every setting (and of each
  model-free ``drafter``, as SD at the cell's gammas);
* ``table1`` — Decoding-OPT and Decoding-UNO at the cell's ``eps`` with the same seeds,
  each response scored by :func:`specbound.experiments.table1_compute.score_response`
  (exact per-token TV to the target, KL per sequence, log-likelihood) as ``specbound
  reproduce``'s Table 1 does; the cell's ``opt_wins`` is 1, 0.5 or 0 (OPT's mean KL
  smaller, equal, larger), so the WinRate over prompts is their mean.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import numpy as np

from specbound.estimates import Estimate, derive_seed

__all__ = ["lm_cell"]


@cache
def _load(target: str | None, draft: str | None, tokenizer: str | None) -> Any:
    from specbound.experiments.common import PairSpec

    return PairSpec(target=target, draft=draft, tokenizer=tokenizer).load()


def _ratio(numerators: list[float], denominators: list[float]) -> dict[str, Any]:
    return Estimate.ratio(numerators, denominators).to_dict()


def _generate(pair: Any, config: dict[str, Any], sampling: Any) -> tuple[dict, dict, dict]:
    from specbound.lm import drafter_factory, generate
    from specbound.profiling.report import setting_label
    from specbound.sweep.cells import algorithm_spec

    algorithm = algorithm_spec(config)
    drafter = config.get("drafter", "model")
    # the draft model's own drafter is generate's default (token trees need it)
    proposer: dict[str, Any] = {} if drafter == "model" else {"drafter": drafter_factory(drafter)}
    label = setting_label(algorithm, drafter)
    runs = [
        generate(
            pair,
            config["prompt"],
            algorithm,
            max_new_tokens=config["max_new_tokens"],
            seed=derive_seed(config["seed"], j),
            sampling=sampling,
            **proposer,
        ).stats
        for j in range(config["responses"])
    ]
    tokens = [float(s.new_tokens) for s in runs]
    calls = [float(s.target_calls) for s in runs]
    rejections = [float(s.rejections) for s in runs]
    accepted = [float(sum(s.accepted_lengths)) for s in runs]
    results: dict[str, Any] = {
        "label": label,
        "tokens": tokens,
        "target_calls": calls,
        "rejections": rejections,
        "target_calls_per_token": _ratio(calls, tokens),
        "rejections_per_token": _ratio(rejections, tokens),
        "tokens_per_call": _ratio(tokens, calls),
    }
    verified = [a + r for a, r in zip(accepted, rejections, strict=True)]
    if sum(verified) > 0:
        results["acceptance_rate"] = _ratio(accepted, verified)
    columns = {
        "label": label,
        "target_calls_per_token": results["target_calls_per_token"]["mean"],
        "target_calls_per_token_se": results["target_calls_per_token"]["se"],
        "rejections_per_token": results["rejections_per_token"]["mean"],
        "tokens_per_call": results["tokens_per_call"]["mean"],
    }
    wall = sum(s.wall_time for s in runs)
    timings = {"wall_s": wall, "tokens_per_s": sum(tokens) / wall if wall > 0 else None}
    return results, columns, timings


def _profile(pair: Any, config: dict[str, Any], sampling: Any) -> tuple[dict, dict, dict]:
    from specbound.profiling import profile
    from specbound.profiling.lookup import DEFAULT_DRAFTER_GAMMAS

    report = profile(
        pair,
        [config["prompt"]],
        max_new_tokens=config["max_new_tokens"],
        samples_per_prompt=config["responses"],
        runs_per_prompt=config["responses"],
        seed=config["seed"],
        gammas=config["gammas"],
        num_drafts=config["num_drafts"],
        eps=config["eps"],
        sampling=sampling,
        timing=False,
        drafter=config.get("drafter", "model"),
        drafter_gammas=config["gammas"] or DEFAULT_DRAFTER_GAMMAS,
        trees=[tuple(shape) for shape in config.get("trees", [])],
    )
    results = report.to_dict()
    seconds = results.pop("seconds")
    tv = None if report.mean_tv is None else report.mean_tv.mean
    columns = {"mean_tv": tv, "holds": report.holds, "rows": len(report.rows)}
    return results, columns, {"wall_s": seconds}


def _table1(pair: Any, config: dict[str, Any], sampling: Any) -> tuple[dict, dict, dict]:
    from specbound.algorithms import OverAcceptance
    from specbound.experiments.common import DECODERS
    from specbound.experiments.table1_compute import score_response
    from specbound.lm import encode_prompt, generate
    from specbound.profiling.paths import score_continuations

    eps = config["eps"]
    outputs = []
    for j in range(config["responses"]):
        seed = derive_seed(config["seed"], j)  # OPT and UNO: the same seeds
        for name in DECODERS:
            algorithm = OverAcceptance(eps=eps, resample=name)  # type: ignore[arg-type]
            outputs.append(
                (
                    name,
                    generate(
                        pair,
                        config["prompt"],
                        algorithm,
                        seed=seed,
                        max_new_tokens=config["max_new_tokens"],
                        sampling=sampling,
                    ),
                )
            )
    laws = score_continuations(
        pair,
        encode_prompt(pair, config["prompt"]),
        [list(o.token_ids) for _, o in outputs],
        sampling,
    )
    values: dict[str, dict[str, list[float]]] = {n: {} for n in DECODERS}
    for (name, out), (draft, target) in zip(outputs, laws, strict=True):
        scored, _ = score_response(draft, target, np.asarray(out.token_ids), eps, name)
        scored["rejections"] = float(out.stats.rejections)
        scored["calls"] = float(out.stats.target_calls)
        for key, value in scored.items():
            values[name].setdefault(key, []).append(value)
    results: dict[str, Any] = {"eps": eps}
    columns: dict[str, Any] = {"label": f"table1 eps={eps:g}"}
    for name in DECODERS:
        v = values[name]
        results[name] = {
            "tv_per_token": _ratio(v["tv"], v["tokens"]),
            "kl_per_sequence": Estimate.from_samples(v["kl"]).to_dict(),
            "loglik_per_token": _ratio(v["loglik"], v["tokens"]),
            "rejection_rate": _ratio(v["rejections"], v["tokens"]),
            "tokens_per_call": _ratio(v["tokens"], v["calls"]),
        }
        for key in ("tv_per_token", "kl_per_sequence", "rejection_rate", "tokens_per_call"):
            columns[f"{name}_{key}"] = results[name][key]["mean"]
    opt, uno = np.mean(values["opt"]["kl"]), np.mean(values["uno"]["kl"])
    wins = 0.5 if np.isclose(opt, uno, rtol=0.0, atol=1e-12) else float(opt < uno)
    results["opt_wins"] = columns["opt_wins"] = wins
    wall = sum(o.stats.wall_time for _, o in outputs)
    return results, columns, {"wall_s": wall}


def lm_cell(config: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """(results, headline columns, timings) of one LM cell."""
    from specbound.experiments.common import LM_THREADS
    from specbound.lm.engine.threads import torch_threads
    from specbound.lm.warping import SamplingConfig

    pair_config = config["pair"]
    pair = _load(pair_config["target"], pair_config["draft"], pair_config["tokenizer"])
    sampling = SamplingConfig(temperature=config["temperature"])
    compute = {"generate": _generate, "profile": _profile, "table1": _table1}[config["compute"]]
    with torch_threads(LM_THREADS):
        return compute(pair, config, sampling)
