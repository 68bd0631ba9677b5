"""Fixtures of the profiling tests: the embedded pair (skipped until it is built), one thread."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import torch


@pytest.fixture(autouse=True, scope="module")
def _one_thread() -> Iterator[None]:
    """Tiny models run several times faster on one thread on a shared 2-core machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def embedded_missing() -> bool:
    from specbound.lm import embedded_pair_path

    return not (embedded_pair_path() / "target" / "config.json").is_file()


@pytest.fixture(scope="session")
def embedded_pair():  # type: ignore[no-untyped-def]
    """The embedded pair, loaded once (skips while it has not been built yet)."""
    if embedded_missing():
        pytest.skip(
            "the embedded model pair is not built yet "
            "(src/specbound/lm/embedded/target/config.json is missing)"
        )
    from specbound.lm import load_pair

    return load_pair()
