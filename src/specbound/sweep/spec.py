"""Sweep specs: a TOML file parsed into frozen dataclasses, every mistake named by key and line.

A spec names one grid (``docs/sweep.md`` lists every key)::

    [sweep]                 # name, kind = "chains" | "lm", seed
    [chains]                # compute, n_runs, algorithms, gamma, M, eps, verifier, files
    [[chains.random]]       # generator parameters: T, S, mix, concentration, zeros, seeds
    [lm]                    # compute, pairs, prompts, responses, max_new_tokens, ...

Reading the TOML (the line of a key, typed reads) lives in
:mod:`specbound.sweep.spec_reading`. Every bad input raises
:class:`~specbound.errors.SpecboundError` with ``FILE, line N: KEY: ...``.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from specbound.algorithms import TREE_CHILDREN, TREE_VERIFIERS
from specbound.errors import SpecboundError
from specbound.registry import ALGORITHM_NAMES, OPTIONS
from specbound.sweep.spec_reading import (
    SpecTable,
    SpecText,
    SweepSpecError,
    as_branching,
    as_choice,
    as_float,
    as_gamma,
    as_int,
    as_text,
)

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

__all__ = [
    "CHAIN_COMPUTE",
    "LM_COMPUTE",
    "ChainGrid",
    "LMGrid",
    "PairEntry",
    "RandomChains",
    "SpecText",
    "SweepSpec",
    "SweepSpecError",
    "load_spec",
    "parse_spec",
]

#: What a chain cell computes: the exact theory, a simulation, or both side by side.
CHAIN_COMPUTE = ("theory", "simulate", "both")
#: What an LM cell computes: generate statistics, profile rows, or Table 1's OPT vs UNO.
LM_COMPUTE = ("generate", "profile", "table1")
KINDS = ("chains", "lm")


@dataclass(frozen=True)
class RandomChains:
    """Chain pairs drawn by :func:`specbound.chain.random_pair`, one per (T, S, mix,
    concentration, zeros, seed) combination."""

    T: tuple[int, ...]
    S: tuple[int, ...]
    mix: tuple[float, ...]
    concentration: tuple[float, ...]
    zeros: tuple[float, ...]
    seeds: tuple[int, ...]


@dataclass(frozen=True)
class ChainGrid:
    """The ``[chains]`` table: chains x algorithms x gamma x M x eps (x verifier)."""

    compute: str
    n_runs: int
    algorithms: tuple[str, ...]
    gamma: tuple[int | None, ...]
    M: tuple[int, ...]
    eps: tuple[float, ...]
    verifier: tuple[str, ...]
    tree: tuple[tuple[int, ...], ...]
    random: tuple[RandomChains, ...]
    files: tuple[str, ...]
    children: tuple[str, ...] = ("iid",)


@dataclass(frozen=True)
class PairEntry:
    """A model pair: ``embedded`` (both None) or a target and a draft (paths or hub ids)."""

    target: str | None = None
    draft: str | None = None
    tokenizer: str | None = None

    @property
    def name(self) -> str:
        return "embedded" if self.target is None else f"{self.target}|{self.draft}"


@dataclass(frozen=True)
class LMGrid:
    """The ``[lm]`` table: pairs x prompts x settings."""

    compute: str
    pairs: tuple[PairEntry, ...]
    prompts: tuple[str, ...]
    responses: int
    max_new_tokens: int
    temperature: tuple[float, ...]
    algorithms: tuple[str, ...]
    gamma: tuple[int | None, ...]
    M: tuple[int, ...]
    eps: tuple[float, ...]
    verifier: tuple[str, ...]
    tree: tuple[tuple[int, ...], ...]
    drafter: tuple[str, ...] = ("model",)
    children: tuple[str, ...] = ("iid",)


@dataclass(frozen=True)
class SweepSpec:
    """A parsed spec: its name, kind, base seed and one grid."""

    name: str
    kind: str
    seed: int
    grid: ChainGrid | LMGrid
    source: str = "<spec>"


# ---------------------------------------------------------------------------- values


# ---------------------------------------------------------------------------- tables

_SETTING_KEYS = ("algorithms", "gamma", "M", "eps", "verifier", "tree", "children")
_CHAIN_KEYS = ("compute", "n_runs", *_SETTING_KEYS, "random", "files")
_RANDOM_KEYS = ("T", "S", "mix", "concentration", "zeros", "seeds")
_LM_KEYS: tuple[str, ...] = ("compute", "pairs", "prompts", "prompts_file", "responses")
_LM_KEYS += ("max_new_tokens", "temperature", *_SETTING_KEYS, "drafter")
#: Who drafts in an LM cell (``specbound.lm.DRAFTER_NAMES``, spelled here so that parsing
#: a spec imports no torch).
_DRAFTERS = ("model", "ngram", "suffix", "ngram+model", "suffix+model")


def _settings(table: SpecTable, algorithms: Sequence[str]) -> dict[str, tuple[Any, ...]]:
    return {
        "algorithms": table.get_list("algorithms", as_choice(ALGORITHM_NAMES), algorithms),
        "gamma": table.get_list("gamma", as_gamma, ["none"]),
        "M": table.get_list("M", as_int(1), [2]),
        "eps": table.get_list("eps", as_float(0.0), [0.1]),
        "verifier": table.get_list("verifier", as_choice(TREE_VERIFIERS), ["recursive"]),
        "tree": table.get_list("tree", as_branching, [OPTIONS["branching"].default]),
        "children": table.get_list(
            "children", as_choice(TREE_CHILDREN), [OPTIONS["children"].default]
        ),
    }


def _relative(path: str, base: Path) -> str:
    file = Path(path)
    return str(file if file.is_absolute() else base / file)


def _chain_grid(table: SpecTable, base: Path) -> ChainGrid:
    if "drafter" in table.raw:
        raise table.fail(
            "drafter",
            "drafters (ngram, suffix, ...) run on model pairs: give drafter in an [lm] sweep "
            "(chain cells draft from the chain's draft rows)",
        )
    table.check_keys(_CHAIN_KEYS)
    raw_random = table.raw.get("random", [])
    if isinstance(raw_random, dict):
        raw_random = [raw_random]
    if not isinstance(raw_random, list):
        raise table.fail("random", "must be [[chains.random]] tables")
    random = []
    for i, entry in enumerate(raw_random):
        sub = SpecTable(entry, (*table.path, "random", i), table.text)
        sub.check_keys(_RANDOM_KEYS)
        random.append(
            RandomChains(
                T=sub.get_list("T", as_int(1), [20]),
                S=sub.get_list("S", as_int(1), [4]),
                mix=sub.get_list("mix", as_float(0.0, 1.0), [0.5]),
                concentration=sub.get_list("concentration", as_float(0.0, open_low=True), [1.0]),
                zeros=sub.get_list("zeros", as_float(0.0, 1.0), [0.0]),
                seeds=sub.get_list("seeds", as_int(0), [0]),
            )
        )
    files = table.get_list("files", as_text, [""]) if "files" in table.raw else ()
    files = tuple(_relative(f, base) for f in files)
    missing = [f for f in files if not Path(f).is_file()]
    if missing:
        raise table.fail("files", f"chain file {missing[0]!r} does not exist")
    if not random and not files:
        raise table.fail("random", "no chains: give [[chains.random]] tables or chains.files")
    return ChainGrid(
        compute=table.get("compute", as_choice(CHAIN_COMPUTE), "theory"),
        n_runs=table.get("n_runs", as_int(1), 1000),
        random=tuple(random),
        files=files,
        **_settings(table, ["sd"]),
    )


def _pairs(table: SpecTable) -> tuple[PairEntry, ...]:
    raw = table.raw.get("pairs", ["embedded"])
    values = raw if isinstance(raw, list) else [raw]
    if not values:
        raise table.fail("pairs", "is empty: the grid would have no cells")
    pairs = []
    for i, value in enumerate(values):
        if value == "embedded":
            pairs.append(PairEntry())
            continue
        sub = SpecTable(value, (*table.path, "pairs", i), table.text)
        sub.check_keys(("target", "draft", "tokenizer"))
        tokenizer = sub.get("tokenizer", as_text, "") or None
        pairs.append(PairEntry(sub.get("target", as_text), sub.get("draft", as_text), tokenizer))
    return tuple(dict.fromkeys(pairs))


def _prompts(table: SpecTable, base: Path) -> tuple[str, ...]:
    from specbound.lm.prompts import load_prompts

    if "prompts_file" in table.raw and "prompts" in table.raw:
        raise table.fail("prompts_file", "give prompts or prompts_file, not both")
    path = table.get("prompts_file", as_text, "") or None
    raw = table.raw.get("prompts", 4)
    if isinstance(raw, list):
        return table.get_list("prompts", as_text, [])
    limit = table.get("prompts", as_int(1), 4)
    try:
        return tuple(load_prompts(_relative(path, base) if path else None, limit=limit))
    except SpecboundError as exc:
        raise table.fail("prompts_file" if path else "prompts", str(exc)) from None


def _lm_grid(table: SpecTable, base: Path) -> LMGrid:
    table.check_keys(_LM_KEYS)
    compute = table.get("compute", as_choice(LM_COMPUTE), "generate")
    settings = _settings(table, ["opt", "uno"] if compute == "table1" else ["sd"])
    if "tree" in settings["algorithms"] and compute == "table1":
        raise table.fail("algorithms", "compute = 'table1' compares OPT and UNO: no 'tree'")
    drafter = _drafters(table, compute)
    return LMGrid(
        compute=compute,
        pairs=_pairs(table),
        prompts=_prompts(table, base),
        responses=table.get("responses", as_int(1), 2),
        max_new_tokens=table.get("max_new_tokens", as_int(1), 16),
        temperature=table.get_list("temperature", as_float(0.0), [1.0]),
        drafter=drafter,
        **settings,
    )


def _drafters(table: SpecTable, compute: str) -> tuple[str, ...]:
    """The ``drafter`` list of an [lm] table: generate cells cross it with the algorithm
    settings that draft one sequence (not ar, not batch); a profile cell profiles every
    one (all but ``model`` as SD at the grid's finite gammas); table1 takes none."""
    drafter = table.get_list("drafter", as_choice(_DRAFTERS), ["model"])
    if compute == "table1" and drafter != ("model",):
        raise table.fail("drafter", "table1 cells compare OPT and UNO with the draft model")
    return drafter


def parse_spec(text: str, source: str = "<spec>", base: Path | None = None) -> SweepSpec:
    """Parse the TOML ``text`` of a spec; ``base``: the folder relative paths start from."""
    try:
        raw: Mapping[str, Any] = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SweepSpecError(f"{source}: not valid TOML ({exc})") from None
    lines = SpecText(text, source)
    root = SpecTable(dict(raw), (), lines)
    root.check_keys(("sweep", *KINDS))
    head = SpecTable(raw.get("sweep", {}), ("sweep",), lines)
    head.check_keys(("name", "kind", "seed"))
    kind = head.get("kind", as_choice(KINDS), "chains")
    if kind not in raw:
        raise lines.error(("sweep", "kind"), f"kind is {kind!r} but the spec has no [{kind}] table")
    other = next((k for k in KINDS if k != kind and k in raw), None)
    if other is not None:
        raise lines.error((other,), f"a {kind!r} sweep takes no [{other}] table")
    folder = base if base is not None else Path.cwd()
    table = SpecTable(raw[kind], (kind,), lines)
    grid = _chain_grid(table, folder) if kind == "chains" else _lm_grid(table, folder)
    return SweepSpec(
        name=head.get("name", as_text, Path(source).stem or "sweep"),
        kind=kind,
        seed=head.get("seed", as_int(0), 0),
        grid=grid,
        source=source,
    )


def load_spec(path: str | Path) -> SweepSpec:
    """Read and parse the spec file at ``path`` (relative chain files: from its folder)."""
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SweepSpecError(f"{path}: cannot read the sweep spec ({exc})") from None
    return parse_spec(text, str(path), file.resolve().parent)
