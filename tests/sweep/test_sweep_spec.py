"""Sweep specs: the examples parse and expand; every mistake names its key and line."""

from __future__ import annotations

import io
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pytest
from sweep_cases import EXAMPLES, SMOKE

from specbound.cli import app
from specbound.cli.common import run_app
from specbound.sweep import SweepSpecError, expand, load_spec, parse_spec
from specbound.sweep.spec import ChainGrid, LMGrid

CHAIN_SPEC = """\
[sweep]
name = "t"
seed = 3

[chains]
compute = "theory"
algorithms = ["sd", "batch"]
gamma = [1, "none"]
M = [2, 3]

[[chains.random]]
T = 4
S = 2
seeds = [0, 1]
"""


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.toml")), ids=lambda p: p.name)
def test_every_example_parses_and_expands(path: Path) -> None:
    spec = load_spec(path)
    cells = expand(spec)
    assert cells and len({c.cell_id for c in cells}) == len(cells)
    assert [c.index for c in cells] == list(range(len(cells)))


def test_examples_have_the_promised_grids() -> None:
    table1 = load_spec(EXAMPLES / "table1.toml")
    assert isinstance(table1.grid, LMGrid) and table1.grid.compute == "table1"
    assert table1.grid.eps == (0.1, 0.2, 0.4, 0.8)
    verifiers = load_spec(EXAMPLES / "verifiers.toml")
    assert isinstance(verifiers.grid, ChainGrid)
    assert set(verifiers.grid.verifier) == {"recursive", "optimal"}
    assert set(verifiers.grid.algorithms) == {"sd", "block", "batch"}
    assert len(expand(load_spec(SMOKE))) <= 40


def test_cells_are_stable_and_only_cross_what_an_algorithm_reads() -> None:
    spec = parse_spec(CHAIN_SPEC)
    cells = expand(spec)
    # 2 chains x (sd: 2 gammas + batch: 2 gammas x 2 M)
    assert len(cells) == 2 * (2 + 4)
    again = expand(parse_spec(CHAIN_SPEC))
    assert [(c.cell_id, c.seed) for c in cells] == [(c.cell_id, c.seed) for c in again]
    sd = [c.config for c in cells if c.config["algorithm"] == "sd"]
    assert all("M" not in config for config in sd)
    other_seed = expand(parse_spec(CHAIN_SPEC.replace("seed = 3", "seed = 4")))
    assert not {c.cell_id for c in cells} & {c.cell_id for c in other_seed}
    # adding a value keeps the ids of the cells already there (what --resume relies on)
    wider = expand(parse_spec(CHAIN_SPEC.replace('gamma = [1, "none"]', 'gamma = [1, 2, "none"]')))
    assert {c.cell_id for c in cells} < {c.cell_id for c in wider}


@pytest.mark.parametrize(
    ("edit", "line", "key", "words"),
    [
        (("gamma = [1", "gama = [1"), 8, "chains.gama", "unknown key"),
        (("T = 4", "T = 0"), 12, "chains.random[0].T", "integer >= 1"),
        (('compute = "theory"', 'compute = "exact"'), 6, "chains.compute", "theory, simulate"),
        (
            ('algorithms = ["sd", "batch"]', 'algorithms = ["sd", "spec"]'),
            7,
            "chains.algorithms",
            "must be one of",
        ),
        (("M = [2, 3]", "M = []"), 9, "chains.M", "grid would have no cells"),
        (('gamma = [1, "none"]', 'gamma = [1, "all"]'), 8, "chains.gamma", "'none'"),
        (
            ("seeds = [0, 1]", "seeds = [0, 1]\ncolour = 1"),
            15,
            "chains.random[0].colour",
            "unknown key",
        ),
        (('name = "t"', 'name = "t"\nkind = "chain"'), 3, "sweep.kind", "chains, lm"),
    ],
)
def test_spec_errors_name_the_key_and_the_line(
    edit: tuple[str, str], line: int, key: str, words: str
) -> None:
    text = CHAIN_SPEC.replace(*edit)
    assert text != CHAIN_SPEC
    with pytest.raises(SweepSpecError) as info:
        parse_spec(text, "spec.toml")
    message = str(info.value)
    assert message.startswith(f"spec.toml, line {line}: {key}: "), message
    assert words in message


def test_other_spec_errors(tmp_path: Path) -> None:
    with pytest.raises(SweepSpecError, match="not valid TOML"):
        parse_spec("[sweep\n", "spec.toml")
    with pytest.raises(SweepSpecError, match=r"line 5: chains\.random: no chains"):
        parse_spec(CHAIN_SPEC[: CHAIN_SPEC.index("[[chains.random]]")], "spec.toml")
    missing_file = CHAIN_SPEC.replace("M = [2, 3]", 'M = [2, 3]\nfiles = ["nope.json"]')
    with pytest.raises(SweepSpecError, match=r"line 10: chains\.files: chain file .* does not"):
        parse_spec(missing_file, "spec.toml", tmp_path)
    with pytest.raises(SweepSpecError, match=r"line 2: lm: a 'chains' sweep takes no \[lm\]"):
        parse_spec("[chains]\n[lm]\n", "spec.toml")
    with pytest.raises(SweepSpecError, match="cannot read the sweep spec"):
        load_spec(tmp_path / "missing.toml")


