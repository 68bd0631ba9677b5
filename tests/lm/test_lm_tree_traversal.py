"""Traversal verification (Weng et al. 2025) of token trees on language models.

* **One round's law** (conditional: a fixed (2, 2) tree of :mod:`lm_tree_case`'s shape
  with the tokens :data:`TOKENS`; p, q from plain forwards). The rule, written out here
  (not the library's): every node v has a weight ``w_v`` and a law ``Q_v`` (initially
  ``q_v``); the root has ``w = 1``; a child c with token x of u gets
  ``w_c = min(w_u Q_u(x) / p_u(x), 1)`` (0 where ``p_u(x) = 0``) when its subtree is
  reached; nodes are tested in post-order (3, 4, 1, 5, 6, 2, then the root), v kept with
  probability ``w_v``, the next token then drawn from ``Q_v`` (a kept leaf: the bonus
  from ``q_v``); a refused v updates its parent u:
  ``Z = sum_x [w_u Q_u(x) - p_u(x)]_+``, ``Q_u <- [w_u Q_u - p_u]_+ / Z``,
  ``w_u <- Z / (Z + 1 - w_u)``. The updates along "all refused so far" are deterministic,
  so ``P(v kept, next = y) = w_v Q_v(y) prod_{tested before v} (1 - w)``. The decoder's
  verification is sampled N times and compared with that law by a Pearson chi-square at
  ALPHA = 1e-3; N is chosen (noncentral chi-square) for power >= 0.99 against the law
  without the parent update and the law with every acceptance x 0.98; the negative
  control (the library's rule with no parent update on a refusal) is rejected by the
  same test, and so is the recursive verifier (a token-level walk, 0.20 away in TV). The
  path layout verifies draw for draw as the node layout.
* **Whole continuations** (horizon 3, V = 8, all 512 enumerated from plain forwards):
  3,000 decoded continuations follow the target's law (chi-square, ALPHA); the rule
  without the parent update fails the same test.
* **A chain is block verification**: ``(1, 1, 1)`` gives ``BlockSpeculative(gamma=3)``'s
  tokens and counts seed for seed. The randomness is consumed alike: the tree drafter
  draws its uniforms as the sequence drafter does (SD's chain identity,
  ``test_lm_tree_decode.py``), and the traversal rule draws one uniform per node in
  pre-order (= depth on a chain: block verification's ``eta_1..eta_k``), then one for the
  recovered or bonus token, as block verification does; the node tested at depth i gets
  block verification's ``h_i`` and the same residual (``core.traversal``).
* Greedy traversal trees give the greedy autoregressive tokens (lean NeoX and Llama), and
  stop at an accepted EOS as autoregressive decoding does; tensors handed to verification
  (the accelerator path, on CPU tensors) give the NumPy path's tokens.
* Counting: one target call per round; a round is one rejection exactly when its kept path
  is shorter than the round's (cut) tree.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest
from lm_enumeration import sequence_index, sequence_law
from lm_tree_case import CHILDREN, PARENT, TreeSpec, cells_of, laws, node_arrays, powered_n

import specbound as sb
from round_harness import assert_law
from specbound.core.families import TraversalTreeFamily, VerificationFamily
from specbound.core.traversal import TraversalVerificationRule
from specbound.lm import ModelPair, SamplingConfig, generate
from specbound.lm.verification import verify_round
from stats_helpers import ALPHA, chi_square_pvalue

PROMPT = [3]
#: Each slot's token in the (2, 2) tree (:mod:`lm_tree_case`'s shape, other tokens): chosen
#: by a search over 80 random trees so that five slots can be kept and the law is far
#: (0.20 in TV) from the recursive verifier's, at a moderate N (about 520 rounds).
TOKENS = {1: 2, 2: 5, 3: 4, 4: 5, 5: 2, 6: 0}


def traversal_round_law(
    p: np.ndarray, q: np.ndarray, update_parent: bool = True, accept_scale: float = 1.0
) -> np.ndarray:
    """P(kept slot = s, next token = y): (7, V), the rule in the module docstring
    (``update_parent=False``, ``accept_scale``: the mutant laws)."""
    V = p.shape[-1]
    law = np.zeros((1 + len(TOKENS), V))
    w = {0: 1.0}
    Q = {0: q[0].copy()}
    alive = 1.0  # P(every node tested so far was refused)

    def visit(u: int) -> None:
        nonlocal alive
        for v in CHILDREN.get(u, []):
            x = TOKENS[v]
            w[v] = min(w[u] * Q[u][x] / p[u][x], 1.0) if p[u][x] > 0 else 0.0
            Q[v] = q[v].copy()
            visit(v)
            kept = accept_scale * w[v]
            law[v] += alive * kept * Q[v]
            alive *= 1.0 - kept
            if update_parent:
                excess = np.maximum(w[u] * Q[u] - p[u], 0.0)
                Z = excess.sum()
                if w[u] < 1.0:
                    w[u] = Z / (Z + 1.0 - w[u])
                if Z > 0:
                    Q[u] = excess / Z

    visit(0)
    law[0] += alive * Q[0]  # the root: w = 1, never refused
    return law


class NoParentUpdate(TraversalVerificationRule):
    """The negative control: a refused node leaves its parent's weight and law as they
    were (no ``[w Q - p]_+`` update); no longer the target's law."""

    def refuse_child(self, weight, law, draft_law):  # type: ignore[no-untyped-def]
        return weight, law


