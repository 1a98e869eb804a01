"""Bayesian optimisation (keras-tuner's Gaussian-process oracle)."""

from __future__ import annotations

from typing import Any

import keras_tuner as kt
import numpy as np

from components.automl.tuners.base import BraidTuner, BudgetMixin, WarmStartMixin


class BayesianOptimizationOracle(BudgetMixin, WarmStartMixin, kt.oracles.BayesianOptimizationOracle):
    """keras-tuner's GP oracle whose proposals depend only on the seed and the trials so far.

    keras-tuner draws the optimiser's starting points from one `RandomState` made at construction
    and never saved, so a resumed search proposed other points than an uninterrupted one; here each
    proposal reseeds from `seed` and the number of trials. Completed warm-start trials count
    among its random initial points.
    """

    def populate_space(self, trial_id):
        self._random_state = np.random.RandomState((self.seed + len(self.trials)) % 2**32)
        self.gpr = self._make_gpr()
        return super().populate_space(trial_id)


class BayesianOptimization(BraidTuner):
    """Two random trials, then a Gaussian process proposes the next configuration."""

    @classmethod
    def make_oracle(cls, max_trials: int, max_epochs: int, **common: Any) -> kt.Oracle:
        # Not min(2, max_trials): the count is saved with the search, and a search resumed with more
        # trials must keep drawing its second trial at random, as an uninterrupted one does.
        return BayesianOptimizationOracle(max_trials=max_trials, num_initial_points=2, **common)
