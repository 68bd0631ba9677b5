"""The table-row helpers the simulator uses (``core.sampling.sample_rows``,
``RecursiveRejectionRule.verify_rows``) make exactly the draws of their row-wise originals."""

from __future__ import annotations

import numpy as np
import pytest

from specbound.core.batch import RecursiveRejectionRule
from specbound.core.sampling import sample_categorical, sample_rows


def _table(rng: np.random.Generator, K: int, V: int) -> np.ndarray:
    table = rng.dirichlet(np.full(V, 0.5), size=K)
    table[rng.random((K, V)) < 0.3] = 0.0
    table[np.arange(K), rng.integers(V, size=K)] += 0.1  # every row keeps some mass
    return table / table.sum(axis=-1, keepdims=True)


@pytest.mark.parametrize("V", [1, 2, 7, 33, 80])
def test_sample_rows_equals_sample_categorical(V) -> None:
    rng = np.random.default_rng(V)
    table = _table(rng, 6, V)
    rows = rng.integers(6, size=(400, 3))
    fast = sample_rows(table, rows, np.random.default_rng(1))
    slow = sample_categorical(table[rows], np.random.default_rng(1))
    assert fast.shape == rows.shape and fast.dtype == np.int64
    np.testing.assert_array_equal(fast, slow)
    assert (table[rows, fast] > 0).all()  # never a zero-probability index


def test_sample_rows_differs_for_other_rows() -> None:
    """Negative control: the comparison above would catch a row mix-up."""
    rng = np.random.default_rng(0)
    table = _table(rng, 6, 5)
    rows = rng.integers(6, size=2000)
    fast = sample_rows(table, rows, np.random.default_rng(1))
    shifted = sample_categorical(table[(rows + 1) % 6], np.random.default_rng(1))
    assert not np.array_equal(fast, shifted)


@pytest.mark.parametrize(("M", "V"), [(1, 3), (3, 2), (4, 6)])
def test_verify_rows_equals_verify(M, V) -> None:
    rng = np.random.default_rng(M * 10 + V)
    draft, target = _table(rng, 5, V), _table(rng, 5, V)
    rows = rng.integers(5, size=300)
    candidates = sample_rows(draft, np.repeat(rows[:, None], M, axis=1), rng)  # (300, M)
    rule = RecursiveRejectionRule(M)
    fast = rule.verify_rows(draft, target, rows, candidates, np.random.default_rng(2))
    slow = rule.verify(draft[rows], target[rows], candidates, np.random.default_rng(2))
    np.testing.assert_array_equal(fast[0], slow[0])
    np.testing.assert_array_equal(fast[1], slow[1])
    assert ((fast[0] >= -1) & (fast[0] < M)).all()
