"""The draft's architecture: a standard ``LlamaForCausalLM`` of the target's width.

Its ``N`` decoder layers start as the target's first ``N`` layers and its final norm as
the target's (reusing what the target knows: cut from the target *untrained* such a
draft accepts about 3% of tokens, but it starts in the right feature space). Its token
embedding and tied output head are the target's own and stay frozen: the draft shares
them with the target at load time (as EAGLE and Medusa reuse the target's head), so
only the layers and the norm are trained and shipped.

Restricted head. During training (and, through :func:`specbound.distill.head_mask`,
during decoding) the draft's law covers only ``K`` head tokens, the most frequent
tokens of the target's own continuations: ``p(x) = 0`` outside them. This keeps
speculative sampling lossless. Verification accepts a drafted ``x`` with probability
``min(1, q(x)/p(x))`` and on rejection resamples from the residual ``[q - p]_+``
normalised; a token with ``p(x) = 0`` is never drafted and keeps its full mass ``q(x)``
in the residual, so the emitted token's law is still ``q`` (the usual proof:
``P(x) = min(p(x), q(x)) + (1 - sum_y min(p(y), q(y))) [q(x) - p(x)]_+ / sum_y [q(y) - p(y)]_+
= q(x)`` for every ``x``, including those with ``p(x) = 0``). It costs acceptance only
where the target puts mass outside the head, at most that mass in TV.
"""

from __future__ import annotations

import copy
from typing import Any

import torch
from torch import nn

from specbound.errors import IncompatibleModelsError

__all__ = ["HeadRestrictedDraft", "draft_config", "init_draft", "trainable_state"]


def draft_config(target: Any, layers: int) -> Any:
    """A ``LlamaConfig`` of the target's width with ``layers`` decoder layers.

    A Llama target's config is copied (heads, norm, RoPE, vocabulary); for any other
    causal LM a Llama config of the same width and vocabulary is made (64-wide heads).
    """
    from transformers import LlamaConfig

    if getattr(target.config, "model_type", None) == "llama":
        config = copy.deepcopy(target.config)
        if hasattr(config, "quantization_config"):
            del config.quantization_config
    else:
        embed = target.get_input_embeddings().weight  # (V, H)
        width = int(embed.shape[1])
        heads = max(1, width // 64)
        config = LlamaConfig(
            vocab_size=int(embed.shape[0]),
            hidden_size=width,
            intermediate_size=4 * width,
            num_attention_heads=heads,
            num_key_value_heads=heads,
            max_position_embeddings=int(getattr(target.config, "max_position_embeddings", 4096)),
        )
    config.num_hidden_layers = layers
    config.tie_word_embeddings = True
    config.use_cache = True
    return config


def init_draft(target: Any, layers: int) -> tuple[Any, int]:
    """``(draft, copied)``: a float32 ``LlamaForCausalLM`` with the target's embedding and,
    where names and shapes match, its first ``layers`` layers and final norm (``copied``
    counts the tensors taken from the target; the rest keep their random init)."""
    from transformers import LlamaForCausalLM

    config = draft_config(target, layers)
    draft = LlamaForCausalLM(config).float()
    source = target.state_dict()
    own = draft.state_dict()
    copied = 0
    with torch.no_grad():
        for name, tensor in own.items():
            if name in source and source[name].shape == tensor.shape and name != "lm_head.weight":
                tensor.copy_(source[name])
                copied += 1
        embed = target.get_input_embeddings().weight  # (V, H)
        if embed.shape != draft.model.embed_tokens.weight.shape:
            raise IncompatibleModelsError(
                f"target embedding {tuple(embed.shape)} does not fit the draft's "
                f"{tuple(draft.model.embed_tokens.weight.shape)}"
            )
        draft.model.embed_tokens.weight.copy_(embed)
    draft.tie_weights()
    return draft, copied


def trainable_state(draft: Any) -> dict[str, torch.Tensor]:
    """The tensors a draft ships (decoder layers and final norm), detached copies."""
    return {
        name: tensor.detach().clone()
        for name, tensor in draft.state_dict().items()
        if name.startswith("model.layers.") or name == "model.norm.weight"
    }


class HeadRestrictedDraft(nn.Module):
    """A draft whose law covers only ``head_ids`` (K tokens), for training.

    The embedding (and the tied head, whose rows for ``head_ids`` give the logits) is
    frozen; the layers and the final norm train.
    """

    def __init__(self, draft: Any, head_ids: torch.Tensor):
        super().__init__()
        self.draft = draft
        vocab = int(draft.model.embed_tokens.weight.shape[0])
        self.register_buffer("head_ids", head_ids.to(torch.long), persistent=False)  # (K,)
        position = torch.full((vocab,), -1, dtype=torch.long)  # (V,)
        position[head_ids] = torch.arange(len(head_ids))
        self.register_buffer("head_position", position, persistent=False)
        for name, param in draft.named_parameters():
            param.requires_grad = name.startswith("model.layers.") or name == "model.norm.weight"

    def parameters_to_train(self) -> list[nn.Parameter]:
        """The parameters the optimiser updates (layers and final norm)."""
        return [p for p in self.draft.parameters() if p.requires_grad]

    def forward(
        self, input_ids: torch.Tensor, attention_mask: torch.Tensor, select: torch.Tensor
    ) -> torch.Tensor:
        """Log-law over the head at the selected positions: (B, L), (B, L), (B, L) bool ->
        (n, K), n = ``select.sum()``."""
        hidden = self.draft.model(
            input_ids=input_ids, attention_mask=attention_mask, use_cache=False
        ).last_hidden_state  # (B, L, H)
        rows = hidden[select]  # (n, H)
        weight = self.draft.lm_head.weight.detach()[self.head_ids]  # (K, H)
        return torch.log_softmax(rows @ weight.T, dim=-1)  # (n, K)
