"""The language-model figures: ``lm_theory`` (Theorems 1 and 3 predicted along target
samples vs measured decoder runs) and ``table1`` (Decoding-OPT vs Decoding-UNO, Theorems
4 and 5, on the embedded pair). p = draft, q = target."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from specbound.experiments.plotting.style import (
    COLORS,
    band,
    hollow_points,
    log2_axis,
    save,
    subplots,
)

__all__ = ["lm_theory_figure", "table1_figure"]


def _family_rows(data: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """Rows of an ``lm_theory`` data file grouped by algorithm family (SD, batch M=...)."""
    families: dict[str, list[dict[str, Any]]] = {}
    for row in data["rows"]:
        algorithm = row["algorithm"]
        name = "SD" if algorithm["name"] == "sd" else f"batch SD, M = {algorithm['num_drafts']}"
        families.setdefault(name, []).append(row)
    return families


def _gamma_ticks(rows: list[dict[str, Any]]) -> tuple[list[int | None], list[str]]:
    finite = sorted({r["algorithm"]["gamma"] for r in rows if r["algorithm"]["gamma"] is not None})
    gammas: list[int | None] = [*finite, None]
    return gammas, [*(str(g) for g in finite), "none\n(horizon)"]


def lm_theory_figure(data: dict[str, Any], path: Path) -> Path:
    """Predicted vs measured rejections and target calls per gamma (``lm_theory``)."""
    fig, axes = subplots(
        1,
        3,
        width=14.0,
        height=4.6,
        title="Theory on real models: predicted (lines, 95% bands) vs measured (points)",
    )
    families = _family_rows(data)
    gammas, labels = _gamma_ticks(data["rows"])
    positions = {g: k for k, g in enumerate(gammas)}
    panels = (
        (axes[0, 0], "rejections", "expected rejections per generation"),
        (axes[0, 1], "calls_per_token", "target calls per generated token"),
    )
    for ax, what, ylabel in panels:
        for f, (family, rows) in enumerate(families.items()):
            color = COLORS[f % len(COLORS)]
            rows = sorted(rows, key=lambda r: positions[r["algorithm"]["gamma"]])
            x = np.array([positions[r["algorithm"]["gamma"]] for r in rows], dtype=float)
            mean = np.array([r["predicted"][what]["mean"] for r in rows])
            se = np.array([r["predicted"][what]["se"] for r in rows])
            ax.plot(x, mean, color=color, label=f"{family}: predicted")
            band(ax, x, mean - 1.96 * se, mean + 1.96 * se, color=color)
            measured = np.array([r["measured"][what]["mean"] for r in rows])
            measured_se = np.array([r["measured"][what]["se"] for r in rows])
            hollow_points(
                ax,
                x + 0.08 * (f - (len(families) - 1) / 2),
                measured,
                yerr=1.96 * measured_se,
                color=color,
                marker="o",
                size=7,
                capsize=3,
                label=f"{family}: measured",
            )
        ax.set_xticks(range(len(gammas)), labels)
        ax.set_xlabel("draft length gamma")
        ax.set_ylabel(ylabel)
    axes[0, 0].set_title("Rejections")
    axes[0, 1].set_title("Target calls per token")
    axes[0, 0].legend(loc="best", fontsize=8)
    ax = axes[0, 2]
    for what, marker, name in (("rejections", "o", "rejections"), ("calls", "s", "target calls")):
        ax.errorbar(
            [r["predicted"][what]["mean"] for r in data["rows"]],
            [r["measured"][what]["mean"] for r in data["rows"]],
            xerr=[1.96 * r["predicted"][what]["se"] for r in data["rows"]],
            yerr=[1.96 * r["measured"][what]["se"] for r in data["rows"]],
            fmt=marker,
            markersize=5,
            capsize=2,
            label=f"{name} per generation",
        )
    values = [
        r[side][what]["mean"]
        for r in data["rows"]
        for side in ("predicted", "measured")
        for what in ("rejections", "calls")
    ]
    top, bottom = max(values) * 1.06, min(values) * 0.85
    ax.plot(
        [bottom, top],
        [bottom, top],
        color="0.3",
        linestyle="--",
        linewidth=1.0,
        label="measured = predicted",
    )
    ax.set_xlim(bottom, top)
    ax.set_ylim(bottom, top)
    ax.set_xlabel("predicted (along target samples)")
    ax.set_ylabel("measured (decoder runs)")
    ax.set_title("Every setting")
    ax.legend(loc="upper left")
    return save(fig, path)


def table1_figure(data: dict[str, Any], path: Path) -> Path:
    """Decoding-OPT vs Decoding-UNO per eps: (a) TV, (b) KL, (c) log-lik, WinRate."""
    fig, axes = subplots(
        1,
        4,
        width=17.0,
        height=4.4,
        title="Table 1 analog: Decoding-OPT vs Decoding-UNO — closeness to the target model",
    )
    table = data["table"]
    eps = [row["eps"] for row in table]
    panels = (
        ("tv_per_token", "(a) TV(A, q) per token", "exact along own responses"),
        ("kl_per_sequence", "(b) KL(decoder ‖ target)", "per response (nats)"),
        ("loglik_per_token", "(c) log-likelihood under q", "per token (nats; higher = peaked)"),
    )
    for ax, (field, title, ylabel) in zip(axes[0, :3], panels, strict=True):
        for k, (name, marker) in enumerate((("opt", "o"), ("uno", "s"))):
            mean = np.array([row[name][field]["mean"] for row in table])
            se = np.array([row[name][field]["se"] for row in table])
            ax.errorbar(
                eps,
                mean,
                yerr=1.96 * se,
                fmt=f"{marker}-",
                color=COLORS[k],
                capsize=3,
                label=f"Decoding-{name.upper()}",
            )
        log2_axis(ax, eps)
        ax.set_xlabel("over-acceptance threshold ε")
        ax.set_ylabel(ylabel)
        ax.set_title(title)
        ax.legend(loc="best")
    floor = [
        row["opt"]["tv_pq_per_token"]["mean"] - row["opt"]["expected_rejection_rate"]["mean"]
        for row in table
    ]
    axes[0, 0].plot(
        eps,
        floor,
        color="0.5",
        linewidth=6,
        alpha=0.35,
        zorder=0,
        label="Theorem 5 line: TV(p, q) − r (OPT's responses)",
    )
    axes[0, 0].legend(loc="best")
    ax = axes[0, 3]
    rates = [row["winrate"]["rate"] for row in table]
    low = [row["winrate"]["rate"] - row["winrate"]["ci95"][0] for row in table]
    high = [row["winrate"]["ci95"][1] - row["winrate"]["rate"] for row in table]
    ax.errorbar(
        eps,
        rates,
        yerr=[low, high],
        fmt="o-",
        color=COLORS[2],
        capsize=4,
        label="WinRate of OPT (Wilson 95%)",
    )
    ax.axhline(0.5, color="0.4", linestyle="--", linewidth=1.0, label="no preference")
    log2_axis(ax, eps)
    ax.set_ylim(0, 1.05)
    ax.set_xlabel("over-acceptance threshold ε")
    ax.set_ylabel("share of prompts where OPT is closer by (b)")
    ax.set_title("WinRate, OPT over UNO")
    ax.legend(loc="lower left")
    return save(fig, path)
