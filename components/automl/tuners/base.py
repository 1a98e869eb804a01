"""The search: keras-tuner tuners with a time budget, a greedy oracle, trial observers and clear failures.

A trial builds the graph for its hyperparameters, trains it with early
stopping and NaN termination, and reports each epoch and its end to the
observers. Oversized models and NaN losses fail their trial and the search goes
on; if every trial fails, `SearchError` carries each trial's reason. A trial that
runs out of device memory starts again at half the batch size, down to
`MIN_BATCH_SIZE`, then fails naming the batch size.
"""

from __future__ import annotations

import json
import logging
import os
import random
import time
from typing import Any

import keras
import keras_tuner as kt
import numpy as np
import tensorflow as tf
from keras_tuner.src.engine import trial as trial_module
from keras_tuner.src.engine.tuner import maybe_compute_model_size, maybe_distribute

from components.automl.tuners import distributed
from components.automl.tuners.warm import fit_to_space
from components.errors import InputError, SearchError

log = logging.getLogger(__name__)
HISTORY_FILE = "history.json"
FIT_FILE = "fit.json"  # beside the checkpoint: the batch size the trial trained at
# Out of memory, a trial starts again at half its batch size; under this it fails (a model that does not
# fit at such batches needs a smaller model or a bigger device, not more halving).
MIN_BATCH_SIZE = 4
# Models up to this many parameters keep a copy of their state as built, for the refit to restart them (a
# refit of the seed tutorial's model spends ~0.9 s of 1.2 s building it again and tracing its train step).
RESTART_PARAMETERS = 5_000_000
STOPPED = trial_module.TrialStatus.STOPPED
RUNNING = trial_module.TrialStatus.RUNNING


class BudgetMixin:
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


