"""Text prompts to token ids, through the tokenizer's chat template for chat models.

An instruction-tuned model (SmolLM2-135M-Instruct) was trained on conversations written
in its chat template (``<|im_start|>user ... <|im_end|><|im_start|>assistant``); raw
text makes it continue a document instead of answering. So a pair whose ``chat`` flag is
set (:func:`specbound.lm.load_pair` sets it when the tokenizer has a chat template,
unless ``chat=False``; CLI ``--no-chat``) encodes a text prompt as one user turn followed
by the assistant's generation prompt; any other pair encodes the raw text. The template
is rendered to text and then encoded without added special tokens: the template writes
whatever special tokens the model expects.
"""

from __future__ import annotations

from typing import Any

__all__ = ["encode_text", "has_chat_template"]


def has_chat_template(tokenizer: Any) -> bool:
    """Whether ``tokenizer`` carries a chat template."""
    return bool(getattr(tokenizer, "chat_template", None))


def encode_text(pair: Any, text: str) -> list[int]:
    """Token ids of the text prompt ``text`` for ``pair`` (a
    :class:`~specbound.lm.loading.ModelPair`): chat-templated as one user turn when
    ``pair.chat`` is set and its tokenizer has a template, else the raw text with the
    tokenizer's usual special tokens. The pair's ``prompt_prefix`` is not added here."""
    tokenizer = pair.tokenizer
    if getattr(pair, "chat", False) and has_chat_template(tokenizer):
        rendered = tokenizer.apply_chat_template(
            [{"role": "user", "content": text}], tokenize=False, add_generation_prompt=True
        )
        return [int(i) for i in tokenizer.encode(str(rendered), add_special_tokens=False)]
    return [int(i) for i in tokenizer.encode(text, add_special_tokens=True)]
