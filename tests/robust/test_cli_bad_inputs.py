"""Every bad input on the command line: exit 2, one ``error:`` line naming it, no traceback.

Each case is ``(argv, named)``: ``{name}`` in argv is a path from the ``places`` fixture;
``named`` must appear in the error line (the option, the file or what was wrong). Sizes
beyond this machine are refused with an estimate before any work, so every case answers
at once (a 20 s guard catches a hang; it is not a speed test).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from robust_cli import assert_user_error, run

E = "{embedded}"
TOKENIZER = ["--tokenizer", f"{E}/tokenizer"]
NO_TOKENIZER = ["--tokenizer", "{no_tokenizer}"]
CHAIN_CASES = [
    # algorithm options
    (["theory", "{good}", "--algorithm", "beam"], "beam"),
    (["theory", "{good}", "-a", "batch", "-M", "0"], "--num-drafts"),
    (["theory", "{good}", "--gamma", "0"], "--gamma"),
    (["theory", "{good}", "--gamma", "abc"], "--gamma"),
    (["theory", "{good}", "--gamma", "-3"], "--gamma"),
    (["theory", "{good}", "-a", "opt", "--eps", "-1"], "eps"),
    (["theory", "{good}", "-a", "uno", "--eps", "nan"], "eps"),
    (["theory", "{good}", "-a", "sd", "--eps", "0.3"], "--eps"),
    (["theory", "{good}", "-a", "ar", "--gamma", "3"], "--gamma"),
    (["theory", "{good}", "-a", "sd", "-M", "3"], "--num-drafts"),
    (["theory", "{good}", "-a", "uno", "--verifier", "optimal"], "--verifier"),
    (["theory", "{good}", "-a", "batch", "--verifier", "best"], "verifier"),
    (["simulate", "{good}", "--runs", "0"], "--runs"),
    (["simulate", "{good}", "--runs", "-5"], "--runs"),
    (["simulate", "{good}", "-a", "batch", "-M", "-1"], "--num-drafts"),
    (["theory", "{good}", "-a", "opt", "--eps", "inf"], "--eps"),
    (["simulate", "{good}", "--seed", "-2"], "seed"),
    (["simulate", "{good}", "-a", "sd", "--eps", "-5"], "--eps"),
    (["simulate", "{good}", "-a", "ar", "--gamma", "2"], "--gamma"),
    (["simulate", "{good}", "-a", "block", "--verifier", "optimal"], "--verifier"),
    # chain files
    (["theory", "{missing}"], "missing.json"),
    (["theory", "{not_json}"], "not valid JSON"),
    (["theory", "{empty}"], "not valid JSON"),
    (["theory", "{no_start}"], "'start'"),
    (["theory", "{deep}"], "nested too deeply"),
    (["theory", "{bools}"], "true/false"),
    (["theory", "/dev/zero"], "/dev/zero"),
    (["theory", "{folder}"], "folder"),
    (["theory", "{sparse}"], "memory"),
    (["theory", "{rowsum}"], "sums to"),
    (["theory", "{shape}"], "must match"),
    (["theory", "{negative}"], ">= 0"),
    (["theory", "{top_list}"], "JSON object"),
    (["theory", "{start_range}"], "start"),
    (["theory", "{start_text}"], "'start'"),
    (["theory", "{draft_text}"], "'draft'"),
    (["theory", "{ragged}"], "'draft'"),
    (["theory", "{binary}"], "cannot read"),
    (["theory", "{fifo}"], "not a regular file"),
    (["simulate", "{bools}"], "true/false"),
    # sizes beyond any machine: refused with the estimate
    (["simulate", "{good}", "-a", "batch", "-M", "10000000"], "memory"),
    (["simulate", "{good}", "--runs", "20000000000"], "memory"),
    (["chain", "random", "--T", "100000", "--S", "100", "-o", "{out}"], "memory"),
    # chain random
    (["chain", "random", "--T", "0", "-o", "{out}"], "--T"),
    (["chain", "random", "--S", "0", "-o", "{out}"], "--S"),
    (["chain", "random", "--mix", "2", "-o", "{out}"], "mix"),
    (["chain", "random", "--concentration", "0", "-o", "{out}"], "concentration"),
    (["chain", "random", "--seed", "-1", "-o", "{out}"], "seed"),
    # output places
    (["chain", "random", "-o", "{folder}"], "is a folder"),
    (["chain", "random", "-o", "{missing_parent}"], "does not exist"),
    (["chain", "random", "-o", "/dev/full"], "/dev/full"),
    (["chain", "random", "-o", "{fifo}"], "not a regular file"),
    (["chain", "random", "-o", "/proc/specbound-test.json"], "/proc"),
    (["chain", "random", "-o", ""], "--out"),
    (["bench", "sim", "--quick", "--out", "{folder}"], "--out"),
    (["bench", "sim", "--quick", "--out", "/dev/full"], "/dev/full"),
    (["bench", "sim", "--quick", "--out", "{missing_parent}"], "does not exist"),
    (["reproduce", "--out", "{good}"], "not a folder"),
    (["reproduce", "--out", "/proc/specbound-results"], "/proc"),
    (["reproduce", "--only", "fig9", "--out", "{root}/results"], "fig9"),
    (["reproduce", "--seed", "-1", "--out", "{root}/results"], "--seed"),
    # step
    (["step", "[true,false]", "[0.5,0.5]"], "DRAFT_PROBS"),
    (["step", "[0.5,0.5]", "[0.5,0.6]"], "sums to"),
    (["step", "abc", "[1]"], "DRAFT_PROBS"),
    (["step", "[0.5,0.5]", "[1]"], "shape"),
    (["step", "[0.5,0.5]", "[0.5,0.5]", "--eps", "-1"], "eps"),
    (["step", "[0.5,0.5]", "[0.5,0.5]", "--resample", "x"], "--resample"),
    (["step", "[]", "[1]"], "DRAFT_PROBS"),
    (["step", "[[0.5,0.5]]", "[0.5,0.5]"], "DRAFT_PROBS"),
    (["step", "[0.5,0.5]", '["a","b"]'], "TARGET_PROBS"),
    (["step", "[-0.5,1.5]", "[0.5,0.5]"], ">= 0"),
    (["step", "[0.5,0.5]", "[NaN,1]"], "TARGET_PROBS"),
]
LM_OPTION_CASES = [  # refused before a model is loaded
    (["profile", "--num-drafts", "1-1000000"], "--num-drafts"),
    (["profile", "-M", "0"], "--num-drafts"),
    (["profile", "--gamma", "1000000"], "--gamma"),
    (["profile", "--eps", "-1"], "--eps"),
    (["profile", "--num-prompts", "0"], "--num-prompts"),
    (["profile", "--target", "x"], "--target"),
    (["generate", "hi", "--target", "x"], "--draft"),
    (["generate", "hi", "-a", "ar", "--gamma", "3"], "--gamma"),
    (["generate", "hi", "-a", "sd", "--eps", "0.2"], "--eps"),
    (["generate", "hi", "-a", "opt", "-M", "3"], "--num-drafts"),
    (["generate", "hi", "--threads", "-1"], "--threads"),
    (["generate", "   "], "prompt is empty"),
    (["generate", "hi", "--dtype", "float8"], "dtype"),
    (["generate", "hi", "--device", "cuda:7"], "cuda:7"),
    (["generate", "hi", "--device", "tpu"], "tpu"),
    (["profile", "--device", "cuda:7"], "cuda:7"),
    (["bench", "lm", "--device", "cuda:7", "--out", "{out}"], "cuda:7"),
    (["generate", "hi", "--target", "{missing}", "--draft", "{missing}"], "no such directory"),
    (["generate", "hi", "--target", f"{E}/target", "--draft", f"{E}/draft"], "tokenizer"),
    (["bench", "lm", "--out", "{folder}"], "--out"),
    (["bench", "lm", "-M", "1"], "--num-drafts"),
    (["bench", "lm", "--num-prompts", "0"], "--num-prompts"),
    (["bench", "lm", "--prompts", "{prompts_empty}", "--out", "{out}"], "no prompts"),
]
EARLY_CASES = [  # issue 26: refused late (after loading the models) or never; now at once
    (["profile", "-M", "1"], "--num-drafts"),
    (["profile", "-M", "1,2"], "--num-drafts"),
    (["profile", "--gamma", "2,,4"], "--gamma"),
    (["profile", "--gamma", "2,4,"], "--gamma"),
    (["profile", "--eps", "0.1,,0.4"], "--eps"),
    (["profile", "--prompts", "{prompts_two}", "--num-prompts", "5"], "--num-prompts"),
    (["bench", "lm", "-M", "2,,4", "--out", "{out}"], "--num-drafts"),
    (
        ["bench", "lm", "--prompts", "{prompts_two}", "--num-prompts", "3", "--out", "{out}"],
        "--num-prompts",
    ),
    (["generate", "caf\udce9"], "PROMPT"),
    (["generate", "hi", "--seed", "-1"], "--seed"),
    (["generate", "hi", "-a", "batch", "-M", "0"], "--num-drafts"),
    (["generate", "hi", "-a", "uno", "--eps", "-0.5"], "--eps"),
    (["generate", "hi", "-a", "batch", "-M", "2", "--verifier", "optimal"], "--verifier"),
]
LM_LOADED_CASES = [  # the embedded pair is loaded, then the input is refused
    (["generate", "hi", "-a", "batch", "-M", "1000000", "-n", "2"], "memory"),
    (["generate", "hi", "-n", "600"], "context window"),
    (["generate", "hi " * 600, "-n", "2"], "context window"),
    (
        ["generate", "hi", "--target", f"{E}/target", "--draft", "{draft_vocab}", *TOKENIZER],
        "config.json",
    ),
    (
        ["generate", "hi", "--target", f"{E}/target", "--draft", "{draft_corrupt}", *TOKENIZER],
        "could not be loaded",
    ),
    (
        ["generate", "hi", "--target", f"{E}/target", "--draft", f"{E}/draft", *NO_TOKENIZER],
        "tokenizer",
    ),
]
CASES = CHAIN_CASES + LM_OPTION_CASES + EARLY_CASES + LM_LOADED_CASES


def _fill(argv: list[str], places: dict[str, Path]) -> list[str]:
    return [arg.format(**{k: str(v) for k, v in places.items()}) for arg in argv]


def test_there_are_at_least_sixty_distinct_cases() -> None:
    assert len({tuple(argv) for argv, _ in CASES}) == len(CASES) >= 60


@pytest.mark.parametrize(("argv", "named"), CASES, ids=[" ".join(a)[:50] for a, _ in CASES])
def test_bad_input_is_one_clear_error(argv, named, places, capsys) -> None:
    code, out, err = run(_fill(argv, places), capsys)
    assert_user_error(code, out, err, named)


def test_dev_full_is_left_a_device(places, capsys) -> None:
    import stat

    before = Path("/dev/full").stat()
    code, out, err = run(["chain", "random", "-o", "/dev/full"], capsys)
    assert_user_error(code, out, err, "/dev/full")
    after = Path("/dev/full").stat()
    assert stat.S_ISCHR(after.st_mode) and after.st_rdev == before.st_rdev


@pytest.mark.parametrize(
    ("argv", "named"), EARLY_CASES, ids=[" ".join(a)[:50] for a, _ in EARLY_CASES]
)
def test_option_refusals_come_before_any_model_is_loaded(
    argv, named, places, capsys, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    import specbound.lm

    def no_loading(*args: object, **kwargs: object) -> None:
        raise AssertionError("a model was loaded before the input was refused")

    monkeypatch.setattr(specbound.lm, "load_pair", no_loading)
    code, out, err = run(_fill(argv, places), capsys)
    assert_user_error(code, out, err, named)