class WarmStartMixin:
    """Runs the warm-start configurations first, then the oracle's own strategy.

    `warm_start` holds hyperparameter values from earlier searches, best first. Each is fitted to
    the current space (`fit_to_space`) and skipped when it duplicates an earlier one or a trial
    already tried, so a resumed search given the same list does not rerun its warm trials. They
    count toward `max_trials`. Which trials were warm is saved with the oracle's state.
    """

    # False where the oracle takes warm configurations itself, where it draws new ones (Hyperband).
    warm_first = True

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.warm_start: list[dict] = []
        self.warm_hashes: list[str] = []  # keras-tuner's value hash of each warm trial
        self._warm_next = 0  # not saved: a resumed search walks the list again, skipping what it tried

    def next_warm_values(self) -> dict | None:
        """The next warm configuration, fitted to the space and not yet tried; None when none is left."""
        while self._warm_next < len(self.warm_start):
            position = self._warm_next
            self._warm_next += 1
            values = fit_to_space(self.warm_start[position], self.hyperparameters)
            if self._duplicate(values):
                log.info("warm start %d duplicates a configuration already tried: skipped", position)
                continue
            self.warm_hashes.append(self._compute_values_hash(values))
            return values
        return None

    def warm_trial_ids(self) -> list[str]:
        """The trials that ran a warm-start configuration, in the order they started."""
        ids, seen = [], set()
        for trial_id in self.start_order:
            digest = self._id_to_hash.get(trial_id)
            # The first trial with a warm hash: a later proposal that repeats it (GP optima are not
            # deduplicated) is the oracle's own.
            if digest in self.warm_hashes and digest not in seen:
                ids.append(trial_id)
                seen.add(digest)
        return ids

    def populate_space(self, trial_id):
        values = self.next_warm_values() if self.warm_first else None
        if values is not None:
            log.info("trial %s: warm start", trial_id)
            return {"status": RUNNING, "values": values}
        return super().populate_space(trial_id)

    def get_state(self):
        return {**super().get_state(), "warm_hashes": list(self.warm_hashes)}

    def set_state(self, state):
        super().set_state(state)
        self.warm_hashes = list(state.get("warm_hashes", []))  # absent in searches saved before warm starts


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

    def setup(
        self, observers: list, patience: int, deadline: float | None, workers=None, keep: int = 0, restarts: bool = True
    ) -> None:
        """Arm the search: `observers`, early-stopping `patience`, the `deadline`, the distributed chief's
        `workers`, how many of the best trials' trained models to `keep` in memory (`kept`), and whether a refit
        here will `restart` them (else no copy of their state as built is made)."""
        self.observers = list(observers or [])
        self.workers = workers  # on the chief of a distributed search: who has exited (see `distributed`)
        self.failed_by_workers: list[str] = []
        self.patience = patience
        self.deadline = deadline
        self.oracle.deadline = deadline
        self.model_sizes: dict[str, int] = {}
        self._started: dict[str, float] = {}
        self._current: str | None = None
        self._executions: dict[str, int] = {}
        self.histories: dict[str, Any] = {}  # trial id → the Keras History of its last execution
        self.replicas: dict[str, int] = {}  # trial id → replicas of the strategy its model trained under
        # trial id → (best objective value, trained model, whether its last epoch was its best, its state as
        # built) of the best `keep` trials: the final fit takes the model instead of building it again (loading
        # its checkpoint into it unless its last epoch was its best), and the refit restarts it from that state
        self.keep, self.kept, self.restarts = keep, {}, restarts
        self.initial_states: dict[str, list] = {}  # trial id → state as built, of models `trained_model` gave
        self._built, self._built_state = None, None

    def notify(self, hook: str, *args: Any) -> None:
        for observer in self.observers:
            method = getattr(observer, hook, None)
            if method is None:
                continue
            try:
                method(*args)
            except Exception:  # an observer must never break the search
                log.exception("observer %r failed in %s", observer, hook)

    def search(self, *fit_args, **fit_kwargs):
        if distributed.role() == distributed.CHIEF:  # keras-tuner's chief would wait forever for a dead worker
            self.oracle.verbose = fit_kwargs.get("verbose", self.oracle.verbose)
            self.save()
            host, port = os.environ[distributed.ORACLE_IP], int(os.environ[distributed.ORACLE_PORT])
            self.failed_by_workers = distributed.serve(self.oracle, host, port, self.workers)
            return
        super().search(*fit_args, **fit_kwargs)

    def on_trial_begin(self, trial):
        super().on_trial_begin(trial)
        self._current = trial.trial_id
        self._started[trial.trial_id] = time.time()
        self.notify("on_trial_begin", trial.trial_id, dict(trial.hyperparameters.values))

    def _build_hypermodel(self, hp):
        # keras-tuner's own `_try_build` checks `max_model_size` on this count (trainable parameters).
        model = super()._build_hypermodel(hp)
        # Hyperband loads a trial it continues ("tuner/trial_id") into the model built: not a state as built.
        fresh = self.keep and self.restarts and "tuner/trial_id" not in hp.values
        self._built, self._built_state = model, (_state(model) if fresh else None)
        if self._current is not None:
            self.model_sizes[self._current] = int(maybe_compute_model_size(model))
            # The strategy Keras' fit runs this model under: the one it was built in (keras-tuner's scope).
            self.replicas[self._current] = int(model.distribute_strategy.num_replicas_in_sync)
        return model

    def _build_and_fit_model(self, trial, *args, **kwargs):
        objective = self.oracle.objective
        # Each execution of a trial starts from its own seed (not from wherever earlier trials left
        # the global RNGs), so a resumed search trains its trials exactly as an uninterrupted one.
        self._executions[trial.trial_id] = self._executions.get(trial.trial_id, -1) + 1
        if getattr(self.hypermodel, "seed", None) is not None:
            self.hypermodel.execution = self._executions[trial.trial_id]
        history, guard, batch_size = self._fit_in_memory(trial, args, kwargs)
        values = history.history.get(objective.name, []) if hasattr(history, "history") else []
        if guard.saw_nan or not values or not np.all(np.isfinite(values)):
            raise kt.errors.FailedTrialError("The loss became NaN or infinite (TerminateOnNaN); trial failed.")
        self.histories[trial.trial_id] = history
        self._keep(trial.trial_id, values)
        # Beside the checkpoint: the oracle keeps only each metric's best value, and a resumed search
        # or the chief of a distributed one needs the whole curves (and the refit the batch size).
        curves = {name: [float(v) for v in values] for name, values in history.history.items()}
        folder = self.get_trial_dir(trial.trial_id)
        with open(os.path.join(folder, HISTORY_FILE), "w") as file:
            json.dump(curves, file)
        with open(os.path.join(folder, FIT_FILE), "w") as file:
            json.dump({"batch_size": batch_size}, file)
        return history

    def _fit_in_memory(self, trial, args, kwargs) -> tuple[Any, _NanGuard, int | None]:
        """Build and fit the trial; when the device runs out of memory, again from scratch (same seed) at
        half the batch size, down to `MIN_BATCH_SIZE`. Returns the history, its NaN guard and the batch
        size it trained at (None when the hypermodel has no `batch_size`: no retry then)."""
        objective = self.oracle.objective
        planned = getattr(self.hypermodel, "batch_size", None)
        size = planned
        try:
            while True:
                guard = _NanGuard()
                callbacks = list(kwargs.get("callbacks", [])) + [
                    keras.callbacks.TerminateOnNaN(),
                    guard,
                    keras.callbacks.EarlyStopping(
                        monitor=objective.name, mode=objective.direction, patience=self.patience
                    ),
                    _ObserverCallback(self, trial.trial_id),
                ]
                try:
                    history = super()._build_and_fit_model(trial, *args, **{**kwargs, "callbacks": callbacks})
                    return history, guard, size
                except tf.errors.ResourceExhaustedError as error:
                    if size is None:  # a hypermodel of someone else's: nothing to halve
                        raise
                    if size // 2 < MIN_BATCH_SIZE:
                        raise kt.errors.FailedTrialError(
                            f"Out of device memory (ResourceExhaustedError) at batch size {size} "
                            f"(planned {planned}, halved down to the floor of {MIN_BATCH_SIZE}): use a smaller "
                            "model (max_model_size) or a device with more memory."
                        ) from None
                    log.warning(
                        "trial %s: out of device memory at batch size %d (%s); trying again at batch size %d",
                        trial.trial_id,
                        size,
                        failure_reason(error.message),
                        size // 2,
                    )
                    size //= 2
                    self.hypermodel.batch_size = size
        finally:
            if planned is not None:  # the next trial starts at the planned size again
                self.hypermodel.batch_size = planned

    def _keep(self, trial_id: str, values: list[float]) -> None:
        """Keep the model just trained when it is among the best `keep` so far (by its best epoch), with its
        state as built (None when too large to copy, `RESTART_PARAMETERS`)."""
        sign = 1 if self.oracle.objective.direction == "min" else -1
        scores = [sign * float(v) for v in values]
        if not self.keep or self.executions_per_trial != 1 or self._executions.get(trial_id, 0) != 0:
            return
        last_is_best = min(scores[:-1], default=np.inf) > scores[-1]
        self.kept[trial_id] = (min(scores), self._built, last_is_best, self._built_state)
        if len(self.kept) > self.keep:
            del self.kept[max(self.kept, key=lambda k: self.kept[k][0])]

    def trained_model(self, trial) -> keras.Model:
        """A completed trial's model at its best epoch: the one kept in memory (its checkpoint loaded into it
        when its last epoch was not its best), else built and loaded from its checkpoint (`load_model`)."""
        kept = self.kept.pop(trial.trial_id, None) if hasattr(self, "kept") else None
        if kept is None:
            return self.load_model(trial)
        _, model, last_is_best, state = kept
        if not last_is_best:
            with maybe_distribute(self.distribution_strategy):
                model.load_weights(self._get_checkpoint_fname(trial.trial_id))
        if state is not None:
            self.initial_states[trial.trial_id] = state
        return model

    def restart(self, trial_id: str, model: keras.Model) -> bool:
        """Put `model` (what `trained_model` gave for `trial_id`) back in its state as built, optimizer
        included: the same weights, seeds and optimizer state a new build of the trial would have, with its
        traced train step kept. False (nothing done) when that state was not kept."""
        state = self.initial_states.pop(trial_id, None)
        variables = _variables(model)
        if state is None or [v.shape for v in state] != [tuple(v.shape) for v in variables]:
            return False  # an optimizer that made its slots in the first train step (a foreign hypermodel)
        for variable, value in zip(variables, state):
            variable.assign(value)
        return True

    def trial_batch_size(self, trial_id: str) -> int | None:
        """The batch size a finished trial trained at (below the planned one after running out of memory);
        None when the trial never finished or predates this record."""
        path = os.path.join(self.get_trial_dir(trial_id), FIT_FILE)
        if not os.path.exists(path):
            return None
        with open(path) as file:
            return json.load(file).get("batch_size")

    def trial_history(self, trial_id: str) -> dict[str, list[float]]:
        """The per-epoch metrics of a trial's last execution ({} when it never finished an epoch)."""
        if trial_id in self.histories:
            return {name: [float(v) for v in values] for name, values in self.histories[trial_id].history.items()}
        path = os.path.join(self.get_trial_dir(trial_id), HISTORY_FILE)
        if not os.path.exists(path):
            return {}
        with open(path) as file:
            return json.load(file)

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
        self.notify(
            "on_trial_end",
            trial.trial_id,
            str(final.status),
            metrics,
            error,
            self.model_sizes.get(trial.trial_id),
            duration,
        )
        self._current = None


