"""Evaluation: per-task metrics, trivial baselines, one comparable score, and plots.

Every head of a model is scored on the test split by `evaluate_task`, next to a trivial baseline
fitted on the train targets (`baseline_report`). `combined_score` folds all heads into one number
that says how far each head moved from its baseline towards a perfect score; the pipeline's
champion gate compares this number between models scored on the same holdout.

Plots are drawn on `matplotlib.figure.Figure` objects (Agg canvas, no pyplot), so plotting touches no
global state and needs no display.
"""

from components.evaluation.baselines import baseline_report
from components.evaluation.metrics import (
    LOWER_IS_BETTER,
    PRIMARY_METRIC,
    TASKS,
    TaskReport,
    combined_score,
    evaluate_task,
    higher_is_better,
    markdown_table,
    normalized_score,
    primary_score,
)
from components.evaluation.plots import (
    plot_confusion_matrix,
    plot_learning_curves,
    plot_per_label_f1,
    plot_predicted_vs_actual,
    plot_trial_leaderboard,
    rank_trials,
)

__all__ = [
    "LOWER_IS_BETTER",
    "PRIMARY_METRIC",
    "TASKS",
    "TaskReport",
    "baseline_report",
    "combined_score",
    "evaluate_task",
    "higher_is_better",
    "markdown_table",
    "normalized_score",
    "plot_confusion_matrix",
    "plot_learning_curves",
    "plot_per_label_f1",
    "plot_predicted_vs_actual",
    "plot_trial_leaderboard",
    "primary_score",
    "rank_trials",
]
