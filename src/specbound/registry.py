"""One registry of algorithm options: which options each ``--algorithm`` reads, their
defaults, CLI names and sweep keys — written once, read by the CLI
(:mod:`specbound.cli.options`), the sweep grid (:mod:`specbound.sweep.grid`) and
:func:`algorithm_from_options`.

The default ``gamma`` is :data:`specbound.algorithms.DEFAULT_GAMMA` (None: drafting to the
horizon, the paper's setting) in the specs, the chain commands and the LM commands alike.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from specbound.algorithms import (
    DEFAULT_GAMMA,
    TREE_CHILDREN,
    TREE_VERIFIERS,
    VERIFIERS,
    Algorithm,
    Autoregressive,
    BatchSpeculative,
    BlockSpeculative,
    OverAcceptance,
    Speculative,
    TreeSpeculative,
)
from specbound.errors import InvalidAlgorithmError

__all__ = [
    "ALGORITHM_NAMES",
    "OPTIONS",
    "REGISTRY",
    "AlgorithmEntry",
    "AlgorithmOption",
    "algorithm_from_options",
    "applies_to",
]


@dataclass(frozen=True)
class AlgorithmOption:
    """One algorithm option: its parameter ``name``, the ``cli`` flag as typed, the sweep
    grid's ``sweep_key``, its ``default`` and a one-line ``help``."""

    name: str
    cli: str
    sweep_key: str
    default: Any
    help: str


#: Every algorithm option, written once.
OPTIONS: dict[str, AlgorithmOption] = {
    option.name: option
    for option in (
        AlgorithmOption(
            "gamma",
            "--gamma",
            "gamma",
            DEFAULT_GAMMA,
            "Drafted tokens per round: an integer >= 1, or 'none' to draft to the horizon.",
        ),
        AlgorithmOption("num_drafts", "--num-drafts/-M", "M", 2, "Batch SD: drafts per round (M)."),
        AlgorithmOption(
            "verifier",
            "--verifier",
            "verifier",
            "recursive",
            f"Batch SD's round-start verifier ({' | '.join(VERIFIERS)}) or a tree's "
            f"({' | '.join(TREE_VERIFIERS)}); recursive: the paper's Algorithm 4; optimal: "
            "the best lossless coupling of the drafts; traversal (tree only, i.i.d. children): "
            "leaf-to-root sequence-level verification (Weng et al. 2025).",
        ),
        AlgorithmOption("eps", "--eps", "eps", 0.1, "opt/uno: over-acceptance threshold."),
        AlgorithmOption(
            "branching",
            "--tree",
            "tree",
            (2, 1),
            "tree: children per node at each depth, e.g. 4,2,1 (a chain 1,1,1 is SD).",
        ),
        AlgorithmOption(
            "children",
            "--children",
            "children",
            "iid",
            f"tree: how a node's children are drawn from the draft ({' | '.join(TREE_CHILDREN)}"
            "); distinct: without replacement (recursive verifier only), which pays where "
            "the draft keeps proposing a token the target refused.",
        ),
    )
}


@dataclass(frozen=True)
class AlgorithmEntry:
    """One ``--algorithm`` name: the options it ``reads`` (keys of :data:`OPTIONS`, in
    grid order) and how to ``build`` its spec from them."""

    name: str
    reads: tuple[str, ...]
    build: Callable[..., Algorithm]
    help: str
    #: The ``verifier`` values it accepts (empty: it reads none); a sweep grid crosses
    #: an algorithm with these only.
    verifiers: tuple[str, ...] = ()


#: The algorithms by CLI name, with the options each reads.
REGISTRY: dict[str, AlgorithmEntry] = {
    entry.name: entry
    for entry in (
        AlgorithmEntry("ar", (), lambda: Autoregressive(), "autoregressive decoding"),
        AlgorithmEntry("sd", ("gamma",), lambda gamma: Speculative(gamma=gamma), "SD"),
        AlgorithmEntry(
            "block",
            ("gamma",),
            lambda gamma: BlockSpeculative(gamma=gamma),
            "block verification",
        ),
        AlgorithmEntry(
            "batch",
            ("gamma", "num_drafts", "verifier"),
            lambda gamma, num_drafts, verifier: BatchSpeculative(
                num_drafts=num_drafts, gamma=gamma, verifier=verifier
            ),
            "batch SD",
            VERIFIERS,
        ),
        AlgorithmEntry(
            "opt",
            ("gamma", "eps"),
            lambda gamma, eps: OverAcceptance(eps=eps, resample="opt", gamma=gamma),
            "Decoding-OPT (Section 4)",
        ),
        AlgorithmEntry(
            "uno",
            ("gamma", "eps"),
            lambda gamma, eps: OverAcceptance(eps=eps, resample="uno", gamma=gamma),
            "Decoding-UNO (Section 4)",
        ),
        AlgorithmEntry(
            "tree",
            ("branching", "verifier", "children"),
            lambda branching, verifier, children: TreeSpeculative(
                branching=branching, verifier=verifier, replacement=_iid(children)
            ),
            "token tree",
            TREE_VERIFIERS,
        ),
    )
}


def _iid(children: str) -> bool:
    """``--children``: True for i.i.d. children, False for distinct ones."""
    if children not in TREE_CHILDREN:
        raise InvalidAlgorithmError(
            f"children must be one of {', '.join(TREE_CHILDREN)}, got {children!r}"
        )
    return children == "iid"


#: Names accepted by the CLI's ``--algorithm``.
ALGORITHM_NAMES = tuple(REGISTRY)


def algorithm_from_options(name: str, **options: Any) -> Algorithm:
    """Build a spec from CLI-style options (``ar|sd|block|batch|opt|uno``); options the
    algorithm does not read are ignored, missing ones take :data:`OPTIONS`' defaults."""
    entry = REGISTRY.get(name)
    if entry is None:
        raise InvalidAlgorithmError(
            f"algorithm must be one of {', '.join(ALGORITHM_NAMES)}, got {name!r}"
        )
    unknown = sorted(set(options) - set(OPTIONS))
    if unknown:
        raise InvalidAlgorithmError(f"unknown algorithm option(s): {', '.join(unknown)}")
    return entry.build(**{key: options.get(key, OPTIONS[key].default) for key in entry.reads})


def applies_to(option: str) -> list[str]:
    """The ``--algorithm`` names that read ``option`` (a key of :data:`OPTIONS`)."""
    return [name for name, entry in REGISTRY.items() if option in entry.reads]
