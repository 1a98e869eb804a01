"""Random search over the graph's hyperparameters (keras-tuner's RandomSearchOracle)."""

from __future__ import annotations

from typing import Any

import keras_tuner as kt

from components.automl.tuners.base import BraidTuner, BudgetMixin, WarmStartMixin


class RandomSearchOracle(BudgetMixin, WarmStartMixin, kt.oracles.RandomSearchOracle):
    pass


class RandomSearch(BraidTuner):
    """Each trial draws every hyperparameter at random."""

    @classmethod
    def make_oracle(cls, max_trials: int, max_epochs: int, **common: Any) -> kt.Oracle:
        return RandomSearchOracle(max_trials=max_trials, **common)
