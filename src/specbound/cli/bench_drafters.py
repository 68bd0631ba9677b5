"""``bench lm``'s drafter options: ``--drafter``, ``--workload``, ``--contenders`` and
``--drafters-only``, parsed and checked before any model loads.

The bench modules (and torch) are imported inside the functions, so that ``specbound
--help`` stays fast.
"""

from __future__ import annotations

from specbound.cli.common import split_list
from specbound.errors import InvalidInputError

__all__ = ["chosen_contenders", "parse_bench_drafters"]


def parse_bench_drafters(text: str) -> tuple[tuple[str, ...], bool]:
    """``--drafter`` of bench lm: ``(drafters, keep_sd)`` — the model-free (or
    model-free-first) drafters whose contenders run, and whether ``model`` was listed
    (SD with the draft model stays in ``--drafters-only``). ``all``: every drafter."""
    from specbound.bench.lm_drafters import DRAFTER_CONTENDERS, check_bench_drafters

    if not text.strip():
        return (), False
    parts = [part.strip().lower() for part in split_list(text, "--drafter")]
    if parts == ["all"]:
        return tuple(DRAFTER_CONTENDERS), True
    keep_sd = "model" in parts
    try:
        drafters = check_bench_drafters([p for p in parts if p != "model"])
    except InvalidInputError as exc:
        raise InvalidInputError(f"--drafter: {exc}") from None
    return drafters, keep_sd


def chosen_contenders(
    only: str | None, drafters_only: bool, drafters: tuple[str, ...], keep_sd: bool, hf: bool
) -> tuple[str, ...] | None:
    """The contenders ``--contenders`` or ``--drafters-only`` name (None: all); their
    names are checked against the run's contenders by the benchmark's config."""
    from specbound.bench.lm_contenders import drafters_only as drafter_names

    if drafters_only and only is not None:
        raise InvalidInputError("give --contenders or --drafters-only, not both")
    if drafters_only:
        if not drafters:
            raise InvalidInputError("--drafters-only needs --drafter (e.g. --drafter ngram)")
        return drafter_names(drafters, keep_sd, hf)
    if only is None:
        return None
    return tuple(part.strip() for part in split_list(only, "--contenders"))
