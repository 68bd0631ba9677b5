"""Token trees in the profile: the positional model, its recursion, the search, the rows.

Formulas checked (paper notation p = draft, q = target):

* cover ``A(b) = 1 - prod_{k<=b} TV(p, r_k)`` (``r_1 = q``, ``r_{k+1} = [r_k - p]_+``
  normalised) equals ``1 - all_rejected_probability(p, q, b)`` of the batch rule;
* the expected accepted depth of a shape ``(b_1..b_D)`` under positional acceptance,
  ``sum_d prod_{j<=d} A(b_j)``, equals a brute-force sum over every outcome of every
  node of the whole tree (each node's first accepted child k w.p.
  ``prod_{j<k} (1 - c_j) c_k``, none w.p. ``prod_j (1 - c_j)``, c the positional rates),
  and a Monte Carlo walk of that same model (ALPHA = 1e-3, |z| < 3.29; negative control:
  the walk of the chain of the same depth is rejected);
* with one constant acceptance a, the horizon recursion of a chain equals SD's
  along-path recursion with acceptance a at every position;
* the dynamic program's best value for every (nodes, depth) equals exhaustive search
  over ``shapes_within`` the budget;
* on the embedded pair: a chain tree's row equals SD's row along the same paths; a
  tree's predicted calls per token agrees with the decoder's measured mean at ALPHA =
  1e-3 (|z| < 3.29, 3 prompts x 20 paths, 3 x 20 runs), i.i.d. and distinct children
  alike, and the negative control (the chain's prediction for a 4-child star and for an
  8-distinct-child star) is rejected (power: they differ by ~7 and ~11 se).
"""

from __future__ import annotations

import itertools
import json
import math

import numpy as np
import pytest

import specbound as sb
from specbound.core.batch import all_rejected_probability
from specbound.core.families.shapes import node_count, shapes_within
from specbound.errors import SpecboundError
from specbound.estimates import agreement_z
from specbound.profiling.predict import round_starts_given_path
from specbound.profiling.tree_search import MAX_TREE_BUDGET, best_shapes, best_tree, check_budget
from specbound.profiling.trees import (
    PositionalAcceptance,
    accepted_depth_law,
    covers_along,
    expected_accepted_depth,
    round_starts,
)

Z_ALPHA = 3.2905  # two-sided, ALPHA = 1e-3


def random_acceptance(seed: int, children: int = 6) -> PositionalAcceptance:
    rng = np.random.default_rng(seed)
    p, q = rng.dirichlet(np.ones(5), size=(2, 40))
    return PositionalAcceptance.mean_of(covers_along(p, q, children))


def test_covers_are_theorem_3_round_start_acceptance() -> None:
    rng = np.random.default_rng(0)
    p, q = rng.dirichlet(np.ones(7), size=(2, 30))
    covers = covers_along(p, q, 4)
    for b in range(1, 5):
        assert covers[:, b - 1] == pytest.approx(1 - all_rejected_probability(p, q, b), abs=1e-12)
    assert np.all(np.diff(covers, axis=-1) >= -1e-12)


def brute_force_depth(branching: tuple[int, ...], rates: np.ndarray) -> float:
    """Sum over every joint outcome of every inner node of the whole tree."""
    inner = [math.prod(branching[:d]) for d in range(len(branching))]  # nodes per depth
    per_node = []  # for each inner node: its outcomes (first accepted child or -1), probs
    for d, width in enumerate(inner):
        b = branching[d]
        outcomes = []
        for k in range(b):
            outcomes.append((k, float(np.prod(1 - rates[:k]) * rates[k])))
        outcomes.append((-1, float(np.prod(1 - rates[:b]))))
        per_node += [(d, j, outcomes) for j in range(width)]
    total = 0.0
    for choice in itertools.product(*(o for _, _, o in per_node)):
        prob = math.prod(c[1] for c in choice)
        table = {(d, j): c[0] for (d, j, _), c in zip(per_node, choice, strict=True)}
        depth, index = 0, 0
        while depth < len(branching) and table[(depth, index)] >= 0:
            index = index * branching[depth] + table[(depth, index)]
            depth += 1
        total += prob * depth
    return total