@dataclass(frozen=True)
class MutantTraversal(sb.TreeSpeculative):
    """A traversal tree spec judged by :class:`NoParentUpdate`."""

    @property
    def family(self) -> VerificationFamily:
        return TraversalTreeFamily(self.branching, NoParentUpdate())


TRAVERSAL = sb.TreeSpeculative((2, 2), verifier="traversal")


def test_traversal_round_follows_its_exact_law(tiny_pair: ModelPair) -> None:
    """Also: the recursive verifier's rounds on the same tree (a token-level walk, whose
    law is 0.20 from this one in TV) are rejected by the same test."""
    p, q = laws(tiny_pair, TOKENS)
    law = traversal_round_law(p, q)
    assert law.sum() == pytest.approx(1.0, abs=1e-12)
    assert (law.sum(axis=1) > 0.03).sum() >= 5  # the test sees five kept slots
    no_update = traversal_round_law(p, q, update_parent=False)
    n = powered_n(law, no_update, traversal_round_law(p, q, accept_scale=0.98))

    def draw(algorithm: object, size: int, rng: np.random.Generator) -> np.ndarray:
        return cells_of(algorithm, p, q, size, rng, TOKENS)

    assert_law(lambda size, rng: draw(TRAVERSAL, size, rng), law, n, seed=6)
    for wrong in (
        TreeSpec(TraversalTreeFamily((2, 2), NoParentUpdate())),
        sb.TreeSpeculative((2, 2)),
    ):
        cells = draw(wrong, n, np.random.default_rng(6))
        assert chi_square_pvalue(cells, law.ravel()) < ALPHA, wrong


def test_path_layout_and_node_layout_verify_alike(tiny_pair: ModelPair) -> None:
    """The path layout (4 root-to-leaf rows, shared prefixes repeated) gives the node
    layout's verdicts draw for draw; and the verdicts vary with the draws (control)."""
    p, q = laws(tiny_pair, TOKENS)
    draft, target, tokens = node_arrays(p, q, TOKENS)
    rows = np.array([[PARENT[leaf], leaf] for leaf in (3, 4, 5, 6)])  # (4, 2) slots per path
    path_tokens = np.array([[TOKENS[s] for s in r] for r in rows])
    path_draft = np.stack([[p[0], p[r[0]]] for r in rows])  # (4, 2, V)
    path_target = np.stack([[q[0], q[r[0]], q[r[1]]] for r in rows])  # (4, 3, V)
    a, b = np.random.default_rng(9), np.random.default_rng(9)
    verdicts = set()
    for _ in range(200):
        node = verify_round(TRAVERSAL, draft, target, tokens, a)
        assert node == verify_round(TRAVERSAL, path_draft, path_target, path_tokens, b)
        verdicts.add(node)
    assert len(verdicts) > 5


def test_the_accelerator_path_gives_the_cpu_tokens(
    tiny_pair: ModelPair, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Off the CPU the round's tensors go to verification as they are (one host copy
    there); on CPU tensors made to take that path, the tokens are the NumPy path's."""
    import specbound.lm.tree_round as tree_round

    tree = sb.TreeSpeculative((3, 2), verifier="traversal")
    on_numpy = [_run(tiny_pair, tree, seed, temperature=0.9).token_ids for seed in range(4)]
    monkeypatch.setattr(tree_round, "kernel_array", lambda tensor: tensor)
    on_tensors = [_run(tiny_pair, tree, seed, temperature=0.9).token_ids for seed in range(4)]
    assert on_tensors == on_numpy and len(set(map(tuple, on_numpy))) > 1


def _continuations(pair: ModelPair, algorithm: object, n: int, sampling: SamplingConfig):  # type: ignore[no-untyped-def]
    out = np.empty(n, dtype=np.int64)
    for seed in range(n):
        result = generate(
            pair,
            PROMPT,
            algorithm,
            max_new_tokens=3,
            seed=seed,
            sampling=sampling,  # type: ignore[arg-type]
            stop_at_eos=False,
        )
        out[seed] = sequence_index(result.token_ids, pair.vocab_size)
    return out


LAW_CASES = [
    ("traversal-2-2", TRAVERSAL, SamplingConfig()),
    (
        "traversal-2-1-warped",
        sb.TreeSpeculative((2, 1), verifier="traversal"),
        SamplingConfig(temperature=0.7, top_k=5),
    ),
]


