"""Hyperband: many short trials, the best continued for more epochs."""

from __future__ import annotations

from typing import Any

import keras_tuner as kt

from components.automl.tuners.base import BraidTuner, BraidTunerMixin, BudgetMixin


class HyperbandOracle(BudgetMixin, kt.oracles.HyperbandOracle):
    pass


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
