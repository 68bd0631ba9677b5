"""One progress line with an ETA on stderr, at most every few seconds."""

from __future__ import annotations

import sys
import time

__all__ = ["Progress", "format_minutes"]


def format_minutes(seconds: float) -> str:
    """``"12m05s"`` (or ``"1h02m"`` beyond an hour)."""
    seconds = max(0.0, seconds)
    if seconds >= 3600:
        return f"{int(seconds // 3600)}h{int(seconds % 3600 // 60):02d}m"
    return f"{int(seconds // 60)}m{int(seconds % 60):02d}s"


class Progress:
    """Report ``done / total`` of a named phase with the elapsed time and an ETA.

    The ETA extrapolates the rate since the phase started (``done`` counts units done in
    this process: a resumed phase passes ``skipped`` for the units found done before).
    """

    def __init__(self, phase: str, total: float, *, every_s: float = 5.0, quiet: bool = False):
        self.phase = phase
        self.total = float(total)
        self.every_s = every_s
        self.quiet = quiet
        self.start = time.monotonic()
        self._last = -float("inf")
        self._skipped = 0.0

    def skip(self, units: float) -> None:
        """Units already done before this process (they do not count towards the rate)."""
        self._skipped += units

    def update(self, done: float, extra: str = "", *, force: bool = False) -> None:
        """Print the line if ``every_s`` passed since the last one (or ``force``)."""
        now = time.monotonic()
        if self.quiet or (not force and now - self._last < self.every_s):
            return
        self._last = now
        elapsed = now - self.start
        fresh = done - self._skipped
        rate = fresh / elapsed if elapsed > 0 and fresh > 0 else 0.0
        eta = (self.total - done) / rate if rate > 0 else float("nan")
        eta_text = format_minutes(eta) if eta == eta else "?"
        share = 100.0 * done / self.total if self.total > 0 else 100.0
        tail = f"  {extra}" if extra else ""
        print(
            f"[{self.phase}] {done:.0f}/{self.total:.0f} ({share:.0f}%) "
            f"elapsed {format_minutes(elapsed)} eta {eta_text}{tail}",
            file=sys.stderr,
            flush=True,
        )
