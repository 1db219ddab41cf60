"""The figures layer: every plot of a model, its customers and the business.

Each model plot is two functions: ``<name>_frame(model, ...)`` computes the polars frame it
draws, and ``<name>(model_or_frame, ..., ax=None)`` draws it on ``ax`` (or on a new figure)
and returns the matplotlib Axes. A data scientist passes the model (and the summary or
transactions the plot needs); the report passes frames. The house theme
(:mod:`clv.plots.theme`) is applied per figure, never to matplotlib's global settings.

>>> import clv.plots
>>> ax = clv.plots.probability_alive_matrix(model, summary)  # doctest: +SKIP
"""

from clv.plots.business import (
    aov_new_vs_returning,
    channel_quality,
    cohort_retention,
    loyalty_by_month,
    loyalty_program_net,
    revenue_by_month,
)
from clv.plots.changes import reviewed_months, tier_migration
from clv.plots.concentration import lorenz_curves, tier_shares
from clv.plots.customers import (
    clv_distribution,
    frequency_histogram,
    history_alive,
    history_alive_frame,
    p_alive_distribution,
)
from clv.plots.fit import (
    gamma_gamma_independence,
    period_transactions,
    period_transactions_frame,
    spend_distribution,
    spend_distribution_frame,
)
from clv.plots.heterogeneity import heterogeneity, heterogeneity_frame
from clv.plots.holdout import (
    calibration_purchases_vs_holdout,
    calibration_purchases_vs_holdout_frame,
    cumulative_transactions,
    cumulative_transactions_frame,
    incremental_transactions,
    incremental_transactions_frame,
)
from clv.plots.matrices import (
    frequency_recency_matrix,
    frequency_recency_matrix_frame,
    probability_alive_matrix,
    probability_alive_matrix_frame,
)

__all__ = [
    "aov_new_vs_returning",
    "calibration_purchases_vs_holdout",
    "calibration_purchases_vs_holdout_frame",
    "channel_quality",
    "clv_distribution",
    "cohort_retention",
    "cumulative_transactions",
    "cumulative_transactions_frame",
    "frequency_histogram",
    "frequency_recency_matrix",
    "frequency_recency_matrix_frame",
    "gamma_gamma_independence",
    "heterogeneity",
    "heterogeneity_frame",
    "history_alive",
    "history_alive_frame",
    "incremental_transactions",
    "incremental_transactions_frame",
    "lorenz_curves",
    "loyalty_by_month",
    "loyalty_program_net",
    "p_alive_distribution",
    "period_transactions",
    "period_transactions_frame",
    "probability_alive_matrix",
    "probability_alive_matrix_frame",
    "revenue_by_month",
    "reviewed_months",
    "spend_distribution",
    "spend_distribution_frame",
    "tier_migration",
    "tier_shares",
]
