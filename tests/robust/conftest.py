"""Fixtures of the robustness tests: a valid chain pair and a gallery of bad inputs."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from specbound.chain import random_pair, save_chains
from specbound.lm.loading import embedded_pair_path


@pytest.fixture(scope="session")
def places(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Name -> path: a valid pair file and every kind of bad file, folder and model."""
    root = tmp_path_factory.mktemp("robust")
    draft, target = random_pair(12, 4, 0.5, 0)
    good = save_chains(root / "good.json", draft, target)
    data = json.loads(good.read_text())

    def write(name: str, payload: object) -> Path:
        path = root / name
        path.write_text(payload if isinstance(payload, str) else json.dumps(payload))
        return path

    paths = {"good": good, "root": root, "folder": root / "folder", "out": root / "out.json"}
    paths["folder"].mkdir()
    paths["missing"] = root / "missing.json"
    paths["missing_parent"] = root / "no" / "such" / "out.json"
    paths["not_json"] = write("not_json.json", "{start: 0")
    paths["empty"] = write("empty.json", "")
    paths["no_start"] = write("no_start.json", {k: v for k, v in data.items() if k != "start"})
    paths["deep"] = write("deep.json", "[" * 100_000 + "]" * 100_000)
    bools = json.loads(json.dumps(data))
    bools["draft"][0][0] = [True, False, False, False]
    paths["bools"] = write("bools.json", bools)
    paths["rowsum"] = write(
        "rowsum.json", {**data, "draft": [[[0.5, 0.6], [1, 0]]], "target": [[[1, 0], [1, 0]]]}
    )
    paths["shape"] = write("shape.json", {**data, "draft": data["draft"][:3]})
    neg = json.loads(json.dumps(data))
    neg["target"][0][0] = [-0.5, 1.5, 0.0, 0.0]
    paths["negative"] = write("negative.json", neg)
    paths["top_list"] = write("top_list.json", [1, 2])
    paths["start_range"] = write("start_range.json", {**data, "start": 9})
    paths["start_text"] = write("start_text.json", {**data, "start": "a"})
    paths["draft_text"] = write("draft_text.json", {**data, "draft": "rows"})
    paths["ragged"] = write("ragged.json", {**data, "draft": [[[1.0], [0.5, 0.5]]]})
    paths["binary"] = root / "binary.json"
    paths["binary"].write_bytes(b"\xff\xfe\x00garbage")
    paths["sparse"] = root / "sparse.json"
    with open(paths["sparse"], "wb") as handle:
        handle.truncate(2**40)  # 1 TiB, sparse: no disk used
    paths["fifo"] = root / "fifo"
    os.mkfifo(paths["fifo"])
    paths["prompts_empty"] = write("prompts.txt", "# only a comment\n\n")
    paths["prompts_two"] = write("two_prompts.txt", "The with statement\nA list comprehension\n")
    # model folders: the embedded pair without its tokenizer, an edited and a corrupt config
    embedded = embedded_pair_path()
    paths["embedded"] = embedded
    models = root / "models"
    for name, edit in (("vocab", "vocab_size"), ("corrupt", None)):
        folder = models / name
        folder.mkdir(parents=True)
        (folder / "model.safetensors").symlink_to(embedded / "draft" / "model.safetensors")
        config = json.loads((embedded / "draft" / "config.json").read_text())
        if edit is None:
            (folder / "config.json").write_text('{"model_type": "gpt_neox", ')
        else:
            config[edit] = config[edit] + 904
            (folder / "config.json").write_text(json.dumps(config))
        paths[f"draft_{name}"] = folder
    paths["no_tokenizer"] = models / "no_tokenizer"
    paths["no_tokenizer"].mkdir()
    shutil.copy(embedded / "tokenizer" / "tokenizer_config.json", models / "unused.json")
    return paths
