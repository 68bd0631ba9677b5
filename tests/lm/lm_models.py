"""Builders of the tiny random GPT-NeoX pair the LM tests run on.

The pair is built so that thousands of generations run in seconds: one layer, hidden
size 16, a word-level tokenizer of 8 tokens (``<eos> a b c d e f g``). Draft and target
have different random weights (mean TV along sequences ~0.65), so a decoder that is not
exact shows up quickly. The target's embedding matrix is padded to 10 rows, beyond the
tokenizer, as many real models are (the pair's vocabulary is cut to 8).
"""

from __future__ import annotations

from pathlib import Path

import torch

WORDS = ["<eos>", "a", "b", "c", "d", "e", "f", "g"]
VOCAB = len(WORDS)
TARGET_ROWS = 10  # padded beyond the tokenizer


def save_tokenizer(directory: Path, words: list[str] = WORDS) -> None:
    """A whitespace word-level tokenizer over ``words``; ``<eos>`` (id 0) is eos/bos/pad."""
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    core = Tokenizer(models.WordLevel({w: i for i, w in enumerate(words)}, unk_token=words[0]))
    core.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    tok = PreTrainedTokenizerFast(
        tokenizer_object=core,
        eos_token=words[0],
        bos_token=words[0],
        pad_token=words[0],
        unk_token=words[0],
    )
    tok.save_pretrained(directory)


def make_model(seed: int, vocab_rows: int, init_range: float = 0.5) -> torch.nn.Module:
    """A random one-layer GPT-NeoX with peaked next-token laws."""
    from transformers import GPTNeoXConfig, GPTNeoXForCausalLM

    torch.manual_seed(seed)
    config = GPTNeoXConfig(
        vocab_size=vocab_rows,
        hidden_size=16,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=32,
        max_position_embeddings=64,
        initializer_range=init_range,
        bos_token_id=0,
        eos_token_id=0,
        tie_word_embeddings=False,
    )
    return GPTNeoXForCausalLM(config).eval()


def save_pair(root: Path, target_seed: int = 1, draft_seed: int = 2) -> tuple[Path, Path]:
    target_dir, draft_dir = root / "target", root / "draft"
    make_model(target_seed, TARGET_ROWS).save_pretrained(target_dir)
    make_model(draft_seed, VOCAB).save_pretrained(draft_dir)
    save_tokenizer(target_dir)
    save_tokenizer(draft_dir)
    return target_dir, draft_dir


def make_llama(seed: int, vocab_rows: int, init_range: float = 0.5) -> torch.nn.Module:
    """A random one-layer Llama (grouped-query attention: 2 heads, 1 KV head); it runs the
    engine's lean Llama forward (``specbound.lm.engine.llama``)."""
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(seed)
    config = LlamaConfig(
        vocab_size=vocab_rows,
        hidden_size=16,
        num_hidden_layers=1,
        num_attention_heads=2,
        num_key_value_heads=1,
        intermediate_size=32,
        max_position_embeddings=64,
        initializer_range=init_range,
        bos_token_id=0,
        eos_token_id=0,
        pad_token_id=0,
        tie_word_embeddings=False,
    )
    return LlamaForCausalLM(config).eval()


def save_llama_pair(root: Path, target_seed: int = 11, draft_seed: int = 12) -> tuple[Path, Path]:
    """A tiny Llama (target, draft) pair with the word-level tokenizer; the target's output
    matrix is padded to TARGET_ROWS rows."""
    target_dir, draft_dir = root / "target", root / "draft"
    make_llama(target_seed, TARGET_ROWS).save_pretrained(target_dir)
    make_llama(draft_seed, VOCAB).save_pretrained(draft_dir)
    save_tokenizer(target_dir)
    save_tokenizer(draft_dir)
    return target_dir, draft_dir
