"""``OUT/REPORT.md``: a summary table of every claim, then one section per experiment.

Each section has its figures (relative paths, so the report renders on GitHub), the
experiment's own explanation (``Experiment.describe``), its claims table and the command
that regenerates it.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path

from scipy import stats

from specbound.experiments.base import Claim
from specbound.experiments.checks import CLAIM_LEVEL, EXACT_TOLERANCE
from specbound.experiments.outcome import Outcome
from specbound.io import environment_info, write_text_atomic

__all__ = ["claims_table", "command", "write_report"]

_HEADER = "| Claim | Theory | Measured | 95% CI | Check | Holds |"
_RULE = "|---|---:|---:|---:|---|:---:|"


def _cell(text: str) -> str:
    return text.replace("|", r"\|").replace("\n", " ")


def _num(value: float | None) -> str:
    if value is None:
        return "—"
    if value != 0 and (abs(value) < 1e-3 or abs(value) >= 1e5):
        return f"{value:.3e}"
    return f"{value:.5g}"


def _ci(ci: tuple[float, float] | None) -> str:
    return "—" if ci is None else f"[{_num(ci[0])}, {_num(ci[1])}]"


def _row(claim: Claim, prefix: str = "") -> str:
    cells = [
        prefix + _cell(claim.statement),
        _num(claim.theory),
        _num(claim.measured),
        _ci(claim.ci95),
        _cell(claim.check),
        "✓" if claim.holds else "✗ **fails**",
    ]
    return "| " + " | ".join(cells) + " |"


def claims_table(claims: Sequence[Claim], prefixes: Sequence[str] | None = None) -> str:
    """The Markdown table of ``claims`` (one row each)."""
    prefixes = prefixes or [""] * len(claims)
    rows = [_row(claim, prefix) for claim, prefix in zip(claims, prefixes, strict=True)]
    return "\n".join([_HEADER, _RULE, *rows])


def command(name: str, seed: int, quick: bool, pair: str | None = None) -> str:
    """The command line that regenerates one experiment's data and figures (``pair``: the
    named model pair of a ``--pair`` run)."""
    on = f" --pair {pair}" if pair is not None else ""
    return f"specbound reproduce{on} --only {name} --seed {seed}" + (" --quick" if quick else "")


def _how_to_read() -> str:
    z = f"{stats.norm.ppf(0.5 + CLAIM_LEVEL / 2):.2f}"
    return (
        "How a claim is judged. *Exact* claims compare two exact computations (or an "
        f"identity) and hold when the gap is at most {EXACT_TOLERANCE:.0e} (rounding only). "
        "*Statistical* claims compare an exact value with a Monte Carlo mean over independent "
        f"runs: they hold when the exact value lies in the **{CLAIM_LEVEL:.1%} interval** of "
        f"the mean (|z| < {z}, z = (mean − exact) / standard error); the table shows the 95% "
        "interval beside it. Where one claim covers many points of a curve, the points are "
        "tested together: Σ z² against a χ² law with one degree of freedom per point, "
        f"holding when p > {1 - CLAIM_LEVEL:.2g}; the table then shows the point with the "
        "largest |z|."
    )


def _versions() -> str:
    info = environment_info()
    names = ("specbound", "python", "numpy", "scipy")
    return ", ".join(f"{name} {info[name]}" for name in names if info.get(name))


def _section(outcome: Outcome, out_dir: Path, quick: bool, pair: str | None) -> str:
    experiment, record = outcome.experiment, outcome.record
    images = [
        f"![{experiment.title}]({Path(os.path.relpath(fig, out_dir)).as_posix()})"
        for fig in outcome.figures
    ]
    timing = {
        "computed": f"computed in {outcome.seconds:.1f} s",
        "reused": "reused from an earlier run with the same config",
        "report-only": "from an earlier run (not selected this time)",
    }[outcome.status]
    data_file = f"data/{experiment.name}.json"
    return "\n\n".join(
        [
            f"## {experiment.title}",
            *images,
            experiment.describe(record).strip(),
            claims_table(record.claims),
            f"Regenerate: `{command(experiment.name, record.seed, quick, pair)}` — data in "
            f"[`{data_file}`]({data_file}) (config hash `{record.config_hash}`, {timing}).",
        ]
    )


def _title(pair: str | None) -> list[str]:
    """The report's title and first paragraph: the paper's figures, or (``pair``) its
    language-model sections on that named model pair."""
    paper = (
        "Yin, Chen, Huang and Wang, *A Theoretical Perspective for Speculative Decoding "
        "Algorithm* (NeurIPS 2024)"
    )
    notation = "Notation: the paper's `p` is the **draft**, `q` the **target**."
    if pair is None:
        return [
            "# specbound: the paper's figures, regenerated",
            f"{paper}, checked numerically: every theorem below is computed exactly on "
            "Markov chains and set beside a Monte Carlo measurement of the same algorithm. "
            + notation,
        ]
    return [
        f"# specbound on the `{pair}` model pair: the language-model sections",
        f"{paper}, checked on the `{pair}` pair (`specbound.lm.load_pair({pair!r})`): the "
        "theory predicted along the target's own samples beside measured decoding, the "
        "wall clock, and the Table 1 analog. The Markov-chain sections are in the main "
        f"report (`specbound reproduce` without `--pair`). {notation}",
    ]


def write_report(
    out_dir: Path,
    outcomes: Sequence[Outcome],
    *,
    seed: int,
    quick: bool,
    pair: str | None = None,
) -> Path:
    """Write ``out_dir/REPORT.md`` atomically and return its path (``pair``: the named
    model pair of a ``reproduce --pair`` run, named in the title and the commands)."""
    claims = [claim for o in outcomes for claim in o.record.claims]
    prefixes = [f"**{o.name}** " for o in outcomes for _ in o.record.claims]
    held = sum(claim.holds for claim in claims)
    verdict = (
        "every claim holds" if held == len(claims) else f"**{len(claims) - held} claim(s) fail**"
    )
    mode = " --quick" if quick else ""
    on = f" --pair {pair}" if pair is not None else ""
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    head = [
        *_title(pair),
        f"Generated by `specbound reproduce{on} --seed {seed}{mode}` on {stamp}"
        + (" (quick mode: small run counts)" if quick else "")
        + f" with {_versions()}; each data file records its own versions.",
        f"## Summary: {held} of {len(claims)} claims hold — {verdict}",
        claims_table(claims, prefixes),
        _how_to_read(),
    ]
    sections = [_section(o, out_dir, quick, pair) for o in outcomes]
    text = "\n\n".join(head + sections) + "\n"
    return write_text_atomic(Path(out_dir) / "REPORT.md", text)
