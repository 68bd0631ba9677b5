"""Shared fixtures of the LM tests: the tiny random pair (see lm_models.py), one thread."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import torch
from lm_models import save_llama_pair, save_pair


@pytest.fixture(autouse=True, scope="module")
def _one_thread() -> Iterator[None]:
    """Tiny models run several times faster on one thread on a shared 2-core machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="session")
def tiny_dirs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Directories of the tiny (target, draft) pair, each with its tokenizer."""
    return save_pair(tmp_path_factory.mktemp("tiny_pair"))


@pytest.fixture(scope="session")
def tiny_pair(tiny_dirs: tuple[Path, Path]):  # type: ignore[no-untyped-def]
    """The tiny pair loaded through :func:`specbound.lm.load_pair`."""
    from specbound.lm import load_pair

    target_dir, draft_dir = tiny_dirs
    return load_pair(target=target_dir, draft=draft_dir)


@pytest.fixture(scope="session")
def llama_pair(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """A tiny random Llama pair: it runs the engine's lean Llama forward (as GPT-NeoX runs
    the lean NeoX one); other causal LMs take transformers' forward with a DynamicCache."""
    from specbound.lm import load_pair

    target_dir, draft_dir = save_llama_pair(tmp_path_factory.mktemp("llama_pair"))
    return load_pair(target=target_dir, draft=draft_dir)


@pytest.fixture(scope="session")
def embedded_pair():  # type: ignore[no-untyped-def]
    """The shipped embedded pair (GPT-NeoX, V = 4096); skipped until it is built."""
    from specbound.lm import embedded_pair_path, load_pair

    if not all((embedded_pair_path() / m / "config.json").is_file() for m in ("target", "draft")):
        pytest.skip("the embedded pair is not built yet")
    return load_pair()
