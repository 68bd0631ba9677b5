"""The stand-in draft of a pair loaded without its draft model
(``load_pair(..., with_draft=False)``: model-free drafters need only the target)."""

from __future__ import annotations

from typing import Any

import torch

from specbound.lm.pairs import MissingDraftError

__all__ = ["NO_DRAFT", "AbsentDraft"]


#: The ``draft_name`` of a pair loaded without its draft model.
NO_DRAFT = "none (loaded without a draft model)"


class AbsentDraft(torch.nn.Module):
    """Stands in for the draft of a pair loaded with ``load_pair(..., with_draft=False)``
    (model-free drafters need only the target): it has the target's ``device`` and
    ``dtype`` and no config, and calling it raises :class:`MissingDraftError`, so whatever
    needs the draft model says so by name instead of failing somewhere deeper."""

    def __init__(self, device: torch.device, dtype: torch.dtype) -> None:
        super().__init__()
        self._where = (device, dtype)
        self.config = None

    @property
    def device(self) -> torch.device:
        return self._where[0]

    @property
    def dtype(self) -> torch.dtype:
        return self._where[1]

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise MissingDraftError(
            "this model pair was loaded without its draft model (a model-free --drafter: "
            "ngram or suffix); load it with the draft (load_pair(..., with_draft=True), "
            "or --drafter model, ngram+model, suffix+model) to draft with the model"
        )
