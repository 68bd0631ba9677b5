"""Table 1 analog, the computation: Decoding-OPT and Decoding-UNO responses on a model
pair, scored along each response by the exact per-position laws (paper Section 4).

For every prompt, eps and response seed both decoders run (same seeds, so their responses
coincide up to the first rejection); one full forward of each model over prompt + response
gives the laws p_n, q_n, from which the decoder's exact output law
``A_n = p_n b_n + r_n P_n`` follows. Stored per response: (a) ``sum_n TV(A_n, q_n)``
(Theorem 4's quantity), (b) ``sum_n KL(A_n || q_n)`` and the raw log-ratio, (c) the
log-likelihood under q, the measured and expected rejections; per eps, the largest gaps
of the per-position checks of Theorems 4 and 5 (judged in
:mod:`specbound.experiments.table1_claims`). p = draft, q = target.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from specbound.estimates import Estimate, derive_seed
from specbound.experiments.base import Progress, Steps
from specbound.experiments.common import DECODERS, LM_THREADS, PairSpec

__all__ = [
    "FIELDS",
    "Table1Config",
    "compute",
    "make_config",
    "make_pair_config",
    "score_response",
    "wilson_interval",
]

Array = NDArray[np.float64]
#: Per-response values stored for every (eps, decoder).
FIELDS = (
    "tokens",
    "rejections",
    "calls",
    "tv",
    "kl",
    "log_ratio",
    "loglik",
    "expected_rejections",
    "rejection_variance",
    "tv_pq",
)


@dataclass(frozen=True)
class Table1Config:
    """What Table 1 computes, on the model ``pair`` (default: the embedded pair)."""

    seed: int
    num_prompts: int = 50
    responses_per_prompt: int = 4
    max_new_tokens: int = 16
    eps: tuple[float, ...] = (0.1, 0.2, 0.4, 0.8)
    temperature: float = 1.0
    pair: PairSpec = field(default_factory=PairSpec)


def make_config(quick: bool, seed: int) -> Table1Config:
    if quick:
        return Table1Config(
            seed=seed, num_prompts=3, responses_per_prompt=2, max_new_tokens=5, eps=(0.1, 0.4)
        )
    return Table1Config(seed=seed)


def make_pair_config(quick: bool, seed: int, pair: str) -> Table1Config:
    """Table 1 on the named pair ``pair`` (``reproduce --pair``): a real target step costs
    30-60 ms on a CPU, so 12 prompts x 2 responses of 16 tokens at eps 0.1 and 0.4
    (2 prompts, 1 response, 5 tokens when ``quick``)."""
    spec = PairSpec.named(pair)
    if quick:
        return Table1Config(
            seed=seed,
            num_prompts=2,
            responses_per_prompt=1,
            max_new_tokens=5,
            eps=(0.1, 0.4),
            pair=spec,
        )
    return Table1Config(
        seed=seed,
        num_prompts=12,
        responses_per_prompt=2,
        max_new_tokens=16,
        eps=(0.1, 0.4),
        pair=spec,
    )


def wilson_interval(successes: float, trials: int, z: float = 1.959963984540054) -> list[float]:
    """Wilson score interval for a proportion (``successes`` may count ties as 1/2)."""
    if trials <= 0:
        return [0.0, 1.0]
    share = successes / trials
    denominator = 1 + z**2 / trials
    centre = (share + z**2 / (2 * trials)) / denominator
    half = z * math.sqrt(share * (1 - share) / trials + z**2 / (4 * trials**2)) / denominator
    return [max(0.0, centre - half), min(1.0, centre + half)]


def _kl(law: Array, target: Array) -> Array:
    """``KL(law || target)`` over the last axis; +inf where law has mass target lacks."""
    positive = law > 0
    with np.errstate(divide="ignore"):
        ratio = np.where(positive, np.log(np.where(positive, law, 1.0)) - np.log(target), 0.0)
    return np.sum(np.where(positive, law * ratio, 0.0), axis=-1)  # (...,)


def score_response(
    draft: Array, target: Array, tokens: NDArray[np.int64], eps: float, resample: str
) -> tuple[dict[str, float], dict[str, float]]:
    """Per-response values and per-position exact checks for one response.

    ``draft``/``target`` (L, V): the laws p_n, q_n along the response ``tokens`` (L,).
    """
    from specbound.core import kernels
    from specbound.core.rules import OverAcceptanceRule, output_distribution

    rules = {name: OverAcceptanceRule(eps, name) for name in DECODERS}  # type: ignore[arg-type]
    laws = {name: output_distribution(rule, draft, target) for name, rule in rules.items()}
    accept = rules["opt"].accept_probs(draft, target)  # (L, V): the same b for both
    rejection = kernels.rejection_probability(draft, accept)  # (L,)
    tv_pq = kernels.tv_rows(draft, target)  # (L,)
    bias = {name: kernels.tv_rows(law, target) for name, law in laws.items()}  # (L,) TV(A_n, q_n)
    own = laws[resample]  # (L, V) the law this response was drawn from
    index = np.arange(tokens.size)
    with np.errstate(divide="ignore"):
        log_ratio = np.log(own[index, tokens]) - np.log(target[index, tokens])  # (L,)
        loglik = np.log(target[index, tokens])  # (L,)
    values = {
        "tokens": float(tokens.size),
        "tv": float(bias[resample].sum()),
        "kl": float(_kl(own, target).sum()),
        "log_ratio": float(log_ratio.sum()),
        "loglik": float(loglik.sum()),
        "expected_rejections": float(rejection.sum()),
        "rejection_variance": float((rejection * (1.0 - rejection)).sum()),
        "tv_pq": float(tv_pq.sum()),
    }
    gaps = (
        {
            "theorem4": float(
                np.abs(bias["opt"] - kernels.min_bias_rows(draft, target, accept)).max()
            ),
            "opt_minus_uno": float((bias["opt"] - bias["uno"]).max()),
            "front_opt": float(np.abs(rejection + bias["opt"] - tv_pq).max()),
            "front_uno": float((rejection + bias["uno"] - tv_pq).min()),
        }
        if tokens.size
        else {}
    )
    return values, gaps


def _merge_gaps(total: dict[str, float], new: dict[str, float]) -> None:
    for key, value in new.items():
        if key == "front_uno":
            total[key] = min(total.get(key, math.inf), value)
        else:
            total[key] = max(total.get(key, -math.inf), value)


def _run(config: Table1Config, progress: Progress) -> dict[str, Any]:
    from specbound.algorithms import OverAcceptance
    from specbound.lm import encode_prompt, generate
    from specbound.lm.prompts import load_prompts
    from specbound.lm.warping import SamplingConfig
    from specbound.profiling.paths import score_continuations

    pair = config.pair.load()
    prompts = load_prompts(limit=config.num_prompts)
    sampling = SamplingConfig(temperature=config.temperature)
    series: dict[str, dict[str, dict[str, list[float]]]] = {
        f"{eps:g}": {name: {quantity: [] for quantity in FIELDS} for name in DECODERS}
        for eps in config.eps
    }
    gaps: dict[str, dict[str, float]] = {f"{eps:g}": {} for eps in config.eps}
    steps = Steps(len(prompts), progress)
    for i, prompt in enumerate(prompts):
        responses = []
        for k, eps in enumerate(config.eps):
            for j in range(config.responses_per_prompt):
                seed = derive_seed(config.seed, "table1", i, k, j)  # OPT and UNO: same seeds
                for name in DECODERS:
                    algorithm = OverAcceptance(eps=eps, resample=name)  # type: ignore[arg-type]
                    out = generate(
                        pair,
                        prompt,
                        algorithm,
                        max_new_tokens=config.max_new_tokens,
                        seed=seed,
                        sampling=sampling,
                    )
                    responses.append((eps, name, out))
        laws = score_continuations(
            pair,
            encode_prompt(pair, prompt),
            [list(o.token_ids) for _, _, o in responses],
            sampling,
        )
        for (eps, name, out), (draft, target) in zip(responses, laws, strict=True):
            tokens = np.asarray(out.token_ids, dtype=np.int64)
            values, position_gaps = score_response(draft, target, tokens, eps, name)
            values["rejections"] = float(out.stats.rejections)
            values["calls"] = float(out.stats.target_calls)
            record = series[f"{eps:g}"][name]
            for quantity in FIELDS:
                record[quantity].append(values[quantity])
            _merge_gaps(gaps[f"{eps:g}"], position_gaps)
        steps.advance()
    return {
        "target": Path(pair.target_name).name,
        "draft": Path(pair.draft_name).name,
        "prompts": prompts,
        "series": series,
        "position_gaps": gaps,
    }


def _ratio(numerators: list[float], denominators: list[float]) -> dict[str, float]:
    result = Estimate.ratio(numerators, denominators)
    return {"mean": result.mean, "se": result.se}


def _summary(config: Table1Config, raw: dict[str, Any]) -> list[dict[str, Any]]:
    """Per eps: (a), (b), (c), rejection rates, calls, WinRate."""
    rows = []
    per_prompt = config.responses_per_prompt
    for eps in config.eps:
        key = f"{eps:g}"
        entry: dict[str, Any] = {"eps": eps}
        for name in DECODERS:
            values = raw["series"][key][name]
            tokens = values["tokens"]
            kl = Estimate.from_samples(values["kl"])
            log_ratio = Estimate.from_samples(values["log_ratio"])
            entry[name] = {
                "tv_per_token": _ratio(values["tv"], tokens),
                "kl_per_sequence": {"mean": kl.mean, "se": kl.se},
                "log_ratio_per_sequence": {"mean": log_ratio.mean, "se": log_ratio.se},
                "loglik_per_token": _ratio(values["loglik"], tokens),
                "rejection_rate": _ratio(values["rejections"], tokens),
                "expected_rejection_rate": _ratio(values["expected_rejections"], tokens),
                "tv_pq_per_token": _ratio(values["tv_pq"], tokens),
                "tokens_per_call": _ratio(tokens, values["calls"]),
            }
        opt = np.asarray(raw["series"][key]["opt"]["kl"]).reshape(-1, per_prompt).mean(axis=1)
        uno = np.asarray(raw["series"][key]["uno"]["kl"]).reshape(-1, per_prompt).mean(axis=1)
        close = np.isclose(opt, uno, rtol=0.0, atol=1e-12)
        wins = float(np.sum((opt < uno) & ~close) + 0.5 * np.sum(close))
        entry["winrate"] = {
            "wins": wins,
            "ties": int(close.sum()),
            "prompts": int(opt.size),
            "rate": wins / opt.size,
            "ci95": wilson_interval(wins, int(opt.size)),
        }
        rows.append(entry)
    return rows


def compute(config: Table1Config, progress: Progress) -> dict[str, Any]:
    from specbound.lm.engine.threads import torch_threads

    with torch_threads(LM_THREADS):
        raw = _run(config, progress)
    return {**raw, "table": _summary(config, raw)}
