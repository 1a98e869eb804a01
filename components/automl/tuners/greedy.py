"""Greedy: start from the blocks' defaults (a strong first trial), then mutate the best trial.

Half of the mutations change a structural choice (a block family, a reduction, an encoder, the
fusion, batch norm, augmentation) rather than any hyperparameter: drawn uniformly, most draws hit
one of the many small numeric ones (filters, dropout, the learning rate), and a two-trial search
never tried another kind of model.
"""

from __future__ import annotations

import random
from typing import Any

import keras_tuner as kt
from keras_tuner.src.engine import trial as trial_module

from components.automl.tuners.base import STOPPED, BraidTuner, BudgetMixin, WarmStartMixin

STRUCTURAL = ("block_type", "reduction", "reduction_type", "encoder", "fusion_type", "use_batchnorm", "augment")


def mutation_target(rng: random.Random, names: list[str]) -> str:
    """The hyperparameter a greedy step changes: a structural one half of the time, when there is one."""
    structural = [name for name in names if name.rsplit("/", 1)[-1] in STRUCTURAL]
    return rng.choice(structural if structural and rng.random() < 0.5 else names)


class GreedyStrategy(kt.Oracle):
    """Starts from the defaults, then mutates one hyperparameter of the best trial at a time."""

    def populate_space(self, trial_id):
        completed = [t for t in self.trials.values() if t.status == trial_module.TrialStatus.COMPLETED]
        rng = random.Random((self.seed or 0) + len(self.trials))
        base = self.get_best_trials(1)[0].hyperparameters.values if completed else None
        for _ in range(50):
            change = mutation_target(rng, [hp.name for hp in self.hyperparameters.space]) if base is not None else None
            hps = kt.HyperParameters()
            for hp in self.hyperparameters.space:
                hps.merge([hp])
                if not hps.is_active(hp):
                    continue
                if base is None:
                    hps.values[hp.name] = hp.default
                elif hp.name == change or hp.name not in base:
                    hps.values[hp.name] = hp.random_sample(self._seed_state)
                    self._seed_state += 1
                else:
                    hps.values[hp.name] = base[hp.name]
            if not self._duplicate(hps.values):
                return {"status": trial_module.TrialStatus.RUNNING, "values": hps.values}
            base = base if base is not None else {}
        values = self._random_values()
        if values is None:
            return {"status": STOPPED, "values": None}
        return {"status": trial_module.TrialStatus.RUNNING, "values": values}


class GreedyOracle(BudgetMixin, WarmStartMixin, GreedyStrategy):
    """The greedy strategy after the warm-start configurations (its best trial may be a warm one), within the time budget."""


class Greedy(BraidTuner):
    """AutoKeras's greedy tuner: the first trial uses every hyperparameter's default."""

    @classmethod
    def make_oracle(cls, max_trials: int, max_epochs: int, **common: Any) -> kt.Oracle:
        return GreedyOracle(max_trials=max_trials, **common)
