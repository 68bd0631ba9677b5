"""MarkovChain, the generators, pair files, and the named errors for bad input."""

from __future__ import annotations

import json
import pickle

import numpy as np
import pytest

import specbound as sb
from specbound.chain import (
    MarkovChain,
    bernoulli_pairs,
    load_chains,
    one_step_chains,
    random_chain,
    random_pair,
    save_chains,
    uniform_support_pairs,
)
from specbound.errors import (
    ChainFileError,
    InvalidDistributionError,
    InvalidInputError,
    ShapeMismatchError,
    SpecboundError,
)


def test_public_names_resolve_lazily() -> None:
    assert sb.MarkovChain is MarkovChain
    assert sb.simulate is sb.chain.simulate
    assert sb.SimulationResult is sb.chain.SimulationResult
    assert callable(sb.theory.expected_rejections) and callable(sb.theory.output_chain)


def test_chain_basics() -> None:
    chain = random_chain(5, 3, concentration=0.5, seed=1, start=2)
    assert (chain.horizon, chain.num_states, chain.start) == (5, 3, 2)
    assert not chain.transitions.flags.writeable
    np.testing.assert_allclose(chain.transitions.sum(-1), 1.0, atol=1e-15)
    marg = chain.marginals()
    assert marg.shape == (6, 3) and marg[0, 2] == 1.0
    np.testing.assert_allclose(marg.sum(-1), 1.0, atol=1e-12)
    law = chain.sequence_probs()
    assert law.shape == (3,) * 5 and law.sum() == pytest.approx(1.0, abs=1e-12)
    # marginal of x_T from the enumerated law equals the forward recursion
    np.testing.assert_allclose(law.sum(axis=(0, 1, 2, 3)), marg[-1], atol=1e-12)


def test_pickle_round_trip_stays_read_only() -> None:
    chain = random_chain(3, 2, seed=0, start=1)
    back = pickle.loads(pickle.dumps(chain))
    np.testing.assert_array_equal(back.transitions, chain.transitions)
    assert back.start == 1 and not back.transitions.flags.writeable


def test_copy_false_keeps_a_read_only_view() -> None:
    kernel = np.full((4, 4), 0.25)
    chain = MarkovChain(np.broadcast_to(kernel, (1000, 4, 4)), copy=False)
    assert chain.horizon == 1000 and np.shares_memory(chain.transitions, kernel)


def test_generators_are_reproducible_and_documented() -> None:
    a, b = random_pair(6, 4, 0.3, seed=7), random_pair(6, 4, 0.3, seed=7)
    np.testing.assert_array_equal(a[0].transitions, b[0].transitions)
    c = random_pair(6, 4, 0.3, seed=8)
    assert not np.array_equal(a[1].transitions, c[1].transitions)
    same = random_pair(6, 4, 0.0, seed=7)
    np.testing.assert_array_equal(same[0].transitions, same[1].transitions)
    # mix = 1: the draft is the second batch of Dirichlet rows, independent of the target
    rng = np.random.default_rng(7)
    first = rng.dirichlet(np.ones(4), size=(6, 4))
    second = rng.dirichlet(np.ones(4), size=(6, 4))
    d, t = random_pair(6, 4, 1.0, seed=7)
    np.testing.assert_allclose(t.transitions, first, atol=1e-15)
    np.testing.assert_allclose(d.transitions, second, atol=1e-15)
    sparse = random_chain(20, 6, seed=0, zeros=0.5)
    assert (sparse.transitions == 0).any() and (sparse.transitions.max(-1) > 0).all()


def test_one_step_families() -> None:
    draft, target = bernoulli_pairs(1000, seed=0)
    assert draft.shape == target.shape == (1000, 2)
    np.testing.assert_allclose(draft.sum(-1), 1.0)
    assert 0.45 < draft[:, 1].mean() < 0.55  # a ~ Uniform(0, 1)
    draft, target = uniform_support_pairs(500, 6, seed=1)
    for row in np.concatenate([draft, target]):
        support = row > 0
        np.testing.assert_allclose(row[support], 1.0 / support.sum())
    sizes = (draft > 0).sum(-1)
    assert set(sizes.tolist()) == set(range(1, 7))  # k ~ Uniform{1..V}
    d, t = one_step_chains([0.5, 0.5, 0.0], [0.2, 0.3, 0.5])
    assert d.horizon == 1 and sb.theory.expected_rejections(
        d, t, sb.Speculative()
    ) == pytest.approx(0.5)


def test_file_round_trip(tmp_path) -> None:
    draft, target = random_pair(4, 3, 0.5, seed=2, start=1)
    path = save_chains(tmp_path / "pair.json", draft, target)
    data = json.loads(path.read_text())
    assert set(data) == {"start", "draft", "target"} and data["start"] == 1
    d2, t2 = load_chains(path)
    np.testing.assert_allclose(d2.transitions, draft.transitions, atol=1e-15)
    np.testing.assert_allclose(t2.transitions, target.transitions, atol=1e-15)
    assert d2.start == 1


def _write(tmp_path, payload) -> str:
    path = tmp_path / "bad.json"
    path.write_text(payload if isinstance(payload, str) else json.dumps(payload))
    return str(path)


