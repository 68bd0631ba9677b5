"""Calibrated distribution tests shared by the statistical test modules."""

from __future__ import annotations

import numpy as np
from scipy import stats

#: Significance level of every goodness-of-fit test in the suite: a correct sampler fails
#: with probability 1e-3 per test (the seeds are fixed, so a run is deterministic).
ALPHA = 1e-3


def chi_square_pvalue(samples: np.ndarray, probs: np.ndarray, min_expected: float = 5.0) -> float:
    """Pearson chi-square p-value of integer ``samples`` against ``probs``.

    Cells with expected count below ``min_expected`` are pooled into one cell, so the
    chi-square approximation holds. A sample in a zero-probability cell gives p = 0.
    """
    probs = np.asarray(probs, dtype=np.float64)
    counts = np.bincount(np.asarray(samples).ravel(), minlength=probs.size).astype(np.float64)
    if counts.size > probs.size or np.any(counts[probs == 0] > 0):
        return 0.0
    n = counts.sum()
    expected = probs * n
    big = expected >= min_expected
    obs = list(counts[big])
    exp = list(expected[big])
    if (~big).any() and expected[~big].sum() > 0:
        obs.append(counts[~big].sum())
        exp.append(expected[~big].sum())
    if len(obs) < 2:
        return 1.0
    return float(stats.chisquare(obs, exp).pvalue)


def random_pair(rng: np.random.Generator, vocab: int, concentration: float = 1.0) -> tuple:
    """A (draft, target) pair of Dirichlet vectors with a few exact zeros sprinkled in."""
    draft = rng.dirichlet(np.full(vocab, concentration))
    target = rng.dirichlet(np.full(vocab, concentration))
    if vocab > 2:
        draft[rng.integers(vocab)] = 0.0
        target[rng.integers(vocab)] = 0.0
    return draft / draft.sum(), target / target.sum()
