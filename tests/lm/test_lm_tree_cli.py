"""``specbound generate -a tree`` on language models: text, counts, JSON and refusals."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from specbound.cli import app
from specbound.cli.common import run_app


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = run_app(app, ["generate", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture
def pair_args(tiny_dirs: tuple[Path, Path]) -> list[str]:
    return ["--target", str(tiny_dirs[0]), "--draft", str(tiny_dirs[1]), "--threads", "1"]


@pytest.mark.parametrize("verifier", ["recursive", "optimal"])
def test_tree_json_counts(
    capsys: pytest.CaptureFixture[str], pair_args: list[str], verifier: str
) -> None:
    """V = 8, so the optimal verifier's sampler may enumerate draft sets too. One target
    call per round, ``accepted + 1`` tokens per round but a round cut at the horizon."""
    args = ("-a", "tree", "--tree", "3,2,1", "--verifier", verifier, "-n", "20", "--json")
    code, out, err = cli(capsys, "a b", *pair_args, *args)
    assert code == 0, err
    data = json.loads(out)
    assert data["algorithm"] == {
        "name": "tree",
        "branching": [3, 2, 1],
        "verifier": verifier,
        "replacement": True,
    }
    stats = data["stats"]
    accepted = stats["accepted_lengths"]
    assert stats["target_calls"] == len(accepted)
    assert stats["new_tokens"] <= sum(a + 1 for a in accepted)
    assert stats["rejections"] <= stats["target_calls"]


def test_traversal_tree_on_the_embedded_pair(capsys: pytest.CaptureFixture[str]) -> None:
    """``--verifier traversal`` decodes the embedded pair (the default): one target call
    per round; a round is one rejection exactly when its kept path is shorter than its
    tree (depth min(2, tokens left)), but the last round, which may end at EOS unrefused."""
    args = ("-a", "tree", "--tree", "2,2", "--verifier", "traversal", "-n", "24", "--json")
    code, out, err = cli(capsys, "The with statement", "--threads", "1", "--seed", "3", *args)
    assert code == 0, err
    data = json.loads(out)
    assert data["algorithm"] == {
        "name": "tree",
        "branching": [2, 2],
        "verifier": "traversal",
        "replacement": True,
    }
    stats = data["stats"]
    accepted = stats["accepted_lengths"]
    assert stats["target_calls"] == len(accepted) < stats["new_tokens"]
    done, refused = 0, []
    for a in accepted:
        depth = min(2, 24 - done)
        refused.append(a < depth)
        done += a + (1 if a < depth or depth < 24 - done else 0)
    assert sum(refused[:-1]) <= stats["rejections"] <= sum(refused)
    assert stats["new_tokens"] <= done


def test_greedy_tree_prints_the_greedy_ar_text(
    capsys: pytest.CaptureFixture[str], pair_args: list[str]
) -> None:
    texts = []
    for args in (["-a", "ar"], ["-a", "tree", "--tree", "4,2,1"]):
        code, out, err = cli(capsys, "b c", *pair_args, *args, "--temperature", "0", "-n", "32")
        assert code == 0, err
        texts.append(out.split("\n")[0])
    assert texts[0] == texts[1]


def test_distinct_children_from_the_command_line(
    capsys: pytest.CaptureFixture[str], pair_args: list[str]
) -> None:
    """``--children distinct`` decodes a tree of children drawn without replacement."""
    args = ("-a", "tree", "--tree", "3,2", "--children", "distinct", "-n", "12", "--json")
    code, out, err = cli(capsys, "a b", *pair_args, *args)
    assert code == 0, err
    data = json.loads(out)
    assert data["algorithm"]["replacement"] is False
    assert data["stats"]["target_calls"] == len(data["stats"]["accepted_lengths"])


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (
            ["-a", "tree", "--tree", "2,2", "--children", "distinct", "--verifier", "traversal"],
            "replacement=False",
        ),
        (["-a", "tree", "--children", "some"], "children must be one of iid, distinct"),
        (["-a", "sd", "--children", "distinct"], "--children does not apply"),
        (["-a", "tree", "--tree", "2,1", "--drafter", "ngram"], "token tree"),
        (["-a", "tree", "--tree", "1,1", "--drafter", "ngram"], "token trees are drafted"),
        (["-a", "tree", "--tree", "4,2,1", "--verifier", "optimal"], "--tree 4,2,1"),
        (["-a", "tree", "--tree", "4,0"], "--tree"),
    ],
)
def test_tree_user_errors_exit_2(
    capsys: pytest.CaptureFixture[str], args: list[str], needle: str
) -> None:
    """On the embedded pair (V = 4096: the optimal verifier is refused before loading)."""
    code, out, err = cli(capsys, "a", *args)
    assert code == 2
    assert out == ""
    assert err.startswith("error: ") and err.count("\n") == 1
    assert needle in err
