"""What a new user trips on in sweeps (issue 26): a resume into another spec's folder, a
read-only folder, the results table's permissions, Ctrl-C, and the calls plot."""

from __future__ import annotations

import io
import os
import stat
from collections.abc import Iterator, Sequence
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path
from typing import Any

import pytest

from specbound.cli import app
from specbound.cli.common import run_app
from specbound.errors import SpecboundError
from specbound.sweep import read_results, run_sweep
from specbound.sweep.cells import run_cell
from specbound.sweep.grid import Cell
from specbound.sweep.plots import calls_source, gamma_axis
from specbound.sweep.runner import SweepInterrupted
from specbound.sweep.store import RESULTS_NAME
from specbound.sweep.summarize import summarize

SPEC = """\
[sweep]
name = "{name}"
seed = 1

[chains]
compute = "theory"
algorithms = ["sd", "block"]
gamma = {gamma}

[[chains.random]]
T = {T}
S = 3
seeds = [0]
"""


def _cli(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = run_app(app, argv)
    return code, out.getvalue(), err.getvalue()


def _spec(write_spec, name: str = "a", T: int = 8, gamma: str = "[1, 3]") -> Path:  # type: ignore[no-untyped-def]
    return write_spec(SPEC.format(name=name, T=T, gamma=gamma), f"{name}-{T}.toml")


def test_resume_with_another_spec_is_refused_naming_both(write_spec, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "out"
    first = _spec(write_spec, "a", 8)
    run_sweep(first, out, workers=1)
    other = _spec(write_spec, "b", 100)
    code, _, err = _cli(["sweep", "run", str(other), "--out", str(out), "--resume"])
    lines = [line for line in err.splitlines() if line.startswith("error:")]
    assert code == 2 and len(lines) == 1 and "Traceback" not in err, err
    assert "--resume" in lines[0] and "'a'" in lines[0] and "'b'" in lines[0]
    assert "a-8.toml" in lines[0] and "b-100.toml" in lines[0]
    assert len(read_results(out)) == 4  # nothing of spec b was computed into it
    # the same name with another chain is refused as well: its cells are not the folder's
    renamed = write_spec(SPEC.format(name="a", T=100, gamma="[1, 3]"), "a-100.toml")
    with pytest.raises(SpecboundError, match="not in its grid"):
        run_sweep(renamed, out, workers=1, resume=True)


def test_resume_with_a_widened_grid_computes_only_the_new_cells(write_spec, tmp_path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "out"
    run_sweep(_spec(write_spec, "a", 8), out, workers=1)
    wider = write_spec(SPEC.format(name="a", T=8, gamma='[1, 3, "none"]'), "wider.toml")
    run = run_sweep(wider, out, workers=1, resume=True)
    assert run.skipped == 4 and len(run.computed) == 2


def test_the_results_table_follows_the_umask(write_spec, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    previous = os.umask(0o022)
    try:
        run_sweep(_spec(write_spec), tmp_path / "out", workers=1)
    finally:
        os.umask(previous)
    assert stat.S_IMODE((tmp_path / "out" / RESULTS_NAME).stat().st_mode) == 0o644


class _StopAfter:
    """An executor that computes ``count`` cells in-process, then is interrupted."""

    workers = 1

    def __init__(self, count: int) -> None:
        self.count = count

    def run(self, cells: Sequence[Cell]) -> Iterator[dict[str, Any]]:
        for cell in cells[: self.count]:
            yield run_cell(cell)
        raise KeyboardInterrupt

    def close(self) -> None:
        pass


def test_an_interrupted_sweep_says_what_is_saved_and_how_to_resume(
    write_spec, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    import specbound.sweep.runner as runner

    monkeypatch.setattr(runner, "make_executor", lambda *args: _StopAfter(3))
    spec, out = _spec(write_spec), tmp_path / "out"
    with pytest.raises(SweepInterrupted) as caught:
        run_sweep(spec, out)
    assert (caught.value.saved, caught.value.total) == (3, 4)
    assert len(read_results(out)) == 3  # merged into the table
    monkeypatch.setattr(runner, "make_executor", lambda *args: _StopAfter(0))
    code, _, err = _cli(["sweep", "run", str(spec), "--out", str(out), "--resume"])
    assert code == 130 and "Traceback" not in err and "Aborted" not in err
    assert "3 of 4 cells are saved" in err
    assert f"specbound sweep run {spec} --out {out} --resume" in err


def _read_only_plots(folder: Path) -> None:
    """Make ``folder/plots`` a place no one can write, root included (a link into /proc)."""
    plots = folder / "plots"
    if plots.is_dir() and not plots.is_symlink():
        for path in plots.iterdir():
            path.unlink()
        plots.rmdir()
    plots.symlink_to("/proc/self")


def test_summarize_a_read_only_folder_prints_the_table(write_spec, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "out"
    run_sweep(_spec(write_spec), out, workers=1)
    _read_only_plots(out)
    summary = summarize(out)
    assert len(summary.rows) == 4 and summary.plots == []
    assert summary.plot_error is not None and "plots" in summary.plot_error
    code, stdout, err = _cli(["sweep", "summarize", str(out)])
    assert code == 0 and "Traceback" not in err, err
    assert "sd gamma=1" in stdout and "wrote" not in stdout
    assert len(err.strip().splitlines()) == 1 and "plots not written" in err
    code, stdout, err = _cli(["sweep", "summarize", str(out), "--no-plots"])
    assert code == 0 and err == "" and "sd gamma=1" in stdout


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_summarize_a_folder_without_write_permission(write_spec, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "out"
    run_sweep(_spec(write_spec), out, workers=1)
    out.chmod(0o555)
    try:
        code, stdout, err = _cli(["sweep", "summarize", str(out)])
    finally:
        out.chmod(0o755)
    assert code == 0 and "sd gamma=1" in stdout and "plots not written" in err


def test_the_calls_plot_spaces_gamma_by_value_and_names_its_numbers() -> None:
    where = gamma_axis([1, 3, None])
    assert where[3] - where[1] == pytest.approx(1.585, abs=1e-3)  # log2(3), not one step
    assert where[None] > where[3] + 1  # "none" apart from the largest gamma
    exact = [{"exact_target_calls": 2.0, "target_calls_per_token": 0.5}]
    simulated = [{"sim_target_calls": 2.0, "target_calls_per_token": 0.5}]
    measured = [{"target_calls_per_token": 0.5}]
    assert calls_source(exact) == "exact theory"
    assert calls_source(simulated) == "simulated"
    assert calls_source(measured) == "measured"
    assert calls_source(exact + simulated) == "exact theory where computed, else simulated"
