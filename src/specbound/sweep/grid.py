"""A spec's grid expanded to cells: small frozen configs with stable ids and derived seeds.

Each :class:`Cell` carries its config as canonical JSON (sorted keys, no spaces), so it
pickles to any worker unchanged. Its seed is ``derive_seed(spec.seed, "sweep", canonical
config)`` and its ``cell_id`` the first 16 hex digits of the SHA-256 of the canonical
config *with* the seed: the same spec always gives the same cells, ids and seeds, and a
cell's id does not depend on where it sits in the grid (adding values to a list keeps
the ids of the cells already there, which is what ``--resume`` relies on).

Dimensions that an algorithm does not read are not crossed for it (the registry,
:mod:`specbound.registry`, says which it reads: ``M`` only for ``batch``, ``verifier``
for ``batch`` and ``tree`` with the values each accepts (``traversal``: ``tree`` only),
``eps`` only for ``opt``/``uno``, ``gamma`` for every algorithm but ``ar``).
An LM grid's ``drafter`` is crossed with the settings that draft one sequence per round
(model-free drafters propose one: not ``ar``, not ``batch``); the draft model's cells
carry no ``drafter`` key, so their ids are those of a spec without it; token trees are
drafted by the draft model only. A ``profile`` cell profiles the grid's ``tree`` shapes
when ``tree`` is among its algorithms (a ``trees`` key: other cells' ids are unchanged).
"""

from __future__ import annotations

import hashlib
import itertools
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from specbound.estimates import derive_seed
from specbound.registry import OPTIONS, REGISTRY
from specbound.sweep.spec import ChainGrid, LMGrid, SweepSpec, SweepSpecError

__all__ = ["Cell", "algorithm_settings", "canonical", "expand"]


def canonical(payload: Any) -> str:
    """``payload`` as canonical JSON: sorted keys, no spaces (NaN refused)."""
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), allow_nan=False)


@dataclass(frozen=True)
class Cell:
    """One cell of a sweep: ``kind`` (``chains`` | ``lm``), its canonical config (seed
    included), its id and its position ``index`` in the grid."""

    cell_id: str
    index: int
    kind: str
    seed: int
    config_json: str

    @property
    def config(self) -> dict[str, Any]:
        """The config as a dict (``seed`` included)."""
        result: dict[str, Any] = json.loads(self.config_json)
        return result


def _make_cell(index: int, kind: str, base_seed: int, config: dict[str, Any]) -> Cell:
    seed = derive_seed(base_seed, "sweep", canonical(config))
    full = {**config, "seed": seed}
    text = canonical(full)
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]
    return Cell(cell_id=digest, index=index, kind=kind, seed=seed, config_json=text)


def algorithm_settings(grid: ChainGrid | LMGrid) -> Iterator[dict[str, Any]]:
    """Every algorithm setting of the grid, with only the fields that algorithm reads."""
    for name in grid.algorithms:
        entry = REGISTRY[name]
        keys = [OPTIONS[option].sweep_key for option in entry.reads]
        for values in itertools.product(*(getattr(grid, key) for key in keys)):
            setting = dict(zip(keys, values, strict=True))
            if "verifier" in setting and setting["verifier"] not in entry.verifiers:
                continue  # e.g. traversal verification is a tree's only
            if setting.get("children", "iid") != "iid" and setting["verifier"] != "recursive":
                continue  # distinct children are verified by recursive rejection only
            yield {"algorithm": name, **setting}


def _chains(grid: ChainGrid) -> Iterator[dict[str, Any]]:
    for family in grid.random:
        for T, S, mix, conc, zeros, seed in itertools.product(
            family.T, family.S, family.mix, family.concentration, family.zeros, family.seeds
        ):
            yield {
                "source": "random",
                "T": T,
                "S": S,
                "mix": mix,
                "concentration": conc,
                "zeros": zeros,
                "chain_seed": seed,
            }
    for path in grid.files:
        yield {"source": "file", "file": path}


def _chain_configs(grid: ChainGrid) -> Iterator[dict[str, Any]]:
    run: dict[str, Any] = {"compute": grid.compute}
    if grid.compute != "theory":
        run["n_runs"] = grid.n_runs
    for chain in _chains(grid):
        for setting in algorithm_settings(grid):
            yield {"chain": chain, **setting, **run}


def _lm_configs(grid: LMGrid) -> Iterator[dict[str, Any]]:
    common = {
        "compute": grid.compute,
        "responses": grid.responses,
        "max_new_tokens": grid.max_new_tokens,
    }
    for pair, (p, prompt), temperature in itertools.product(
        grid.pairs, enumerate(grid.prompts), grid.temperature
    ):
        base = {
            "pair": {"target": pair.target, "draft": pair.draft, "tokenizer": pair.tokenizer},
            "prompt_index": p,
            "prompt": prompt,
            "temperature": temperature,
            **common,
        }
        if grid.compute == "profile":  # one cell profiles every setting of the grid
            gammas = [g for g in grid.gamma if g is not None]
            drafters = {} if grid.drafter == ("model",) else {"drafter": list(grid.drafter)}
            trees = {"trees": [list(t) for t in grid.tree]} if "tree" in grid.algorithms else {}
            yield {
                **base,
                "gammas": gammas,
                "num_drafts": list(grid.M),
                "eps": list(grid.eps),
                **drafters,
                **trees,
            }
        elif grid.compute == "table1":  # OPT and UNO side by side, per eps
            for eps in grid.eps:
                yield {**base, "eps": eps}
        else:
            for setting in algorithm_settings(grid):
                for drafter in grid.drafter:
                    if drafter == "model":
                        yield {**base, **setting}
                    elif setting["algorithm"] != "tree" and _one_draft_sequence(setting):
                        yield {**base, **setting, "drafter": drafter}


def _one_draft_sequence(setting: dict[str, Any]) -> bool:
    """Whether the setting drafts one sequence per round (what a model-free drafter
    proposes): it drafts at all, and not M sequences."""
    from specbound.sweep.cells import algorithm_spec

    algorithm = algorithm_spec(setting)
    return bool(algorithm.family.drafts) and algorithm.num_drafts == 1


def expand(spec: SweepSpec) -> list[Cell]:
    """Every cell of ``spec``'s grid, in grid order; an empty grid is a SweepSpecError."""
    grid = spec.grid
    configs = _chain_configs(grid) if isinstance(grid, ChainGrid) else _lm_configs(grid)
    cells: dict[str, Cell] = {}
    for config in configs:
        cell = _make_cell(len(cells), spec.kind, spec.seed, config)
        cells.setdefault(cell.cell_id, cell)
    if not cells:
        raise SweepSpecError(f"{spec.source}: [{spec.kind}]: the grid has no cells")
    return list(cells.values())
