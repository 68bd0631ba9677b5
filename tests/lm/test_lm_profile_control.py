"""The profiler's agreement check, and its negative control on a wrong model (tiny pair).

:func:`specbound.profile` predicts SD's expected rejections and target calls along
sampled output paths and measures them by running the decoder. On the right pair the
prediction holds (|z| < AGREEMENT_Z, the 99% level). The negative control runs the same
library code on a **wrong model** — the target replaced by a perturbed copy (its output
layer's weights plus Gaussian noise) — and pairs that prediction with the right pair's
measurement: the library's own check (:attr:`ProfileRow.holds`) must fail.
"""

from __future__ import annotations

import copy
import dataclasses

import pytest
import torch

from specbound.algorithms import Speculative
from specbound.profiling import AGREEMENT_Z, ProfileRow, profile

PROMPTS = ["c", "a b", "d e f", "g"]
SD = Speculative(gamma=2)


def _profile(pair, measure: bool):  # type: ignore[no-untyped-def]
    return profile(
        pair,
        PROMPTS,
        max_new_tokens=6,
        samples_per_prompt=60,
        runs_per_prompt=60,
        gammas=(2,),
        num_drafts=(),
        eps=(),
        blocks=False,
        timing=False,
        measure=measure,
        stop_at_eos=False,
        common_seeds=False,
        seed=7,
    )


def perturbed(pair, scale: float = 1.0, seed: int = 0):  # type: ignore[no-untyped-def]
    """The pair with its target's output layer perturbed by N(0, scale^2) noise."""
    target = copy.deepcopy(pair.target)
    head = target.get_output_embeddings()
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        head.weight.add_(scale * torch.randn(head.weight.shape, generator=generator))
    return dataclasses.replace(pair, target=target)


@pytest.mark.slow
def test_prediction_holds_on_the_right_model_and_fails_on_a_wrong_one(tiny_pair) -> None:  # type: ignore[no-untyped-def]
    right = _profile(tiny_pair, measure=True).find(SD)
    assert right.measurement is not None and right.measurement.runs == 240
    assert right.holds, right.to_dict()
    wrong_prediction = _profile(perturbed(tiny_pair), measure=False).find(SD).prediction
    control = ProfileRow(wrong_prediction, right.measurement)
    assert control.holds is False
    assert abs(control.z_rejections) >= AGREEMENT_Z, control.to_dict()
