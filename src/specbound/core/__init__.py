"""Pure math of verification on probability arrays (last axis = vocabulary).

Knows nothing of models: the chain simulator and the LM decoder both call these rules.
p = draft, q = target in the paper's notation. The public functions validate their
inputs; :mod:`specbound.core.kernels` holds the same arithmetic unchecked, for inner
loops that validated once.
"""

from specbound.core import kernels
from specbound.core.batch import (
    RecursiveRejectionRule,
    all_rejected_probability,
    limit_round_start_split,
    recursive_residuals,
)
from specbound.core.block import BlockOutcome, BlockVerificationRule
from specbound.core.distance import residual, tv
from specbound.core.multidraft import (
    OptimalMultiDraftRule,
    optimal_accepted_law,
    optimal_multidraft_acceptance,
)
from specbound.core.rounds import (
    PathCounts,
    acceptance_given_output,
    expected_counts_given_path,
    round_start_acceptance_given_output,
)
from specbound.core.rules import (
    OverAcceptanceRule,
    SpeculativeRule,
    SplitLaw,
    StepRule,
    accept_drafted,
    output_distribution,
    step_rejection_probability,
)
from specbound.core.sampling import sample_categorical, uniforms
from specbound.core.tradeoff import (
    ParetoFront,
    min_bias,
    optimal_resampling,
    pareto_front,
    rejection_probability,
)
from specbound.core.validation import (
    SUM_TOLERANCE,
    as_distribution,
    check_same_shape,
    checked_pair,
)

__all__ = [
    "SUM_TOLERANCE",
    "BlockOutcome",
    "BlockVerificationRule",
    "OptimalMultiDraftRule",
    "OverAcceptanceRule",
    "ParetoFront",
    "PathCounts",
    "RecursiveRejectionRule",
    "SpeculativeRule",
    "SplitLaw",
    "StepRule",
    "accept_drafted",
    "acceptance_given_output",
    "all_rejected_probability",
    "as_distribution",
    "check_same_shape",
    "checked_pair",
    "expected_counts_given_path",
    "kernels",
    "limit_round_start_split",
    "min_bias",
    "optimal_accepted_law",
    "optimal_multidraft_acceptance",
    "optimal_resampling",
    "output_distribution",
    "pareto_front",
    "recursive_residuals",
    "rejection_probability",
    "residual",
    "round_start_acceptance_given_output",
    "sample_categorical",
    "step_rejection_probability",
    "tv",
    "uniforms",
]
