"""Model-free drafters (prompt lookup, suffix decoding, model-free first): exactness,
counting, and the indexes behind them.

The conditional test states its own formula: a deterministic drafter proposes x_1..x_k
with the point mass on each as its law. SD (paper Algorithm 1 with p = 1_x) accepts x_i
with probability min(1, q_i(x_i)/1) = q_i(x_i); on the first refusal it resamples from
[q_i - 1_x]_+ normalised, i.e. from q_i with x_i removed and renormalised; if every x_i is
kept, the bonus token comes from q_{k+1}. So the round's (accepted count a, next token y)
has the law

    P(a, y) = prod_{i<a} q_i(x_i) * q_a(y) * [y != x_a]     for a < k,
    P(k, y) = prod_{i<=k} q_i(x_i) * q_{k+1}(y)                (the bonus),

(q_a(y) for y != x_a is (1 - q_a(x_a)) * q_a(y) / (1 - q_a(x_a))).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch

import specbound as sb
from round_harness import POWER, chi_square_power
from specbound.errors import InvalidAlgorithmError, InvalidInputError
from specbound.lm.drafters import FallbackDrafter, NgramIndex, SuffixTrie, drafter_factory
from specbound.lm.drafting import Drafter, Proposal
from specbound.lm.warping import SamplingConfig, warp_probs
from stats_helpers import ALPHA, chi_square_pvalue

V = 6
K = 2
DRAFTED = [5, 0]  # the proposed tokens x_1, x_2 (q_1(x_1) = 0.27, q_2(x_2) = 0.30)
ROUNDS = 20_000
MODEL_FREE = ("ngram", "suffix", "ngram+model", "suffix+model")


def target_laws() -> np.ndarray:
    """q_1..q_{k+1}: (k+1, V), fixed Dirichlet(1.5) rows."""
    return np.random.default_rng(7).dirichlet(np.full(V, 1.5), size=K + 1)  # (k+1, V)


def exact_law(q: np.ndarray, drafted: list[int]) -> np.ndarray:
    """The module docstring's formula: P(a, y) as a (k+1, V) array."""
    law = np.zeros((K + 1, V))  # (k+1, V)
    kept = 1.0
    for a, x in enumerate(drafted):
        law[a] = kept * q[a]
        law[a, x] = 0.0  # x removed; the rest is (1 - q(x)) * q / (1 - q(x))
        kept *= q[a, x]
    law[K] = kept * q[K]
    return law


def resample_without_removal_law(q: np.ndarray, drafted: list[int]) -> np.ndarray:
    """The law of the negative control that resamples from q itself after a refusal."""
    law = np.zeros((K + 1, V))
    kept = 1.0
    for a, x in enumerate(drafted):
        law[a] = kept * (1.0 - q[a, x]) * q[a]
        kept *= q[a, x]
    law[K] = kept * q[K]
    return law


def verified_cells(draft_probs: np.ndarray, q: np.ndarray, n: int, seed: int) -> np.ndarray:
    """``n`` rounds through the SD family's ``verify_round``: cells a * V + y."""
    family = sb.Speculative(gamma=K).family
    tokens = np.asarray([DRAFTED], dtype=np.int64)  # (1, k)
    rng = np.random.default_rng(seed)
    out = np.empty(n, dtype=np.int64)
    for i in range(n):
        verdict = family.verify_round(draft_probs, q[None], tokens, rng)  # q: (1, k+1, V)
        out[i] = verdict.accepted * V + int(verdict.next_token)
    return out


def point_masses() -> np.ndarray:
    """The law a model-free drafter hands verification, built by the library's Proposal."""
    tokens = torch.tensor([DRAFTED], dtype=torch.long)  # (1, k)
    return Proposal.point_masses(tokens, V).draft_probs.numpy()  # (1, k, V)


def scaled_acceptance_law(q: np.ndarray, drafted: list[int], c: float) -> np.ndarray:
    """A wrong law: every acceptance probability ``c * q_i(x_i)``, the refusal's
    resampling law still q_i without x_i (the deviation the test's power is stated for)."""
    law = np.zeros((K + 1, V))
    kept = 1.0
    for a, x in enumerate(drafted):
        rest = q[a].copy()
        rest[x] = 0.0
        law[a] = kept * (1.0 - c * q[a, x]) * rest / rest.sum()
        kept *= c * q[a, x]
    law[K] = kept * q[K]
    return law


