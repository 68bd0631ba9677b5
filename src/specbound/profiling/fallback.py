"""``ngram+model`` and ``suffix+model`` in :func:`specbound.profile`: model-free first, the
draft model where nothing matches, predicted along the target's paths.

Along a target-sampled path ``x_1..x_L`` (SD's output law is the target's) the
model-free index's proposal at every position m is a function of ``x_{1:m}`` alone (the
index holds final tokens only), so which *kind* of round would start at m is known; only
*whether* a round starts there is random, through the model rounds. Given the path the
acceptance events of a model round are independent with probability ``alpha_i =
min(p_i, q_i)(x_i) / q_i(x_i)`` (:func:`~specbound.core.acceptance_given_output`), and a
forward recursion over positions carries the probability ``P(m)`` that a round starts
at m:

* a point-mass round at m (the index proposed ``d``, k tokens) is deterministic given the
  path (:func:`~specbound.lm.drafters.replay.point_mass_round`): it moves ``P(m)`` to
  ``m + emitted`` and counts ``P(m)`` rejections if it refused one;
* a model round at m drafts ``k = min(gamma, tokens left)``; it refuses at position
  ``i`` (first refusal) with probability ``prod_{m <= j < i} alpha_j (1 - alpha_i)``,
  moving that mass to ``i + 1`` (the recovered token is ``x_i``), and keeps every draft
  with ``prod alpha``, moving it past the bonus token to ``m + k + 1`` (or ending the
  generation at the path's end).

E[target calls] is ``sum_m P(m)`` and E[rejections] the refusals' mass: exact
conditional expectations given the path, averaged over paths. Seconds: a point-mass round
is priced as a ``lookup`` round and a model round as an SD round of the draft model
(``sequence``, :meth:`~specbound.profiling.costs.CostBasis.round_features`), each
weighted by ``P(m)``, plus SD's fixed cost. A model round's first draft forward also
feeds the tokens the draft's cache missed: 1 after a model round that refused a draft, 2
after one that kept them all, plus every token a point-mass round emitted since. The
recursion therefore carries the joint law ``P(m, u)`` of a round starting at m with u
pending draft tokens (point-mass rounds shift u by what they emit; a model round resets
it to 1 or 2), and the catch-up ``d_fed (u - 2)`` of
:meth:`~specbound.profiling.costs.CostBasis.catch_up_features` is priced under it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np
from numpy.typing import NDArray

from specbound.core import kernels
from specbound.core.rounds import acceptance_given_output
from specbound.core.rules import SpeculativeRule
from specbound.lm.drafters import TokenIndex, index_factory
from specbound.lm.drafters.replay import point_mass_round
from specbound.profiling.costs import CostModel
from specbound.profiling.lookup import LookupSetting
from specbound.profiling.paths import SampledPaths
from specbound.profiling.predict import PathSamples

__all__ = ["MODEL_ROUND", "FallbackRounds", "add_fallback_paths", "fallback_rounds"]

Array = NDArray[np.float64]
#: The cost kind of the draft model's rounds.
MODEL_ROUND = "sequence"


class FallbackRounds:
    """One path's expected rejections and calls, per position m the probability
    ``starts[m]`` that a round starts there and the tokens ``drafted[m]`` the index
    would propose there (-1: none, a model round), and ``fed[u]``: the expected number
    of model rounds whose first draft forward feeds u tokens."""

    def __init__(self, length: int) -> None:
        self.starts = np.zeros(length + 1)  # (L+1,): L is the end
        self.starts[0] = 1.0
        self.drafted = np.full(length, -1, dtype=np.int64)  # (L,)
        self.rejections = 0.0
        self.fed = np.zeros(length + 2)  # (L+2,): u = 0 .. L+1

    @property
    def calls(self) -> float:
        return float(self.starts[:-1].sum())


def fallback_rounds(
    index: TokenIndex,
    prompt_ids: Sequence[int],
    path: Sequence[int],
    accept: Array,
    gamma: int,
    max_new_tokens: int,
    eos_token_id: int | None = None,
) -> FallbackRounds:
    """The recursion of the module docstring along one ``path`` of L tokens, with the
    model's acceptance ``accept`` (L,) given the path; ``index`` fresh."""
    length = len(path)
    out = FallbackRounds(length)
    pending = np.zeros((length + 1, length + 2))  # (L+1, L+2): P(m, u)
    pending[0, 1] = 1.0  # the draft cached the prompt but its last token
    index.extend([int(t) for t in prompt_ids])
    for m in range(length):
        if m:
            index.extend([int(path[m - 1])])
        remaining = max_new_tokens - m
        cap = min(gamma, remaining)
        proposal = index.propose(cap)
        weight = out.starts[m]
        if proposal:
            out.drafted[m] = len(proposal)
            outcome = point_mass_round(
                proposal, path[m : m + len(proposal)], remaining, eos_token_id
            )
            out.rejections += weight * outcome.refused
            after = min(m + outcome.emitted, length)
            out.starts[after] += weight
            shift = outcome.emitted  # the draft's cache missed every emitted token
            pending[after, shift:] += pending[m, : pending.shape[1] - shift]
            continue
        if weight == 0.0:
            continue
        out.fed += pending[m]
        end = min(m + cap, length)
        survive = weight
        for i in range(m, end):  # first refusal at i: x_i recovered, next round at i + 1
            refused = survive * (1.0 - accept[i])
            out.rejections += refused
            out.starts[i + 1] += refused
            pending[i + 1, 1] += refused  # the recovered token
            survive *= accept[i]
        # every draft kept: the bonus token follows unless the path (or horizon) ends
        out.starts[min(end + 1, length)] += survive
        pending[min(end + 1, length), 2] += survive  # the last draft and the bonus token
    return out


