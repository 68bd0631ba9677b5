"""``specbound bench lm``: specbound's decoders beside Hugging Face generation, timed.

On one model pair, the same prompts, sampling settings and seeds (paper notation: p =
draft, q = target), every *contender* generates ``max_new_tokens`` tokens per prompt
(the end-of-sequence stop is off, so all generate the same number):

* ``specbound_ar`` / ``hf_ar`` — autoregressive sampling from the target (specbound's
  decoder; ``target.generate``);
* ``specbound_sd`` / ``hf_assisted`` — speculative decoding with gamma drafted tokens per
  round (gamma: the best predicted by :func:`specbound.profile`, or given), and HF
  assisted generation with sampling and exactly gamma assistant tokens per round
  (constant schedule, no confidence threshold): the like-for-like pair;
* ``specbound_sd_k20`` / ``hf_assisted_default`` — HF's default number of assistant
  tokens (20, and HF's heuristic schedule and threshold for HF);
* ``specbound_batch_m2``, ``specbound_batch_m4`` (batch SD, M drafts) and
  ``specbound_opt_eps0.2`` (over-acceptance, Decoding-OPT), at gamma.

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
import platform
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import torch

from specbound.algorithms import (
    Algorithm,
    Autoregressive,
    BatchSpeculative,
    OverAcceptance,
    Speculative,
)
from specbound.bench.hf_baseline import HF_DEFAULT_ASSISTANT_TOKENS, check_assistable, hf_generate
from specbound.errors import InvalidInputError
from specbound.estimates import derive_seed
from specbound.lm.decode import encode_prompt, generate
from specbound.lm.loading import ModelPair
from specbound.lm.warping import SamplingConfig
from specbound.profiling import ProfileReport, profile
from specbound.validate import check_float, check_int, check_seed

__all__ = ["TARGETS", "Contender", "LMBenchConfig", "contenders", "run_lm_benchmark"]

#: What the issue asks of a run on the embedded pair (ratios of one run).
TARGETS = {"sd_vs_hf_assisted": 1.25, "sd_vs_predicted": 0.85}

Progress = Callable[[str, float], None]


@dataclass(frozen=True)
class LMBenchConfig:
    """One ``bench lm`` run. ``gamma=None``: the best finite gamma predicted by profile."""

    prompts: tuple[str, ...]
    max_new_tokens: int = 128
    repeats: int = 3
    gamma: int | None = None
    temperature: float = 1.0
    top_k: int | None = None
    top_p: float | None = None
    seed: int = 0
    num_drafts: tuple[int, ...] = (2, 4)
    eps: float = 0.2
    hf: bool = True
    profile_gammas: tuple[int, ...] = (1, 2, 3, 4, 6, 8)
    profile_samples: int = 16
    profile_timing_repeats: int = 25

    def __post_init__(self) -> None:
        if isinstance(self.prompts, str) or not self.prompts:
            raise InvalidInputError("prompts: give at least one prompt")
        check_int(self.max_new_tokens, "max_new_tokens", low=1)
        check_int(self.repeats, "repeats", low=1)
        check_int(self.profile_samples, "profile_samples", low=1)
        check_int(self.profile_timing_repeats, "profile_timing_repeats", low=1)
        if self.gamma is not None:
            check_int(self.gamma, "gamma", low=1)
        for m in self.num_drafts:
            check_int(m, "num_drafts", low=2)
        check_float(self.eps, "eps", low=0.0)
        check_seed(self.seed)
        SamplingConfig(self.temperature, self.top_k, self.top_p)

    @property
    def sampling(self) -> SamplingConfig:
        return SamplingConfig(self.temperature, self.top_k, self.top_p)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["prompts"] = list(self.prompts)
        return data


@dataclass(frozen=True)
class Contender:
    """One way of generating: a specbound ``algorithm``, or HF ``generate`` (``hf``)."""

    name: str
    description: str
    algorithm: Algorithm | None = None
    assistant: bool = False
    num_assistant_tokens: int | None = None

    @property
    def hf(self) -> bool:
        return self.algorithm is None


@dataclass(frozen=True)
class _Run:
    tokens: int
    seconds: float
    decode_seconds: float | None  # specbound: wall time less the prompt's prefill
    target_calls: int
    accepted: int | None = None
    rejections: int | None = None


@dataclass
class _Record:
    runs: list[list[_Run]] = field(default_factory=list)  # [repeat][prompt]


def contenders(gamma: int, num_drafts: Sequence[int], eps: float, hf: bool) -> list[Contender]:
    """The contenders of a run, specbound and HF alternating where they pair up."""
    k20 = HF_DEFAULT_ASSISTANT_TOKENS
    items = [
        Contender("specbound_ar", "specbound autoregressive", Autoregressive()),
        Contender("hf_ar", "HF generate, no assistant"),
        Contender("specbound_sd", f"specbound SD gamma={gamma}", Speculative(gamma=gamma)),
        Contender(
            "hf_assisted",
            f"HF assisted generation, {gamma} assistant tokens (constant)",
            assistant=True,
            num_assistant_tokens=gamma,
        ),
        Contender("specbound_sd_k20", f"specbound SD gamma={k20}", Speculative(gamma=k20)),
        Contender(
            "hf_assisted_default",
            f"HF assisted generation, defaults ({k20} tokens, heuristic schedule)",
            assistant=True,
        ),
    ]
    items += [
        Contender(
            f"specbound_batch_m{m}",
            f"specbound batch SD M={m} gamma={gamma}",
            BatchSpeculative(num_drafts=m, gamma=gamma),
        )
        for m in num_drafts
    ]
    items.append(
        Contender(
            f"specbound_opt_eps{eps:g}",
            f"specbound over-acceptance (OPT) eps={eps:g} gamma={gamma}",
            OverAcceptance(eps=eps, resample="opt", gamma=gamma),
        )
    )
    return [c for c in items if hf or not c.hf]


def _run(
    contender: Contender,
    pair: ModelPair,
    prompt: str,
    config: LMBenchConfig,
    seed: int,
    max_new_tokens: int,
) -> _Run:
    sampling = config.sampling
    if contender.algorithm is not None:
        stats = generate(
            pair,
            prompt,
            contender.algorithm,
            max_new_tokens=max_new_tokens,
            seed=seed,
            sampling=sampling,
            stop_at_eos=False,
        ).stats
        speculative = contender.algorithm.drafts
        return _Run(
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
        stop_at_eos=False,
    )
    return _Run(run.new_tokens, run.seconds, None, run.target_calls)


def _spread(values: Sequence[float]) -> dict[str, Any]:
    data = np.asarray(values, dtype=np.float64)
    median = float(np.median(data))
    return {
        "median": median,
        "min": float(data.min()),
        "max": float(data.max()),
        "relative_spread": float((data.max() - data.min()) / median) if median > 0 else None,
        "values": data.tolist(),
    }


def _summary(contender: Contender, record: _Record) -> dict[str, Any]:
    per_repeat = [
        (sum(r.tokens for r in runs), sum(r.seconds for r in runs), runs) for runs in record.runs
    ]
    flat = [r for runs in record.runs for r in runs]
    tokens = sum(r.tokens for r in flat)
    summary: dict[str, Any] = {
        "description": contender.description,
        "kind": "hf" if contender.hf else "specbound",
        "algorithm": None if contender.algorithm is None else contender.algorithm.to_dict(),
        "num_assistant_tokens": (
            (contender.num_assistant_tokens or HF_DEFAULT_ASSISTANT_TOKENS)
            if contender.assistant
            else None
        ),
        "tokens_per_second": _spread([t / s for t, s, _ in per_repeat]),
        "seconds_per_token": _spread([s / t for t, s, _ in per_repeat]),
        "target_calls_per_token": sum(r.target_calls for r in flat) / tokens,
        "tokens": tokens,
        "runs": [[asdict(r) for r in runs] for runs in record.runs],
    }
    if not contender.hf:
        summary["decode_tokens_per_second"] = _spread(
            [t / sum(r.decode_seconds or 0.0 for r in runs) for t, _, runs in per_repeat]
        )
    if all(r.accepted is not None for r in flat) and flat:
        accepted = sum(r.accepted or 0 for r in flat)
        verified = accepted + sum(r.rejections or 0 for r in flat)
        summary["acceptance_rate"] = accepted / verified if verified else None
    return summary


def _median(summaries: dict[str, Any], name: str, key: str = "tokens_per_second") -> float | None:
    if name not in summaries or key not in summaries[name]:
        return None
    return float(summaries[name][key]["median"])


def _ratio(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None or b <= 0 else a / b


def _prediction(report: ProfileReport, algorithm: Algorithm) -> dict[str, Any] | None:
    try:
        row = report.find(algorithm)
    except KeyError:
        return None
    speedup = row.prediction.predicted_speedup
    return {
        "predicted_speedup": None if speedup is None else speedup.mean,
        "predicted_speedup_ci95": None
        if speedup is None or speedup.ci95 is None
        else list(speedup.ci95),
        "calls_per_token": row.prediction.calls_per_token.mean,
    }


def _predicted(reports: Sequence[ProfileReport], algorithm: Algorithm) -> dict[str, Any] | None:
    """The median over profile runs of the predicted speed-up (and each run's value).

    NOTE: each profile run times its per-call costs in a few hundred milliseconds; on a
    shared machine a burst of load during that window moves one run's prediction by tens
    of percent, so the benchmark takes the median over several runs.
    """
    runs = [_prediction(report, algorithm) for report in reports]
    if any(run is None for run in runs):
        return None
    speedups = [run["predicted_speedup"] for run in runs if run is not None]
    first = runs[0]
    assert first is not None
    if any(value is None for value in speedups):
        return {**first, "predicted_speedup": None, "predicted_speedup_runs": speedups}
    return {
        "predicted_speedup": float(np.median(speedups)),
        "predicted_speedup_runs": speedups,
        "predicted_speedup_ci95": first["predicted_speedup_ci95"],
        "calls_per_token": first["calls_per_token"],
    }


def _best_gamma(reports: Sequence[ProfileReport], gammas: Sequence[int]) -> int:
    best, best_speedup = gammas[0], -np.inf
    for g in gammas:
        prediction = _predicted(reports, Speculative(gamma=g))
        speedup = None if prediction is None else prediction["predicted_speedup"]
        if speedup is not None and speedup > best_speedup:
            best, best_speedup = g, speedup
    return best


def _ratios(summaries: dict[str, Any], predicted: float | None) -> dict[str, Any]:
    tps = {name: _median(summaries, name) for name in summaries}
    decode = {name: _median(summaries, name, "decode_tokens_per_second") for name in summaries}
    measured_speedup = _ratio(decode.get("specbound_sd"), decode.get("specbound_ar"))
    ratios: dict[str, Any] = {
        "sd_vs_hf_assisted": _ratio(tps.get("specbound_sd"), tps.get("hf_assisted")),
        "sd_vs_autoregressive": _ratio(tps.get("specbound_sd"), tps.get("specbound_ar")),
        "sd_vs_predicted": _ratio(measured_speedup, predicted),
        "sd_measured_speedup": measured_speedup,
        "sd_predicted_speedup": predicted,
        "sd_vs_hf_autoregressive": _ratio(tps.get("specbound_sd"), tps.get("hf_ar")),
        "specbound_ar_vs_hf_ar": _ratio(tps.get("specbound_ar"), tps.get("hf_ar")),
        "hf_assisted_vs_hf_ar": _ratio(tps.get("hf_assisted"), tps.get("hf_ar")),
        "sd_k20_vs_hf_assisted_default": _ratio(
            tps.get("specbound_sd_k20"), tps.get("hf_assisted_default")
        ),
        "sd_vs_hf_assisted_default": _ratio(
            tps.get("specbound_sd"), tps.get("hf_assisted_default")
        ),
    }
    for name in summaries:
        if name.startswith(("specbound_batch", "specbound_opt")):
            ratios[f"{name.removeprefix('specbound_')}_vs_sd"] = _ratio(
                tps.get(name), tps.get("specbound_sd")
            )
    return ratios


def _per_repeat(
    summaries: dict[str, Any], predicted_runs: Sequence[float | None] | None
) -> dict[str, list[float | None]]:
    """The headline ratios repeat by repeat (each SD repeat against the same repeat of the
    other contender, and against the profile run made just before it): their spread."""

    def values(name: str, key: str = "tokens_per_second") -> list[float] | None:
        row = summaries.get(name)
        return None if row is None or key not in row else list(row[key]["values"])

    def paired(a: list[float] | None, b: list[float] | None) -> list[float | None]:
        return [] if a is None or b is None else [_ratio(x, y) for x, y in zip(a, b, strict=True)]

    speedups = paired(
        values("specbound_sd", "decode_tokens_per_second"),
        values("specbound_ar", "decode_tokens_per_second"),
    )
    predicted = list(predicted_runs or [])
    return {
        "sd_vs_hf_assisted": paired(values("specbound_sd"), values("hf_assisted")),
        "sd_vs_autoregressive": paired(values("specbound_sd"), values("specbound_ar")),
        "sd_measured_speedup": speedups,
        "sd_predicted_speedup": list(predicted),
        "sd_vs_predicted": (
            [_ratio(m, p) for m, p in zip(speedups, predicted, strict=True)]
            if len(predicted) == len(speedups)
            else []
        ),
    }


def _cpu_model() -> str | None:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or None


def _pair_info(pair: ModelPair) -> dict[str, Any]:
    from specbound.lm.neox import supports

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
        "fast_path": bool(supports(pair.target) and supports(pair.draft)),
    }


def run_lm_benchmark(
    pair: ModelPair, config: LMBenchConfig, progress: Progress | None = None
) -> dict[str, Any]:
    """Profile the pair, then time every contender; return the JSON-ready record."""
    from specbound.io import environment_info

    report_progress = progress or (lambda message, fraction: None)
    started = time.perf_counter()
    if config.hf:
        check_assistable(pair)  # fail before minutes of profiling
    gammas = tuple(sorted({*config.profile_gammas, *([config.gamma] if config.gamma else [])}))

    def run_profile(repeat: int) -> ProfileReport:
        report_progress(f"repeat {repeat + 1}/{config.repeats}: profile", done / total)
        return profile(
            pair,
            list(config.prompts),
            max_new_tokens=config.max_new_tokens,
            samples_per_prompt=config.profile_samples,
            seed=config.seed,
            gammas=gammas,
            num_drafts=config.num_drafts,
            eps=(),
            sampling=config.sampling,
            measure=False,
            timing=True,
            timing_repeats=config.profile_timing_repeats,
            stop_at_eos=False,
        )

    done, total = (
        0,
        config.repeats
        * len(config.prompts)
        * (len(contenders(1, config.num_drafts, config.eps, config.hf)) + 1),
    )
    reports = [run_profile(0)]
    gamma = config.gamma if config.gamma is not None else _best_gamma(reports[:1], gammas)
    items = contenders(gamma, config.num_drafts, config.eps, config.hf)
    for contender in items:  # warm-up: the first timed configuration of a process runs slow
        _run(contender, pair, config.prompts[0], config, 0, min(8, config.max_new_tokens))
    records = {c.name: _Record() for c in items}
    for repeat in range(config.repeats):
        if repeat > 0:  # one profile per repeat: its call costs see the same load
            reports.append(run_profile(repeat))
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

    summaries = {c.name: _summary(c, records[c.name]) for c in items}
    sd_prediction = _predicted(reports, Speculative(gamma=gamma))
    predicted = None if sd_prediction is None else sd_prediction["predicted_speedup"]
    ratios = _ratios(summaries, predicted)
    env = environment_info()
    return {
        "benchmark": "lm",
        "date": env["date"],
        "config": config.to_dict(),
        "pair": _pair_info(pair),
        "machine": {
            "cpu": _cpu_model(),
            "cpu_count": os.cpu_count(),
            "torch_threads": torch.get_num_threads(),
            "load_average": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
        },
        "versions": env,
        "gamma": {
            "value": gamma,
            "source": "option" if config.gamma is not None else "profile (first run)",
            "predicted_speedup_by_gamma": {
                str(g): (_predicted(reports, Speculative(gamma=g)) or {}).get("predicted_speedup")
                for g in gammas
            },
        },
        "profile": {
            "runs": len(reports),
            "mean_tv": reports[0].mean_tv.to_dict(),
            "costs": [None if r.costs is None else r.costs.to_dict() for r in reports],
            "predictions": {
                c.name: _predicted(reports, c.algorithm)
                for c in items
                if c.algorithm is not None and c.algorithm.drafts
            },
        },
        "contenders": summaries,
        "ratios": ratios,
        "ratios_per_repeat": _per_repeat(
            summaries, None if sd_prediction is None else sd_prediction["predicted_speedup_runs"]
        ),
        "targets": TARGETS,
        "meets_targets": {
            name: None if ratios.get(name) is None else bool(ratios[name] >= bound)
            for name, bound in TARGETS.items()
        },
        "seconds": time.perf_counter() - started,
    }
