"""``bench lm``'s drafters comparison: model-free drafters against HF prompt lookup.

With ``--drafter`` (:attr:`~specbound.bench.lm.LMBenchConfig.drafters`) ``bench lm`` adds
the contenders

* ``specbound_ngram``, ``specbound_suffix`` — SD drafted by prompt lookup / suffix
  decoding (:mod:`specbound.lm.drafters`), each at its gamma: the best predicted by
  ``profile --drafter`` among the profiled drafter gammas (or the one given);
* ``specbound_ngram_model``, ``specbound_suffix_model`` — model-free first, the draft
  model where nothing matches, at their gamma chosen the same way;
* ``hf_prompt_lookup`` — transformers' prompt lookup with the same number of candidate
  tokens as ``specbound_ngram`` and ``max_matching_ngram_size`` = ``ngram_max``
  (:mod:`specbound.bench.hf_baseline` says precisely what it does).

The ratios it adds: each drafter's tokens/s over specbound's autoregressive decoding
(``ngram_vs_autoregressive``, ...), ``ngram_vs_hf_prompt_lookup``, each predicted
drafter's measured and predicted speed-up (decode time, prefill excluded, as the
prediction) and their ratio and accuracy ``1 - |measured / predicted - 1|``, and
``recommendation_vs_best_measured``: the tokens/s of the setting profile recommends (plain
decoding when none) over the best measured lossless specbound contender. The targets
(:data:`DRAFTER_TARGETS`) depend on the workload (the shipped ``grounded`` and ``open``
prompt sets).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from specbound.algorithms import Speculative
from specbound.bench.lm_predictions import predicted
from specbound.bench.lm_summary import median_of, ratio
from specbound.errors import InvalidInputError
from specbound.lm.drafters import DRAFTER_NAMES, uses_draft_model
from specbound.profiling import Prediction, ProfileReport

if TYPE_CHECKING:
    from specbound.bench.lm import Contender

__all__ = [
    "DRAFTER_CONTENDERS",
    "DRAFTER_TARGETS",
    "HF_PROMPT_LOOKUP",
    "check_bench_drafters",
    "drafter_gammas",
    "drafter_ratios",
    "drafter_targets",
    "needs_draft",
    "profiled_drafters",
    "short_name",
]

#: The contender of each drafter (``bench lm --drafter``).
DRAFTER_CONTENDERS = {
    "ngram": "specbound_ngram",
    "suffix": "specbound_suffix",
    "ngram+model": "specbound_ngram_model",
    "suffix+model": "specbound_suffix_model",
}
#: transformers' prompt lookup (runs beside ``specbound_ngram``).
HF_PROMPT_LOOKUP = "hf_prompt_lookup"

#: What issue 25 asks of the drafters, per workload (every figure: at least this).
DRAFTER_TARGETS: dict[str, dict[str, float]] = {
    "grounded": {"ngram_vs_autoregressive": 2.0, "ngram_vs_hf_prompt_lookup": 1.3},
    "open": {"recommendation_vs_best_measured": 0.95},
}
#: Each predicted drafter's ``{short}_prediction_accuracy`` (1 - |measured/predicted - 1|).
PREDICTION_ACCURACY = 0.95


def short_name(drafter: str) -> str:
    """``ngram+model`` -> ``ngram_model``: the drafter's name in contender and ratio names."""
    return drafter.replace("+", "_")


def check_bench_drafters(drafters: Sequence[str]) -> tuple[str, ...]:
    """The drafters of ``bench lm --drafter`` (``model`` excluded: SD is its contender);
    each a model-free drafter name, else an error naming it."""
    names = tuple(dict.fromkeys(drafters))
    for name in names:
        if name not in DRAFTER_CONTENDERS:
            allowed = ", ".join(DRAFTER_CONTENDERS)
            raise InvalidInputError(f"drafters: each one of {allowed}; got {name!r}")
    return names


