"""What a new user trips on with ``specbound profile`` (issue 26): one-sample estimates,
the interval the coverage check uses, negative bounds, small samples, the header without
measurement, and the progress bar."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from specbound.cli import app
from specbound.cli.common import run_app
from specbound.estimates import Estimate
from specbound.profiling.validation import coverage_interval, covered

TINY = ["--num-prompts", "1", "-n", "4", "--gamma", "1", "-M", "2", "--eps", "none"]


def _profile(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = run_app(app, ["profile", *TINY, "--no-blocks", "--threads", "1", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_one_sample_estimates_print_without_a_traceback(
    embedded_pair, capsys: pytest.CaptureFixture[str]
) -> None:  # type: ignore[no-untyped-def]
    code, out, err = _profile(capsys, "--samples-per-prompt", "1", "--no-measure")
    assert code == 0 and "Traceback" not in err, err
    assert "±?" in out  # a spread that one sample cannot give
    assert "(no measurement)" in out and "runs (measurement)" not in out
    assert "warning: 1 sampled paths per row" in out


def test_measured_rows_print_the_interval_their_check_uses(
    embedded_pair, capsys: pytest.CaptureFixture[str]
) -> None:  # type: ignore[no-untyped-def]
    code, out, err = _profile(capsys, "--samples-per-prompt", "3", "--runs-per-prompt", "3")
    assert code == 0, err
    assert not re.search(r"\[-\d", out)  # never a negative speed-up bound
    checked = 0
    for line in out.splitlines():
        match = re.search(
            r"(\d+\.\d+)x \[[^\]]*\]\s+(?:ok|MISS).*speed-up (in|OUT) \[(.+),(.+)\]", line
        )
        if match:
            measured, verdict = float(match[1]), match[2]
            low, high = float(match[3]), float(match[4])
            assert (verdict == "in") == (low - 0.005 <= measured <= high + 0.005), line
            checked += 1
    assert checked >= 3
    assert "interval predicted for them ('speed-up in [a,b]' above)" in out
    assert "warning: 3 sampled paths and 3 measured runs per row" in out


def test_one_measured_run_per_prompt_prints_without_a_traceback(
    embedded_pair, capsys: pytest.CaptureFixture[str]
) -> None:  # type: ignore[no-untyped-def]
    code, out, err = _profile(capsys, "--samples-per-prompt", "2", "--runs-per-prompt", "1")
    assert code == 0 and "Traceback" not in err, err
    assert "x [?]" in out and "warning:" in out


def test_the_coverage_interval_is_the_checks_and_never_negative() -> None:
    predicted, measured = Estimate(0.5, 0.2, 8), Estimate(0.4, 0.2, 8)
    low, high = coverage_interval(predicted, measured) or (None, None)
    assert low == 0.0 and high == pytest.approx(0.5 + 1.959964 * (0.08**0.5), rel=1e-6)
    assert covered(predicted, measured) is True
    assert covered(Estimate(1.0, 0.01, 8), Estimate(0.85, 0.01, 8)) is False
    assert coverage_interval(Estimate(1.0, float("nan"), 1), measured) is None


class _StopError(Exception):
    """Raised by the fake profile once it has seen its progress callback."""


@pytest.mark.parametrize(("args", "shown"), [([], True), (["--quiet"], False), (["--json"], False)])
def test_a_progress_bar_unless_quiet_or_piped_json(
    args: list[str], shown: bool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import specbound.lm
    import specbound.profiling

    seen: dict[str, Any] = {}

    class _Pair:
        target_parameters = 1

    def profile(*positional: Any, progress: Any = None, **kwargs: Any) -> None:
        seen["progress"] = progress
        raise _StopError

    monkeypatch.setattr(specbound.lm, "load_pair", lambda **kwargs: _Pair())
    monkeypatch.setattr(specbound.profiling, "profile", profile)
    with pytest.raises(_StopError):
        run_app(app, ["profile", "--threads", "1", *args])
    assert callable(seen["progress"]) is shown
