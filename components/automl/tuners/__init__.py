"""keras-tuner tuners with Braid's trial hooks, one module per tuner, looked up by name.

Adding a tuner: one module with a `BraidTuner` subclass (its `make_oracle`), and one entry in `TUNERS`.
"""

from __future__ import annotations

from components.automl.tuners.base import BraidTuner, failure_reason, raise_if_all_failed
from components.automl.tuners.bayesian import BayesianOptimization
from components.automl.tuners.greedy import Greedy, GreedyOracle
from components.automl.tuners.hyperband import Hyperband
from components.automl.tuners.random_search import RandomSearch
from components.errors import InputError

TUNERS: dict[str, type] = {
    "greedy": Greedy,
    "random": RandomSearch,
    "bayesian": BayesianOptimization,
    "hyperband": Hyperband,
}


def tuner_class(tuner) -> type:
    """A tuner name ("greedy", "random", "bayesian", "hyperband") or a tuner class → the class."""
    if isinstance(tuner, type) and hasattr(tuner, "make_oracle"):
        return tuner
    if isinstance(tuner, str) and tuner in TUNERS:
        return TUNERS[tuner]
    raise InputError(f"tuner={tuner!r} is unknown; use one of {list(TUNERS)} or a tuner class such as ak.Greedy.")


def make_tuner(kind, hypermodel, objective, max_trials, max_epochs, seed, directory, project_name, overwrite,
               max_model_size, distribution_strategy=None, **tuner_kwargs):
    """A Braid tuner of the given kind (a name from `TUNERS` or a tuner class)."""
    return tuner_class(kind).create(hypermodel, objective, max_trials, max_epochs, seed, directory, project_name,
                                    overwrite, max_model_size, distribution_strategy, **tuner_kwargs)


__all__ = ["TUNERS", "BayesianOptimization", "BraidTuner", "Greedy", "GreedyOracle", "Hyperband", "RandomSearch",
           "failure_reason", "make_tuner", "raise_if_all_failed", "tuner_class"]