def profiled_drafters(drafters: Sequence[str]) -> list[str]:
    """The drafters profile predicts for ``drafters``: all of them, once each."""
    return list(dict.fromkeys(drafters))


def drafter_gammas(
    drafters: Sequence[str],
    reports: Sequence[ProfileReport],
    gammas: Sequence[int],
    given: int | None,
) -> dict[str, int]:
    """Each drafter's gamma: ``given``, else its best predicted speed-up among ``gammas``
    (median over the profile ``reports``)."""
    chosen: dict[str, int] = {}
    for name in profiled_drafters(drafters):
        best, best_speedup = gammas[0], float("-inf")
        for g in gammas:
            row = predicted(reports, Speculative(gamma=g), name)
            speedup = None if row is None else row["predicted_speedup"]
            if speedup is not None and speedup > best_speedup:
                best, best_speedup = g, speedup
        chosen[name] = best if given is None else given
    return {name: chosen[name] for name in drafters}


def needs_draft(contender: Contender) -> bool:
    """Whether ``contender`` runs the draft model."""
    if contender.hf:
        return contender.assistant
    algorithm = contender.algorithm
    drafts = algorithm is not None and algorithm.family.drafts
    return drafts and uses_draft_model(contender.drafter)


def _recommended_name(choice: Prediction | None, items: Sequence[Contender]) -> str | None:
    if choice is None:
        return "specbound_ar"
    for c in items:
        if c.algorithm == choice.algorithm and c.drafter == choice.drafter:
            return c.name
    return None


def drafter_ratios(
    summaries: Mapping[str, Any],
    items: Sequence[Contender],
    choice: Prediction | None,
) -> dict[str, Any]:
    """The drafters' ratios (module docstring); every contender's ``measured_speedup``
    and ``predicted_speedup`` are already in ``summaries``."""
    tps = {name: median_of(dict(summaries), name) for name in summaries}
    out: dict[str, Any] = {}
    for drafter, name in DRAFTER_CONTENDERS.items():
        if name not in summaries:
            continue
        short = short_name(drafter)
        out[f"{short}_vs_autoregressive"] = ratio(tps.get(name), tps.get("specbound_ar"))
        measured = summaries[name].get("measured_speedup")
        expected = summaries[name].get("predicted_speedup")
        out[f"{short}_measured_speedup"] = measured
        out[f"{short}_predicted_speedup"] = expected
        out[f"{short}_vs_predicted"] = ratio(measured, expected)
        share = out[f"{short}_vs_predicted"]
        out[f"{short}_prediction_accuracy"] = None if share is None else 1.0 - abs(share - 1.0)
    out["ngram_vs_hf_prompt_lookup"] = ratio(tps.get("specbound_ngram"), tps.get(HF_PROMPT_LOOKUP))
    lossless: list[float] = []
    for c in items:
        value = tps.get(c.name)
        if not c.hf and c.algorithm is not None and c.algorithm.lossless and value:
            lossless.append(value)
    best = max(lossless) if lossless else None
    recommended = _recommended_name(choice, items)
    out["recommended_contender"] = recommended
    out["best_measured_lossless"] = best
    out["recommendation_vs_best_measured"] = ratio(
        None if recommended is None else tps.get(recommended), best
    )
    return out


def drafter_targets(workload: str | None, drafters: Sequence[str]) -> dict[str, float]:
    """The targets of a drafters comparison on ``workload`` (None: a user's prompts, only
    the prediction accuracy of each predicted drafter)."""
    targets = dict(DRAFTER_TARGETS.get(workload or "", {}))
    if "ngram" not in drafters:
        targets = {k: v for k, v in targets.items() if not k.startswith("ngram")}
    for drafter in drafters:
        if drafter in DRAFTER_NAMES and drafter != "model":
            targets[f"{short_name(drafter)}_prediction_accuracy"] = PREDICTION_ACCURACY
    return targets
