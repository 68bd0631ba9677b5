"""Pieces the experiments share: how a chain pair is drawn (and cut to a horizon), which
language-model pair an LM section runs on, and the two resampling rules of Section 4."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from specbound.chain import MarkovChain, random_pair
from specbound.experiments.prose import render

if TYPE_CHECKING:
    from specbound.experiments.base import Progress
    from specbound.lm import ModelPair
    from specbound.profiling import ProfileReport

__all__ = [
    "DECODERS",
    "LM_THREADS",
    "TIMED_INPUTS",
    "ChainSpec",
    "PairSpec",
    "pair_inputs",
    "profile_section",
    "truncate",
]

#: The resampling rules after an over-acceptance rejection (paper Section 4): Decoding-OPT
#: samples Theorem 4's ``P* = [q - p b]_+`` normalised, Decoding-UNO samples the target q.
DECODERS = ("opt", "uno")

#: torch CPU threads of the LM sections: the embedded models are tiny and the machine is
#: shared, so one thread is fastest (``specbound.lm.engine.threads`` explains why).
LM_THREADS = 1


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
        return render(
            "chain_spec",
            {
                "horizon": str(self.horizon),
                "num_states": str(self.num_states),
                "mix": f"{self.mix:g}",
                "seed": str(self.seed),
                "concentration": f"{self.concentration:g}",
            },
        )


@dataclass(frozen=True)
class PairSpec:
    """The (target, draft) language-model pair of an LM section: paths or hub ids, and
    optionally the tokenizer's (default: the target's). Both None: the embedded pair. A
    pair name (``smollm2``) as the target and no draft: that named pair, with its shipped
    draft (:meth:`named`; :func:`specbound.lm.load_pair` reads it so)."""

    target: str | None = None
    draft: str | None = None
    tokenizer: str | None = None

    @classmethod
    def named(cls, name: str) -> PairSpec:
        """The named pair ``name`` (one of :data:`specbound.lm.pairs.PAIR_NAMES`)."""
        from specbound.lm.pairs import check_pair_name

        check_pair_name(name)
        return cls() if name == "embedded" else cls(target=name)

    @property
    def embedded(self) -> bool:
        """Whether this is the embedded pair shipped with specbound."""
        return self.target is None and self.draft is None

    @property
    def name(self) -> str | None:
        """The pair's name when it is a named pair other than the embedded one, else None."""
        if self.target is None or self.draft is not None or self.tokenizer is not None:
            return None
        from specbound.lm.pairs import PAIR_NAMES

        return self.target if self.target in PAIR_NAMES else None

    def load(self) -> ModelPair:
        """The pair, loaded by :func:`specbound.lm.load_pair` (imports torch on first use)."""
        from specbound.lm import load_pair

        if self.embedded:
            return load_pair()
        return load_pair(target=self.target, draft=self.draft, tokenizer=self.tokenizer)

    def describe(self, target_name: str, draft_name: str) -> str:
        """How the report names the pair; ``*_name``: the loaded models' names."""
        if self.embedded:
            return "The embedded pair"
        if self.name is not None:
            return (
                f"The `{self.name}` pair (target `{target_name}`, its shipped distilled draft"
                f" `{draft_name}`)"
            )
        return f"target `{target_name}`, draft `{draft_name}`"


def truncate(
    pair: tuple[MarkovChain, MarkovChain], horizon: int
) -> tuple[MarkovChain, MarkovChain]:
    """The first ``horizon`` positions of a chain pair (same start state)."""
    draft, target = pair
    return (
        MarkovChain(draft.transitions[:horizon], draft.start, name=draft.name),
        MarkovChain(target.transitions[:horizon], target.start, name=target.name),
    )


#: The config values a timed LM section's "Inputs" paragraph names (:func:`pair_inputs`).
TIMED_INPUTS = (
    "num_prompts",
    "max_new_tokens",
    "samples_per_prompt",
    "runs_per_prompt",
    "timing_repeats",
)


def pair_inputs(config: dict[str, Any], data: dict[str, Any], *keys: str) -> dict[str, str]:
    """An LM section's "Inputs" values for its template: the sentence naming the pair
    (``pair``) and each of the config's ``keys`` as text."""
    pair = PairSpec(**config["pair"]).describe(data["target"], data["draft"])
    return {"pair": pair, **{key: str(config[key]) for key in keys}}


def profile_section(config: Any, progress: Progress, **options: Any) -> ProfileReport:
    """:func:`specbound.profile` as an LM section runs it: on ``config.pair``, the first
    ``config.num_prompts`` shipped prompts, on :data:`LM_THREADS` threads, with the
    config's ``max_new_tokens``, ``samples_per_prompt``, ``runs_per_prompt``, ``seed``,
    and its ``gammas`` and ``num_drafts`` unless ``options`` give them; ``options`` are
    the section's other arguments."""
    from specbound.lm.engine.threads import torch_threads
    from specbound.lm.prompts import load_prompts
    from specbound.profiling import profile

    settings = (
        {"gammas": config.gammas, "num_drafts": config.num_drafts}
        if not ({"gammas", "num_drafts"} <= options.keys())
        else {}
    )
    with torch_threads(LM_THREADS):
        return profile(
            config.pair.load(),
            load_prompts(limit=config.num_prompts),
            max_new_tokens=config.max_new_tokens,
            samples_per_prompt=config.samples_per_prompt,
            runs_per_prompt=config.runs_per_prompt,
            seed=config.seed,
            progress=progress,
            **{**settings, **options},
        )
