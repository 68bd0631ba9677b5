"""Prediction and measurement on real model pairs: ``specbound.profile`` (beyond the paper).

``sb.profile(pair, prompts, ...)`` predicts a pair's rejections, target calls and
wall-clock speed-up for SD, batch SD and over-acceptance at every gamma and M before
running them, then runs them and reports both side by side. The package is split by
concern: :mod:`~specbound.profiling.paths` (output paths and the laws along them),
:mod:`~specbound.profiling.predict` (exact expectations along them),
:mod:`~specbound.profiling.costs` (what a round costs on this machine: the model),
:mod:`~specbound.profiling.calibrate` and :mod:`~specbound.profiling.fit` (timing the
decoder's rounds and fitting that model),
:mod:`~specbound.profiling.measure` (running the decoders),
:mod:`~specbound.profiling.trees`, :mod:`~specbound.profiling.tree_predict` and
:mod:`~specbound.profiling.tree_search` (token trees: positional acceptance along the
target's paths, and Sequoia's search for the best shape under a node budget),
:mod:`~specbound.profiling.report` (the result types) and
:mod:`~specbound.profiling.run` (the entry point). It is named ``profiling`` so that the
function ``specbound.profile`` does not shadow its own module.
"""

from specbound.profiling.calibrate import measure_costs
from specbound.profiling.costs import CostModel
from specbound.profiling.paths import SampledPaths, sample_paths, score_continuations
from specbound.profiling.predict import round_starts_given_path
from specbound.profiling.report import (
    AGREEMENT_Z,
    Measurement,
    Prediction,
    ProfileReport,
    ProfileRow,
)
from specbound.profiling.run import profile, profiled_algorithms

__all__ = [
    "AGREEMENT_Z",
    "CostModel",
    "Measurement",
    "Prediction",
    "ProfileReport",
    "ProfileRow",
    "SampledPaths",
    "measure_costs",
    "profile",
    "profiled_algorithms",
    "round_starts_given_path",
    "sample_paths",
    "score_continuations",
]
