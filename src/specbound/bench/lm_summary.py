"""``bench lm``'s bookkeeping: timed runs, per-contender summaries and the headline ratios.

Tokens/s of a repeat is its tokens over its seconds (prefill included, for specbound and
HF alike); a contender's figure is the median over repeats, with min, max, relative spread
and every value kept. Pure Python: no model code.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from specbound.bench.hf_baseline import HF_DEFAULT_ASSISTANT_TOKENS

if TYPE_CHECKING:
    from specbound.bench.lm import Contender

__all__ = [
    "Record",
    "Run",
    "headline_ratios",
    "median_of",
    "paired_ratios",
    "ratio",
    "ratios_per_repeat",
    "spread",
    "summarise_contender",
]


@dataclass(frozen=True)
class Run:
    tokens: int
    seconds: float
    decode_seconds: float | None  # specbound: wall time less the prompt's prefill
    target_calls: int
    accepted: int | None = None
    rejections: int | None = None


@dataclass
class Record:
    runs: list[list[Run]] = field(default_factory=list)  # [repeat][prompt]


def spread(values: Sequence[float]) -> dict[str, Any]:
    data = np.asarray(values, dtype=np.float64)
    median = float(np.median(data))
    return {
        "median": median,
        "min": float(data.min()),
        "max": float(data.max()),
        "relative_spread": float((data.max() - data.min()) / median) if median > 0 else None,
        "values": data.tolist(),
    }


def summarise_contender(contender: Contender, record: Record) -> dict[str, Any]:
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
        "tokens_per_second": spread([t / s for t, s, _ in per_repeat]),
        "seconds_per_token": spread([s / t for t, s, _ in per_repeat]),
        "target_calls_per_token": sum(r.target_calls for r in flat) / tokens,
        "tokens": tokens,
        "runs": [[asdict(r) for r in runs] for runs in record.runs],
    }
    if not contender.hf:
        summary["decode_tokens_per_second"] = spread(
            [t / sum(r.decode_seconds or 0.0 for r in runs) for t, _, runs in per_repeat]
        )
    if all(r.accepted is not None for r in flat) and flat:
        accepted = sum(r.accepted or 0 for r in flat)
        verified = accepted + sum(r.rejections or 0 for r in flat)
        summary["acceptance_rate"] = accepted / verified if verified else None
    return summary


def median_of(summaries: dict[str, Any], name: str, key: str = "tokens_per_second") -> float | None:
    if name not in summaries or key not in summaries[name]:
        return None
    return float(summaries[name][key]["median"])


def ratio(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None or b <= 0 else a / b


def headline_ratios(summaries: dict[str, Any], predicted: float | None) -> dict[str, Any]:
    tps = {name: median_of(summaries, name) for name in summaries}
    decode = {name: median_of(summaries, name, "decode_tokens_per_second") for name in summaries}
    measured_speedup = ratio(decode.get("specbound_sd"), decode.get("specbound_ar"))
    ratios: dict[str, Any] = {
        "sd_vs_hf_assisted": ratio(tps.get("specbound_sd"), tps.get("hf_assisted")),
        "sd_vs_autoregressive": ratio(tps.get("specbound_sd"), tps.get("specbound_ar")),
        "sd_vs_predicted": ratio(measured_speedup, predicted),
        "sd_measured_speedup": measured_speedup,
        "sd_predicted_speedup": predicted,
        "sd_vs_hf_autoregressive": ratio(tps.get("specbound_sd"), tps.get("hf_ar")),
        "specbound_ar_vs_hf_ar": ratio(tps.get("specbound_ar"), tps.get("hf_ar")),
        "hf_assisted_vs_hf_ar": ratio(tps.get("hf_assisted"), tps.get("hf_ar")),
        "sd_k20_vs_hf_assisted_default": ratio(
            tps.get("specbound_sd_k20"), tps.get("hf_assisted_default")
        ),
        "sd_vs_hf_assisted_default": ratio(tps.get("specbound_sd"), tps.get("hf_assisted_default")),
    }
    for name in summaries:
        if name.startswith(("specbound_batch", "specbound_opt", "specbound_block")):
            ratios[f"{name.removeprefix('specbound_')}_vs_sd"] = ratio(
                tps.get(name), tps.get("specbound_sd")
            )
    return ratios


def ratios_per_repeat(
    summaries: dict[str, Any], predicted_runs: Sequence[float | None] | None
) -> dict[str, list[float | None]]:
    """The headline ratios repeat by repeat (each SD repeat against the same repeat of the
    other contender, and against the profile run made just before it): their spread."""

    def values(name: str, key: str = "tokens_per_second") -> list[float] | None:
        row = summaries.get(name)
        return None if row is None or key not in row else list(row[key]["values"])

    def paired(a: list[float] | None, b: list[float] | None) -> list[float | None]:
        return [] if a is None or b is None else [ratio(x, y) for x, y in zip(a, b, strict=True)]

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
            [ratio(m, p) for m, p in zip(speedups, predicted, strict=True)]
            if len(predicted) == len(speedups)
            else []
        ),
    }


#: The ratios :func:`paired_ratios` estimates: (numerator, denominator, measure).
PAIRED = {
    "sd_vs_autoregressive": ("specbound_sd", "specbound_ar", "tokens_per_second"),
    "sd_vs_hf_assisted": ("specbound_sd", "hf_assisted", "tokens_per_second"),
    "sd_measured_speedup": ("specbound_sd", "specbound_ar", "decode_tokens_per_second"),
    "block_vs_autoregressive": ("specbound_block", "specbound_ar", "tokens_per_second"),
}


def _run_rates(summary: dict[str, Any], measure: str) -> list[float]:
    """Tokens/s of every run of a contender (repeat by repeat, prompt by prompt)."""
    rates = []
    for runs in summary["runs"]:
        for run in runs:
            seconds = run["seconds"] if measure == "tokens_per_second" else run["decode_seconds"]
            rates.append(run["tokens"] / seconds if seconds else float("nan"))
    return rates


def paired_ratios(summaries: dict[str, Any]) -> dict[str, dict[str, Any] | None]:
    """The headline ratios estimated from runs that ran back to back: for each prompt of
    each repeat, the two contenders' tokens/s (measured seconds apart, in an order that
    alternates between repeats) give one ratio; the median over these pairs and its
    quartiles. On a machine whose speed drifts within a repeat this is steadier than the
    ratio of the two medians over repeats (``ratios``), which pairs figures taken up to a
    minute apart."""
    out: dict[str, dict[str, Any] | None] = {}
    for name, (top, bottom, measure) in PAIRED.items():
        if (
            top not in summaries
            or bottom not in summaries
            or (measure != "tokens_per_second" and measure not in summaries[bottom])
        ):
            out[name] = None
            continue
        pairs = [
            a / b
            for a, b in zip(
                _run_rates(summaries[top], measure),
                _run_rates(summaries[bottom], measure),
                strict=True,
            )
            if b > 0 and np.isfinite(a) and np.isfinite(b)
        ]
        if not pairs:
            out[name] = None
            continue
        q1, median, q3 = np.quantile(pairs, [0.25, 0.5, 0.75])
        out[name] = {
            "median": float(median),
            "quartiles": [float(q1), float(q3)],
            "pairs": len(pairs),
        }
    return out
