"""Where the decoder's probability arithmetic runs: the arrays handed to ``core``'s kernels.

The ``core`` kernels are written once for any array backend (the Python array API
standard). The decoder hands them, for each law it samples from or verifies:

* on CPU, a **NumPy view** of the torch tensor (zero copy: NumPy's operations on arrays of
  a few thousand entries cost a fraction of torch's per-operation dispatch);
* on an accelerator, the **tensor itself**, so that drafting, scoring and verifying a
  round stay on the device and the round's verdict is the one value read back.

Uniforms always come from the run's NumPy ``Generator`` in float64 (one draw per round
for the drafts, one for the verification) and are copied to the device in one transfer.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from specbound.core.sampling import uniforms

__all__ = ["as_ids", "kernel_array", "uniforms_on"]


def kernel_array(tensor: torch.Tensor) -> Any:
    """``tensor`` as the array the kernels run on: a NumPy view on CPU, else itself."""
    return tensor.numpy() if tensor.device.type == "cpu" else tensor


def uniforms_on(rng: np.random.Generator, shape: tuple[int, ...], device: torch.device) -> Any:
    """float64 uniforms of ``shape`` from ``rng``, as a kernel array on ``device``."""
    values = uniforms(rng, shape)
    return values if device.type == "cpu" else torch.from_numpy(values).to(device)


def as_ids(tokens: Any, device: torch.device) -> torch.Tensor:
    """Kernel-array token ids (...,) as a torch ``long`` tensor on ``device``."""
    if isinstance(tokens, np.ndarray):
        return torch.from_numpy(np.ascontiguousarray(tokens, dtype=np.int64)).to(device)
    return tokens.to(device=device, dtype=torch.long)
