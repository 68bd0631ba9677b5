"""Fixtures of the benchmark smoke tests: one thread, the tiny pair of ``tests/lm``."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lm"))


@pytest.fixture(autouse=True, scope="module")
def _one_thread() -> Iterator[None]:
    """Small models run faster on one thread on a shared 2-core machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="session")
def tiny_dirs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Directories of the tiny (target, draft) GPT-NeoX pair, each with its tokenizer."""
    from lm_models import save_pair

    return save_pair(tmp_path_factory.mktemp("bench_tiny_pair"))
