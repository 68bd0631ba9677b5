"""User mistakes raise named SpecboundErrors whose message names the input."""

from __future__ import annotations

from pathlib import Path

import pytest
from lm_models import VOCAB, make_model, save_tokenizer

import specbound as sb
from specbound.errors import (
    IncompatibleModelsError,
    InvalidAlgorithmError,
    InvalidInputError,
    ModelNotFoundError,
)
from specbound.lm import ModelPair, SamplingConfig, generate, load_pair


@pytest.fixture(scope="module")
def odd_models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Drafts that do not fit the tiny target: another tokenizer, too few output rows."""
    root = tmp_path_factory.mktemp("odd")
    other = root / "other_tokenizer"
    make_model(3, VOCAB).save_pretrained(other)
    save_tokenizer(other, ["<eos>", "x", "y", "z", "w", "v", "u", "t"])
    narrow = root / "narrow"
    make_model(4, VOCAB - 2).save_pretrained(narrow)  # no tokenizer, 6 rows < 8 tokens
    empty = root / "empty"
    empty.mkdir()
    return {"other": other, "narrow": narrow, "empty": empty}


def test_different_tokenizers(tiny_dirs: tuple[Path, Path], odd_models: dict[str, Path]) -> None:
    target_dir, _ = tiny_dirs
    with pytest.raises(IncompatibleModelsError, match="share a tokenizer") as info:
        load_pair(target=target_dir, draft=odd_models["other"])
    assert str(target_dir) in str(info.value) and str(odd_models["other"]) in str(info.value)
    assert "8 tokens" in str(info.value)


def test_draft_with_too_few_output_rows(
    tiny_dirs: tuple[Path, Path], odd_models: dict[str, Path]
) -> None:
    with pytest.raises(IncompatibleModelsError, match="6 embedding rows"):
        load_pair(target=tiny_dirs[0], draft=odd_models["narrow"])


def test_missing_paths(tiny_dirs: tuple[Path, Path], odd_models: dict[str, Path]) -> None:
    with pytest.raises(ModelNotFoundError, match="/no/such/model"):
        load_pair(target="/no/such/model", draft=tiny_dirs[1])
    with pytest.raises(ModelNotFoundError, match=r"config\.json"):
        load_pair(target=tiny_dirs[0], draft=odd_models["empty"])
    with pytest.raises(ModelNotFoundError, match="nobody/nothing"):
        load_pair(target="nobody/nothing", draft=tiny_dirs[1], local_files_only=True)


def test_half_a_pair_and_bad_options(tiny_dirs: tuple[Path, Path]) -> None:
    with pytest.raises(InvalidInputError, match="both"):
        load_pair(target=tiny_dirs[0])
    with pytest.raises(InvalidInputError, match="dtype"):
        load_pair(target=tiny_dirs[0], draft=tiny_dirs[1], dtype="int8")


def test_algorithm_parameters() -> None:
    with pytest.raises(InvalidAlgorithmError, match="eps"):
        sb.OverAcceptance(eps=-0.1)
    with pytest.raises(InvalidAlgorithmError, match="num_drafts"):
        sb.BatchSpeculative(num_drafts=0)
    with pytest.raises(InvalidAlgorithmError, match="gamma"):
        sb.Speculative(gamma=0)


@pytest.mark.parametrize(
    ("prompt", "kwargs", "error", "name"),
    [
        ("", {}, InvalidInputError, "prompt"),
        ("   ", {}, InvalidInputError, "prompt"),
        ([], {}, InvalidInputError, "prompt"),
        ([99], {}, InvalidInputError, "token ids"),
        ("a", {"max_new_tokens": 0}, InvalidInputError, "max_new_tokens"),
        ("a", {"max_new_tokens": -3}, InvalidInputError, "max_new_tokens"),
        ("a", {"sampling": {"temperature": -1.0}}, InvalidInputError, "temperature"),
        ("a", {"sampling": {"top_p": 2.0}}, InvalidInputError, "top_p"),
        ("a", {"seed": -1}, InvalidInputError, "seed"),
        ("a", {"algorithm": "sd"}, InvalidAlgorithmError, "algorithm"),
    ],
)
def test_generate_rejects(
    tiny_pair: ModelPair, prompt: object, kwargs: dict, error: type, name: str
) -> None:
    with pytest.raises(error, match=name):
        if "sampling" in kwargs:  # the settings are checked where they are built
            kwargs = {**kwargs, "sampling": SamplingConfig(**kwargs["sampling"])}
        generate(tiny_pair, prompt, **kwargs)  # type: ignore[arg-type]


def test_no_arguments_load_the_embedded_layout(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``load_pair()`` reads ``tokenizer/``, ``target/``, ``draft/`` under the embedded
    directory (weights only in the model folders) and starts prompts with eos, as the
    layout's ``tokenizer/specbound.json`` says."""
    import specbound.lm.loading as loading

    monkeypatch.setattr(loading, "embedded_pair_path", lambda: tmp_path / "embedded")
    with pytest.raises(ModelNotFoundError, match="train_pair"):
        load_pair()
    root = tmp_path / "embedded"
    save_tokenizer(root / "tokenizer")
    (root / "tokenizer" / "specbound.json").write_text('{"prompt_prefix": "eos"}')
    make_model(1, VOCAB).save_pretrained(root / "target")
    make_model(2, VOCAB).save_pretrained(root / "draft")
    pair = load_pair()
    assert pair.prompt_prefix == (0,) and pair.vocab_size == VOCAB
    out = generate(pair, "a b", max_new_tokens=3, seed=0)
    assert out.prompt_ids == (0, 1, 2)
