"""The library's bad inputs: each raises a SpecboundError naming the argument."""

from __future__ import annotations

import numpy as np
import pytest

import specbound as sb
from specbound import lm
from specbound.chain import load_chains, random_pair, save_chains
from specbound.errors import (
    ChainFileError,
    IncompatibleModelsError,
    InvalidAlgorithmError,
    InvalidInputError,
    ModelNotFoundError,
    OutputPathError,
    ResourceLimitError,
    SpecboundError,
)

CHAIN = random_pair(6, 3, 0.5, 0)


@pytest.fixture(scope="module")
def pair():
    return lm.load_pair()


@pytest.mark.parametrize("bad", ["sd", None, 5, sb.Speculative])
@pytest.mark.parametrize(
    "call",
    [
        sb.theory.expected_rejections,
        sb.theory.expected_target_calls,
        sb.theory.summarise,
        sb.theory.check_theorem2,
        sb.theory.output_chain,
        sb.simulate,
    ],
)
def test_a_non_algorithm_is_a_named_error(call, bad) -> None:
    with pytest.raises(InvalidAlgorithmError, match="algorithm"):
        call(*CHAIN, bad)


@pytest.mark.parametrize("bad", [None, "chain", np.eye(3)])
def test_a_non_chain_is_a_named_error(bad) -> None:
    with pytest.raises(InvalidInputError, match="MarkovChain"):
        sb.theory.expected_rejections(bad, CHAIN[1], sb.Speculative())
    with pytest.raises(InvalidInputError, match="MarkovChain"):
        sb.simulate(CHAIN[0], bad, sb.Speculative(), n_runs=10)


@pytest.mark.parametrize(
    ("probs", "match"),
    [([True, False], "booleans"), (["a", "b"], "probabilities"), ([0.5, np.nan], "finite")],
)
def test_core_rules_refuse_non_numbers(probs, match) -> None:
    with pytest.raises(SpecboundError, match=match):
        sb.core.tv(probs, [0.5, 0.5])


@pytest.mark.parametrize(
    ("prompt", "match"),
    [(None, "prompt"), (5, "prompt"), ([1.5, 2], "integers"), ([True], "integers"), ({}, "prompt")],
)
def test_generate_refuses_a_bad_prompt(pair, prompt, match) -> None:
    with pytest.raises(InvalidInputError, match=match):
        lm.generate(pair, prompt, max_new_tokens=2)


@pytest.mark.parametrize("bad", [None, "pair", 5])
def test_generate_refuses_a_non_pair(bad) -> None:
    with pytest.raises(InvalidInputError, match="ModelPair"):
        lm.generate(bad, "hello", max_new_tokens=2)


def test_generate_refuses_beyond_the_context_window(pair) -> None:
    window = pair.context_window
    assert window == 512
    with pytest.raises(InvalidInputError, match="context window of 512"):
        lm.generate(pair, "hello", max_new_tokens=window)
    with pytest.raises(InvalidInputError, match="the prompt alone"):
        lm.generate(pair, list(range(1, 600)), max_new_tokens=1)


def test_generate_refuses_a_batch_beyond_memory(pair) -> None:
    with pytest.raises(ResourceLimitError, match="num_drafts=1000000"):
        lm.generate(pair, "hello", sb.BatchSpeculative(1_000_000, gamma=4), max_new_tokens=2)


@pytest.mark.parametrize("device", ["cuda:7", "mps", "tpu", 3.5, "cpu:x"])
def test_load_pair_refuses_a_device_that_is_not_here(device) -> None:
    with pytest.raises(InvalidInputError, match="device"):
        lm.load_pair(device=device)


def test_model_folders_without_tokenizer_are_refused(places) -> None:
    root = places["embedded"]
    with pytest.raises(ModelNotFoundError, match="no tokenizer"):
        lm.load_pair(root / "target", root / "draft")
    with pytest.raises(ModelNotFoundError, match="no tokenizer"):
        lm.load_pair(root / "target", root / "draft", tokenizer=places["no_tokenizer"])


def test_edited_or_corrupt_configs_are_refused(places) -> None:
    root = places["embedded"]
    with pytest.raises(ModelNotFoundError, match=r"config\.json"):
        lm.load_pair(root / "target", places["draft_vocab"], tokenizer=root / "tokenizer")
    with pytest.raises(ModelNotFoundError, match="could not be loaded"):
        lm.load_pair(root / "target", places["draft_corrupt"], tokenizer=root / "tokenizer")


def test_a_tokenizer_too_small_for_the_models_is_refused(places, monkeypatch) -> None:
    from specbound.lm import loading

    monkeypatch.setattr(loading, "MIN_TOKENIZER_COVERAGE", 0.5)  # demand 2x the rows
    root = places["embedded"]
    with pytest.raises(IncompatibleModelsError, match="covers too little"):
        lm.load_pair(root / "target", root / "draft", tokenizer=root / "tokenizer")


def test_chain_files_refuse_bad_places(places, tmp_path) -> None:
    for name in ("deep", "no_start", "bools", "fifo", "sparse", "folder"):
        with pytest.raises(ChainFileError):
            load_chains(places[name])
    with pytest.raises(ChainFileError, match="not a regular file"):
        load_chains("/dev/zero")
    with pytest.raises(OutputPathError, match="cannot write"):
        save_chains("/proc/specbound.json", *CHAIN)
    with pytest.raises(OutputPathError, match="folder"):
        save_chains(tmp_path, *CHAIN)


def test_sizes_beyond_memory_are_refused_with_the_estimate(monkeypatch) -> None:
    with pytest.raises(ResourceLimitError, match="GiB"):
        random_pair(100_000, 100)
    import specbound.validate

    monkeypatch.setattr(specbound.validate, "available_memory", lambda: 2.0**30)
    with pytest.raises(ResourceLimitError, match=r"n_runs=20000000 .* 1\.0 GiB available"):
        sb.simulate(*CHAIN, sb.Speculative(), n_runs=20_000_000)
