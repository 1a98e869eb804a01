"""Hyperband: many short trials, the best continued for more epochs."""

from __future__ import annotations

from typing import Any

import keras_tuner as kt

from components.automl.tuners.base import BraidTuner, BraidTunerMixin, BudgetMixin, WarmStartMixin


class HyperbandOracle(BudgetMixin, WarmStartMixin, kt.oracles.HyperbandOracle):
    """Hyperband whose first new candidates are the warm-start configurations.

    Hyperband decides each trial's epochs and bracket, so warm configurations enter where it draws
    a new candidate (round 0 of a bracket), not ahead of it: they train for that round's epochs and
    are promoted to longer rounds like any other candidate.
    """

    warm_first = False

    def _random_values(self):
        values = self.next_warm_values()
        return values if values is not None else super()._random_values()


class Hyperband(BraidTunerMixin, kt.Hyperband):
    """Hyperband with Braid's trial hooks (epochs per trial are the oracle's)."""

    def __init__(self, hypermodel, oracle, **kwargs):
        kt.Tuner.__init__(self, oracle=oracle, hypermodel=hypermodel, **kwargs)

    @classmethod
    def make_oracle(cls, max_trials: int, max_epochs: int, **common: Any) -> kt.Oracle:
        oracle = HyperbandOracle(max_epochs=max(max_epochs, 2), factor=3, **common)
        oracle.max_trials = max_trials
        return oracle

    create = classmethod(BraidTuner.create.__func__)
