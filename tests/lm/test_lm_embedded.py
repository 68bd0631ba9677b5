"""The embedded pair: loads offline with no arguments, and decodes through the CLI.

Skipped until the pair has been trained into ``specbound/lm/embedded``.
"""

from __future__ import annotations

import pytest

import specbound as sb
from specbound.cli import app
from specbound.cli.common import run_app
from specbound.lm import SamplingConfig, embedded_pair_path

GREEDY = SamplingConfig(temperature=0)

pytestmark = pytest.mark.skipif(
    not all((embedded_pair_path() / m / "config.json").is_file() for m in ("target", "draft")),
    reason="the embedded pair is not built yet",
)
PROMPT = "The with statement"


@pytest.fixture(scope="module")
def pair() -> sb.lm.ModelPair:
    return sb.lm.load_pair()


def test_loads_with_a_shared_vocabulary(pair: sb.lm.ModelPair) -> None:
    assert pair.vocab_size == len(pair.tokenizer)
    assert pair.prompt_prefix == (pair.eos_token_id,)
    assert str(pair.dtype) == "torch.float32"


@pytest.mark.parametrize(
    "algorithm", [sb.Speculative(gamma=4), sb.BatchSpeculative(num_drafts=3, gamma=3)]
)
def test_greedy_speculative_equals_greedy_autoregressive(
    pair: sb.lm.ModelPair, algorithm: sb.Algorithm
) -> None:
    reference = sb.lm.generate(
        pair, PROMPT, sb.Autoregressive(), max_new_tokens=24, sampling=GREEDY
    )
    out = sb.lm.generate(pair, PROMPT, algorithm, max_new_tokens=24, sampling=GREEDY)
    assert out.token_ids == reference.token_ids


def test_sampled_sd_drafts_are_often_accepted(pair: sb.lm.ModelPair) -> None:
    out = sb.lm.generate(pair, PROMPT, sb.Speculative(gamma=4), max_new_tokens=48, seed=0)
    assert out.stats.acceptance_rate is not None and out.stats.acceptance_rate > 0.2
    assert out.stats.target_calls < out.stats.new_tokens


@pytest.mark.parametrize(
    "options",
    [
        [],
        ["--algorithm", "batch", "--num-drafts", "4"],
        ["--algorithm", "opt", "--eps", "0.2"],
        ["--temperature", "0"],
    ],
)
def test_cli_generate(capsys: pytest.CaptureFixture[str], options: list[str]) -> None:
    code = run_app(app, ["generate", PROMPT, "-n", "16", *options])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert out.startswith(PROMPT)
    assert "target calls" in out.strip().split("\n")[-1]
