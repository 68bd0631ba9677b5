"""The pieces every experiment shares: progress steps, report templates, the model-pair
spec, and the package's layering (who may import matplotlib, runner vs report)."""

from __future__ import annotations

import ast
import dataclasses
import re
from pathlib import Path

import pytest

from specbound.experiments import lm_theory, table1
from specbound.experiments.base import Steps, config_dict, config_hash
from specbound.experiments.common import PairSpec
from specbound.experiments.prose import (
    TemplateError,
    fill,
    placeholders,
    render,
    template_names,
    template_text,
    unwrap,
)

PACKAGE = Path(lm_theory.__file__).parent


# --------------------------------------------------------------------------- Steps


def test_steps_report_the_fraction_done_after_each_part() -> None:
    seen: list[float] = []
    steps = Steps(4, seen.append)
    for _ in range(3):
        steps.advance()
    steps.advance()
    assert seen == [0.25, 0.5, 0.75, 1.0]
    assert steps.done == steps.total == 4


def test_steps_advance_by_several_parts() -> None:
    seen: list[float] = []
    steps = Steps(5, seen.append)
    steps.advance(2)
    steps.advance(3)
    assert seen == [0.4, 1.0]


def test_steps_refuse_to_count_past_the_total() -> None:
    steps = Steps(2, lambda fraction: None)
    steps.advance(2)
    with pytest.raises(ValueError, match="2 of 2 done"):
        steps.advance()
    with pytest.raises(ValueError, match="advance by 0"):
        Steps(2, lambda fraction: None).advance(0)


@pytest.mark.parametrize("total", [0, -1, 1.5, True])
def test_steps_need_a_positive_integer_total(total: object) -> None:
    with pytest.raises(ValueError, match="positive integer"):
        Steps(total, lambda fraction: None)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- templates


def test_unwrap_joins_wrapped_lines_and_keeps_tables() -> None:
    text = "**Claim.** one\n  two\nthree\n\n| a | b |\n|---|---|\n$rows\n\n\nlast\nline\n"
    assert unwrap(text) == "**Claim.** one two three\n\n| a | b |\n|---|---|\n$rows\n\nlast line"


def test_fill_replaces_placeholders_and_leaves_braces_alone() -> None:
    text = "E_{x∼q}[TV] = $value at ${name}s, $$5"
    assert fill(text, {"value": "0.25", "name": "token"}) == "E_{x∼q}[TV] = 0.25 at tokens, $5"
    assert placeholders(text) == {"value", "name"}


def test_a_missing_value_names_the_template_and_the_key() -> None:
    with pytest.raises(TemplateError, match=r"fig2\.md: no value for chain, horizon"):
        render("fig2", {"horizons": "", "sd_runs": "1", "batch_runs": "1", "sweep_runs": "1"})


def test_a_value_without_a_placeholder_is_an_error() -> None:
    with pytest.raises(TemplateError, match="values without a placeholder: typo"):
        fill("$a", {"a": "x", "typo": "y"})


def test_values_must_be_text() -> None:
    with pytest.raises(TemplateError, match="not text: a"):
        fill("$a", {"a": 0.5})  # type: ignore[dict-item]


def test_a_stray_dollar_and_a_missing_template_are_errors() -> None:
    with pytest.raises(TemplateError, match="bad placeholder"):
        placeholders("costs $ 5")
    with pytest.raises(TemplateError, match=r"no report template templates/nope\.md"):
        render("nope", {})


def test_every_shipped_template_renders_and_is_used() -> None:
    names = template_names()
    assert {"fig2", "fig3", "fig4", "gamma", "lm_theory", "table1"} <= set(names)
    sources = "\n".join(path.read_text(encoding="utf-8") for path in PACKAGE.rglob("*.py"))
    for name in names:
        text = template_text(name)
        values = {key: f"<{key}>" for key in placeholders(text)}
        rendered = render(name, values)
        assert "$" not in rendered and all(v in rendered for v in values.values()), name
        rendered_here = re.search(rf'render\(\s*"{name}"', sources)
        assert rendered_here, f"template {name}.md is never rendered"


def test_the_templates_ship_as_package_data() -> None:
    pyproject = Path(__file__).parents[2] / "pyproject.toml"
    assert '"experiments/templates/*.md"' in pyproject.read_text(encoding="utf-8")


# --------------------------------------------------------------------------- PairSpec


def test_pair_spec_names_the_embedded_pair_or_the_loaded_models() -> None:
    assert PairSpec().embedded
    assert PairSpec().describe("target", "draft") == "The embedded pair"
    given = PairSpec(target="org/big", draft="org/small")
    assert not given.embedded
    assert given.describe("big", "small") == "target `big`, draft `small`"


@pytest.mark.parametrize("module", [lm_theory, table1], ids=["lm_theory", "table1"])
def test_lm_configs_embed_the_pair_spec_and_round_trip(module: object) -> None:
    config = module.make_config(True, 0)  # type: ignore[attr-defined]
    assert config.pair == PairSpec()
    stored = config_dict(config)
    assert stored["pair"] == {"target": None, "draft": None, "tokenizer": None}
    other = dataclasses.replace(config, pair=PairSpec(target="t", draft="d"))
    assert PairSpec(**config_dict(other)["pair"]) == other.pair
    name = module.EXPERIMENT.name  # type: ignore[attr-defined]
    assert config_hash(name, 1, other) != config_hash(name, 1, config)


# --------------------------------------------------------------------------- layering


def _imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_only_the_plotting_package_imports_matplotlib() -> None:
    offenders = [
        path.relative_to(PACKAGE).as_posix()
        for path in PACKAGE.rglob("*.py")
        if "plotting" not in path.relative_to(PACKAGE).parts
        and any(m.split(".")[0] == "matplotlib" for m in _imported_modules(path))
    ]
    assert offenders == []


def test_the_report_does_not_import_the_runner() -> None:
    runner = "specbound.experiments.runner"
    assert runner not in _imported_modules(PACKAGE / "report.py")
    assert runner not in _imported_modules(PACKAGE / "outcome.py")
    assert "specbound.experiments.outcome" in _imported_modules(PACKAGE / "report.py")


def test_every_experiment_module_stays_small() -> None:
    sizes = {
        path.relative_to(PACKAGE).as_posix(): len(path.read_text(encoding="utf-8").splitlines())
        for path in PACKAGE.rglob("*.py")
    }
    assert {name: n for name, n in sizes.items() if n > 400} == {}
