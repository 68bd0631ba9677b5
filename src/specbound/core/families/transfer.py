"""Moving a round's arrays between the host and the models' device, for any backend.

A round's verification reads its verdict back in **one** host transfer (the decoder's
only synchronisation per round); families whose round-start or block laws are NumPy code
move their inputs to the host once. NumPy stays NumPy; torch is imported only when a
tensor is given, so ``core`` needs no torch.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["like", "on_host", "read_ints"]


def like(values: np.ndarray, array: Any) -> Any:
    """``values`` as an array of ``array``'s backend and device (NumPy stays NumPy)."""
    if isinstance(array, np.ndarray):
        return values
    import torch

    return torch.from_numpy(values).to(array.device)


def on_host(array: Any) -> np.ndarray:
    """``array`` as a host NumPy array (a tensor is copied from its device)."""
    return array if isinstance(array, np.ndarray) else array.cpu().numpy()


def read_ints(tokens: Any, scalars: list[Any]) -> list[int]:
    """``tokens`` (k,) and the 0-d ``scalars`` as one host list of ints (one transfer)."""
    if isinstance(tokens, np.ndarray):
        return [*tokens.tolist(), *(int(s) for s in scalars)]
    import torch

    return torch.cat([tokens, torch.stack(scalars)]).tolist()
