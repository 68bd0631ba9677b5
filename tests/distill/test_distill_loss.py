"""The objectives on cached laws: TV as 1/2 sum |p - q| (written out here), bounds."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from specbound.distill.loss import (  # noqa: E402
    coarse_kl,
    coarse_tv,
    draft_law_on,
    greedy_agreement,
    tv_full,
)


def _laws(n: int, vocab: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    p = torch.softmax(2 * torch.randn(n, vocab, generator=gen), dim=1)
    q = torch.softmax(2 * torch.randn(n, vocab, generator=gen), dim=1)
    return p, q


def test_tv_full_is_half_l1() -> None:
    p, q = _laws(5, 7, 0)
    for row in range(5):
        expected = 0.5 * sum(abs(float(p[row, i]) - float(q[row, i])) for i in range(7))
        assert float(tv_full(p, q)[row]) == pytest.approx(expected, abs=1e-6)


def test_coarse_tv_is_exact_when_top_k_is_everything() -> None:
    p, q = _laws(4, 6, 1)
    head_ids = torch.arange(6)
    position = torch.arange(6)
    top = q.topk(6, dim=1)
    p_s, p_other = draft_law_on(torch.log(p), position[head_ids], top.indices)
    tv = coarse_tv(p_s, p_other, top.values, torch.zeros(4))
    for row in range(4):
        expected = 0.5 * sum(abs(float(p[row, i]) - float(q[row, i])) for i in range(6))
        assert float(tv[row]) == pytest.approx(expected, abs=1e-6)


def test_coarse_tv_brackets_tv_with_a_restricted_head() -> None:
    vocab, k = 30, 5
    p_full, q = _laws(8, vocab, 2)
    head_ids = torch.arange(0, vocab, 2)  # the draft covers even tokens only
    log_p_head = torch.log_softmax(torch.log(p_full[:, head_ids]), dim=1)  # (n, K)
    position = torch.full((vocab,), -1)
    position[head_ids] = torch.arange(len(head_ids))
    p = torch.zeros(8, vocab).index_copy_(1, head_ids, log_p_head.exp())
    assert torch.allclose(p.sum(1), torch.ones(8), atol=1e-6)
    top = q.topk(k, dim=1)
    tail = 1 - top.values.sum(1)
    p_s, p_other = draft_law_on(log_p_head, position, top.indices)
    low = coarse_tv(p_s, p_other, top.values, tail)
    exact = 0.5 * (p - q).abs().sum(1)
    assert torch.all(low <= exact + 1e-6)
    assert torch.all(exact <= low + torch.minimum(p_other, tail) + 1e-6)


def test_coarse_kl_is_zero_at_equality_and_positive_otherwise() -> None:
    p, q = _laws(3, 9, 3)
    position = torch.arange(9)
    top = q.topk(4, dim=1)
    tail = 1 - top.values.sum(1)
    same = draft_law_on(torch.log(q), position, top.indices)
    assert torch.allclose(coarse_kl(*same, top.values, tail), torch.zeros(3), atol=1e-5)
    other = draft_law_on(torch.log(p), position, top.indices)
    assert torch.all(coarse_kl(*other, top.values, tail) > 0)


def test_greedy_agreement() -> None:
    assert greedy_agreement(torch.tensor([1, 2, 3, 4]), torch.tensor([1, 0, 3, 0])) == 0.5
