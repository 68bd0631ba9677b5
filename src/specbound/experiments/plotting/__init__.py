"""The only package that imports matplotlib: every figure of the report, in one style.

:mod:`~specbound.experiments.plotting.style` holds the shared style and helpers (palette,
:func:`subplots`, :func:`save`, ...); one module per figure family draws its figures from
a data file's contents alone:

* :mod:`~specbound.experiments.plotting.rejections` — Figures 2 and 3 (Theorems 1 and 3,
  Proposition 1);
* :mod:`~specbound.experiments.plotting.pareto` — Figure 4 (Theorems 4 and 5);
* :mod:`~specbound.experiments.plotting.calls` — target calls against gamma;
* :mod:`~specbound.experiments.plotting.beyond` — block verification and the multi-draft
  optimum (beyond Theorem 2);
* :mod:`~specbound.experiments.plotting.lm` — the language-model sections;
* :mod:`~specbound.experiments.plotting.clock` — predicted vs measured wall-clock speed-up.

matplotlib itself is imported on first use, so importing this package is cheap.
"""

from specbound.experiments.plotting.beyond import beyond_figure
from specbound.experiments.plotting.calls import gamma_figure
from specbound.experiments.plotting.clock import lm_clock_figure
from specbound.experiments.plotting.lm import lm_theory_figure, table1_figure
from specbound.experiments.plotting.pareto import fig4_figure
from specbound.experiments.plotting.rejections import fig2_figure, fig3_figure
from specbound.experiments.plotting.style import (
    COLORS,
    DPI,
    band,
    hollow_points,
    log2_axis,
    save,
    subplots,
)
from specbound.experiments.plotting.trees import lm_trees_figure, trees_figure

__all__ = [
    "COLORS",
    "DPI",
    "band",
    "beyond_figure",
    "fig2_figure",
    "fig3_figure",
    "fig4_figure",
    "gamma_figure",
    "hollow_points",
    "lm_clock_figure",
    "lm_theory_figure",
    "lm_trees_figure",
    "log2_axis",
    "save",
    "subplots",
    "table1_figure",
    "trees_figure",
]