@pytest.mark.parametrize("branching", [(1,), (2,), (2, 1), (1, 2), (2, 2), (3, 1, 2)])
def test_value_recursion_equals_brute_force(branching: tuple[int, ...]) -> None:
    acceptance = random_acceptance(len(branching) + sum(branching))
    want = brute_force_depth(branching, acceptance.rates)
    assert expected_accepted_depth(branching, acceptance) == pytest.approx(want, abs=1e-12)
    law = accepted_depth_law(branching, acceptance)
    assert law.sum() == pytest.approx(1.0) and law @ np.arange(law.size) == pytest.approx(want)


def walk(branching: tuple[int, ...], rates: np.ndarray, rng: np.random.Generator) -> int:
    depth = 0
    for b in branching:
        if not (rng.uniform(size=b) < rates[:b]).any():
            return depth
        depth += 1
    return depth


def test_value_recursion_agrees_with_monte_carlo() -> None:
    branching = (3, 2, 1)
    acceptance = random_acceptance(7)
    rng = np.random.default_rng(11)
    draws = np.array([walk(branching, acceptance.rates, rng) for _ in range(20_000)])
    want = expected_accepted_depth(branching, acceptance)
    se = draws.std(ddof=1) / math.sqrt(draws.size)
    assert abs(draws.mean() - want) / se < Z_ALPHA
    control = expected_accepted_depth((1, 1, 1), acceptance)  # ignores the siblings
    assert abs(draws.mean() - control) / se > Z_ALPHA


@pytest.mark.parametrize("depth", [1, 2, 4])
def test_chain_horizon_recursion_is_sds(depth: int) -> None:
    a, length = 0.63, 11
    acceptance = PositionalAcceptance(np.array([a]))
    calls, rejections, starts = round_starts((1,) * depth, acceptance, length, length)
    sd_rejections, sd_calls, sd_starts = round_starts_given_path(np.full((1, length), a), depth)
    assert calls == pytest.approx(sd_calls[0]) and rejections == pytest.approx(sd_rejections[0])
    assert starts == pytest.approx(sd_starts[0])


@pytest.mark.parametrize("budget", [1, 3, 6, 10])
def test_dynamic_program_equals_exhaustive_search(budget: int) -> None:
    acceptance = random_acceptance(budget, children=budget)
    found = best_shapes(acceptance, budget, 4)
    exhaustive: dict[tuple[int, int], float] = {}
    for shape in shapes_within(budget, 4):
        key = (node_count(shape), len(shape))
        exhaustive[key] = max(exhaustive.get(key, -1.0), expected_accepted_depth(shape, acceptance))
    assert set(found) == set(exhaustive)
    for key, (value, shape) in found.items():
        assert value == pytest.approx(exhaustive[key], abs=1e-12)
        assert (node_count(shape), len(shape)) == key

    def seconds(shape: tuple[int, ...]) -> float:  # a call dearer per node, a forward per depth
        return 1.0 + 0.15 * node_count(shape) + 0.1 * len(shape)

    choice = best_tree(acceptance, budget, 4, seconds, 1.0)
    every = max(
        (1 + expected_accepted_depth(s, acceptance)) / seconds(s) for s in shapes_within(budget, 4)
    )
    assert choice.speedup == pytest.approx(every)
    chain = best_tree(acceptance, budget, 4, seconds, 1.0, chain=True)
    assert chain.is_chain and chain.speedup <= choice.speedup + 1e-12


@pytest.mark.parametrize("budget", [0, MAX_TREE_BUDGET + 1, 2.5, True])
def test_bad_budgets_are_refused(budget: object) -> None:
    with pytest.raises(SpecboundError, match="tree_budget"):
        check_budget(budget)  # type: ignore[arg-type]


PROMPTS = ["The cat sat on the", "Once upon a time there was", "def main():"]


def test_refusals_name_the_input(embedded_pair) -> None:  # type: ignore[no-untyped-def]
    cases = [
        ({"trees": [(2, 0)]}, "branching"),
        ({"trees": [sb.TreeSpeculative(branching=(2,), verifier="optimal")]}, "trees"),
        ({"trees": ["4,2"]}, "trees"),
        ({"trees": [(8, 8)]}, "72 nodes"),
        ({"tree_budget": 100}, "tree_budget"),
        ({"tree_budget": 4, "timing": False}, "tree_budget"),
        ({"trees": [(2,)], "drafter": "ngram"}, "trees"),
    ]
    for options, name in cases:
        with pytest.raises(SpecboundError, match=name):
            sb.profile(embedded_pair, PROMPTS, measure=False, **options)


