"""Where the decoder's probability arithmetic runs: the arrays handed to ``core``'s kernels.

The ``core`` kernels are written once for any array backend (the Python array API
standard). The decoder hands them, for the laws of a round it verifies:

* on CPU, a **NumPy view** of the torch tensor (zero copy: a verification is a few dozen
  small operations, and NumPy's cost a fraction of torch's per-operation dispatch);
* on an accelerator, the **tensor itself**, so that drafting, scoring and verifying a
  round stay on the device and the round's verdict is the one value read back.

Drafting and autoregressive steps sample on the models' tensors everywhere
(:mod:`specbound.lm.drafting`): a draw is one cumulative sum over the vocabulary, which
torch does about three times faster than NumPy, and the token goes straight back into
the model.

Uniforms always come from the run's NumPy ``Generator`` in float64 (one draw per round
for the drafts, one for the verification) and are copied to the device in one transfer.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from specbound.core.sampling import uniforms

__all__ = ["kernel_array", "uniform_tensor"]


def kernel_array(tensor: torch.Tensor) -> Any:
    """``tensor`` as the array the kernels run on: a NumPy view on CPU, else itself."""
    return tensor.numpy() if tensor.device.type == "cpu" else tensor


def uniform_tensor(
    rng: np.random.Generator, shape: tuple[int, ...], device: torch.device
) -> torch.Tensor:
    """float64 uniforms of ``shape`` from ``rng``, as a tensor on ``device`` (one transfer)."""
    return torch.from_numpy(uniforms(rng, shape)).to(device)