GOOD = [[[0.5, 0.5], [0.1, 0.9]]]


@pytest.mark.parametrize(
    ("payload", "error", "fragment"),
    [
        ("{not json", ChainFileError, "not valid JSON"),
        ([1, 2], ChainFileError, "JSON object"),
        ({"draft": GOOD}, ChainFileError, "missing key"),
        ({"draft": "x", "target": GOOD}, ChainFileError, "nested list"),
        ({"draft": [[[0.5, 0.5], [0.1]]], "target": GOOD}, ChainFileError, "rectangular"),
        ({"draft": [[0.5, 0.5]], "target": GOOD}, ChainFileError, "shape"),
        ({"start": "0", "draft": GOOD, "target": GOOD}, ChainFileError, "start"),
        ({"draft": [[[0.5, 0.6], [0.1, 0.9]]], "target": GOOD}, InvalidDistributionError, "sums"),
        ({"draft": [[[1.5, -0.5], [0.1, 0.9]]], "target": GOOD}, InvalidDistributionError, ">= 0"),
        ({"draft": GOOD * 2, "target": GOOD}, ShapeMismatchError, "T and S must match"),
        (
            {"draft": [[[1, 0, 0], [0, 1, 0], [0, 0, 1]]], "target": GOOD},
            ShapeMismatchError,
            "must match",
        ),
        ({"start": 2, "draft": GOOD, "target": GOOD}, InvalidInputError, "out of range"),
        ({"start": -1, "draft": GOOD, "target": GOOD}, InvalidInputError, "out of range"),
        # numbers written as strings: refused with the key and the position, not converted
        (
            {"draft": [[[0.5, "0.5"], [0.1, 0.9]]], "target": GOOD},
            ChainFileError,
            r"'draft'\[0\]\[0\]\[1\] is \"0.5\", not a number",
        ),
        (
            {"draft": GOOD, "target": [[[0.5, 0.5], ["0.1", 0.9]]]},
            ChainFileError,
            r"'target'\[0\]\[1\]\[0\] is \"0.1\"",
        ),
        ({"draft": [[[0.5, None], [0.1, 0.9]]], "target": GOOD}, ChainFileError, "null"),
    ],
)
def test_bad_files_raise_named_errors(tmp_path, payload, error, fragment) -> None:
    if isinstance(payload, dict) and "draft" in payload and "target" in payload:
        payload = {"start": 0, **payload}  # a missing start is its own error (next test)
    path = _write(tmp_path, payload)
    with pytest.raises(error, match=fragment) as info:
        load_chains(path)
    assert "bad.json" in str(info.value)


def test_a_missing_start_is_named(tmp_path) -> None:
    with pytest.raises(ChainFileError, match="missing key 'start'"):
        load_chains(_write(tmp_path, {"draft": GOOD, "target": GOOD}))


def test_missing_file(tmp_path) -> None:
    with pytest.raises(ChainFileError, match="cannot read"):
        load_chains(tmp_path / "nope.json")


def test_bad_chains_and_pairs() -> None:
    with pytest.raises(ShapeMismatchError, match=r"\(T, S, S\)"):
        MarkovChain(np.full((2, 3), 1 / 3))
    with pytest.raises(InvalidDistributionError, match="finite"):
        MarkovChain(np.array([[[np.nan, 1.0], [0.5, 0.5]]]))
    with pytest.raises(InvalidInputError, match="start"):
        MarkovChain(np.full((1, 2, 2), 0.5), start=True)
    a, b = random_chain(3, 2, seed=0), random_chain(3, 2, seed=1, start=1)
    with pytest.raises(InvalidInputError, match="start"):
        sb.theory.expected_rejections(a, b, sb.Speculative())
    with pytest.raises(ShapeMismatchError):
        sb.theory.expected_rejections(a, random_chain(4, 2, seed=0), sb.Speculative())
    with pytest.raises(InvalidInputError):
        sb.theory.expected_rejections(a, np.zeros((3, 2, 2)), sb.Speculative())
    for bad in (
        lambda: random_chain(0, 3),
        lambda: random_pair(3, 3, mix=1.5),
        lambda: random_chain(3, 3, concentration=0.0),
        lambda: random_chain(3, 3, seed=-1),
        lambda: uniform_support_pairs(3, 0),
    ):
        with pytest.raises(SpecboundError):
            bad()


def test_enumeration_refuses_huge_chains() -> None:
    chain = random_chain(30, 4, seed=0)
    with pytest.raises(InvalidInputError, match="exceeds"):
        chain.sequence_probs()
    with pytest.raises(InvalidInputError, match="exceeds"):
        sb.theory.sequence_law(chain, chain, sb.Speculative())
    assert sb.theory.expected_bias(chain, chain, sb.OverAcceptance(0.1)).sequence_tv is None


def test_output_chain_refuses_finite_gamma_over_acceptance() -> None:
    draft, target = random_pair(3, 2, 0.5, seed=0)
    with pytest.raises(sb.InvalidAlgorithmError, match="not a first-order"):
        sb.theory.output_chain(draft, target, sb.OverAcceptance(0.1, gamma=2))