def test_chain_tree_row_is_sds_row(embedded_pair) -> None:  # type: ignore[no-untyped-def]
    report = sb.profile(
        embedded_pair,
        PROMPTS,
        max_new_tokens=10,
        samples_per_prompt=4,
        gammas=(3,),
        num_drafts=(),
        eps=(),
        blocks=False,
        horizon=False,
        measure=False,
        timing=False,
        trees=[(1, 1, 1)],
    )
    sd = report.find(sb.Speculative(gamma=3)).prediction
    tree = report.find(sb.TreeSpeculative(branching=(1, 1, 1))).prediction
    assert tree.expected_calls.mean == pytest.approx(sd.expected_calls.mean, rel=1e-12)
    assert tree.expected_rejections.mean == pytest.approx(sd.expected_rejections.mean, rel=1e-12)


def test_tree_prediction_agrees_with_the_decoder(embedded_pair) -> None:  # type: ignore[no-untyped-def]
    """I.i.d. and distinct children (``replacement=False``: their covers are
    tests/lm_profile/test_profile_distinct_trees.py's)."""
    distinct = [
        sb.TreeSpeculative((8,), replacement=False),
        sb.TreeSpeculative((3, 2), replacement=False),
    ]
    trees = [sb.TreeSpeculative((2, 2)), sb.TreeSpeculative((4,)), *distinct]
    report = sb.profile(
        embedded_pair,
        PROMPTS,
        max_new_tokens=16,
        samples_per_prompt=20,
        gammas=(1,),
        num_drafts=(),
        eps=(),
        blocks=False,
        horizon=False,
        runs_per_prompt=20,
        timing=False,
        common_seeds=False,
        trees=trees,
    )
    for tree in trees:
        row = report.find(tree)
        assert row.z_calls is not None and abs(row.z_calls) < Z_ALPHA, (tree.label, row.z_calls)
    # negative control: the chain's prediction (SD gamma=1) for the 4-child and the
    # 8-distinct-child stars (the i.i.d. star's prediction is no control for the distinct
    # one: with this pair's good draft the two differ by about 0.3 standard errors)
    chain = report.find(sb.Speculative(gamma=1)).prediction
    for star in (sb.TreeSpeculative((4,)), distinct[0]):
        measured = report.find(star).measurement
        assert measured is not None
        z = agreement_z(chain.calls_per_token, measured.calls_per_token)
        assert abs(z) > Z_ALPHA, (star.label, z)


def test_tree_features_price_what_the_decoder_reports(embedded_pair) -> None:  # type: ignore[no-untyped-def]
    """The prediction's features of a tree round (``CostBasis.tree_features``) are the
    calibration's features of the decoder's own ``RoundTiming`` of that round."""
    from specbound.lm.stats import RoundTiming
    from specbound.profiling.costs import tree_draft_rows
    from specbound.profiling.fit import GenerationRecord, basis_for

    tree = sb.TreeSpeculative(branching=(2, 1))
    rounds: list[RoundTiming] = []
    out = sb.generate(embedded_pair, PROMPTS[0], tree, max_new_tokens=9, seed=3,
                      stop_at_eos=False, on_round=rounds.append)  # fmt: skip
    record = GenerationRecord("tree", 1, 0, 0, tuple(rounds), 0.0, tree.branching)
    basis = basis_for([record, GenerationRecord("autoregressive", 1, 1, 0, (), 0.0)])
    done = 0
    for t, accepted in zip(rounds, out.stats.accepted_lengths, strict=True):
        reported = (
            basis.target_features(t.scored, t.rows, t.context)
            + basis.draft_features(
                t.drafted, t.rows, t.context, tree_draft_rows(tree.branching, t.drafted)
            )
            + basis.other_features("tree", t.drafted, t.rows)
        )
        predicted = basis.tree_features(tree, [9 - done], [t.context])
        assert predicted == pytest.approx(reported)
        done += min(accepted + 1, 9 - done)


def test_tree_draft_rows_count_the_wide_forwards() -> None:
    """The draft forwards depths 1..D-1 with every node of the depth (the root's forward
    is one row): extra rows = sum_{d<D} (n_d - 1)."""
    from specbound.profiling.costs import tree_draft_rows

    assert tree_draft_rows((1, 1, 1), 3) == 0  # a chain drafts as SD
    assert tree_draft_rows((2, 1), 2) == 1  # depth 1 has 2 nodes
    assert tree_draft_rows((4, 2, 1), 3) == 3 + 7  # depths 1 and 2: 4 and 8 nodes
    assert tree_draft_rows((4, 2, 1), 1) == 0  # cut to one depth: the root's forward only


