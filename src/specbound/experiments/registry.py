"""The experiments `specbound reproduce` knows, in report order.

Adding an experiment (e.g. the language-model sections ``lm_theory`` and ``table1``):

1. write a module ``specbound/experiments/<name>.py`` that defines
   ``EXPERIMENT = Experiment(name=..., title=..., revision=1, make_config=...,
   compute=..., claims=..., plot=..., describe=...)`` (see
   :mod:`specbound.experiments.base` for the contract; draw figures in
   :mod:`specbound.experiments.plotting`, write the report's words in
   ``templates/<name>.md`` (:mod:`specbound.experiments.prose`); import heavy libraries
   such as torch inside ``compute`` so that the registry stays light);
2. add one line ``"<name>": "specbound.experiments.<name>",`` to :data:`REGISTRY`.

That is all: ``--only <name>``, caching, the data file, the report section and the summary
table follow from the registry.
"""

from __future__ import annotations

import importlib

from specbound.errors import InvalidInputError
from specbound.experiments.base import Experiment

__all__ = ["REGISTRY", "load", "pair_sections", "select"]

#: experiment name -> module defining ``EXPERIMENT``; the report follows this order.
REGISTRY: dict[str, str] = {
    "fig2": "specbound.experiments.fig2_rejections",
    "fig3": "specbound.experiments.fig3_batch_gain",
    "fig4": "specbound.experiments.fig4_pareto",
    "gamma": "specbound.experiments.gamma_study",
    "beyond": "specbound.experiments.beyond",
    "trees": "specbound.experiments.trees",
    "lm_theory": "specbound.experiments.lm_theory",
    "lm_clock": "specbound.experiments.lm_clock",
    "lm_trees": "specbound.experiments.lm_trees",
    "table1": "specbound.experiments.table1",
}


def load(name: str) -> Experiment:
    """The experiment registered under ``name`` (its module is imported on first use)."""
    if name not in REGISTRY:
        raise InvalidInputError(
            f"unknown experiment {name!r}; known experiments: {', '.join(REGISTRY)}"
        )
    experiment = importlib.import_module(REGISTRY[name]).EXPERIMENT
    if not isinstance(experiment, Experiment) or experiment.name != name:
        raise TypeError(f"{REGISTRY[name]}.EXPERIMENT must be an Experiment named {name!r}")
    return experiment


def pair_sections() -> list[str]:
    """The sections that run on a language-model pair (``Experiment.on_pair``), in report
    order: what ``reproduce --pair NAME`` runs."""
    return [name for name in REGISTRY if load(name).on_pair is not None]


def select(only: str | None, pair: str | None = None) -> list[str]:
    """Parse ``--only fig2,fig4`` into registered names, in report order (None: all).

    With a named model ``pair`` (``--pair smollm2``) only the language-model sections run:
    None selects them all, and naming a chain-only section is refused."""
    chosen = _parse_only(only)
    if pair is None:
        return chosen
    allowed = pair_sections()
    refused = [name for name in chosen if name not in allowed] if only is not None else []
    if refused:
        sections = "a Markov-chain section" if len(refused) == 1 else "Markov-chain sections"
        raise InvalidInputError(
            f"--only {', '.join(repr(n) for n in refused)}: {sections}, not run on a model "
            f"pair (--pair {pair} runs {', '.join(allowed)})"
        )
    return [name for name in chosen if name in allowed]


def _parse_only(only: str | None) -> list[str]:
    """``--only`` as registered names in report order (None: every section)."""
    if only is None:
        return list(REGISTRY)
    wanted = [part.strip() for part in only.split(",") if part.strip()]
    if not wanted:
        raise InvalidInputError(
            f"--only: expected comma-separated experiment names, got {only!r}; "
            f"known experiments: {', '.join(REGISTRY)}"
        )
    unknown = [name for name in wanted if name not in REGISTRY]
    if unknown:
        raise InvalidInputError(
            f"--only: unknown experiment{'s' if len(unknown) > 1 else ''} "
            f"{', '.join(repr(n) for n in unknown)}; known experiments: {', '.join(REGISTRY)}"
        )
    return [name for name in REGISTRY if name in wanted]
