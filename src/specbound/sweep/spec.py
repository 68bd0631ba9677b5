"""Sweep specs: a TOML file parsed into frozen dataclasses, every mistake named by key and line.

A spec names one grid (``docs/sweep.md`` lists every key)::

    [sweep]                 # name, kind = "chains" | "lm", seed
    [chains]                # compute, n_runs, algorithms, gamma, M, eps, verifier, files
    [[chains.random]]       # generator parameters: T, S, mix, concentration, zeros, seeds
    [lm]                    # compute, pairs, prompts, responses, max_new_tokens, ...

``tomllib`` reports no line numbers for values, so :class:`SpecText` finds the line of a
key by scanning the file's text for its table header and its ``key =`` line. Every bad
input raises :class:`~specbound.errors.SpecboundError` with ``FILE, line N: KEY: ...``.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from specbound.algorithms import TREE_VERIFIERS
from specbound.errors import SpecboundError
from specbound.registry import ALGORITHM_NAMES, OPTIONS

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

T = TypeVar("T")


class SweepSpecError(SpecboundError):
    """A sweep spec that cannot be read, with the key and the line at fault."""


_HEADER = re.compile(r"^\s*(\[\[?)\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")
_KEY = re.compile(r"^\s*([A-Za-z0-9_\-.\"' ]+?)\s*=")


class SpecText:
    """The text of a spec file, for finding the line of a key (1-based)."""

    def __init__(self, text: str, source: str) -> None:
        self.source = source
        self.lines: dict[tuple[str | int, ...], int] = {}
        current: tuple[str | int, ...] = ()
        counts: dict[tuple[str | int, ...], int] = {}
        for number, line in enumerate(text.splitlines(), start=1):
            header = _HEADER.match(line)
            if header:
                base = tuple(part.strip().strip("\"'") for part in header[2].split("."))
                if header[1] == "[[":
                    index = counts.get(base, 0)
                    counts[base] = index + 1
                    current = (*base, index)
                else:
                    current = base
                self.lines.setdefault(current, number)
                continue
            key = _KEY.match(line)
            if key:
                parts = tuple(p.strip().strip("\"'") for p in key[1].split("."))
                self.lines.setdefault((*current, *parts), number)

    def line(self, path: Sequence[str | int]) -> int | None:
        """The line of ``path`` (e.g. ``("chains", "random", 0, "mix")``), or of the
        nearest table above it; None when nothing matches."""
        keys = tuple(path)
        while keys:
            if keys in self.lines:
                return self.lines[keys]
            keys = keys[:-1]
        return None

    def error(self, path: Sequence[str | int], message: str) -> SweepSpecError:
        """A :class:`SweepSpecError` naming the file, the line and the key."""
        dotted = ".".join(f"[{p}]" if isinstance(p, int) else p for p in path).replace(".[", "[")
        line = self.line(path)
        where = f"{self.source}, line {line}" if line is not None else self.source
        return SweepSpecError(f"{where}: {dotted}: {message}")


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


@dataclass(frozen=True)
class SweepSpec:
    """A parsed spec: its name, kind, base seed and one grid."""

    name: str
    kind: str
    seed: int
    grid: ChainGrid | LMGrid
    source: str = "<spec>"


# ---------------------------------------------------------------------------- values


class _Table:
    """One TOML table with its path, for typed reads that name the key on failure."""

    def __init__(self, raw: Any, path: tuple[str | int, ...], text: SpecText) -> None:
        if not isinstance(raw, dict):
            raise text.error(path, f"must be a table, got {type(raw).__name__}")
        self.raw: dict[str, Any] = raw
        self.path = path
        self.text = text

    def check_keys(self, known: Sequence[str]) -> None:
        for key in self.raw:
            if key not in known:
                raise self.text.error(
                    (*self.path, key), f"unknown key (expected one of: {', '.join(known)})"
                )

    def fail(self, key: str, message: str) -> SweepSpecError:
        return self.text.error((*self.path, key), message)

    def get(self, key: str, convert: Callable[[Any], T], default: T | None = None) -> T:
        if key not in self.raw:
            if default is None:
                raise self.fail(key, "missing (required)")
            return default
        try:
            return convert(self.raw[key])
        except (TypeError, ValueError) as exc:
            raise self.fail(key, str(exc)) from None

    def get_list(
        self, key: str, convert: Callable[[Any], T], default: Sequence[T]
    ) -> tuple[T, ...]:
        """A list of values (a single value counts as a list of one); never empty."""
        raw = self.raw.get(key, list(default))
        values = raw if isinstance(raw, list) else [raw]
        if not values:
            raise self.fail(key, "is empty: the grid would have no cells")
        out = []
        for value in values:
            try:
                out.append(convert(value))
            except (TypeError, ValueError) as exc:
                raise self.fail(key, str(exc)) from None
        return tuple(dict.fromkeys(out))  # distinct, in order


def _int(low: int) -> Callable[[Any], int]:
    def convert(value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise ValueError(f"must be an integer >= {low}, got {value!r}")
        return int(value)

    return convert


def _float(low: float, high: float | None = None, open_low: bool = False) -> Callable[[Any], float]:
    def convert(value: Any) -> float:
        bad = isinstance(value, bool) or not isinstance(value, (int, float))
        number = float(value) if not bad else 0.0
        if bad or number < low or (open_low and number <= low) or (high and number > high):
            bound = f"> {low:g}" if open_low else f">= {low:g}"
            bound += "" if high is None else f" and <= {high:g}"
            raise ValueError(f"must be a number {bound}, got {value!r}")
        return number

    return convert


def _choice(options: Sequence[str]) -> Callable[[Any], str]:
    def convert(value: Any) -> str:
        if value not in options:
            raise ValueError(f"must be one of {', '.join(options)}, got {value!r}")
        return str(value)

    return convert


def _gamma(value: Any) -> int | None:
    if isinstance(value, str) and value.lower() in ("none", "horizon"):
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"must be an integer >= 1 or 'none' (draft to the horizon), got {value!r}")
    return int(value)


def _branching(value: Any) -> tuple[int, ...]:
    """A tree shape: a list of integers >= 1 (``[4, 2, 1]``) or the CLI's ``"4,2,1"``."""
    parts = value.split(",") if isinstance(value, str) else value
    if not isinstance(parts, (list, tuple)) or not parts:
        raise ValueError(f"must be a list of children per depth such as [4, 2, 1], got {value!r}")
    try:
        shape = tuple(int(part) for part in parts)
    except (TypeError, ValueError):
        shape = ()
    if not shape or any(isinstance(p, bool) or b < 1 for p, b in zip(parts, shape, strict=False)):
        raise ValueError(f"must be integers >= 1 per depth such as [4, 2, 1], got {value!r}")
    return shape


