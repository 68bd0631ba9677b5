"""Fixtures of the distill tests: the tiny teacher and one short run shared by the tests
that read its outputs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")

from distill_helpers import INSTRUCTIONS, make_teacher, run_distill


@pytest.fixture(scope="session")
def teacher_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_teacher(tmp_path_factory.mktemp("teacher"))


@pytest.fixture(scope="session")
def instructions_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("instructions") / "instructions.txt"
    path.write_text("# test instructions\n" + "\n".join(INSTRUCTIONS) + "\n")
    return path


@pytest.fixture(scope="session")
def short_run(
    teacher_dir: Path, instructions_file: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, dict[str, Any]]:
    out = tmp_path_factory.mktemp("run")
    return out, run_distill(teacher_dir, out, instructions_file)
