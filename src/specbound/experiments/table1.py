"""Table 1 analog: Decoding-OPT vs Decoding-UNO on a real model pair (paper Section 4).

p = draft, q = target. Both decoders over-accept a drafted token with
``b = min(1, (q + eps)/p)``; after a rejection Decoding-OPT samples Theorem 4's
``P* = [q - p b]_+`` normalised, Decoding-UNO samples q. They reject equally often
(same b); OPT's output law ``A = p b + r P*`` is the closest to q that this b allows
(Theorem 4: ``TV(A, q) = sum [p b - q]_+``) and lies on Theorem 5's line
``r + TV(A, q) = TV(p, q)``; UNO lies above it.

The paper judged its responses with a reward model. Here "quality" is closeness to the
target model — what the theory is about — measured three ways on each decoder's own
responses, drafting to the horizon (gamma = None, the paper's abstraction: the
decoder's output law at every position is exactly ``A_n``, computed from the full-forward
laws ``p_n, q_n`` along the response):

(a) the exact expected per-token ``TV(A_n, q_n)`` (the quantity Theorem 4 bounds);
(b) the sequence-level ``KL(decoder || target)``: ``E[sum_n log A_n(x_n)/q_n(x_n)]``,
    estimated without bias from the decoder's samples. The table reports the
    Rao-Blackwellised form ``sum_n KL(A_n || q_n)`` along each response (the conditional
    expectation of the log-ratio given the prefixes: same mean, less variance) and checks
    it against the raw log-ratio;
(c) the mean log-likelihood per token under the target — a reward-model-like proxy,
    which rewards peaked outputs rather than closeness, so it may disagree with (a), (b).

WinRate of OPT over UNO is the share of prompts where OPT's mean (b) is smaller (a tie
counts one half), with a Wilson 95% interval.

This module is the report section (figure, prose, the ``EXPERIMENT``);
:mod:`~specbound.experiments.table1_compute` runs and scores the decoders and
:mod:`~specbound.experiments.table1_claims` judges the claims.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from specbound.experiments import plotting
from specbound.experiments.base import Experiment, Record
from specbound.experiments.common import DECODERS, PairSpec
from specbound.experiments.prose import plus_minus, render
from specbound.experiments.table1_claims import claims
from specbound.experiments.table1_compute import (
    Table1Config,
    compute,
    make_config,
    make_pair_config,
    wilson_interval,
)

__all__ = [
    "EXPERIMENT",
    "Table1Config",
    "claims",
    "compute",
    "describe",
    "make_config",
    "make_pair_config",
    "plot",
    "wilson_interval",
]


def plot(data: dict[str, Any], fig_dir: Path) -> list[Path]:
    """The Table 1 figure, drawn from the data alone."""
    return [plotting.table1_figure(data, fig_dir / "table1.png")]


def _table_rows(table: list[dict[str, Any]]) -> str:
    """One Markdown row per (eps, decoder); OPT's row carries the WinRate."""
    lines = []
    for row in table:
        win = row["winrate"]
        low, high = win["ci95"]
        for name in DECODERS:
            entry = row[name]
            lines.append(
                f"| {row['eps']:g} | {name.upper()} | {plus_minus(entry['tv_per_token'], 4)} | "
                f"{plus_minus(entry['kl_per_sequence'])} | "
                f"{plus_minus(entry['loglik_per_token'], 2)} | "
                f"{plus_minus(entry['rejection_rate'])} | "
                f"{plus_minus(entry['tokens_per_call'], 2)} | "
                + (
                    f"{win['rate']:.0%} [{low:.0%}, {high:.0%}] ({win['ties']} ties) |"
                    if name == "opt"
                    else " |"
                )
            )
    return "\n".join(lines)


def _models(spec: PairSpec, target: str, draft: str) -> str:
    """How the section's models differ from the paper's (after "ours are ")."""
    if spec.embedded:
        return (
            "the embedded GPT-NeoX pair (a few million parameters, trained on Python's "
            "documentation), far weaker and with a larger draft-target gap per token"
        )
    if spec.name == "smollm2":
        return (
            "SmolLM2-135M-Instruct (a 135M-parameter instruction-tuned Llama) and its "
            "distilled two-layer draft, prompts sent through its chat template"
        )
    return f"target `{target}` and draft `{draft}`"


def describe(record: Record) -> str:
    """The section text: the claim (Theorems 4 and 5), the table, how it differs, inputs."""
    config, data = record.config, record.data
    spec = PairSpec(**config["pair"])
    table = data["table"]
    significant = [f"{row['eps']:g}" for row in table if row["winrate"]["ci95"][0] > 0.5]
    tied = [
        f"{row['eps']:g} ({row['winrate']['ties']} of {row['winrate']['prompts']})"
        for row in table
        if row["winrate"]["ties"] > row["winrate"]["prompts"] / 2
    ]
    return render(
        "table1",
        {
            "rows": _table_rows(table),
            "significant": ", ".join(significant) if significant else "none of the thresholds",
            # NOTE: the sentence on ties ends with the space before the next one
            "tied": render("table1_ties", {"tied": ", ".join(tied)}) + " " if tied else "",
            "pair": spec.describe(data["target"], data["draft"]),
            "models": _models(spec, data["target"], data["draft"]),
            "num_prompts": str(config["num_prompts"]),
            "eps": ", ".join(f"{e:g}" for e in config["eps"]),
            "responses_per_prompt": str(config["responses_per_prompt"]),
            "max_new_tokens": str(config["max_new_tokens"]),
            "temperature": f"{config['temperature']:g}",
        },
    )


EXPERIMENT = Experiment(
    name="table1",
    title="Table 1 — Decoding-OPT vs Decoding-UNO on language models",
    revision=1,
    make_config=make_config,
    compute=compute,
    claims=claims,
    plot=plot,
    describe=describe,
    on_pair=make_pair_config,
)