class BraidTuner(BraidTunerMixin, kt.Tuner):
    """A keras-tuner Tuner with Braid's trial hooks; subclasses name their oracle.

    `create(...)` builds the tuner with its oracle from the search settings, so every tuner is made
    the same way whatever its kind (`tuners.TUNERS` maps names to these classes).
    """

    @classmethod
    def make_oracle(cls, max_trials: int, max_epochs: int, **common: Any) -> kt.Oracle:
        raise NotImplementedError

    @classmethod
    def create(
        cls,
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
        warm_start: list[dict] | None = None,
        **tuner_kwargs: Any,
    ) -> "BraidTuner":
        common = dict(
            objective=objective,
            seed=seed,
            max_retries_per_trial=0,
            max_consecutive_failed_trials=max(max_trials, 1) + 1,
        )
        for key in ("max_retries_per_trial", "max_consecutive_failed_trials"):
            if key in tuner_kwargs:
                common[key] = tuner_kwargs.pop(key)
        oracle = cls.make_oracle(max_trials, max_epochs, **common)
        seed_oracle(oracle, seed)
        if warm_start:
            if not isinstance(oracle, WarmStartMixin):
                raise InputError(
                    f"warm_start: the oracle of {cls.__name__} ({type(oracle).__name__}) cannot take warm "
                    "starts; use a Braid tuner (greedy, random, bayesian, hyperband) or warm_start=None."
                )
            oracle.warm_start = [dict(values) for values in warm_start]
        try:
            return cls(
                hypermodel=hypermodel,
                oracle=oracle,
                directory=directory,
                project_name=project_name,
                overwrite=overwrite,
                max_model_size=max_model_size,
                distribution_strategy=distribution_strategy,
                **tuner_kwargs,
            )
        except RuntimeError as error:
            raise SearchError(f"Cannot resume the search in {directory}/{project_name}: {error}") from None


