"""Model-free runs load the target alone: ``load_pair(..., with_draft=False)``, and
``generate --drafter ngram|suffix`` never reads the draft folder."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from specbound import lm
from specbound.algorithms import Autoregressive, Speculative
from specbound.cli import app
from specbound.cli.common import run_app
from specbound.errors import InvalidInputError
from specbound.lm import loading
from specbound.lm.pairs import MissingDraftError

PROMPT = "one two three one two three one two"


@pytest.fixture
def loaded_roles(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The role of every model :func:`load_pair` loads from a folder (a loader spy)."""
    roles: list[str] = []
    real = loading._load_model

    def spy(source: str, role: str, *args: Any) -> Any:
        roles.append(role)
        return real(source, role, *args)

    monkeypatch.setattr(loading, "_load_model", spy)
    return roles


def test_a_pair_without_its_draft_loads_the_target_only(
    tiny_dirs: tuple[Path, Path], loaded_roles: list[str]
) -> None:
    pair = lm.load_pair(target=tiny_dirs[0], with_draft=False)
    assert loaded_roles == ["target"]
    assert not pair.has_draft
    assert pair.engines["draft"] == "none"
    # the model-free drafter runs on it, and autoregressive decoding too
    for spec, drafter in ((Speculative(gamma=4), "ngram"), (Autoregressive(), "model")):
        out = lm.generate(
            pair,
            PROMPT,
            spec,
            max_new_tokens=6,
            seed=0,
            stop_at_eos=False,
            drafter=lm.drafter_factory(drafter),
        )
        assert out.stats.new_tokens == 6


def test_the_draft_model_is_refused_by_name_when_not_loaded(tiny_dirs: tuple[Path, Path]) -> None:
    pair = lm.load_pair(target=tiny_dirs[0], with_draft=False)
    with pytest.raises(MissingDraftError, match="without its draft model"):
        lm.generate(pair, PROMPT, Speculative(gamma=2), max_new_tokens=4, seed=0)


def test_draft_with_with_draft_false_is_refused(tiny_dirs: tuple[Path, Path]) -> None:
    with pytest.raises(InvalidInputError, match="with_draft=False"):
        lm.load_pair(target=tiny_dirs[0], draft=tiny_dirs[1], with_draft=False)
    with pytest.raises(InvalidInputError, match="with_draft"):
        lm.load_pair(target=tiny_dirs[0], with_draft="no")  # type: ignore[arg-type]


def test_the_embedded_pair_loads_without_its_draft(loaded_roles: list[str]) -> None:
    pair = lm.load_pair(with_draft=False)
    assert loaded_roles == ["target"] and not pair.has_draft


@pytest.mark.parametrize(("drafter", "roles"), [("ngram", ["target"]), ("suffix", ["target"])])
def test_generate_with_a_model_free_drafter_loads_no_draft(
    capsys: pytest.CaptureFixture[str],
    tiny_dirs: tuple[Path, Path],
    loaded_roles: list[str],
    drafter: str,
    roles: list[str],
) -> None:
    args = ["--target", str(tiny_dirs[0]), "--draft", str(tiny_dirs[1]), "--threads", "1"]
    code = run_app(app, ["generate", PROMPT, *args, "-n", "5", "--drafter", drafter, "--json"])
    assert code == 0
    assert loaded_roles == roles
    assert 1 <= json.loads(capsys.readouterr().out)["stats"]["new_tokens"] <= 5


def test_generate_with_model_fallback_loads_both(
    capsys: pytest.CaptureFixture[str], tiny_dirs: tuple[Path, Path], loaded_roles: list[str]
) -> None:
    args = ["--target", str(tiny_dirs[0]), "--draft", str(tiny_dirs[1]), "--threads", "1"]
    code = run_app(app, ["generate", PROMPT, *args, "-n", "4", "--drafter", "ngram+model"])
    assert code == 0
    assert loaded_roles == ["target", "draft"]