@pytest.mark.parametrize(
    ("tree", "sampling"), [c[1:] for c in LAW_CASES], ids=[c[0] for c in LAW_CASES]
)
def test_traversal_output_law_is_the_target_law(
    tiny_pair: ModelPair, tree: sb.Algorithm, sampling: SamplingConfig
) -> None:
    """3,000 continuations of 3 tokens against the enumerated target law (512 cells)."""
    law = sequence_law(tiny_pair, PROMPT, 3, sampling)
    assert chi_square_pvalue(_continuations(tiny_pair, tree, 3_000, sampling), law) > ALPHA


def test_traversal_without_parent_update_fails_the_law_test(tiny_pair: ModelPair) -> None:
    law = sequence_law(tiny_pair, PROMPT, 3, SamplingConfig())
    samples = _continuations(tiny_pair, MutantTraversal((2, 2)), 3_000, SamplingConfig())
    assert chi_square_pvalue(samples, law) < ALPHA


def _run(pair: ModelPair, algorithm: object, seed: int, n: int = 24, **sampling: object):  # type: ignore[no-untyped-def]
    return generate(
        pair,
        PROMPT,
        algorithm,  # type: ignore[arg-type]
        max_new_tokens=n,
        seed=seed,
        sampling=SamplingConfig(**sampling),  # type: ignore[arg-type]
        stop_at_eos=False,
    )


@pytest.mark.parametrize("fixture", ["tiny_pair", "embedded_pair"])
def test_a_traversal_chain_gives_the_tokens_of_block_verification(
    request: pytest.FixtureRequest, fixture: str
) -> None:
    pair = request.getfixturevalue(fixture)
    chain = sb.TreeSpeculative((1, 1, 1), verifier="traversal")
    block = sb.BlockSpeculative(gamma=3)
    runs = []
    for seed in range(4):
        a, b = _run(pair, chain, seed), _run(pair, block, seed)
        assert a.token_ids == b.token_ids
        assert a.stats.target_calls == b.stats.target_calls
        assert a.stats.rejections == b.stats.rejections
        assert a.stats.accepted_lengths == b.stats.accepted_lengths
        runs.append(tuple(a.token_ids))
    assert len(set(runs)) > 1  # the seeds do change the tokens: the check is not vacuous


@pytest.mark.parametrize("branching", [(2, 2), (4, 2, 1)])
@pytest.mark.parametrize("fixture", ["tiny_pair", "llama_pair"])
def test_greedy_traversal_is_greedy_autoregressive(
    request: pytest.FixtureRequest, fixture: str, branching: tuple[int, ...]
) -> None:
    """Temperature 0: every law is a point mass, so traversal keeps the argmax path."""
    pair = request.getfixturevalue(fixture)
    reference = _run(pair, sb.Autoregressive(), 0, temperature=0)
    out = _run(pair, sb.TreeSpeculative(branching, verifier="traversal"), 7, temperature=0)
    assert out.token_ids == reference.token_ids
    assert out.stats.target_calls <= reference.stats.target_calls


def test_greedy_traversal_stops_where_autoregressive_stops(tiny_pair: ModelPair) -> None:
    """With EOS on, the output is cut after an accepted EOS (no token after it)."""
    greedy = SamplingConfig(temperature=0)
    tree = sb.TreeSpeculative((2, 2, 1), verifier="traversal")
    stops = []
    for prompt in ["a", "b", "c", "d", "e", "f", "g"]:
        reference = generate(
            tiny_pair, prompt, sb.Autoregressive(), max_new_tokens=30, sampling=greedy
        )
        out = generate(tiny_pair, prompt, tree, max_new_tokens=30, sampling=greedy)
        assert out.token_ids == reference.token_ids
        stops.append(out.token_ids[-1] == tiny_pair.eos_token_id)
    assert any(stops)  # some prompt does reach EOS: the check is not vacuous


def test_traversal_counts_follow_the_counting_definitions(tiny_pair: ModelPair) -> None:
    """One target call per round; a rejection exactly where the kept path is shorter than
    the round's tree (cut at the horizon); tokens per round = kept + 1 but a round that
    keeps its whole tree at the horizon; drafted tokens = the tree's nodes."""
    rounds: list = []
    out = generate(
        tiny_pair,
        PROMPT,
        sb.TreeSpeculative((3, 2), verifier="traversal"),
        max_new_tokens=25,
        seed=5,
        stop_at_eos=False,
        on_round=rounds.append,
    )
    stats = out.stats
    assert stats.target_calls == len(rounds) == len(stats.accepted_lengths)
    depths = [r.drafted for r in rounds]
    accepted = stats.accepted_lengths
    assert stats.rejections == sum(a < d for a, d in zip(accepted, depths, strict=True))
    assert 0 < stats.rejections < len(rounds)
    done = 0
    for a, d in zip(accepted, depths, strict=True):
        assert d == min(2, 25 - done)
        done += a + (1 if a < d or d < 25 - done else 0)
    assert done == stats.new_tokens == 25
    assert stats.drafted_tokens == sum(3 + 6 if d == 2 else 3 for d in depths)
