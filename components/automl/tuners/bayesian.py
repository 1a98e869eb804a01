"""Bayesian optimisation (keras-tuner's Gaussian-process oracle)."""

from __future__ import annotations

from typing import Any

import keras_tuner as kt

from components.automl.tuners.base import BraidTuner, BudgetMixin


class BayesianOptimizationOracle(BudgetMixin, kt.oracles.BayesianOptimizationOracle):
    pass


class BayesianOptimization(BraidTuner):
    """Two random trials, then a Gaussian process proposes the next configuration."""

    @classmethod
    def make_oracle(cls, max_trials: int, max_epochs: int, **common: Any) -> kt.Oracle:
        return BayesianOptimizationOracle(max_trials=max_trials, num_initial_points=min(2, max_trials), **common)
