"""One ``bench lm`` run's settings (:class:`LMBenchConfig`), checked on construction so
that a bad option is refused before any model loads."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from specbound.algorithms import TreeSpeculative
from specbound.bench import lm_trees
from specbound.bench.lm_contenders import (
    Contender,
    check_only,
    contender_names,
    contenders,
    drafter_contenders,
    select,
)
from specbound.bench.lm_drafters import check_bench_drafters, needs_draft
from specbound.errors import InvalidInputError
from specbound.lm.warping import SamplingConfig
from specbound.validate import check_float, check_int, check_seed

__all__ = ["LMBenchConfig"]


@dataclass(frozen=True)
class LMBenchConfig:
    """One ``bench lm`` run. ``gamma=None``: the best finite gamma predicted by profile."""

    prompts: tuple[str, ...]
    max_new_tokens: int = 128
    repeats: int = 3
    gamma: int | None = None
    temperature: float = 1.0
    top_k: int | None = None
    top_p: float | None = None
    seed: int = 0
    num_drafts: tuple[int, ...] = (2, 4)
    eps: float = 0.2
    hf: bool = True
    profile_gammas: tuple[int, ...] = (1, 2, 3, 4, 6, 8)
    profile_samples: int = 16
    profile_timing_repeats: int = 3
    drafters: tuple[str, ...] = ()
    drafter_gamma: int | None = None
    drafter_profile_gammas: tuple[int, ...] = (4, 8, 16)
    ngram_max: int = 3
    only: tuple[str, ...] | None = None
    workload: str | None = None
    stop_at_eos: bool = False
    tree: tuple[int, ...] | None = None
    tree_budget: int | None = None

    def __post_init__(self) -> None:
        if isinstance(self.prompts, str) or not self.prompts:
            raise InvalidInputError("prompts: give at least one prompt")
        check_int(self.max_new_tokens, "max_new_tokens", low=1)
        check_int(self.repeats, "repeats", low=1)
        check_int(self.profile_samples, "profile_samples", low=1)
        check_int(self.profile_timing_repeats, "profile_timing_repeats", low=1)
        if self.gamma is not None:
            check_int(self.gamma, "gamma", low=1)
        for m in self.num_drafts:
            check_int(m, "num_drafts", low=2)
        check_float(self.eps, "eps", low=0.0)
        check_seed(self.seed)
        SamplingConfig(self.temperature, self.top_k, self.top_p)
        check_bench_drafters(self.drafters)
        if self.drafter_gamma is not None:
            check_int(self.drafter_gamma, "drafter_gamma", low=1)
        for g in self.drafter_profile_gammas:
            check_int(g, "drafter_profile_gammas", low=1)
        check_int(self.ngram_max, "ngram_max", low=1)
        lm_trees.check_bench_tree(self.tree, self.tree_budget)
        names = contender_names(self.num_drafts, self.eps, self.drafters, self.hf)
        check_only(self.only, names + ([lm_trees.TREE_CONTENDER] if self.with_tree else []))

    @property
    def with_tree(self) -> bool:
        return self.tree is not None or self.tree_budget is not None

    def chosen(self, items: Sequence[Contender]) -> list[Contender]:
        """The contenders of ``items`` this run times (``only``)."""
        return select(items, self.only)

    @property
    def needs_draft(self) -> bool:
        """Whether a contender of this run uses the draft model (else the target alone
        need load)."""
        items = contenders(1, self.num_drafts, self.eps, self.hf)
        items += drafter_contenders({d: 1 for d in self.drafters}, 1, self.hf)
        if self.with_tree:
            items.append(Contender(lm_trees.TREE_CONTENDER, "", TreeSpeculative(branching=(1,))))
        return any(needs_draft(c) for c in self.chosen(items))

    @property
    def sampling(self) -> SamplingConfig:
        return SamplingConfig(self.temperature, self.top_k, self.top_p)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["prompts"] = list(self.prompts)
        return data
