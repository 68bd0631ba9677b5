"""The first round's acceptance on the tiny LM pair equals 1 - TV(warped draft, warped target).

``generate(..., max_new_tokens=1)`` with SD (gamma None) is one round of one drafted
token: it is refused with probability ``TV(p, q)``, where p and q are the draft's and the
target's laws after the prompt, both warped by the *same* SamplingConfig (temperature
0.7, top-k 6). Both are computed here from the logits (softmax at the temperature after a
top-k mask written in this file). The output law stays exact even if the draft were
warped differently (SD is exact for any draft law it reports), so only the acceptance
rate sees that bug: the mutant's rate is ``1 - TV(p', q)`` with p' the draft warped at
temperature 0.84 (20% hotter). ``N`` (~1k) runs are sized so that a two-sided z-test at alpha =
1e-3 sees the mutant with power >= 0.99 (normal approximation), and the same test, run
with a drafter that warps at temperature 0.84, fails.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy import stats

import specbound as sb
from specbound.lm import SamplingConfig
from specbound.lm.drafting import Drafter
from specbound.lm.warping import warp_probs
from stats_helpers import ALPHA

PROMPT = [1, 7]
MUTANT_TEMPERATURE = 0.84  # the draft warped 20% hotter than the target
SAMPLING = SamplingConfig(temperature=0.7, top_k=6)
POWER = 0.99


def first_law(
    model: torch.nn.Module, vocab: int, temperature: float, top_k: int | None
) -> np.ndarray:
    with torch.inference_mode():
        logits = model(input_ids=torch.tensor([PROMPT])).logits[0, -1, :vocab].double()
    scores = logits / temperature
    if top_k is not None:
        kth = torch.topk(scores, top_k).values[-1]
        scores = scores.masked_fill(scores < kth, -torch.inf)
    return torch.softmax(scores, dim=-1).numpy()


def tv(p: np.ndarray, q: np.ndarray) -> float:
    return 0.5 * float(np.abs(p - q).sum())


class HotDrafter(Drafter):
    """The bug: the draft is warped at MUTANT_TEMPERATURE, the target with SAMPLING."""

    def draft_law(self, logits: torch.Tensor) -> torch.Tensor:
        config = SamplingConfig(temperature=MUTANT_TEMPERATURE, top_k=self.sampling.top_k)
        return warp_probs(logits, config)


def refusal_rate(pair, n: int, drafter: type[Drafter] = Drafter) -> float:  # type: ignore[no-untyped-def]
    refused = 0
    for seed in range(n):
        out = sb.lm.generate(
            pair,
            PROMPT,
            sb.Speculative(gamma=None),
            max_new_tokens=1,
            seed=seed,
            sampling=SAMPLING,
            stop_at_eos=False,
            drafter=drafter,
        )
        assert out.stats.target_calls == 1 and len(out.token_ids) == 1
        refused += out.stats.rejections
    return refused / n


@pytest.mark.slow
def test_first_round_refusal_rate_is_tv_of_the_warped_laws(tiny_pair) -> None:  # type: ignore[no-untyped-def]
    V = tiny_pair.vocab_size
    p = first_law(tiny_pair.draft, V, 0.7, 6)
    q = first_law(tiny_pair.target, V, 0.7, 6)
    hot = first_law(tiny_pair.draft, V, MUTANT_TEMPERATURE, 6)
    r0, r1 = tv(p, q), tv(hot, q)
    assert abs(r1 - r0) > 0.02  # the mutant is a real change of the rate
    z_a, z_b = stats.norm.isf(ALPHA / 2), stats.norm.isf(1 - POWER)
    s0, s1 = np.sqrt(r0 * (1 - r0)), np.sqrt(r1 * (1 - r1))
    n = int(np.ceil(((z_a * s0 + z_b * s1) / abs(r1 - r0)) ** 2))
    print(f"first-round refusal: TV = {r0:.4f}, mutant {r1:.4f}, N = {n}")
    assert n <= 6_000, n
    half_width = z_a * s0 / np.sqrt(n)  # the acceptance region around TV
    measured = refusal_rate(tiny_pair, n)
    assert abs(measured - r0) < half_width, (measured, r0, half_width)
    wrong = refusal_rate(tiny_pair, n, drafter=HotDrafter)
    assert abs(wrong - r0) >= half_width, (wrong, r0, r1, half_width)