def _text(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"must be a non-empty string, got {value!r}")
    return value


# ---------------------------------------------------------------------------- tables

_SETTING_KEYS = ("algorithms", "gamma", "M", "eps", "verifier", "tree")
_CHAIN_KEYS = ("compute", "n_runs", *_SETTING_KEYS, "random", "files")
_RANDOM_KEYS = ("T", "S", "mix", "concentration", "zeros", "seeds")
_LM_KEYS: tuple[str, ...] = ("compute", "pairs", "prompts", "prompts_file", "responses")
_LM_KEYS += ("max_new_tokens", "temperature", *_SETTING_KEYS)


def _settings(table: _Table, algorithms: Sequence[str]) -> dict[str, tuple[Any, ...]]:
    return {
        "algorithms": table.get_list("algorithms", _choice(ALGORITHM_NAMES), algorithms),
        "gamma": table.get_list("gamma", _gamma, ["none"]),
        "M": table.get_list("M", _int(1), [2]),
        "eps": table.get_list("eps", _float(0.0), [0.1]),
        "verifier": table.get_list("verifier", _choice(TREE_VERIFIERS), ["recursive"]),
        "tree": table.get_list("tree", _branching, [OPTIONS["branching"].default]),
    }


def _relative(path: str, base: Path) -> str:
    file = Path(path)
    return str(file if file.is_absolute() else base / file)