def _cli(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = run_app(app, argv)
    return code, out.getvalue(), err.getvalue()


def test_cli_spec_error_is_one_line_exit_2(write_spec, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    spec = write_spec(CHAIN_SPEC.replace("gamma = [1", "gama = [1"))
    for argv in (
        ["sweep", "run", str(spec), "--out", str(tmp_path / "o")],
        ["sweep", str(spec), "--out", str(tmp_path / "o")],  # `sweep SPEC` means `sweep run SPEC`
    ):
        code, out, err = _cli(argv)
        assert code == 2
        lines = err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: "), err
        assert "line 8: chains.gama: unknown key" in lines[0]
        assert "Traceback" not in err + out
        assert not (tmp_path / "o" / "results.parquet").exists()


TREE_SPEC = """
[sweep]
name = "trees"
kind = "chains"
seed = 1
[chains]
compute = "theory"
algorithms = ["sd", "tree"]
gamma = [2]
tree = [[2, 1], "3,1", [2, 1]]
[[chains.random]]
T = [6]
S = [3]
"""


def test_tree_shapes_are_a_grid_dimension_of_tree_cells_only() -> None:
    import specbound as sb
    from specbound.sweep.cells import algorithm_spec

    spec = parse_spec(TREE_SPEC)
    assert isinstance(spec.grid, ChainGrid)
    assert spec.grid.tree == ((2, 1), (3, 1))  # distinct, in order; "3,1" as the CLI writes it
    cells = expand(spec)
    specs = [algorithm_spec(cell.config) for cell in cells]
    assert specs == [
        sb.Speculative(gamma=2),
        sb.TreeSpeculative((2, 1)),
        sb.TreeSpeculative((3, 1)),
    ]


def test_distinct_children_are_crossed_with_the_recursive_verifier_only() -> None:
    import specbound as sb
    from specbound.sweep.cells import algorithm_spec

    text = TREE_SPEC.replace(
        'tree = [[2, 1], "3,1", [2, 1]]',
        'tree = [[2, 1]]\nverifier = ["recursive", "traversal"]\nchildren = ["iid", "distinct"]',
    ).replace('algorithms = ["sd", "tree"]', 'algorithms = ["tree"]')
    specs = [algorithm_spec(cell.config) for cell in expand(parse_spec(text))]
    assert specs == [
        sb.TreeSpeculative((2, 1)),
        sb.TreeSpeculative((2, 1), replacement=False),
        sb.TreeSpeculative((2, 1), verifier="traversal"),
    ]
    with pytest.raises(SweepSpecError, match="children"):
        parse_spec(text.replace('"distinct"]', '"unique"]'))


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ("[]", "empty"),
        ("[[2, 0]]", "integers >= 1"),
        ('["x"]', "integers >= 1"),
        ("[true]", "list"),
    ],
)
def test_bad_tree_shapes_are_refused_by_key(value: str, fragment: str) -> None:
    with pytest.raises(SweepSpecError, match=f"tree.*{fragment}"):
        parse_spec(TREE_SPEC.replace('tree = [[2, 1], "3,1", [2, 1]]', f"tree = {value}"))


def test_trees_are_crossed_in_language_model_sweeps_for_tree_cells_only() -> None:
    import specbound as sb
    from specbound.sweep.cells import algorithm_spec

    text = (
        '[sweep]\nname = "x"\nkind = "lm"\nseed = 0\n[lm]\nprompts = ["a"]\n'
        'algorithms = ["sd", "tree"]\ngamma = [2]\ntree = [[2, 1], [4]]\n'
        'drafter = ["model", "ngram"]\n'
    )
    cells = expand(parse_spec(text))
    specs = [(algorithm_spec(c.config), c.config.get("drafter")) for c in cells]
    assert specs == [
        (sb.Speculative(gamma=2), None),
        (sb.Speculative(gamma=2), "ngram"),  # model-free drafters never draft trees
        (sb.TreeSpeculative((2, 1)), None),
        (sb.TreeSpeculative((4,)), None),
    ]
    profiled = expand(parse_spec(text + 'compute = "profile"\n'))
    assert [c.config["trees"] for c in profiled] == [[[2, 1], [4]]]
    with pytest.raises(SweepSpecError, match=r"algorithms.*table1"):
        parse_spec(text + 'compute = "table1"\n')
