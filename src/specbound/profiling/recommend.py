"""The recommendation: a lossless setting only when it is predicted, with confidence, to
be faster than plain decoding.

Speculative decoding is lossless, but it is not free: a round pays its draft forwards and
its scoring call whether the drafts are accepted or not, and a pair whose draft agrees
poorly with its target (or a machine where the draft is dear) decodes slower with it. So
the setting with the best predicted speed-up is recommended only if the lower end of its
95% interval lies above 1; otherwise plain autoregressive decoding is the recommendation
(``None``).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol, TypeVar

from specbound.estimates import Estimate

__all__ = ["Candidate", "recommend"]


class Candidate(Protocol):
    """What the recommendation reads of a predicted setting."""

    @property
    def lossless(self) -> bool: ...

    @property
    def predicted_speedup(self) -> Estimate | None: ...


C = TypeVar("C", bound=Candidate)


def recommend(candidates: Iterable[C]) -> C | None:
    """The lossless candidate with the best predicted speed-up, if its 95% interval lies
    above 1; else None (plain decoding is predicted to be as fast or faster)."""
    best: C | None = None
    best_speedup: Estimate | None = None
    for candidate in candidates:
        speedup = candidate.predicted_speedup
        if not candidate.lossless or speedup is None:
            continue
        if best_speedup is None or speedup.mean > best_speedup.mean:
            best, best_speedup = candidate, speedup
    if best_speedup is None:
        return None
    interval = best_speedup.ci95
    return best if interval is not None and interval[0] > 1.0 else None