def _chain_grid(table: _Table, base: Path) -> ChainGrid:
    table.check_keys(_CHAIN_KEYS)
    raw_random = table.raw.get("random", [])
    if isinstance(raw_random, dict):
        raw_random = [raw_random]
    if not isinstance(raw_random, list):
        raise table.fail("random", "must be [[chains.random]] tables")
    random = []
    for i, entry in enumerate(raw_random):
        sub = _Table(entry, (*table.path, "random", i), table.text)
        sub.check_keys(_RANDOM_KEYS)
        random.append(
            RandomChains(
                T=sub.get_list("T", _int(1), [20]),
                S=sub.get_list("S", _int(1), [4]),
                mix=sub.get_list("mix", _float(0.0, 1.0), [0.5]),
                concentration=sub.get_list("concentration", _float(0.0, open_low=True), [1.0]),
                zeros=sub.get_list("zeros", _float(0.0, 1.0), [0.0]),
                seeds=sub.get_list("seeds", _int(0), [0]),
            )
        )
    files = table.get_list("files", _text, [""]) if "files" in table.raw else ()
    files = tuple(_relative(f, base) for f in files)
    missing = [f for f in files if not Path(f).is_file()]
    if missing:
        raise table.fail("files", f"chain file {missing[0]!r} does not exist")
    if not random and not files:
        raise table.fail("random", "no chains: give [[chains.random]] tables or chains.files")
    return ChainGrid(
        compute=table.get("compute", _choice(CHAIN_COMPUTE), "theory"),
        n_runs=table.get("n_runs", _int(1), 1000),
        random=tuple(random),
        files=files,
        **_settings(table, ["sd"]),
    )


def _pairs(table: _Table) -> tuple[PairEntry, ...]:
    raw = table.raw.get("pairs", ["embedded"])
    values = raw if isinstance(raw, list) else [raw]
    if not values:
        raise table.fail("pairs", "is empty: the grid would have no cells")
    pairs = []
    for i, value in enumerate(values):
        if value == "embedded":
            pairs.append(PairEntry())
            continue
        sub = _Table(value, (*table.path, "pairs", i), table.text)
        sub.check_keys(("target", "draft", "tokenizer"))
        tokenizer = sub.get("tokenizer", _text, "") or None
        pairs.append(PairEntry(sub.get("target", _text), sub.get("draft", _text), tokenizer))
    return tuple(dict.fromkeys(pairs))


def _prompts(table: _Table, base: Path) -> tuple[str, ...]:
    from specbound.lm.prompts import load_prompts

    if "prompts_file" in table.raw and "prompts" in table.raw:
        raise table.fail("prompts_file", "give prompts or prompts_file, not both")
    path = table.get("prompts_file", _text, "") or None
    raw = table.raw.get("prompts", 4)
    if isinstance(raw, list):
        return table.get_list("prompts", _text, [])
    limit = table.get("prompts", _int(1), 4)
    try:
        return tuple(load_prompts(_relative(path, base) if path else None, limit=limit))
    except SpecboundError as exc:
        raise table.fail("prompts_file" if path else "prompts", str(exc)) from None


def _lm_grid(table: _Table, base: Path) -> LMGrid:
    table.check_keys(_LM_KEYS)
    compute = table.get("compute", _choice(LM_COMPUTE), "generate")
    settings = _settings(table, ["opt", "uno"] if compute == "table1" else ["sd"])
    if "tree" in settings["algorithms"]:
        raise table.fail("algorithms", "'tree' runs on chains only for now ([chains] sweeps)")
    return LMGrid(
        compute=compute,
        pairs=_pairs(table),
        prompts=_prompts(table, base),
        responses=table.get("responses", _int(1), 2),
        max_new_tokens=table.get("max_new_tokens", _int(1), 16),
        temperature=table.get_list("temperature", _float(0.0), [1.0]),
        **settings,
    )


def parse_spec(text: str, source: str = "<spec>", base: Path | None = None) -> SweepSpec:
    """Parse the TOML ``text`` of a spec; ``base``: the folder relative paths start from."""
    try:
        raw: Mapping[str, Any] = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SweepSpecError(f"{source}: not valid TOML ({exc})") from None
    lines = SpecText(text, source)
    root = _Table(dict(raw), (), lines)
    root.check_keys(("sweep", *KINDS))
    head = _Table(raw.get("sweep", {}), ("sweep",), lines)
    head.check_keys(("name", "kind", "seed"))
    kind = head.get("kind", _choice(KINDS), "chains")
    if kind not in raw:
        raise lines.error(("sweep", "kind"), f"kind is {kind!r} but the spec has no [{kind}] table")
    other = next((k for k in KINDS if k != kind and k in raw), None)
    if other is not None:
        raise lines.error((other,), f"a {kind!r} sweep takes no [{other}] table")
    folder = base if base is not None else Path.cwd()
    table = _Table(raw[kind], (kind,), lines)
    grid = _chain_grid(table, folder) if kind == "chains" else _lm_grid(table, folder)
    return SweepSpec(
        name=head.get("name", _text, Path(source).stem or "sweep"),
        kind=kind,
        seed=head.get("seed", _int(0), 0),
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