def test_one_round_with_point_masses_follows_the_stated_law() -> None:
    """20k rounds against the stated law (chi-square, alpha 1e-3).

    Power (the noncentral chi-square, asserted here): at N = 20k the test rejects with
    probability >= 0.99 the law whose acceptance probabilities are 8% low (``c = 0.92``:
    0.9959; 5% low would be caught with probability 0.51 only), and the law of
    resampling from q without removing x (the second negative control: power 1.0).
    """
    q = target_laws()
    law = exact_law(q, DRAFTED).ravel()
    assert law.sum() == pytest.approx(1.0)
    for mutant in (
        scaled_acceptance_law(q, DRAFTED, 0.92),
        resample_without_removal_law(q, DRAFTED),
    ):
        assert chi_square_power(law, mutant.ravel(), ROUNDS) >= POWER
    cells = verified_cells(point_masses(), q, ROUNDS, seed=1)
    assert chi_square_pvalue(cells, law) > ALPHA


def test_negative_control_uniform_law_reported_is_rejected() -> None:
    """A drafter that proposes x but reports the uniform law: the same test rejects it
    (2k rounds suffice: it accepts x with probability min(1, 6 q(x)) = 1 here)."""
    q = target_laws()
    uniform = np.full((1, K, V), 1.0 / V)  # (1, k, V) the wrong law
    cells = verified_cells(uniform, q, ROUNDS // 10, seed=2)
    assert chi_square_pvalue(cells, exact_law(q, DRAFTED).ravel()) <= ALPHA


def test_negative_control_resampling_from_q_is_rejected() -> None:
    """Resampling from q without removing x after a refusal: rejected by the same test."""
    q = target_laws()
    rng = np.random.default_rng(3)
    cells = np.empty(ROUNDS, dtype=np.int64)
    for i in range(ROUNDS):
        a = 0
        while a < K and rng.random() < q[a, DRAFTED[a]]:
            a += 1
        cells[i] = a * V + rng.choice(V, p=q[a])  # wrong: x_a not removed when a < k
    assert chi_square_pvalue(cells, exact_law(q, DRAFTED).ravel()) <= ALPHA


# ----------------------------------------------------------------------------- generation

REPETITIVE = (
    "The with statement is used to wrap the execution of a block. "
    "The with statement is used to wrap the execution of a block. The with statement"
)


@pytest.fixture(scope="module")
def embedded() -> Any:
    return sb.lm.load_pair()


@pytest.mark.parametrize("algorithm", [sb.Speculative(gamma=4), sb.BlockSpeculative(gamma=4)])
def test_greedy_output_is_autoregressive_with_every_drafter(embedded: Any, algorithm: Any) -> None:
    greedy = SamplingConfig(temperature=0.0)
    options = {"max_new_tokens": 24, "sampling": greedy, "stop_at_eos": False}
    reference = sb.lm.generate(embedded, REPETITIVE, sb.Autoregressive(), **options)
    for name in MODEL_FREE:
        out = sb.lm.generate(
            embedded, REPETITIVE, algorithm, drafter=drafter_factory(name), **options
        )
        assert out.token_ids == reference.token_ids, name
        s = out.stats
        assert s.drafted_tokens > 0, name  # the drafters did match on this prompt
        if "model" not in name:
            assert s.draft_calls == 0
        assert s.target_calls == s.rounds
        # every round ends with a recovered or bonus token but the last, if it kept its
        # whole draft at the horizon
        assert s.new_tokens - sum(s.accepted_lengths) in (s.rounds, s.rounds - 1)


@pytest.mark.parametrize("algorithm", [sb.Speculative(gamma=3), sb.BlockSpeculative(gamma=3)])
def test_no_match_is_one_target_call_per_token(tiny_pair: Any, algorithm: Any) -> None:
    """Matches of 6 tokens never occur in this short run: every round is one target step
    — one call, one token, no rejection, no draft call — and the output is autoregressive
    decoding's, token for token, under the same seed."""
    prompt = [1, 2, 3, 4, 5, 6, 7]
    factory = drafter_factory("ngram", ngram_min=6, ngram_max=6)
    options: dict[str, Any] = {"max_new_tokens": 5, "seed": 4, "stop_at_eos": False}
    out = sb.lm.generate(tiny_pair, prompt, algorithm, drafter=factory, **options)
    s = out.stats
    assert s.drafted_tokens == 0
    assert (s.target_calls, s.rejections, s.draft_calls) == (s.new_tokens, 0, 0) == (5, 0, 0)
    assert s.accepted_lengths == (0,) * 5
    ar = sb.lm.generate(tiny_pair, prompt, sb.Autoregressive(), **options)
    assert out.token_ids == ar.token_ids


def test_fallback_keeps_the_draft_cache_consistent(tiny_pair: Any) -> None:
    """ngram+model at temperature 1: every round the draft model drafts, its first law
    equals the draft model's law after a full forward of all tokens so far (its cache
    was a prefix; the tokens of model-free rounds were fed as pending)."""
    seen: list[tuple[list[int], torch.Tensor]] = []

    class Recording(Drafter):
        def propose(self, tokens, num_tokens, num_drafts, rng):  # type: ignore[no-untyped-def]
            assert self.lm.length <= len(tokens)
            proposal = super().propose(tokens, num_tokens, num_drafts, rng)
            seen.append((list(tokens), proposal.draft_probs[0, 0].clone()))
            return proposal

    def factory(lm, sampling, eos):  # type: ignore[no-untyped-def]
        free = drafter_factory("ngram+model")(lm, sampling, eos)
        assert isinstance(free, FallbackDrafter)
        return FallbackDrafter(free.first, Recording(lm, sampling, eos))

    prompt = [1, 2, 3, 1, 2, 3, 1]
    out = sb.lm.generate(
        tiny_pair,
        prompt,
        sb.Speculative(gamma=3),
        max_new_tokens=30,
        seed=5,
        stop_at_eos=False,
        drafter=factory,
    )
    assert out.stats.draft_calls > 0 and len(seen) >= 2
    assert out.stats.drafted_tokens > out.stats.draft_calls  # model-free rounds ran too
    for tokens, law in seen:
        with torch.inference_mode():
            logits = tiny_pair.draft(input_ids=torch.tensor([tokens])).logits[:, -1]
        full = warp_probs(logits[:, : tiny_pair.vocab_size], SamplingConfig())[0]
        torch.testing.assert_close(law, full, atol=1e-5, rtol=1e-5)


def test_model_free_drafters_refuse_batch_sd(tiny_pair: Any) -> None:
    for name in MODEL_FREE:
        with pytest.raises(InvalidAlgorithmError, match="--drafter"):
            sb.lm.generate(
                tiny_pair,
                [1, 2],
                sb.BatchSpeculative(gamma=2, num_drafts=3),
                max_new_tokens=3,
                drafter=drafter_factory(name),
            )


def test_factory_refuses_bad_options() -> None:
    with pytest.raises(InvalidInputError, match="--drafter"):
        drafter_factory("lookahead")
    with pytest.raises(InvalidInputError, match="ngram_min"):
        drafter_factory("ngram", ngram_min=4, ngram_max=2)
    with pytest.raises(InvalidInputError, match="ngram_min"):
        drafter_factory("suffix", ngram_min=16, suffix_depth=16)
    with pytest.raises(InvalidInputError, match="max_draft"):
        drafter_factory("ngram", max_draft=0)


def test_cli_names_and_defaults_match_the_library() -> None:
    import inspect

    from specbound.cli.lm import generate
    from specbound.cli.options import DRAFTER_CHOICES
    from specbound.lm import drafters

    assert DRAFTER_CHOICES == sb.lm.DRAFTER_NAMES
    defaults = {k: v.default for k, v in inspect.signature(generate).parameters.items()}
    assert defaults["ngram_min"] == drafters.DEFAULT_NGRAM_MIN
    assert defaults["ngram_max"] == drafters.DEFAULT_NGRAM_MAX
    assert defaults["suffix_depth"] == drafters.DEFAULT_SUFFIX_DEPTH


# ----------------------------------------------------------------------------- the indexes


def test_lookup_prefers_the_longest_match_then_the_most_recent() -> None:
    index = NgramIndex(1, 3)
    index.extend([1, 2, 3, 4, 9, 2, 3, 5, 7, 2, 3])
    # suffix (2, 3) occurred at ends 2 and 6; (9/7, 2, 3) never: n = 2, the most recent
    assert index.match() == (2, 6)
    assert index.propose(3) == [5, 7, 2]
    index = NgramIndex(1, 3)
    index.extend([5, 1, 2, 3, 8, 6, 2, 3, 9, 1, 2, 3])
    assert index.match() == (3, 3)  # (1, 2, 3) beats the more recent (2, 3) at end 7
    assert index.propose(2) == [8, 6]
    assert NgramIndex(2, 3).propose(4) == []  # nothing indexed


def test_lookup_copies_overlapping_and_updates_incrementally() -> None:
    index = NgramIndex(1, 2)
    index.extend([7, 1, 2, 1, 2])
    assert index.propose(5) == [1, 2, 1, 2, 1]  # period-2 copy past the sequence's end
    fresh = NgramIndex(1, 1)
    fresh.extend([3, 4])
    assert fresh.propose(2) == []  # 4 never occurred before
    fresh.extend([5, 4])
    assert fresh.propose(2) == [5, 4]  # what followed the earlier 4
    assert len(fresh) == 4


def test_suffix_proposes_the_most_frequent_continuation() -> None:
    trie = SuffixTrie(depth=8)
    trie.extend([1, 2, 3, 9, 1, 2, 3, 9, 1, 2, 4, 9, 5, 1, 2])
    # (5, 1, 2) is new; after (1, 2): 3 twice, 4 once -> 3; then (1, 2, 3) -> 9 twice ...
    assert trie.propose(4) == [3, 9, 1, 2]
    tie = SuffixTrie(depth=4)
    tie.extend([1, 5, 1, 6, 1])
    assert tie.propose(1) == [6]  # counts tie (1 each): the most recent continuation
    assert SuffixTrie(depth=4).propose(3) == []


def test_suffix_updates_incrementally_and_respects_min_match() -> None:
    trie = SuffixTrie(depth=6, min_match=2)
    trie.extend([1, 2, 3])
    assert trie.propose(2) == []  # (2, 3) never occurred before; 1-token matches refused
    trie.extend([1, 2])
    assert trie.propose(2) == [3, 1]
    before = trie.nodes
    trie.extend([3])
    assert len(trie) == 6 and trie.nodes > before
    assert trie.propose(1) == [1]


# ----------------------------------------------------------------------------- the CLI


def test_generate_cli_runs_a_model_free_drafter(
    capsys: pytest.CaptureFixture[str], tiny_dirs: tuple[Any, Any]
) -> None:
    import json

    from specbound.cli import app
    from specbound.cli.common import run_app

    pair = ["--target", str(tiny_dirs[0]), "--draft", str(tiny_dirs[1]), "--threads", "1"]
    args = ["generate", "a b c a b c a", *pair, "--drafter", "suffix", "--gamma", "3"]
    code = run_app(app, [*args, "-n", "6", "--ngram-min", "2", "--json"])
    record = json.loads(capsys.readouterr().out)
    assert code == 0 and record["drafter"] == "suffix"
    assert record["stats"]["draft_calls"] == 0 and record["stats"]["new_tokens"] == 6
    refusals = [
        ["--drafter", "ngram", "-a", "batch", "-M", "3"],  # batch SD
        ["--ngram-max", "4"],  # a model-free option with --drafter model
        ["--drafter", "lookahead"],
        ["--drafter", "suffix", "-a", "ar"],  # nothing drafted
    ]
    for extra in refusals:
        assert run_app(app, ["generate", "a b", *pair, *extra]) == 2
        assert "--drafter" in capsys.readouterr().err


# ----------------------------------------------------------------------------- workloads


def test_shipped_workloads_load() -> None:
    from specbound.lm.prompts import WORKLOADS, load_workload

    for name in WORKLOADS:
        prompts = load_workload(name)
        assert 16 <= len(prompts) <= 24 and all(p.strip() for p in prompts)
        assert len(set(prompts)) == len(prompts)
        assert load_workload(name, limit=3) == prompts[:3]
    # grounded prompts carry the passage or code the answer copies from
    assert all("\n" in p or ":" in p for p in load_workload("grounded"))
    with pytest.raises(InvalidInputError, match="workload"):
        load_workload("closed")