def _features(
    costs: CostModel, rounds: FallbackRounds, gamma: int, max_new_tokens: int, prompt: int
) -> Array:
    """The path's expected cost features: (P,)."""
    length = rounds.drafted.size
    positions = np.arange(length)
    left, context = max_new_tokens - positions, prompt + positions
    lookup = costs.basis.lookup_features(np.maximum(rounds.drafted, 0), left, context)  # (L, P)
    model = costs.basis.round_features(MODEL_ROUND, 1, gamma, left, context)  # (L, P)
    per_round = np.where((rounds.drafted >= 0)[:, None], lookup, model)  # (L, P)
    fixed = costs.basis.fixed_features(MODEL_ROUND)
    features = rounds.starts[:length] @ per_round + fixed
    if costs.basis.catch_up:  # else calibration met no catch-up: priced as SD's
        catch_up = costs.basis.catch_up_features(np.arange(rounds.fed.size))  # (U, P)
        features = features + rounds.fed @ catch_up
    return np.asarray(features)


def add_fallback_paths(
    paths: SampledPaths,
    prompt_ids: Sequence[int],
    settings: Sequence[LookupSetting],
    samples: Mapping[LookupSetting, PathSamples],
    costs: CostModel | None,
    max_new_tokens: int,
    eos_token_id: int | None,
    options: Mapping[str, int],
) -> None:
    """Every combined setting (``ngram+model``, ``suffix+model``) along ``paths`` (with
    the draft's laws): its expected rejections, calls and cost features per path."""
    if not settings:
        return
    draft, target = paths.draft_probs, paths.target_probs
    accept = kernels.gather(acceptance_given_output(SpeculativeRule(), draft, target), paths.tokens)
    for setting in settings:
        make_index: Callable[[], TokenIndex] = index_factory(
            setting.drafter.split("+")[0], **options
        )
        gamma = setting.algorithm.gamma
        assert gamma is not None  # drafter gammas are finite
        for row in range(paths.num_samples):
            length = int(paths.lengths[row])
            rounds = fallback_rounds(
                make_index(),
                prompt_ids,
                paths.tokens[row, :length].tolist(),
                accept[row, :length],
                gamma,
                max_new_tokens,
                eos_token_id,
            )
            features = None
            if costs is not None:
                features = _features(costs, rounds, gamma, max_new_tokens, len(prompt_ids))[None]
            samples[setting].add(
                np.array([rounds.rejections]),
                np.array([rounds.calls]),
                length,
                np.zeros(1),
                features,
            )