def test_the_search_calibrates_the_rows_and_the_width_it_prices() -> None:
    """The calibration of a search reaches budget + 1 target rows and has a tree whose
    draft forwards carry extra rows (else the wide-drafting coefficient is not fitted)."""
    from specbound.profiling.costs import tree_draft_rows
    from specbound.profiling.tree_search import search_calibration

    trees = search_calibration(6, 32)
    assert max(node_count(t.branching) for t in trees) == 6
    assert any(tree_draft_rows(t.branching, t.gamma) > 0 for t in trees)
    assert [t.branching for t in search_calibration(3, 32)] == [(1, 1, 1), (1,)]  # no width
    assert [t.branching for t in search_calibration(1, 32)] == [(1,)]
    assert search_calibration(6, 4)[0].branching == (1, 1, 1, 1)  # the horizon


def test_how_far_the_positional_assumption_is_off_on_a_chain(embedded_pair) -> None:  # type: ignore[no-untyped-def]
    """On a chain the exact along-path prediction exists: the positional model (covers
    averaged along each path) predicts E[calls] within 5% of it on the embedded pair."""
    from specbound.lm.decode import encode_prompt
    from specbound.profiling.paths import sample_paths
    from specbound.profiling.tree_predict import record_tree_paths

    ids = encode_prompt(embedded_pair, PROMPTS[1])
    paths = sample_paths(embedded_pair, ids, 12, 16, sb.lm.SamplingConfig(),
                         np.random.default_rng(5))  # fmt: skip
    record = record_tree_paths(paths, len(ids), 1, np.random.default_rng(6))
    exact, positional = [], []
    for i, length in enumerate(record.lengths.tolist()):
        _, calls, _ = round_starts_given_path(record.accept[i : i + 1, :length], 3)
        exact.append(float(calls[0]))
        acceptance = PositionalAcceptance.mean_of(record.covers[i, :length])
        positional.append(round_starts((1, 1, 1), acceptance, length, 16)[0])
    gap = abs(np.mean(positional) / np.mean(exact) - 1.0)
    assert gap < 0.05, gap


def test_cli_tree_rows_and_search(embedded_pair, capsys: pytest.CaptureFixture[str]) -> None:  # type: ignore[no-untyped-def]
    from specbound.cli import app
    from specbound.cli.common import run_app

    args = ["profile", "--tree", "2,1", "--tree", "2", "--children", "distinct"]
    args += ["--tree-budget", "3", "-n", "6", "--num-prompts", "1"]
    args += ["--samples-per-prompt", "3", "--runs-per-prompt", "2", "--gamma", "2", "-M", "2"]
    args += ["--eps", "none", "--no-blocks", "--threads", "1", "-q", "--json"]
    code = run_app(app, args)
    captured = capsys.readouterr()
    assert code == 0, captured.err
    data = json.loads(captured.out)
    labels = [row["label"] for row in data["rows"]]
    search = data["trees"]
    best = ",".join(map(str, search["best_tree"]["branching"]))
    children = "" if search["best_tree"]["replacement"] else " w/o replacement"
    assert "tree 2,1 recursive w/o replacement" in labels  # --children distinct
    assert "tree 2 recursive w/o replacement" in labels
    assert f"tree {best} recursive{children}" in labels
    assert search["budget"] == 3 and search["best_tree"]["nodes"] <= 3
    assert search["best_chain"]["branching"] == [1] * len(search["best_chain"]["branching"])
    assert search["best_tree"]["speedup"] >= search["best_chain"]["speedup"]
    assert isinstance(data["recommended_tree"], bool)


@pytest.mark.parametrize(
    ("args", "name"),
    [
        (["--tree-budget", "65"], "--tree-budget"),
        (["--tree", "2,x"], "--tree"),
        (["--tree", "2", "--drafter", "ngram"], "--tree"),
        (["--children", "distinct"], "--children applies to the --tree rows"),
        (["--tree", "2", "--children", "unique"], "children must be one of iid, distinct"),
    ],
)
def test_cli_refuses_bad_tree_options_before_loading(
    args: list[str], name: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from specbound import lm
    from specbound.cli import app
    from specbound.cli.common import run_app

    def no_loading(*a: object, **k: object) -> None:
        raise AssertionError("a model loaded before the options were checked")

    monkeypatch.setattr(lm, "load_pair", no_loading)
    code = run_app(app, ["profile", *args])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("error: ") and name in err, err
