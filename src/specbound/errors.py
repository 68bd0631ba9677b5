"""The exceptions specbound raises for user mistakes.

Every error is a :class:`SpecboundError`; its message names the offending input and
says what was expected. The CLI turns any of them into one ``error: ...`` line on
stderr and exit code 2.
"""

from __future__ import annotations

__all__ = [
    "ChainFileError",
    "IncompatibleModelsError",
    "InvalidAlgorithmError",
    "InvalidDistributionError",
    "InvalidInputError",
    "MissingExtraError",
    "ModelNotFoundError",
    "OutputPathError",
    "ResourceLimitError",
    "ShapeMismatchError",
    "SpecboundError",
    "require_extra",
]


class SpecboundError(ValueError):
    """Base class of every error caused by input to specbound."""


class InvalidDistributionError(SpecboundError):
    """A probability vector is not a distribution (NaN, negative, or not summing to 1)."""


class ShapeMismatchError(SpecboundError):
    """Two arrays that must agree in shape (e.g. draft and target) do not."""


class InvalidAlgorithmError(SpecboundError):
    """An algorithm parameter is out of range (gamma < 1, num_drafts < 1, eps < 0, ...)."""


class InvalidInputError(SpecboundError):
    """Any other bad argument: an empty prompt, max_new_tokens <= 0, a bad option value."""


class ChainFileError(SpecboundError):
    """A Markov-chain pair file is missing, is not JSON, or has the wrong layout."""


class IncompatibleModelsError(SpecboundError):
    """A draft and a target model that do not share a vocabulary/tokenizer."""


class ModelNotFoundError(SpecboundError):
    """A model path or hub id that cannot be loaded (offline, or it does not exist)."""


class OutputPathError(InvalidInputError):
    """An output place that cannot be written: a folder, a device, a missing or read-only
    folder, an empty path, or a write that failed (disk full)."""


class ResourceLimitError(InvalidInputError):
    """A size (runs, drafts, states, a file) whose estimated memory or time exceeds what
    the machine has; the message gives the estimate and the limit."""


class MissingExtraError(SpecboundError):
    """A feature needs an optional dependency group (an *extra*) that is not installed:
    the message names the extra and the install command."""


def require_extra(extra: str, modules: tuple[str, ...], feature: str) -> None:
    """Raise :class:`MissingExtraError` unless every module of ``modules`` imports.

    ``extra`` is the group that brings them (``lm``, ``sweep``); ``feature`` what needs
    them (``"language models"``). Checked by module lookup, without importing them.
    """
    import importlib.util

    missing = []
    for name in modules:
        try:
            found = importlib.util.find_spec(name) is not None
        except (ImportError, ValueError):
            found = False
        if not found:
            missing.append(name)
    if missing:
        raise MissingExtraError(
            f"{feature} need {', '.join(missing)}, which is not installed; install the "
            f"[{extra}] extra: pip install 'specbound[{extra}]'"
        )
