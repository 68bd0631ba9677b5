"""Property-based: random, mostly malformed inputs to the public library and the CLI give
a result or a SpecboundError — never another exception, never a hang.

Derandomized (the same examples every run) and modest in size, so the file runs in a few
seconds; the :func:`robust_cli.no_hang` guard turns a hang into a failure.
"""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from robust_cli import no_hang, run

import specbound as sb
from specbound.chain import MarkovChain, random_pair, save_chains
from specbound.errors import SpecboundError

SETTINGS = settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

NUMBERS = st.one_of(
    st.integers(-3, 12),
    st.sampled_from([10**6, 10**12, -(10**9)]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.none(),
    st.text(max_size=3),
)
SHAPES = hnp.array_shapes(min_dims=0, max_dims=3, max_side=4)
PROBS = st.one_of(
    hnp.arrays(
        st.sampled_from([np.float64, np.float32]),
        SHAPES,
        elements=st.floats(-1, 2, width=32) | st.just(0.0) | st.just(1.0),
    ),
    hnp.arrays(np.int64, SHAPES, elements=st.integers(-1, 2)),
    hnp.arrays(np.bool_, SHAPES),
    st.lists(st.one_of(st.floats(allow_nan=True), st.booleans(), st.text(max_size=2)), max_size=4),
    NUMBERS,
)


def _expect_result_or_user_error(call, *args):
    with no_hang(20):
        try:
            return call(*args)
        except SpecboundError:
            return None


@st.composite
def algorithms(draw):
    kind = draw(st.sampled_from(["ar", "sd", "block", "batch", "batch-opt", "opt", "uno", "junk"]))
    gamma, extra = draw(NUMBERS), draw(NUMBERS)
    makers = {
        "ar": lambda: sb.Autoregressive(),
        "sd": lambda: sb.Speculative(gamma),
        "block": lambda: sb.BlockSpeculative(gamma),
        "batch": lambda: sb.BatchSpeculative(extra, gamma),
        "batch-opt": lambda: sb.BatchSpeculative(extra, gamma, verifier="optimal"),
        "opt": lambda: sb.OverAcceptance(extra, "opt", gamma),
        "uno": lambda: sb.OverAcceptance(extra, "uno", gamma),
        "junk": lambda: draw(st.sampled_from(["sd", None, 3, sb.Speculative, object()])),
    }
    try:
        return makers[kind]()
    except SpecboundError:
        return draw(st.sampled_from([sb.Speculative(), sb.BatchSpeculative(2), "sd"]))


@SETTINGS
@given(draft=PROBS, target=PROBS, start=NUMBERS)
def test_chain_constructors_take_anything(draft, target, start) -> None:
    for transitions in (draft, target):
        _expect_result_or_user_error(MarkovChain, transitions, start)


@SETTINGS
@given(
    T=st.integers(1, 6),
    S=st.integers(1, 4),
    mix=st.floats(0, 1),
    seed=st.integers(0, 10),
    algorithm=algorithms(),
    runs=NUMBERS,
)
def test_theory_and_simulation_give_a_result_or_a_user_error(T, S, mix, seed, algorithm, runs):
    draft, target = random_pair(T, S, mix, seed)
    for call in (
        sb.theory.expected_rejections,
        sb.theory.expected_draft_calls,
        sb.theory.summarise,
        sb.theory.check_theorem2,
        sb.theory.output_chain,
        sb.theory.expected_bias,
    ):
        _expect_result_or_user_error(call, draft, target, algorithm)
    n_runs = runs if not isinstance(runs, int) or isinstance(runs, bool) else min(runs, 200)
    if getattr(algorithm, "num_drafts", 1) <= 1000:  # beyond: valid, merely long runs
        _expect_result_or_user_error(sb.simulate, draft, target, algorithm, n_runs)


@SETTINGS
@given(draft=PROBS, target=PROBS, extra=NUMBERS)
def test_core_rules_give_a_result_or_a_user_error(draft, target, extra) -> None:
    core = sb.core
    for call, args in (
        (core.tv, (draft, target)),
        (core.residual, (draft, target)),
        (core.pareto_front, (draft, target)),
        (core.all_rejected_probability, (draft, target, extra)),
        (core.recursive_residuals, (draft, target, extra)),
        (core.min_bias, (draft, target, draft)),
        (core.optimal_resampling, (draft, target, target)),
        (core.rejection_probability, (draft, target)),
    ):
        if call in (core.all_rejected_probability, core.recursive_residuals) and (
            isinstance(extra, int) and extra > 10**4
        ):
            continue  # a valid, merely large stack: not a malformed input
        _expect_result_or_user_error(call, *args)


FRAGMENTS = [
    "-a", "sd", "batch", "ar", "opt", "uno", "block", "beam", "-M", "--num-drafts",
    "--gamma", "none", "--eps", "--runs", "--seed", "--verifier", "optimal", "recursive",
    "--json", "0", "1", "2", "3", "-1", "-5", "abc", "nan", "inf", "1e3", "1000000", "",
    "[0.5,0.5]", "[true,false]", "[1]", "--resample",
]  # fmt: skip
CHAIN_FRAGMENTS = ["--T", "--S", "--mix", "--seed", "--concentration", "0", "1", "2", "3",
                   "-1", "nan", "abc", "0.5", "1e-300", "--json", ""]  # fmt: skip


@SETTINGS
@given(
    command=st.sampled_from(["theory", "simulate", "step", "chain"]),
    fragments=st.lists(st.sampled_from(FRAGMENTS), max_size=6),
    chain_fragments=st.lists(st.sampled_from(CHAIN_FRAGMENTS), max_size=6),
)
def test_the_cli_gives_output_or_one_clear_error(
    command, fragments, chain_fragments, tmp_path_factory, capsys
) -> None:
    root = tmp_path_factory.mktemp("prop")
    path = save_chains(root / "c.json", *random_pair(5, 3, 0.5, 0))
    if command == "chain":
        argv = ["chain", "random", "-o", str(root / "o.json"), *chain_fragments]
    elif command == "step":
        argv = ["step", *fragments]
    else:
        runs = [] if command == "theory" or "--runs" in fragments else ["--runs", "50"]
        argv = [command, str(path), *runs, *fragments]
    if "--runs" in argv:  # a valid but long simulation is not what this test is about
        at = argv.index("--runs") + 1
        if at < len(argv) and argv[at] == "1000000":
            argv[at] = "20"
    code, out, err = run(argv, capsys)
    assert "Traceback" not in out + err
    assert code in (0, 2), (argv, code, err[-300:])
    if code == 2 and any(line.startswith("error:") for line in err.splitlines()):
        assert sum(line.startswith("error:") for line in err.splitlines()) == 1
