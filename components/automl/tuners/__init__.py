"""keras-tuner tuners with Braid's trial hooks, one module per tuner, looked up by name.

Adding a tuner: one module with a `BraidTuner` subclass (its `make_oracle`), and one entry in `TUNERS`.
"""

from __future__ import annotations

import difflib
import inspect

import keras_tuner as kt

from components.automl.tuners.base import BraidTuner, WarmStartMixin, failure_reason, raise_if_all_failed
from components.automl.tuners.bayesian import BayesianOptimization
from components.automl.tuners.greedy import Greedy, GreedyOracle
from components.automl.tuners.hyperband import Hyperband
from components.automl.tuners.random_search import RandomSearch
from components.automl.tuners.warm import fit_to_space
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
    # keras-tuner's own classes (kt.RandomSearch, ...) name the same searches.
    by_name = {cls.__name__: cls for cls in TUNERS.values()}
    if isinstance(tuner, type) and issubclass(tuner, kt.Tuner) and tuner.__name__ in by_name:
        return by_name[tuner.__name__]
    raise InputError(f"tuner={tuner!r} is unknown; use one of {list(TUNERS)} or a tuner class such as ak.Greedy.")


# What AutoModel sets itself, or what the hypermodel owns (it compiles its own loss and metrics).
_SET_BY_BRAID = {
    "self",
    "oracle",
    "hypermodel",
    "directory",
    "project_name",
    "overwrite",
    "max_model_size",
    "distribution_strategy",
    "optimizer",
    "loss",
    "metrics",
    "kwargs",
}
# Oracle arguments keras-tuner's Tuner subclasses also accept (AutoKeras users pass them to AutoModel).
_ORACLE_ARGUMENTS = {"max_retries_per_trial", "max_consecutive_failed_trials"}


def tuner_arguments() -> list[str]:
    """The keyword arguments `AutoModel(**kwargs)` passes on to the keras-tuner Tuner."""
    return sorted((set(inspect.signature(kt.Tuner.__init__).parameters) - _SET_BY_BRAID) | _ORACLE_ARGUMENTS)


def check_tuner_arguments(kwargs: dict, where: str = "AutoModel") -> None:
    """Refuse unknown keyword arguments, naming each and the closest known one."""
    known = tuner_arguments()
    for name in sorted(kwargs):
        if name not in known:
            close = difflib.get_close_matches(name, known, n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise InputError(
                f"{where} got an unknown argument {name!r}.{hint} Arguments passed on to the "
                f"keras-tuner Tuner are {known}."
            )


def make_tuner(
    kind,
    hypermodel,
    objective,
    max_trials,
    max_epochs,
    seed,
    directory,
    project_name,
    overwrite,
    max_model_size,
    distribution_strategy=None,
    warm_start=None,
    **tuner_kwargs,
):
    """A Braid tuner of the given kind (a name from `TUNERS` or a tuner class); its first trials
    run `warm_start`'s configurations (see `WarmStartMixin`)."""
    return tuner_class(kind).create(
        hypermodel,
        objective,
        max_trials,
        max_epochs,
        seed,
        directory,
        project_name,
        overwrite,
        max_model_size,
        distribution_strategy,
        warm_start,
        **tuner_kwargs,
    )


def warm_trial_ids(oracle: kt.Oracle) -> list[str]:
    """The ids of the trials that ran a warm-start configuration (none for oracles without warm starts)."""
    return oracle.warm_trial_ids() if isinstance(oracle, WarmStartMixin) else []


__all__ = [
    "TUNERS",
    "BayesianOptimization",
    "BraidTuner",
    "check_tuner_arguments",
    "fit_to_space",
    "Greedy",
    "GreedyOracle",
    "Hyperband",
    "RandomSearch",
    "WarmStartMixin",
    "failure_reason",
    "make_tuner",
    "raise_if_all_failed",
    "tuner_arguments",
    "tuner_class",
    "warm_trial_ids",
]
