"""Token trees decoding language models: identities, greedy equivalence, the output law.

* A chain tree ``(1,) * D`` is ``Speculative(gamma=D)`` and a star ``(M, 1, ..., 1)`` is
  ``BatchSpeculative(num_drafts=M, gamma=D)``: for a fixed seed they give **identical
  tokens and counts**. The randomness is consumed alike by construction: the tree's
  draft uniforms are drawn up front in slot order (depth 1's M nodes, then depth 2's, ...
  = batch SD's (k, M) block row by row), a star's root is verified by the same
  recursive-rejection call as batch SD's round start, and a chain below the walk by SD's
  sequence verification (one uniform per position, one for the last draw), as both
  sequence decoders do. Only the float rounding of the target's logits differs (one
  tree-masked row vs M rows), which can flip a decision only with probability ~1e-7.
* Greedy (temperature 0) tree decoding gives the autoregressive tokens, on the lean
  NeoX and Llama paths and on transformers' forward.
* The law of whole continuations (horizon 3, V = 8: all 512 enumerated from plain
  forwards) matches the target's by a chi-square at ALPHA = 1e-3; a tree whose nodes
  accept with 0.98 x the right probability (the negative control) fails the same test.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest
from lm_enumeration import sequence_index, sequence_law

import specbound as sb
from specbound.core.batch import RecursiveRejectionRule
from specbound.core.families import TreeFamily, VerificationFamily
from specbound.core.sampling import sample_categorical
from specbound.errors import InvalidInputError
from specbound.lm import ModelPair, SamplingConfig, generate
from stats_helpers import ALPHA, chi_square_pvalue

PROMPT = [3]


def run(pair: ModelPair, algorithm: object, seed: int, n: int = 24, **sampling: object):  # type: ignore[no-untyped-def]
    return generate(
        pair,
        PROMPT,
        algorithm,  # type: ignore[arg-type]
        max_new_tokens=n,
        seed=seed,
        sampling=SamplingConfig(**sampling),  # type: ignore[arg-type]
        stop_at_eos=False,
    )


def same_run(a, b) -> None:  # type: ignore[no-untyped-def]
    assert a.token_ids == b.token_ids
    assert a.stats.target_calls == b.stats.target_calls
    assert a.stats.rejections == b.stats.rejections
    assert a.stats.accepted_lengths == b.stats.accepted_lengths


IDENTITIES = [
    ("chain3-sd", sb.TreeSpeculative((1, 1, 1)), sb.Speculative(gamma=3)),
    ("chain1-sd", sb.TreeSpeculative((1,)), sb.Speculative(gamma=1)),
    ("star3-batch", sb.TreeSpeculative((3, 1, 1)), sb.BatchSpeculative(num_drafts=3, gamma=3)),
    ("star2-batch", sb.TreeSpeculative((2, 1)), sb.BatchSpeculative(num_drafts=2, gamma=2)),
]


@pytest.mark.parametrize(
    ("tree", "reference"), [c[1:] for c in IDENTITIES], ids=[c[0] for c in IDENTITIES]
)
@pytest.mark.parametrize("fixture", ["tiny_pair", "embedded_pair"])
def test_chain_and_star_trees_give_the_tokens_of_sd_and_batch_sd(
    request: pytest.FixtureRequest, fixture: str, tree: sb.Algorithm, reference: sb.Algorithm
) -> None:
    pair = request.getfixturevalue(fixture)
    for seed in range(4):
        same_run(run(pair, tree, seed), run(pair, reference, seed))


def test_optimal_star_gives_the_tokens_of_optimal_batch_sd(tiny_pair: ModelPair) -> None:
    """The optimal coupling at the root (V = 8 lets its sampler enumerate draft sets)."""
    tree = sb.TreeSpeculative((2, 1), verifier="optimal")
    batch = sb.BatchSpeculative(num_drafts=2, gamma=2, verifier="optimal")
    for seed in range(4):
        same_run(run(tiny_pair, tree, seed), run(tiny_pair, batch, seed))


TREES = [
    sb.TreeSpeculative((4, 2, 1)),
    sb.TreeSpeculative((2, 2)),
    sb.TreeSpeculative((3, 2), replacement=False),
]


@pytest.mark.parametrize("tree", TREES, ids=lambda t: t.label)
@pytest.mark.parametrize(
    ("fixture", "lean"),
    [("tiny_pair", True), ("embedded_pair", True), ("llama_pair", True), ("llama_pair", False)],
    ids=["neox", "embedded", "lean-llama", "transformers"],
)
def test_greedy_tree_decoding_is_greedy_autoregressive(
    request: pytest.FixtureRequest,
    monkeypatch: pytest.MonkeyPatch,
    fixture: str,
    lean: bool,
    tree: sb.Algorithm,
) -> None:
    """Temperature 0: every law is a point mass, so a tree keeps exactly the target's
    argmax path. ``lean=False`` hides the fast paths (transformers' 4-D mask)."""
    pair = request.getfixturevalue(fixture)
    if not lean:
        import specbound.lm.cache as cache

        monkeypatch.setattr(cache, "fast_path", lambda model: None)
    reference = run(pair, sb.Autoregressive(), 0, temperature=0)
    out = run(pair, tree, 7, temperature=0)
    assert out.token_ids == reference.token_ids
    assert out.stats.target_calls <= reference.stats.target_calls


def test_tree_counts_follow_the_counting_definitions(tiny_pair: ModelPair) -> None:
    """One target call per round; tokens per call = accepted depth + 1 except a round cut
    at the horizon; one draft forward per depth; drafted tokens = the tree's nodes."""
    rounds = []
    tree = sb.TreeSpeculative((3, 2))
    out = generate(
        tiny_pair,
        PROMPT,
        tree,
        max_new_tokens=25,
        seed=5,
        stop_at_eos=False,
        on_round=rounds.append,
    )
    stats = out.stats
    assert stats.target_calls == len(rounds) == len(stats.accepted_lengths)
    assert stats.new_tokens == 25
    depths = [r.drafted for r in rounds]
    assert sum(a + 1 for a in stats.accepted_lengths[:-1]) + stats.accepted_lengths[-1] <= 25
    assert sum(a + 1 for a in stats.accepted_lengths) >= 25
    assert stats.draft_calls == sum(depths)
    assert stats.drafted_tokens == sum(3 + 6 if d == 2 else 3 for d in depths)
    full = [r for r in rounds if r.drafted == 2]
    assert all(r.scored == 1 + 3 + 6 and r.rows == 1 for r in full[:-1])
    assert 0 < stats.rejections <= len(rounds)


def test_a_custom_drafter_is_refused_for_trees(tiny_pair: ModelPair) -> None:
    """Trees are drafted by the draft model: any other drafter factory is refused by name
    (it proposes sequences, not trees), before any work."""
    from specbound.lm.drafters import drafter_factory

    with pytest.raises(InvalidInputError, match="token trees"):
        generate(
            tiny_pair,
            PROMPT,
            sb.TreeSpeculative((1, 1)),
            max_new_tokens=4,
            drafter=drafter_factory("ngram"),
        )


class ResampleFromTarget(RecursiveRejectionRule):
    """Recursive rejection whose token after M refusals comes from q instead of r_{M+1}
    (the "resample from the target" bug): no longer the target's law."""

    def verify(self, draft, target, candidates, rng):  # type: ignore[no-untyped-def]
        winner, token = super().verify(draft, target, candidates, rng)
        if winner < 0:
            token = sample_categorical(target, rng)
        return winner, token


@dataclass(frozen=True)
class MutantTree(sb.TreeSpeculative):
    """A tree spec verifying every node with :class:`ResampleFromTarget`."""

    @property
    def family(self) -> VerificationFamily:
        return TreeFamily(tuple(ResampleFromTarget(b) for b in self.branching))


def sequences(pair: ModelPair, algorithm: object, n: int, horizon: int, sampling) -> np.ndarray:  # type: ignore[no-untyped-def]
    out = np.empty(n, dtype=np.int64)
    for seed in range(n):
        result = generate(
            pair,
            PROMPT,
            algorithm,  # type: ignore[arg-type]
            max_new_tokens=horizon,
            seed=seed,
            sampling=sampling,
            stop_at_eos=False,
        )
        out[seed] = sequence_index(result.token_ids, pair.vocab_size)
    return out


LAW_CASES = [
    ("tree-2-2", sb.TreeSpeculative((2, 2)), SamplingConfig()),
    ("tree-1-2-optimal", sb.TreeSpeculative((1, 2), verifier="optimal"), SamplingConfig()),
    ("tree-3-2-norepl", sb.TreeSpeculative((3, 2), replacement=False), SamplingConfig()),
    ("tree-2-1-warped", sb.TreeSpeculative((2, 1)), SamplingConfig(temperature=0.7, top_k=5)),
]


@pytest.mark.parametrize(
    ("tree", "sampling"), [c[1:] for c in LAW_CASES], ids=[c[0] for c in LAW_CASES]
)
def test_tree_output_law_is_the_target_law(tiny_pair: ModelPair, tree, sampling) -> None:  # type: ignore[no-untyped-def]
    """3,000 continuations of 3 tokens against the enumerated target law (512 cells)."""
    law = sequence_law(tiny_pair, PROMPT, 3, sampling)
    samples = sequences(tiny_pair, tree, 3_000, 3, sampling)
    assert chi_square_pvalue(samples, law) > ALPHA


def test_a_tree_resampling_from_the_target_fails_the_law_test(tiny_pair: ModelPair) -> None:
    """Negative control: a tree resampling from q after all children of a node are refused
    no longer outputs the target's law; the same 3,000-sample test rejects it."""
    law = sequence_law(tiny_pair, PROMPT, 3, SamplingConfig())
    samples = sequences(tiny_pair, MutantTree((2, 2)), 3_000, 3, SamplingConfig())
    assert chi_square_pvalue(samples, law) < ALPHA


def test_the_accelerator_path_gives_the_cpu_tokens(
    tiny_pair: ModelPair, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Off the CPU the round's tensors go to verification as they are (one host copy
    there); on CPU tensors made to take that path, the tokens are the NumPy path's."""
    import specbound.lm.tree_round as tree_round

    tree = sb.TreeSpeculative((3, 2), replacement=False)
    on_numpy = [run(tiny_pair, tree, seed, temperature=0.9).token_ids for seed in range(4)]
    monkeypatch.setattr(tree_round, "kernel_array", lambda tensor: tensor)
    on_tensors = [run(tiny_pair, tree, seed, temperature=0.9).token_ids for seed in range(4)]
    assert on_tensors == on_numpy and len(set(on_numpy)) > 1


def test_greedy_trees_stop_where_autoregressive_stops(tiny_pair: ModelPair) -> None:
    """With EOS on, a tree's round ends at an accepted EOS (no bonus after it)."""
    stops = []
    for prompt in ["a", "b", "c", "d", "e", "f", "g"]:
        greedy = SamplingConfig(temperature=0)
        reference = generate(
            tiny_pair, prompt, sb.Autoregressive(), max_new_tokens=30, sampling=greedy
        )
        out = generate(
            tiny_pair, prompt, sb.TreeSpeculative((2, 2, 1)), max_new_tokens=30, sampling=greedy
        )
        assert out.token_ids == reference.token_ids
        stops.append(out.token_ids[-1] == tiny_pair.eos_token_id)
    assert any(stops)  # some prompt does reach EOS: the check is not vacuous


@pytest.mark.parametrize("n", [1, 2, 3, 5])
def test_the_tree_is_cut_at_the_horizon(tiny_pair: ModelPair, n: int) -> None:
    """Every round drafts min(D, tokens left) depths; exactly n tokens come out."""
    rounds: list = []
    out = generate(
        tiny_pair,
        PROMPT,
        sb.TreeSpeculative((2, 2, 2)),
        max_new_tokens=n,
        seed=n,
        stop_at_eos=False,
        on_round=rounds.append,
    )
    assert len(out.token_ids) == n
    done = 0
    for timing, accepted in zip(rounds, out.stats.accepted_lengths, strict=True):
        assert timing.drafted == min(3, n - done)
        done += accepted + (1 if timing.drafted < n - done or accepted < timing.drafted else 0)
    assert done == n
