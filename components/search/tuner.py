"""The search: keras-tuner tuners with a time budget, a greedy oracle, trial observers and clear failures.

A trial builds the graph for its hyperparameters, trains it with early
stopping and NaN termination, and reports each epoch and its end to the
observers. Oversized models and NaN losses fail their trial and the search goes
on; if every trial fails, `SearchError` carries each trial's reason.
"""

from __future__ import annotations

import logging
import random
import time
from typing import Any

import keras
import keras_tuner as kt
import numpy as np
from keras_tuner.src.engine import trial as trial_module

from components.errors import InputError, SearchError

log = logging.getLogger(__name__)
TUNERS = ("random", "bayesian", "hyperband", "greedy")
STOPPED = trial_module.TrialStatus.STOPPED


class _BudgetMixin:
    """Stops creating trials once the wall-clock deadline has passed."""

    deadline: float | None = None

    def budget_spent(self) -> bool:
        # The first trial always runs, so a search never ends with nothing to show.
        return self.deadline is not None and time.time() >= self.deadline and len(self.trials) > 0

    def populate_space(self, trial_id):
        if self.budget_spent():
            log.info("time budget spent: no new trial")
            return {"status": STOPPED, "values": None}
        return super().populate_space(trial_id)


class GreedyOracle(_BudgetMixin, kt.Oracle):
    """Starts from the defaults, then mutates one hyperparameter of the best trial at a time."""

    def populate_space(self, trial_id):
        if self.budget_spent():
            return {"status": STOPPED, "values": None}
        completed = [t for t in self.trials.values() if t.status == trial_module.TrialStatus.COMPLETED]
        rng = random.Random((self.seed or 0) + len(self.trials))
        base = self.get_best_trials(1)[0].hyperparameters.values if completed else None
        for _ in range(50):
            change = rng.choice([hp.name for hp in self.hyperparameters.space]) if base is not None else None
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


class _RandomOracle(_BudgetMixin, kt.oracles.RandomSearchOracle):
    pass


class _BayesianOracle(_BudgetMixin, kt.oracles.BayesianOptimizationOracle):
    pass


class _HyperbandOracle(_BudgetMixin, kt.oracles.HyperbandOracle):
    pass


class _ObserverCallback(keras.callbacks.Callback):
    def __init__(self, tuner: "BraidTuner", trial_id: str):
        super().__init__()
        self.tuner, self.trial_id = tuner, trial_id

    def on_epoch_end(self, epoch, logs=None):
        clean = {k: float(v) for k, v in (logs or {}).items()}
        self.tuner.notify("on_epoch_end", self.trial_id, epoch, clean)
        if self.tuner.deadline is not None and time.time() >= self.tuner.deadline:
            self.model.stop_training = True


class _NanGuard(keras.callbacks.Callback):
    """Remembers whether TerminateOnNaN fired, so the trial can fail instead of scoring garbage."""

    def __init__(self):
        super().__init__()
        self.saw_nan = False

    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not np.isfinite(float(loss)):
            self.saw_nan = True


