"""Pieces the chain experiments share: how a chain pair is drawn, and cut to a horizon."""

from __future__ import annotations

from dataclasses import dataclass

from specbound.chain import MarkovChain, random_pair

__all__ = ["ChainSpec", "truncate"]


@dataclass(frozen=True)
class ChainSpec:
    """A random non-stationary (draft, target) chain pair, drawn by
    :func:`specbound.chain.random_pair` (target rows ``Dirichlet(concentration)``, draft
    rows ``(1 - mix) * target + mix * Dirichlet(concentration)``, every position drawn
    afresh, start state 0)."""

    num_states: int
    horizon: int
    mix: float
    concentration: float
    seed: int

    def draw(self) -> tuple[MarkovChain, MarkovChain]:
        """The (draft, target) pair."""
        return random_pair(
            self.horizon,
            self.num_states,
            mix=self.mix,
            seed=self.seed,
            concentration=self.concentration,
        )

    def describe(self) -> str:
        """One sentence for the report: exactly how the pair was drawn."""
        return (
            f"`specbound.chain.random_pair(T={self.horizon}, S={self.num_states}, "
            f"mix={self.mix:g}, seed={self.seed}, concentration={self.concentration:g})`: "
            f"every target row `q_n(. | s)` is an independent Dirichlet({self.concentration:g}) "
            f"draw over the {self.num_states} states, and the draft row is "
            f"`(1 - {self.mix:g}) q_n(. | s) + {self.mix:g} D_n(. | s)` with `D` drawn the "
            "same way; start state 0"
        )


def truncate(
    pair: tuple[MarkovChain, MarkovChain], horizon: int
) -> tuple[MarkovChain, MarkovChain]:
    """The first ``horizon`` positions of a chain pair (same start state)."""
    draft, target = pair
    return (
        MarkovChain(draft.transitions[:horizon], draft.start, name=draft.name),
        MarkovChain(target.transitions[:horizon], target.start, name=target.name),
    )