def seed_oracle(oracle: kt.Oracle, seed: int | None) -> None:
    """Give the oracle a seed derived from `seed`, so equal seeds draw equal trials.

    keras-tuner replaces a falsy seed with `random.randint` (`seed or ...`), so `seed=0` used to
    search differently on every run. Its draws also step `_seed_state` by one per value, so seeds
    1 and 2 would replay the same stream shifted by one: the derived seed decorrelates them.
    A resumed search restores the saved `_seed_state`, so it continues the same sequence.
    """
    if seed is None:
        return
    oracle.seed = random.Random(int(seed)).randint(1, 2**30)
    oracle._seed_state = oracle.seed


def failure_reason(message: str | None) -> str | None:
    """The last line of a trial's traceback: the exception that failed it."""
    if not message:
        return None
    lines = [line for line in str(message).strip().splitlines() if line.strip()]
    return lines[-1] if lines else None


def raise_if_all_failed(tuner) -> None:
    trials = list(tuner.oracle.trials.values())
    completed = [t for t in trials if t.status == trial_module.TrialStatus.COMPLETED]
    if completed:
        return
    if not trials:
        raise SearchError("No trial ran; check max_trials and that the search directory is writable.")
    reasons = "\n".join(f"  trial {t.trial_id}: {failure_reason(t.message) or t.status}" for t in trials)
    raise SearchError(f"Every trial failed ({len(trials)}); reasons from trial.json:\n{reasons}")


def _variables(model: keras.Model) -> list:
    """Every variable a fit changes: the model's (weights, seed generators) and its optimizer's."""
    optimizer = getattr(model, "optimizer", None)
    return list(model.variables) + (list(optimizer.variables) if optimizer is not None else [])


def _state(model: keras.Model) -> list[np.ndarray] | None:
    """A copy of `model`'s state as built (`_variables`), None when it has over `RESTART_PARAMETERS`."""
    if not model.built or model.count_params() > RESTART_PARAMETERS:
        return None
    return [np.array(v.numpy()) for v in _variables(model)]
