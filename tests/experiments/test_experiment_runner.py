"""The experiment runner on tiny fake experiments: caching, resume, corruption, failures.

The fake experiments are registered by monkeypatching the registry, so these tests check
the framework itself (fast) and not the paper's numbers (see test_reproduce_cli.py).
"""

from __future__ import annotations

import json
import sys
import types
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from specbound.cli import app
from specbound.cli.common import run_app
from specbound.errors import InvalidInputError
from specbound.experiments import registry
from specbound.experiments.base import Claim, Experiment, Record
from specbound.experiments.runner import data_path, reproduce


@dataclass(frozen=True)
class FakeConfig:
    seed: int
    quick: bool
    size: int = 3


class FakeLab:
    """Builds fake experiment modules and remembers every compute call."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.monkeypatch = monkeypatch
        self.calls: list[str] = []
        self.registry: dict[str, str] = {}
        monkeypatch.setattr(registry, "REGISTRY", self.registry)

    def add(self, name: str, *, holds: bool = True, explode: BaseException | None = None) -> None:
        calls = self.calls

        def make_config(quick: bool, seed: int) -> FakeConfig:
            return FakeConfig(seed=seed, quick=quick)

        def compute(config: FakeConfig, progress: Any) -> dict[str, Any]:
            calls.append(name)
            if explode is not None:
                raise explode
            progress(0.5)
            return {"values": [config.seed * k for k in range(config.size)]}

        def claims(config: FakeConfig, data: dict[str, Any]) -> list[Claim]:
            ok = data["values"] == [config.seed * k for k in range(config.size)]
            return [
                Claim(
                    id="values",
                    statement=f"{name}: the values are multiples of the seed",
                    holds=ok and holds,
                    check="exact comparison",
                    theory=1.0,
                    measured=1.0 if holds else 0.0,
                )
            ]

        def plot(data: dict[str, Any], fig_dir: Path) -> list[Path]:
            fig_dir.mkdir(parents=True, exist_ok=True)
            path = fig_dir / f"{name}.png"
            path.write_bytes(b"\x89PNG\r\n\x1a\n" + json.dumps(data).encode())
            return [path]

        def describe(record: Record) -> str:
            return f"Fake experiment {name} with seed {record.seed}."

        module = types.ModuleType(f"fake_experiment_{name}")
        module.EXPERIMENT = Experiment(  # type: ignore[attr-defined]
            name=name,
            title=f"Fake {name}",
            revision=1,
            make_config=make_config,
            compute=compute,
            claims=claims,
            plot=plot,
            describe=describe,
        )
        self.monkeypatch.setitem(sys.modules, module.__name__, module)
        self.registry[name] = module.__name__


@pytest.fixture
def lab(monkeypatch: pytest.MonkeyPatch) -> FakeLab:
    return FakeLab(monkeypatch)


def test_a_finished_experiment_is_reused_not_recomputed(lab: FakeLab, tmp_path: Path) -> None:
    lab.add("a")
    lab.add("b")
    first = reproduce(tmp_path, seed=3)
    assert lab.calls == ["a", "b"]
    assert [o.status for o in first.outcomes] == ["computed", "computed"]
    stamp = data_path(tmp_path, "a").stat().st_mtime_ns
    content = data_path(tmp_path, "a").read_bytes()

    second = reproduce(tmp_path, seed=3)
    assert lab.calls == ["a", "b"], "a rerun with the same config must not recompute"
    assert [o.status for o in second.outcomes] == ["reused", "reused"]
    assert data_path(tmp_path, "a").stat().st_mtime_ns == stamp
    assert data_path(tmp_path, "a").read_bytes() == content

    reproduce(tmp_path, seed=3, force=True, only="b")
    assert lab.calls == ["a", "b", "b"]


def test_another_seed_is_another_config(lab: FakeLab, tmp_path: Path) -> None:
    lab.add("a")
    reproduce(tmp_path, seed=1)
    reproduce(tmp_path, seed=2)
    assert lab.calls == ["a", "a"]
    record = json.loads(data_path(tmp_path, "a").read_text())
    assert record["seed"] == 2 and record["data"]["values"] == [0, 2, 4]


@pytest.mark.parametrize(
    "corruption",
    [
        b"{ this is not json",
        b"",
        b'{"experiment": "a"}',
        b'{"experiment": "a", "config": {}, "config_hash": "0", "seed": 1, "versions": {},'
        b' "claims": [], "data": {}}',
        b"\xff\xfe\x00garbage",
    ],
    ids=["truncated", "empty", "missing-keys", "wrong-hash", "not-utf8"],
)
def test_a_corrupt_data_file_is_recomputed_not_trusted(
    lab: FakeLab, tmp_path: Path, corruption: bytes
) -> None:
    lab.add("a")
    reproduce(tmp_path, seed=1)
    data_path(tmp_path, "a").write_bytes(corruption)
    result = reproduce(tmp_path, seed=1)
    assert lab.calls == ["a", "a"]
    assert result.outcomes[0].status == "computed"
    assert Record.from_dict(json.loads(data_path(tmp_path, "a").read_text())) is not None


def test_an_interrupted_run_keeps_what_finished(lab: FakeLab, tmp_path: Path) -> None:
    lab.add("a")
    lab.add("b", explode=KeyboardInterrupt())
    with pytest.raises(KeyboardInterrupt):
        reproduce(tmp_path, seed=1)
    assert data_path(tmp_path, "a").exists()
    assert not data_path(tmp_path, "b").exists()
    assert not any(p.name.endswith(".tmp") for p in (tmp_path / "data").iterdir())
    lab.registry.pop("b")
    lab.add("b")
    result = reproduce(tmp_path, seed=1)
    assert [o.status for o in result.outcomes] == ["reused", "computed"]


def test_the_data_file_records_config_seed_versions_and_claims(
    lab: FakeLab, tmp_path: Path
) -> None:
    lab.add("a")
    reproduce(tmp_path, seed=5, quick=True)
    record = json.loads(data_path(tmp_path, "a").read_text())
    assert record["config"] == {"seed": 5, "quick": True, "size": 3}
    assert record["seed"] == 5 and len(record["config_hash"]) == 16
    assert record["versions"]["specbound"] and record["versions"]["numpy"]
    assert record["claims"][0]["holds"] is True


def test_report_lists_every_claim_and_keeps_unselected_sections(
    lab: FakeLab, tmp_path: Path
) -> None:
    lab.add("a")
    lab.add("b")
    reproduce(tmp_path, seed=1, only="a")
    result = reproduce(tmp_path, seed=1, only="b")
    assert [o.status for o in result.outcomes] == ["report-only", "computed"]
    report = (tmp_path / "REPORT.md").read_text()
    assert "## Summary: 2 of 2 claims hold" in report
    assert "## Fake a" in report and "## Fake b" in report
    assert "](figures/a.png)" in report
    assert "`specbound reproduce --only b --seed 1`" in report


def test_cli_exits_1_when_a_claim_fails_but_writes_everything(
    lab: FakeLab, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lab.add("good")
    lab.add("bad", holds=False)
    code = run_app(app, ["reproduce", "--out", str(tmp_path), "--seed", "2"])
    out = capsys.readouterr()
    assert code == 1
    assert "claims: 1 of 2 hold" in out.out
    assert "error: 1 claim(s) failed: bad:values" in out.err
    report = (tmp_path / "REPORT.md").read_text()
    assert "✗ **fails**" in report and "1 claim(s) fail" in report
    assert data_path(tmp_path, "bad").exists() and (tmp_path / "figures" / "bad.png").exists()


def test_cli_unknown_experiment_is_a_user_error(
    lab: FakeLab, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lab.add("a")
    code = run_app(app, ["reproduce", "--out", str(tmp_path), "--only", "a,fig9"])
    err = capsys.readouterr().err
    assert code == 2
    assert (
        err.startswith("error: --only: unknown experiment 'fig9'") and "known experiments: a" in err
    )
    assert not tmp_path.joinpath("data").exists(), "nothing may run before the error"


def test_cli_out_that_is_a_file_is_a_user_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "report.txt"
    target.write_text("not a folder")
    code = run_app(app, ["reproduce", "--out", str(target), "--only", "fig2"])
    assert code == 2 and "exists and is not a folder" in capsys.readouterr().err


def test_cli_negative_seed_is_a_user_error(capsys: pytest.CaptureFixture[str]) -> None:
    code = run_app(app, ["reproduce", "--seed", "-1", "--only", "fig2"])
    assert code == 2 and "--seed must be a non-negative integer" in capsys.readouterr().err


@pytest.mark.parametrize("only", ["", " , ", "fig2,,nope"])
def test_select_rejects_empty_or_unknown_names(only: str) -> None:
    with pytest.raises(InvalidInputError, match="--only"):
        registry.select(only)


def test_select_keeps_report_order() -> None:
    assert registry.select("fig4,fig2") == ["fig2", "fig4"]
    assert registry.select(None) == list(registry.REGISTRY)


@pytest.mark.parametrize("name", list(registry.REGISTRY))
def test_registered_experiments_pickle_for_a_process_pool(name: str) -> None:
    import pickle

    experiment = registry.load(name)
    config = experiment.make_config(True, 0)
    compute, restored = pickle.loads(pickle.dumps((experiment.compute, config)))
    assert compute is experiment.compute and restored == config
    assert experiment.revision >= 1 and experiment.title