class BraidTunerMixin:
    """Trial hooks shared by every Braid tuner: callbacks, observers, model size, timing."""

    def setup(self, observers: list, patience: int, deadline: float | None) -> None:
        self.observers = list(observers or [])
        self.patience = patience
        self.deadline = deadline
        self.oracle.deadline = deadline
        self.model_sizes: dict[str, int] = {}
        self._started: dict[str, float] = {}
        self._current: str | None = None

    def notify(self, hook: str, *args: Any) -> None:
        for observer in self.observers:
            method = getattr(observer, hook, None)
            if method is None:
                continue
            try:
                method(*args)
            except Exception:  # an observer must never break the search
                log.exception("observer %r failed in %s", observer, hook)

    def on_trial_begin(self, trial):
        super().on_trial_begin(trial)
        self._current = trial.trial_id
        self._started[trial.trial_id] = time.time()
        self.notify("on_trial_begin", trial.trial_id, dict(trial.hyperparameters.values))

    def _try_build(self, hp):
        keras.backend.clear_session()
        model = self._build_hypermodel(hp)
        size = int(model.count_params())
        if self._current is not None:
            self.model_sizes[self._current] = size
        if self.max_model_size and size > self.max_model_size:
            raise kt.errors.FailedTrialError(
                f"Oversized model: {size} parameters > max_model_size={self.max_model_size}; skipped."
            )
        return model

    def _build_and_fit_model(self, trial, *args, **kwargs):
        objective = self.oracle.objective
        guard = _NanGuard()
        kwargs["callbacks"] = list(kwargs.get("callbacks", [])) + [
            keras.callbacks.TerminateOnNaN(),
            guard,
            keras.callbacks.EarlyStopping(monitor=objective.name, mode=objective.direction, patience=self.patience),
            _ObserverCallback(self, trial.trial_id),
        ]
        history = super()._build_and_fit_model(trial, *args, **kwargs)
        values = history.history.get(objective.name, []) if hasattr(history, "history") else []
        if guard.saw_nan or not values or not np.all(np.isfinite(values)):
            raise kt.errors.FailedTrialError("The loss became NaN or infinite (TerminateOnNaN); trial failed.")
        return history

    def on_trial_end(self, trial):
        super().on_trial_end(trial)
        final = self.oracle.get_trial(trial.trial_id)
        metrics = {}
        for name in final.metrics.metrics:
            value = final.metrics.get_best_value(name)
            if value is not None:
                metrics[name] = float(value)
        error = failure_reason(final.message) if final.status != trial_module.TrialStatus.COMPLETED else None
        duration = time.time() - self._started.get(trial.trial_id, time.time())
        self.notify("on_trial_end", trial.trial_id, str(final.status), metrics, error, self.model_sizes.get(trial.trial_id), duration)
        self._current = None


class BraidTuner(BraidTunerMixin, kt.Tuner):
    """A keras-tuner Tuner over any oracle, with Braid's trial hooks."""


class BraidHyperband(BraidTunerMixin, kt.Hyperband):
    """Hyperband (epochs per trial set by the oracle) with Braid's trial hooks."""

    def __init__(self, hypermodel, oracle, **kwargs):
        kt.Tuner.__init__(self, oracle=oracle, hypermodel=hypermodel, **kwargs)


def failure_reason(message: str | None) -> str | None:
    """The last line of a trial's traceback: the exception that failed it."""
    if not message:
        return None
    lines = [line for line in str(message).strip().splitlines() if line.strip()]
    return lines[-1] if lines else None


def make_tuner(
    kind: str,
    hypermodel: kt.HyperModel,
    objective: kt.Objective,
    max_trials: int,
    max_epochs: int,
    seed: int | None,
    directory: str,
    project_name: str,
    overwrite: bool,
    max_model_size: int | None,
    distribution_strategy=None,
):
    """A Braid tuner of the given kind (random, bayesian, hyperband or greedy)."""
    common = dict(objective=objective, seed=seed, max_retries_per_trial=0, max_consecutive_failed_trials=max(max_trials, 1) + 1)
    if kind == "random":
        oracle = _RandomOracle(max_trials=max_trials, **common)
    elif kind == "bayesian":
        oracle = _BayesianOracle(max_trials=max_trials, num_initial_points=min(2, max_trials), **common)
    elif kind == "greedy":
        oracle = GreedyOracle(max_trials=max_trials, **common)
    elif kind == "hyperband":
        oracle = _HyperbandOracle(max_epochs=max(max_epochs, 2), factor=3, **common)
        oracle.max_trials = max_trials
    else:
        raise InputError(f"tuner={kind!r} is unknown; use one of {list(TUNERS)}.")
    cls = BraidHyperband if kind == "hyperband" else BraidTuner
    try:
        return cls(
            hypermodel=hypermodel,
            oracle=oracle,
            directory=directory,
            project_name=project_name,
            overwrite=overwrite,
            max_model_size=max_model_size,
            distribution_strategy=distribution_strategy,
        )
    except RuntimeError as error:
        raise SearchError(f"Cannot resume the search in {directory}/{project_name}: {error}") from None


def raise_if_all_failed(tuner) -> None:
    trials = list(tuner.oracle.trials.values())
    completed = [t for t in trials if t.status == trial_module.TrialStatus.COMPLETED]
    if completed:
        return
    if not trials:
        raise SearchError("No trial ran; check max_trials and that the search directory is writable.")
    reasons = "\n".join(f"  trial {t.trial_id}: {failure_reason(t.message) or t.status}" for t in trials)
    raise SearchError(f"Every trial failed ({len(trials)}); reasons from trial.json:\n{reasons}")
