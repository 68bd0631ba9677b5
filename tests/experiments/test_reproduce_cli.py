"""`specbound reproduce --quick` end to end: figures, data files, claims, determinism."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from specbound.cli import app
from specbound.cli.common import run_app
from specbound.experiments import REGISTRY
from specbound.experiments.base import Record
from specbound.experiments.registry import load
from specbound.io import read_json

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _run_quick(out: Path, seed: int = 0) -> tuple[int, str]:
    code = run_app(app, ["reproduce", "--quick", "--out", str(out), "--seed", str(seed)])
    return code, (out / "REPORT.md").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, int, str]:
    out = tmp_path_factory.mktemp("quick")
    code, report = _run_quick(out)
    return out, code, report


def test_quick_run_exits_0_and_every_claim_in_the_summary_holds(
    quick_run: tuple[Path, int, str],
) -> None:
    _, code, report = quick_run
    assert code == 0
    summary = re.search(r"## Summary: (\d+) of (\d+) claims hold", report)
    assert summary is not None
    held, total = int(summary.group(1)), int(summary.group(2))
    assert held == total and total >= 20
    table = report.split("## Summary")[1].split("\n\n")[1]
    rows = [line for line in table.splitlines() if line.startswith("| **")]
    assert len(rows) == total
    assert all(row.rstrip().endswith("| ✓ |") for row in rows)


def test_every_data_file_parses_with_config_seed_versions(
    quick_run: tuple[Path, int, str],
) -> None:
    out, _, _ = quick_run
    for name in REGISTRY:
        raw = read_json(out / "data" / f"{name}.json")
        assert raw is not None, f"{name}.json does not parse"
        record = Record.from_dict(raw)
        assert record is not None and record.experiment == name
        assert record.seed == 0 and record.config["seed"] == 0
        assert record.versions["numpy"] and record.claims
        assert all(claim.holds for claim in record.claims)


def test_every_figure_is_a_valid_png_and_linked_from_the_report(
    quick_run: tuple[Path, int, str],
) -> None:
    import matplotlib.image as mpimg

    out, _, report = quick_run
    links = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", report)
    figures = sorted((out / "figures").glob("*.png"))
    assert len(figures) >= len(REGISTRY)
    assert sorted(links) == sorted(f"figures/{p.name}" for p in figures)
    for path in figures:
        assert path.read_bytes()[:8] == PNG_MAGIC
        image = mpimg.imread(path)
        assert image.shape[0] >= 500 and image.shape[1] >= 1200, path.name


def test_every_section_says_how_to_regenerate_it(quick_run: tuple[Path, int, str]) -> None:
    _, _, report = quick_run
    for name in REGISTRY:
        assert f"`specbound reproduce --only {name} --seed 0 --quick`" in report
        assert f"(data/{name}.json)" in report


def test_same_seed_gives_identical_data_files_and_another_seed_does_not(
    quick_run: tuple[Path, int, str], tmp_path: Path
) -> None:
    out, _, _ = quick_run
    again = tmp_path / "again"
    code, _ = _run_quick(again)
    assert code == 0
    for name in REGISTRY:
        first = (out / "data" / f"{name}.json").read_bytes()
        if load(name).timed:  # seconds differ between runs; the settings do not
            again_data = json.loads((again / "data" / f"{name}.json").read_bytes())
            want = _settings(json.loads(first)["data"])
            assert want and _settings(again_data["data"]) == want, name
            continue
        assert (again / "data" / f"{name}.json").read_bytes() == first, name
    other = tmp_path / "other"
    run_app(app, ["reproduce", "--quick", "--only", "fig2", "--out", str(other), "--seed", "1"])
    assert (other / "data" / "fig2.json").read_bytes() != (out / "data" / "fig2.json").read_bytes()


def _settings(data: dict[str, Any]) -> list[str]:
    """The labels of what a timed section ran (the clock decides none of them): its
    profile rows, or (``lm_trees``) the trees and chains of every node budget."""
    if "rows" in data:
        return [r["label"] for r in data["rows"]]
    return [e["label"] for e in [*data["tree"], *data["chain"]]]


def test_rerun_reuses_every_experiment(
    quick_run: tuple[Path, int, str], capsys: pytest.CaptureFixture[str]
) -> None:
    out, _, _ = quick_run
    stamps = {p.name: p.stat().st_mtime_ns for p in (out / "data").iterdir()}
    code = run_app(app, ["reproduce", "--quick", "--out", str(out)])
    assert code == 0
    assert "(reused)" in capsys.readouterr().err
    assert {p.name: p.stat().st_mtime_ns for p in (out / "data").iterdir()} == stamps


def test_cli_help_does_not_import_matplotlib_or_the_experiments() -> None:
    code = (
        "import sys, specbound.cli; "
        "assert 'matplotlib' not in sys.modules, 'matplotlib imported'; "
        "assert 'specbound.experiments' not in sys.modules, 'experiments imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
