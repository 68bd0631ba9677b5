"""The contenders of ``specbound bench lm`` (:mod:`specbound.bench.lm` says what each is)
and the choice of which run: every one by default, or a subset (``--contenders``,
``--drafters-only``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from specbound.algorithms import (
    Algorithm,
    Autoregressive,
    BatchSpeculative,
    BlockSpeculative,
    OverAcceptance,
    Speculative,
)
from specbound.bench.hf_baseline import HF_DEFAULT_ASSISTANT_TOKENS
from specbound.bench.lm_drafters import DRAFTER_CONTENDERS, HF_PROMPT_LOOKUP
from specbound.errors import InvalidInputError
from specbound.profiling.report import Prediction

__all__ = [
    "BASELINE",
    "RECOMMENDED",
    "Contender",
    "check_only",
    "contender_names",
    "contenders",
    "drafter_contenders",
    "drafters_only",
    "recommended_contender",
    "select",
]

#: The contender every run keeps: the ratios' baseline.
BASELINE = "specbound_ar"
#: The contender that runs profile's recommendation when no other does.
RECOMMENDED = "specbound_recommended"


@dataclass(frozen=True)
class Contender:
    """One way of generating: a specbound ``algorithm`` drafted by ``drafter`` (a name
    of :data:`~specbound.lm.DRAFTER_NAMES`), or HF ``generate`` (``hf``: plain,
    ``assistant``, or ``prompt_lookup`` candidate tokens per round)."""

    name: str
    description: str
    algorithm: Algorithm | None = None
    assistant: bool = False
    num_assistant_tokens: int | None = None
    drafter: str = "model"
    prompt_lookup: int | None = None

    @property
    def hf(self) -> bool:
        return self.algorithm is None


def contenders(gamma: int, num_drafts: Sequence[int], eps: float, hf: bool) -> list[Contender]:
    """The contenders of a run, specbound and HF alternating where they pair up."""
    k20 = HF_DEFAULT_ASSISTANT_TOKENS
    items = [
        Contender("specbound_ar", "specbound autoregressive", Autoregressive()),
        Contender("hf_ar", "HF generate, no assistant"),
        Contender("specbound_sd", f"specbound SD gamma={gamma}", Speculative(gamma=gamma)),
        Contender(
            "hf_assisted",
            f"HF assisted generation, {gamma} assistant tokens (constant)",
            assistant=True,
            num_assistant_tokens=gamma,
        ),
        Contender(
            "specbound_block",
            f"specbound block verification gamma={gamma}",
            BlockSpeculative(gamma=gamma),
        ),
        Contender("specbound_sd_k20", f"specbound SD gamma={k20}", Speculative(gamma=k20)),
        Contender(
            "hf_assisted_default",
            f"HF assisted generation, defaults ({k20} tokens, heuristic schedule)",
            assistant=True,
        ),
    ]
    items += [
        Contender(
            f"specbound_batch_m{m}",
            f"specbound batch SD M={m} gamma={gamma}",
            BatchSpeculative(num_drafts=m, gamma=gamma),
        )
        for m in num_drafts
    ]
    items.append(
        Contender(
            f"specbound_opt_eps{eps:g}",
            f"specbound over-acceptance (OPT) eps={eps:g} gamma={gamma}",
            OverAcceptance(eps=eps, resample="opt", gamma=gamma),
        )
    )
    return [c for c in items if hf or not c.hf]


def drafter_contenders(gammas: Mapping[str, int], ngram_max: int, hf: bool) -> list[Contender]:
    """SD with each model-free (or model-free-first) drafter at its gamma
    (``gammas``: drafter name -> gamma), and HF prompt lookup beside prompt lookup."""
    items = []
    for drafter, gamma in gammas.items():
        items.append(
            Contender(
                DRAFTER_CONTENDERS[drafter],
                f"specbound SD gamma={gamma} drafter={drafter}",
                Speculative(gamma=gamma),
                drafter=drafter,
            )
        )
        if drafter == "ngram" and hf:
            items.append(
                Contender(
                    HF_PROMPT_LOOKUP,
                    f"HF prompt lookup, {gamma} candidate tokens, n-grams up to {ngram_max}",
                    prompt_lookup=gamma,
                )
            )
    return items


def contender_names(
    num_drafts: Sequence[int], eps: float, drafters: Sequence[str], hf: bool
) -> list[str]:
    """The names of every contender a run with these settings can have."""
    items = contenders(1, num_drafts, eps, hf) + drafter_contenders({d: 1 for d in drafters}, 1, hf)
    return [c.name for c in items]


def drafters_only(drafters: Sequence[str], model: bool, hf: bool) -> tuple[str, ...]:
    """``--drafters-only``: autoregressive decoding (specbound's and HF's), the drafters'
    contenders, HF prompt lookup and, with ``model``, SD with the draft model."""
    names = [BASELINE, *(["hf_ar"] if hf else []), *(["specbound_sd"] if model else [])]
    names += [DRAFTER_CONTENDERS[d] for d in drafters]
    names += [HF_PROMPT_LOOKUP] if hf and "ngram" in drafters else []
    return tuple(names)


def recommended_contender(choice: Prediction | None, items: Sequence[Contender]) -> list[Contender]:
    """``[specbound_recommended]``: the setting profile recommends, when no contender of
    ``items`` runs it (plain decoding, None, is ``specbound_ar``); else ``[]``."""
    if choice is None or any(
        c.algorithm == choice.algorithm and c.drafter == choice.drafter for c in items
    ):
        return []
    return [
        Contender(
            RECOMMENDED,
            f"specbound {choice.label} (profile's recommendation)",
            choice.algorithm,
            drafter=choice.drafter,
        )
    ]


def select(items: Sequence[Contender], only: Sequence[str] | None) -> list[Contender]:
    """The contenders named in ``only`` (None: all), the baseline always kept."""
    if only is None:
        return list(items)
    return [c for c in items if c.name in only or c.name == BASELINE]


def check_only(only: Sequence[str] | None, available: Sequence[str]) -> tuple[str, ...] | None:
    """``only`` as a tuple of contender names, each one of ``available``; else an error
    naming the unknown name."""
    if only is None:
        return None
    for name in only:
        if name not in available:
            raise InvalidInputError(
                f"contenders: {name!r} is not a contender of this run (choose from "
                f"{', '.join(available)}; drafter contenders need --drafter)"
            )
    return tuple(dict.fromkeys(only))
