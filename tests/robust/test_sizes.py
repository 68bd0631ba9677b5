"""Sizes that change nothing are answered exactly and at once; one run's interval is
undefined, never infinite; JSON output is strict."""

from __future__ import annotations

import json

import numpy as np
import pytest
from robust_cli import no_hang, run

import specbound as sb
from specbound.chain import random_pair, save_chains
from specbound.chain.recursion import analyse
from specbound.core import kernels

DRAFT, TARGET = random_pair(6, 3, 0.6, 1)


@pytest.mark.parametrize(
    "make",
    [
        sb.Speculative,
        lambda g: sb.BatchSpeculative(3, g),
        lambda g: sb.BatchSpeculative(2, g, verifier="optimal"),
        lambda g: sb.OverAcceptance(0.1, "uno", g),
        sb.BlockSpeculative,
    ],
)
def test_gamma_beyond_the_horizon_is_the_horizon(make) -> None:
    T = DRAFT.horizon
    with no_hang():
        results = [analyse(DRAFT, TARGET, make(g)) for g in (None, T, 10**6)]
        sims = [sb.simulate(DRAFT, TARGET, make(g), n_runs=500, seed=3) for g in (None, 10**6)]
    for other in results[1:]:
        assert other.rejections == pytest.approx(results[0].rejections, abs=1e-12)
        assert other.target_calls == pytest.approx(results[0].target_calls, abs=1e-12)
        assert other.draft_calls == pytest.approx(results[0].draft_calls, abs=1e-12)
    assert np.array_equal(sims[0].sequences, sims[1].sequences)
    assert results[2].algorithm["gamma"] == 10**6  # reported as asked
    shorter = analyse(DRAFT, TARGET, make(T - 1))  # the last position is a bonus: different
    assert shorter.draft_calls != pytest.approx(results[0].draft_calls)


def _reject_by_the_definition(p: np.ndarray, q: np.ndarray, M: int) -> np.ndarray:
    """prod_{m<=M} TV(p, r_m), r_1 = q, r_{m+1} = residual(p, r_m): M steps, no shortcut."""
    r, reject = q, np.ones(p.shape[0])
    for _ in range(M):
        reject = reject * kernels.tv_rows(p, r)
        r = kernels.residual_rows(p, r)
    return reject


@pytest.mark.parametrize("M", [1, 2, 7, 50, 3000])
def test_a_huge_batch_is_exact_and_fast(M) -> None:
    p, q = DRAFT.transitions[2], TARGET.transitions[2]
    rule = sb.core.RecursiveRejectionRule(M)
    assert np.allclose(rule.all_rejected_probability(p, q), _reject_by_the_definition(p, q, M))
    split = rule.split(p, q)
    assert np.allclose(split.accepted + split.rejected, q)
    with no_hang(10):
        huge = analyse(DRAFT, TARGET, sb.BatchSpeculative(10**9))
    limit = sb.theory.batch_limit(DRAFT, TARGET)
    assert limit.rejections <= huge.rejections + 1e-12


def test_one_run_has_an_undefined_interval(tmp_path, capsys) -> None:
    path = save_chains(tmp_path / "c.json", DRAFT, TARGET)
    code, out, _ = run(["simulate", path, "--runs", 1, "--json"], capsys)
    data = json.loads(out, parse_constant=lambda c: pytest.fail(f"{c} is not JSON"))
    assert code == 0
    for metric in data["metrics"].values():
        assert metric["ci95"] is None and metric["se"] is None and metric["theory_in_ci"] is None
        assert "single sample" in metric["note"]
    code, out, _ = run(["simulate", path, "--runs", 1], capsys)
    assert code == 0 and "undefined" in out and "inf" not in out


@pytest.mark.parametrize(
    "argv",
    [
        ["theory", "{c}", "--json"],
        ["theory", "{c}", "-a", "batch", "-M", "1000000", "--json"],
        ["theory", "{c}", "-a", "uno", "--eps", "0.3", "--json"],
        ["simulate", "{c}", "--runs", "2", "--json"],
        ["step", "[1,0]", "[0,1]", "--json"],
        ["step", "[0.5,0.5]", "[0.5,0.5]", "--eps", "1e308", "--json"],
    ],
)
def test_json_output_is_strict(argv, tmp_path, capsys) -> None:
    path = save_chains(tmp_path / "c.json", DRAFT, TARGET)
    code, out, _ = run([a.replace("{c}", str(path)) for a in argv], capsys)
    assert code == 0
    json.loads(out, parse_constant=lambda c: pytest.fail(f"{c} is not JSON"))


def test_gamma_none_is_accepted_everywhere(tmp_path, capsys) -> None:
    path = save_chains(tmp_path / "c.json", DRAFT, TARGET)
    for argv in (["theory", path], ["simulate", path, "--runs", 10]):
        for spelling in ("none", "None", "horizon"):
            code, _, err = run([*argv, "--gamma", spelling], capsys)
            assert code == 0, err
