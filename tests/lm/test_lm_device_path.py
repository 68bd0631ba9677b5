"""The accelerator path of the decoder, exercised on the CPU.

On a CUDA device the decoder hands ``core``'s kernels the torch tensors themselves (no
NumPy view), so that a round stays on the device with one host read. CI machines have no
GPU; here the same code path runs on CPU tensors by making ``kernel_array`` return the
tensor, as it does on an accelerator. Same seed, same tokens as the NumPy path, for every
verifier: the torch and NumPy backends of the kernels agree draw for draw.
"""

from __future__ import annotations

import pytest
import torch

import specbound as sb
import specbound.lm.decode as decode
from specbound.lm import ModelPair
from specbound.lm.warping import SamplingConfig

ALGORITHMS = [
    sb.Autoregressive(),
    sb.Speculative(gamma=3),
    sb.Speculative(),  # to the horizon
    sb.OverAcceptance(eps=0.2, resample="opt", gamma=2),
    sb.OverAcceptance(eps=0.2, resample="uno", gamma=2),
    sb.BatchSpeculative(num_drafts=3, gamma=2),
    sb.BlockSpeculative(gamma=3),
]


def _tokens(pair: ModelPair, algorithm: sb.Algorithm, seed: int) -> tuple[int, ...]:
    out = sb.lm.generate(
        pair,
        "Hello",
        algorithm,
        max_new_tokens=12,
        seed=seed,
        sampling=SamplingConfig(temperature=0.9),
    )
    return out.token_ids


@pytest.mark.parametrize("algorithm", ALGORITHMS, ids=lambda a: a.label)
def test_tensor_kernels_give_the_numpy_path_tokens(
    tiny_pair: ModelPair, algorithm: sb.Algorithm, monkeypatch: pytest.MonkeyPatch
) -> None:
    seeds = range(6)
    on_numpy = [_tokens(tiny_pair, algorithm, seed) for seed in seeds]
    seen: list[type] = []

    def as_tensor(tensor: torch.Tensor) -> torch.Tensor:
        seen.append(type(tensor))
        return tensor  # what kernel_array does off the CPU

    monkeypatch.setattr(decode, "kernel_array", as_tensor)
    on_tensors = [_tokens(tiny_pair, algorithm, seed) for seed in seeds]
    assert on_tensors == on_numpy
    if algorithm.drafts:  # the verification really ran on tensors
        assert seen and all(issubclass(kind, torch.Tensor) for kind in seen)
    assert len(set(on_numpy)) > 1  # the seeds matter: the comparison is not vacuous
