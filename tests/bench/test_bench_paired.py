"""``paired_ratios``: the median over back-to-back runs of one prompt, by its formula."""

from __future__ import annotations

import numpy as np
import pytest

from specbound.bench.lm_summary import paired_ratios


def _summary(seconds: list[list[float]], decode: list[list[float]] | None = None) -> dict:
    """A contender's summary with 100 tokens per run and the given seconds per run."""
    decode = decode or seconds
    return {
        "runs": [
            [
                {"tokens": 100, "seconds": s, "decode_seconds": d}
                for s, d in zip(row, drow, strict=True)
            ]
            for row, drow in zip(seconds, decode, strict=True)
        ],
        "decode_tokens_per_second": {},
    }


def test_pairs_each_prompt_of_each_repeat_and_takes_the_median() -> None:
    # two repeats x three prompts; the machine slows down 3x in the second repeat
    ar = [[0.20, 0.22, 0.21], [0.60, 0.66, 0.63]]
    sd = [[0.10, 0.20, 0.15], [0.30, 0.60, 0.45]]
    summaries = {"specbound_ar": _summary(ar), "specbound_sd": _summary(sd)}
    got = paired_ratios(summaries)["sd_vs_autoregressive"]
    ratios = [  # tokens/s of SD over tokens/s of AR = AR seconds over SD seconds
        a / s
        for row_a, row_s in zip(ar, sd, strict=True)
        for a, s in zip(row_a, row_s, strict=True)
    ]
    assert got["pairs"] == 6
    assert got["median"] == pytest.approx(float(np.median(ratios)), rel=1e-12)
    assert got["quartiles"] == pytest.approx(list(np.quantile(ratios, [0.25, 0.75])), rel=1e-12)
    # the drift cancels in each pair: the same estimate as without it
    calm = {"specbound_ar": _summary([ar[0], ar[0]]), "specbound_sd": _summary([sd[0], sd[0]])}
    assert paired_ratios(calm)["sd_vs_autoregressive"]["median"] == pytest.approx(got["median"])
    # negative control: the same formula on runs paired across repeats (AR of the
    # slow repeat against SD of the fast one) is off by the drift, 3x: a mis-pairing
    # implementation would fail the equality above
    crossed = [a / s for a, s in zip(ar[1], sd[0], strict=True)]
    assert float(np.median(crossed)) == pytest.approx(3 * got["median"], rel=0.2)


def test_missing_contenders_give_none() -> None:
    summaries = {"specbound_sd": _summary([[0.1]])}
    assert paired_ratios(summaries)["sd_vs_autoregressive"] is None
    assert paired_ratios(summaries)["sd_vs_hf_assisted"] is None
