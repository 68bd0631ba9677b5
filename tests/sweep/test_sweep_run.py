"""Running sweeps: local and Ray give the same records; resume; failures; summarize.

Ray is started once for the module, locally with 2 CPUs, and shut down after it.
"""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path
from typing import Any

import pytest
from sweep_cases import ROOT, SMOKE

from specbound.chain.generators import random_pair
from specbound.chain.theory import expected_rejections
from specbound.cli import app
from specbound.cli.common import run_app
from specbound.errors import SpecboundError
from specbound.sweep import expand, load_spec, read_results, run_sweep
from specbound.sweep.cells import TIMING_PREFIX, algorithm_spec
from specbound.sweep.summarize import summarize

ray = pytest.importorskip("ray")

SMALL = """\
[sweep]
name = "small"
seed = 1

[chains]
compute = "theory"
algorithms = ["sd", "batch", "uno"]
gamma = [1, 2, 4, "none"]
M = [2]
eps = [0.3]

[[chains.random]]
T = 6
S = 3
seeds = [0, 1]
"""


@pytest.fixture(scope="module")
def ray_local() -> Iterator[None]:
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    yield
    ray.shutdown()


@pytest.fixture(scope="module")
def smoke_local(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("smoke") / "local"
    run = run_sweep(SMOKE, out, executor="local", workers=2)
    assert run.total == len(run.computed) and not run.failed
    return out


def _without_timings(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {
        row["cell_id"]: {k: v for k, v in row.items() if not k.startswith(TIMING_PREFIX)}
        for row in rows
    }


def _cli(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = run_app(app, argv)
    return code, out.getvalue(), err.getvalue()


def test_local_and_ray_give_identical_records(
    smoke_local: Path, ray_local: None, tmp_path: Path
) -> None:
    run = run_sweep(SMOKE, tmp_path / "ray", executor="ray", workers=2)
    assert run.executor == "ray" and not run.failed
    local, remote = read_results(smoke_local), read_results(tmp_path / "ray")
    cells = expand(load_spec(SMOKE))
    assert [r["cell_id"] for r in local] == [c.cell_id for c in cells]
    assert [r["seed"] for r in remote] == [c.seed for c in cells]
    assert _without_timings(local) == _without_timings(remote)  # values, seeds, config
    assert all(row[f"{TIMING_PREFIX}elapsed_s"] > 0 for row in local + remote)
    # the values are the library's: one cell against the theory called directly
    row = next(r for r in local if r["algorithm"] == "sd" and r["gamma"] == 3)
    config = next(c for c in cells if c.cell_id == row["cell_id"]).config
    chain = config["chain"]
    draft, target = random_pair(chain["T"], chain["S"], chain["mix"], chain["chain_seed"])
    assert row["exact_rejections"] == expected_rejections(draft, target, algorithm_spec(config))
    assert row["sim_rejections_ci_low"] < row["sim_rejections"] < row["sim_rejections_ci_high"]


def test_resume_computes_every_cell_once(ray_local: None, write_spec, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    spec = write_spec(SMALL)
    out = tmp_path / "out"
    first = run_sweep(spec, out, executor="ray", workers=2, limit=5)
    assert len(first.computed) == 5 and first.remaining == first.total - 5
    kept = {r["cell_id"]: r for r in read_results(out)}
    assert set(kept) == set(first.computed)
    second = run_sweep(spec, out, executor="ray", workers=2, resume=True)
    assert second.skipped == 5
    assert not set(first.computed) & set(second.computed)  # none computed twice
    assert sorted([*first.computed, *second.computed]) == sorted(
        c.cell_id for c in expand(load_spec(spec))
    )
    rows = {r["cell_id"]: r for r in read_results(out)}
    assert len(rows) == first.total
    for cell_id, row in kept.items():  # no finished cell lost or rewritten
        assert rows[cell_id] == row
    third = run_sweep(spec, out, resume=True)
    assert third.computed == () and third.skipped == third.total and third.workers == 0


def test_a_killed_sweep_resumes_without_loss_or_repeats(write_spec, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    spec = write_spec(SMALL.replace('compute = "theory"', 'compute = "both"\nn_runs = 30000'))
    out = tmp_path / "out"
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    argv = [sys.executable, "-m", "specbound", "sweep", "run", str(spec), "--out", str(out)]
    process = subprocess.Popen(
        [*argv, "--workers", "1", "--no-progress"],
        env=env,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    try:
        while len(list((out / "parts").glob("part-*.parquet"))) < 3:
            assert process.poll() is None, "the sweep ended before it could be killed"
            assert time.monotonic() < deadline
            time.sleep(0.05)
    finally:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    finished = {r["cell_id"] for r in read_results(out)}
    total = len(expand(load_spec(spec)))
    assert 3 <= len(finished) < total
    code, _, err = _cli(["sweep", "run", str(spec), "--out", str(out)])
    assert code == 2 and "--resume" in err  # a table is there: refuse to overwrite it
    resumed = run_sweep(spec, out, executor="local", workers=2, resume=True)
    assert resumed.skipped == len(finished)
    assert not finished & set(resumed.computed)
    assert finished | set(resumed.computed) == {c.cell_id for c in expand(load_spec(spec))}
    assert not list((out / "parts").glob("*.parquet"))  # merged into results.parquet


def test_a_failing_cell_is_recorded_and_the_sweep_goes_on(
    ray_local: None,
    write_spec,
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    (tmp_path / "bad.json").write_text("{not json")
    spec = write_spec(SMALL.replace("eps = [0.3]", 'eps = [0.3]\nfiles = ["bad.json"]'))
    code, out, err = _cli(
        ["sweep", "run", str(spec), "-e", "ray", "-w", "2", "-o", str(tmp_path / "o")]
    )
    assert code == 0, err
    rows = read_results(tmp_path / "o")
    failed = [r for r in rows if r["status"] == "failed"]
    assert len(failed) == 12 and all("ChainFileError" in r["error"] for r in failed)
    assert all(r["results"] is None for r in failed)
    assert sum(r["status"] == "ok" for r in rows) == len(rows) - 12 > 0
    assert "12 failed" in out and "failed cell" in out


def test_an_unreachable_ray_address_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(
        SpecboundError, match=r"cannot reach the Ray cluster at --address '127\.0\.0\.1:1'"
    ):
        run_sweep(SMOKE, tmp_path / "o", executor="ray", address="127.0.0.1:1")
    code, _, err = _cli(
        [
            "sweep",
            "run",
            str(SMOKE),
            "--executor",
            "ray",
            "--address",
            "127.0.0.1:1",
            "--out",
            str(tmp_path / "o2"),
        ]
    )
    assert code == 2 and len(err.strip().splitlines()) == 1 and "127.0.0.1:1" in err
    assert "Traceback" not in err


def test_bad_options_and_outputs(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    for argv, words in (
        (["--out", str(tmp_path / "file")], "is not a folder"),
        (["--executor", "dask", "--out", str(tmp_path / "a")], "--executor must be one of"),
        (["--address", "h:1", "--out", str(tmp_path / "b")], "--address is for --executor ray"),
        (["--workers", "0", "--out", str(tmp_path / "c")], "--workers must be"),
    ):
        code, _, err = _cli(["sweep", "run", str(SMOKE), *argv])
        assert code == 2 and words in err, err
        assert len(err.strip().splitlines()) == 1


def test_summarize_prints_a_table_and_writes_plots(smoke_local: Path) -> None:
    summary = summarize(smoke_local)
    rows, plots = summary.rows, summary.plots
    labels = [row["label"] for row in rows]
    assert "sd gamma=1" in labels and "batch M=2 gamma=none" in labels
    assert all(row["cells"] == 2 and row["failed"] == 0 for row in rows)
    assert [p.name for p in plots] == ["calls_per_token_vs_gamma.png"]
    assert plots[0].stat().st_size > 10_000
    code, out, err = _cli(["sweep", "summarize", str(smoke_local)])
    assert code == 0, err
    assert "sd gamma=1" in out and "calls/token" in out and "wrote" in out
    code, _, err = _cli(["sweep", "summarize", str(smoke_local / "nothing")])
    assert code == 2 and "holds no sweep results" in err
