"""The family protocol: what each family tells the backends, stated independently.

The laws of a round are tested conditionally elsewhere (``tests/lm/test_lm_round_law.py``
runs every family through one harness); here: the proposal each family asks for (the
draft length ``min(gamma, n)`` stated in the test), that a round's verdict is the same on
NumPy arrays and on torch tensors for one seed, the round shape each family hands to a
backend, and the option registry.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import specbound as sb
from specbound.core.families import ProposalShape, RoundShapes, family_from_rules
from specbound.errors import InvalidAlgorithmError
from specbound.registry import OPTIONS, REGISTRY, algorithm_from_options

SPECS = [
    sb.Autoregressive(),
    sb.Speculative(gamma=3),
    sb.Speculative(),
    sb.OverAcceptance(eps=0.2, resample="uno", gamma=2),
    sb.BatchSpeculative(num_drafts=3, gamma=2),
    sb.BatchSpeculative(num_drafts=2, gamma=3, verifier="optimal"),
    sb.BlockSpeculative(gamma=4),
]


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.label)
@pytest.mark.parametrize("remaining", [1, 2, 5])
def test_proposal_shape(spec: sb.Algorithm, remaining: int) -> None:
    if not spec.drafts:
        expected = ProposalShape(1, 0)
    else:
        length = remaining if spec.gamma is None else min(spec.gamma, remaining)
        expected = ProposalShape(spec.num_drafts, length)
    assert spec.family.proposal(spec.gamma, remaining) == expected
    assert spec.draft_length(remaining) == expected.length


class _Shape(RoundShapes[str]):
    def no_draft(self) -> str:
        return "none"

    def token_rounds(self, step_rule: object, start_rule: object) -> str:
        return "token" if start_rule is None else f"start:{type(start_rule).__name__}"

    def block_rounds(self, block_rule: object) -> str:
        return "block"


@pytest.mark.parametrize(
    ("spec", "shape"),
    [
        (sb.Autoregressive(), "none"),
        (sb.Speculative(gamma=2), "token"),
        (sb.OverAcceptance(eps=0.1), "token"),
        (sb.BatchSpeculative(num_drafts=2), "start:RecursiveRejectionRule"),
        (sb.BatchSpeculative(num_drafts=2, verifier="optimal"), "start:OptimalMultiDraftRule"),
        (sb.BlockSpeculative(gamma=2), "block"),
    ],
)
def test_each_family_hands_its_round_shape(spec: sb.Algorithm, shape: str) -> None:
    assert spec.family.interpret(_Shape()) == shape


def test_a_shape_a_backend_does_not_interpret_is_refused_by_name() -> None:
    class OnlyTokens(RoundShapes[int]):
        def token_rounds(self, step_rule: object, start_rule: object) -> int:
            return 1

    assert sb.Speculative().family.interpret(OnlyTokens()) == 1
    with pytest.raises(InvalidAlgorithmError, match="OnlyTokens does not interpret block"):
        sb.BlockSpeculative().family.interpret(OnlyTokens())


def test_family_from_rules_matches_the_specs() -> None:
    for spec in SPECS:
        rules = (
            getattr(spec, "step_rule", None),
            spec.round_start_rule,
            spec.block_rule,
        )
        assert family_from_rules(*rules) == spec.family


def _round(spec: sb.Algorithm, seed: int, k: int, V: int, device_arrays: bool) -> object:
    rng = np.random.default_rng(seed)
    M = spec.num_drafts
    draft = rng.dirichlet(np.ones(V), size=(M, k))  # (M, k, V)
    draft[:, 0] = draft[0, 0]  # one prefix: position 0 is the same law in every row
    target = rng.dirichlet(np.ones(V), size=(M, k + 1))  # (M, k+1, V)
    target[:, 0] = target[0, 0]
    tokens = np.stack([[rng.choice(V, p=draft[m, i]) for i in range(k)] for m in range(M)])
    if device_arrays:
        draft, target, tokens = (torch.from_numpy(a) for a in (draft, target, tokens))
    return spec.family.verify_round(draft, target, tokens, np.random.default_rng(seed + 1))


@pytest.mark.parametrize("spec", [s for s in SPECS if s.drafts], ids=lambda s: s.label)
def test_a_round_is_the_same_on_numpy_and_torch(spec: sb.Algorithm) -> None:
    """One path for every array namespace: the same uniforms give the same verdict."""
    for seed in range(40):
        k = 3
        assert _round(spec, seed, k, 5, False) == _round(spec, seed, k, 5, True)


def test_verdicts_differ_across_seeds() -> None:
    """Control for the test above: the verdict does depend on the uniforms."""
    spec = sb.Speculative(gamma=3)
    verdicts = {_round(spec, seed, 3, 5, False) for seed in range(40)}
    assert len(verdicts) > 5


def test_registry_builds_every_algorithm_with_its_defaults() -> None:
    assert algorithm_from_options("sd") == sb.Speculative(gamma=OPTIONS["gamma"].default)
    assert algorithm_from_options("batch", num_drafts=3, gamma=2, eps=0.5) == (
        sb.BatchSpeculative(num_drafts=3, gamma=2)
    )
    assert algorithm_from_options("uno", eps=0.3) == sb.OverAcceptance(eps=0.3, resample="uno")
    assert set(REGISTRY) == {"ar", "sd", "block", "batch", "opt", "uno", "tree"}
    assert OPTIONS["gamma"].default is sb.algorithms.DEFAULT_GAMMA is sb.Speculative().gamma
    with pytest.raises(InvalidAlgorithmError, match="unknown algorithm option"):
        algorithm_from_options("sd", beta=1)
    with pytest.raises(InvalidAlgorithmError, match="algorithm must be one of"):
        algorithm_from_options("nope")
