"""What bounds speculative decoding on a pair: its speed-up from TV, draft cost and scoring.

Reads the cost model that ``specbound bench lm`` fitted to the decoder's own rounds (the
``profile.costs`` of a bench JSON: seconds of a target call per scored row count, of a
draft forward, of a round's verification, of an autoregressive step, at the fit's median
context; the median over the bench's profile runs) and prints, for a grid of draft
quality and draft cost, the best speed-up SD can reach over autoregressive decoding:

    speed-up(alpha, gamma) = E(alpha, gamma) * step / (T(gamma + 1) + s * D(gamma) + O(gamma))

with ``E = (1 - alpha^(gamma+1)) / (1 - alpha)`` the expected tokens per round when every
drafted token is accepted with probability ``alpha = 1 - TV`` (paper, Theorem 1: SD
rejects a drafted token with probability TV(p, q); a constant TV along the path is the
simplification), ``T(n)`` the fitted call scoring n rows, ``D(gamma)`` gamma draft
forwards (scaled by ``s``: 1 = this draft, 0 = a free draft), ``O`` the round's
verification and bookkeeping; gamma runs over the row counts the fit timed.

    python tools/sd_bound.py benchmarks/results/bench_lm_smollm2_drafters_open_t1.json
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path
from typing import Any

CONTEXT_UNIT = 1000.0  # tokens: the cost model's context features are per 1000 tokens
TVS = (None, 0.5, 0.35, 0.2, 0.1, 0.0)  # None: the --tv row
DRAFT_SCALES = (1.0, 0.5, 0.25, 0.0)


def median_coefficients(bench: dict[str, Any]) -> tuple[dict[str, float], float]:
    """Every coefficient's median over the bench's profile runs, and the median context."""
    fits = (bench.get("profile") or {}).get("costs") or []
    if not fits:
        raise SystemExit("the file holds no fitted cost model (profile.costs): run bench lm")
    names = fits[0]["coefficients_seconds"].keys()
    coefficients = {n: statistics.median(f["coefficients_seconds"][n] for f in fits) for n in names}
    return coefficients, statistics.median(f["context"] for f in fits)


def scoring(c: dict[str, float], rows: int, context: float) -> float:
    """Seconds of a target call scoring ``rows`` rows (the fit's knots, linear between)."""
    knots = sorted(int(n.split("@")[1]) for n in c if n.startswith("target@"))
    if rows not in knots:
        raise SystemExit(f"the fit has no knot at {rows} rows (knots: {knots})")
    return c[f"target@{rows}"] + c["target_context"] * rows * context / CONTEXT_UNIT


def drafting(c: dict[str, float], gamma: int, context: float) -> float:
    """Seconds of ``gamma`` draft forwards of one row."""
    return (
        c["draft_first"]
        + (gamma - 1) * c["draft_rows@1"]
        + c["draft_context"] * gamma * context / CONTEXT_UNIT
    )


def best_speedup(
    c: dict[str, float], context: float, alpha: float, scale: float
) -> tuple[float, int]:
    """The best speed-up over gamma and the gamma that reaches it."""
    step = c["autoregressive_token"] + c["autoregressive_context"] * context / CONTEXT_UNIT
    knots = sorted(int(n.split("@")[1]) for n in c if n.startswith("target@"))
    best = (0.0, 0)
    for gamma in range(1, max(knots)):
        tokens = float(gamma + 1) if alpha >= 1 else (1 - alpha ** (gamma + 1)) / (1 - alpha)
        other = c["other@sequence"] + c["other_tokens@sequence"] * gamma
        seconds = scoring(c, gamma + 1, context) + scale * drafting(c, gamma, context) + other
        best = max(best, (tokens * step / seconds, gamma))
    return best


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("bench_json", type=Path, help="a `specbound bench lm` results file")
    parser.add_argument("--tv", type=float, help="also a row at this TV (the draft's own)")
    args = parser.parse_args(argv)
    try:
        bench = json.loads(args.bench_json.read_text())
    except (OSError, ValueError) as exc:
        raise SystemExit(f"{args.bench_json}: cannot be read as JSON ({exc})") from exc
    c, context = median_coefficients(bench)
    measured_tv = args.tv
    step = c["autoregressive_token"] + c["autoregressive_context"] * context / CONTEXT_UNIT
    draft_step = c["draft_rows@1"] + c["draft_context"] * context / CONTEXT_UNIT
    print(
        f"autoregressive step {1e3 * step:.1f} ms; draft forward {1e3 * draft_step:.1f} ms "
        f"(cost ratio c = {draft_step / step:.3f}); context {context:.0f} tokens"
    )
    knots = sorted(int(n.split("@")[1]) for n in c if n.startswith("target@"))
    print(
        "scoring n rows / one row: "
        + ", ".join(f"{n}: {scoring(c, n, context) / scoring(c, 1, context):.2f}" for n in knots)
    )
    header = " | ".join(f"draft cost x{s:g}" for s in DRAFT_SCALES)
    print(f"\n| TV(draft, target) | {header} |")
    print("|---:|" + "---:|" * len(DRAFT_SCALES))
    for tv in TVS:
        value = measured_tv if tv is None else tv
        if value is None:
            continue
        cells = []
        for scale in DRAFT_SCALES:
            speedup, gamma = best_speedup(c, context, 1.0 - value, scale)
            cells.append(f"{speedup:.2f}x (gamma {gamma})")
        print(f"| {value:.2f} | " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
