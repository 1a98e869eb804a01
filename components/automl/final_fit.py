"""After the search: the final model from the best trials (AutoKeras's `engine.tuner` final fit).

In order: load the best completed trials, combine them per head by greedy ensemble selection on the
validation rows, refit each picked trial on training + validation rows, then tune the classification
heads' decision thresholds on the validation rows.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import keras
import keras_tuner as kt
import numpy as np
import tensorflow as tf
from keras_tuner.src.engine.tuner import maybe_distribute

from components.automl.ensemble import combine, ensemble, outputs_on
from components.automl.heads import ClassificationHead, Head
from components.automl.nodes import InputNode

ENSEMBLE_ROUNDS = 10  # greedy selection steps per head


@dataclass
class FinalFit:
    """What `final_fit` returns.

    Args:
        model: the final Keras model (one trial's, or the ensemble of several).
        picks: head name → indices of the best trials it averages.
        refit_history: the best trial's refit history, None without a refit.
        validation_outputs: head name → the model's outputs on the validation rows before any refit
            (in the validation data's row order): what a blend with another model is fitted on.
        used_hyperparameters: the hyperparameters of every trial the model uses.
    """

    model: keras.Model
    picks: dict[str, list[int]]
    refit_history: keras.callbacks.History | None
    validation_outputs: dict[str, np.ndarray]
    used_hyperparameters: list[kt.HyperParameters]


def final_fit(
    tuner,
    heads: list[Head],
    inputs: list[InputNode],
    ensemble_size: int,
    refit: bool,
    train_ds,
    val_ds,
    rows: int,
    verbose: int,
    runner=None,
) -> FinalFit:
    """The final model of a finished search.

    Args:
        tuner: the Braid tuner that ran the search (its oracle's best trials and their checkpoints).
        heads, inputs: the graph's heads and input nodes.
        ensemble_size: how many of the best trials the ensemble may use.
        refit: retrain the picked trials on training + validation rows for their best epoch count.
        train_ds, val_ds: the training examples (unbatched) and the batched validation data.
        rows: training + validation rows (what the refit trains on).
        verbose: Keras verbosity of the refit.
        runner: refits the picked trials elsewhere (`_refit`); None: here.
    """
    with warnings.catch_warnings():  # checkpoints carry optimizer slots the fresh model lacks
        warnings.simplefilter("ignore", UserWarning)
        # Only completed trials have checkpoints (keras-tuner pads with failed ones).
        best = [t for t in tuner.oracle.get_best_trials(ensemble_size) if t.status == "COMPLETED"]
        trained = [tuner.trained_model(t) for t in best]
    tuner.kept = {}  # the rest of the kept models are not needed any more
    members = [model.inner for model in trained]
    model, picks = members[0], {h.name: [0] for h in heads}
    if len(members) > 1:
        model, picks, outputs = ensemble(members, heads, inputs, val_ds, ENSEMBLE_ROUNDS)
    else:
        outputs = outputs_on(model, val_ds)
    # Before the refit sees them: what a blend with another model of these rows is fitted on.
    validation_outputs = {head.name: out for head, out in zip(heads, outputs)}
    history = None
    if refit:
        model, history = _refit(
            tuner, best, trained, members, picks, heads, inputs, train_ds, val_ds, rows, verbose, runner
        )
        # On the refit model too: its thresholds from its own (seen) validation outputs beat those of
        # the searched model on movies genres (0.604 vs 0.592 micro-F1, seed 0).
        outputs = None
    tuner.initial_states = {}  # those of trials the ensemble did not pick
    _tune_thresholds(model, heads, val_ds, outputs)
    used = sorted({i for chosen in picks.values() for i in chosen})
    return FinalFit(model, picks, history, validation_outputs, [best[i].hyperparameters for i in used])


def refit_examples(train_ds, val_ds, rows: int):
    """The refit's unbatched examples: the training ones, then the validation ones (`rows` in all)."""
    names = set(train_ds.element_spec[0])  # without the frozen vectors' zeros, when no trial read them

    def without_vectors(x, y):  # a function, not a lambda: autograph cannot read a lambda's source here
        return {k: x[k] for k in names}, y

    everything = train_ds.concatenate(val_ds.unbatch().map(without_vectors))
    # `unbatch` loses the count: without it Keras learns the epoch's length by running out of data, and
    # warns "Your input ran out of data" at the end of the first epoch.
    return everything.apply(tf.data.experimental.assert_cardinality(rows))


def refit_trial(hypermodel, hps, batch_size: int, strategy, examples, epochs: int, verbose: int, restarted=None):
    """One trial's model, built under `strategy` and trained on `examples` for `epochs` at `batch_size`
    (its seed: execution 0). `restarted`: that model already in its state as built (`BraidTuner.restart`),
    trained instead of a new build: the same weights and seeds, its train step traced once already.
    Returns the model and its history."""
    planned = hypermodel.batch_size
    hypermodel.execution = 0  # the trial's seed; its learning-rate schedule, sized to the training rows
    hypermodel.batch_size = batch_size
    try:
        if restarted is None:
            with maybe_distribute(strategy):  # Keras' fit runs where the model was built
                model = hypermodel.build(hps)
        else:
            model = restarted
            if hypermodel.seed is not None:  # what the build's `seeded` leaves: the data's shuffle reads it
                keras.utils.set_random_seed(hypermodel.seed)
        return model, hypermodel.fit(hps, model, examples, epochs=epochs, verbose=verbose)
    finally:
        hypermodel.batch_size = planned


def refit_jobs(tuner, trials, indices) -> list[dict]:
    """What a refit elsewhere needs of each trial: its id, hyperparameters, epochs and batch size."""
    return [
        {
            "trial_id": trials[i].trial_id,
            "hyperparameters": trials[i].hyperparameters.get_config(),
            "epochs": (trials[i].best_step or 0) + 1,
            "batch_size": tuner.trial_batch_size(trials[i].trial_id) or tuner.hypermodel.batch_size,
        }
        for i in indices
    ]


def _refit(tuner, trials, trained, members, picks, heads, inputs, train_ds, val_ds, rows, verbose, runner=None):
    """Retrain every trial the ensemble uses on training + validation rows (`rows` in all) for its best
    epoch count.

    Each keeps its configuration, seed, learning-rate schedule, distribution strategy and the batch size
    it trained at (smaller than planned when it ran out of memory), and the ensemble its picks; a trained
    model whose state as built the tuner kept (`trained`) is restarted from it rather than built again. With a
    `runner` (`AutoModel.refit_runner`), the trials train elsewhere (data-parallel worker processes): it
    takes `refit_jobs` and returns, per trial id, the trained inner model's weights file and its history
    (a dict of lists), which are loaded here into the same configuration. Returns the final model and the
    best trial's refit history."""
    hypermodel = tuner.hypermodel
    used = sorted({i for chosen in picks.values() for i in chosen})
    histories = {}
    if runner is not None:
        done = runner(refit_jobs(tuner, trials, used))
        for i in used:
            weights, history = done[trials[i].trial_id]
            with maybe_distribute(tuner.distribution_strategy):
                model = hypermodel.build(trials[i].hyperparameters)
            model.inner.load_weights(weights)
            histories[i] = keras.callbacks.History()
            histories[i].history = history
            members[i] = model.inner
    else:
        everything = refit_examples(train_ds, val_ds, rows)
        for job, i in zip(refit_jobs(tuner, trials, used), used):
            model, histories[i] = refit_trial(
                hypermodel,
                trials[i].hyperparameters,
                job["batch_size"],
                tuner.distribution_strategy,
                everything,
                job["epochs"],
                verbose,
                trained[i] if tuner.restart(trials[i].trial_id, trained[i]) else None,
            )
            members[i] = model.inner
    if all(chosen == [0] for chosen in picks.values()):
        final = members[0]
    else:
        final = combine(members, heads, picks, inputs)
    return final, histories.get(0) or next(iter(histories.values()))


def _tune_thresholds(model: keras.Model, heads: list[Head], val_ds, outputs: list[np.ndarray] | None) -> None:
    """Tunes the heads' thresholds on `model`'s validation `outputs` (predicted here when None)."""
    tuned = [h for h in heads if isinstance(h, ClassificationHead) and h.tunes_thresholds]
    if not tuned:
        return
    if outputs is None:
        outputs = outputs_on(model, val_ds)
    truth = {h.name: [] for h in tuned}
    for _, y in val_ds.as_numpy_iterator():
        for head in tuned:
            truth[head.name].append(y[head.name])
    for head in tuned:
        probabilities = outputs[heads.index(head)]
        head.tune_thresholds(np.concatenate(truth[head.name]), probabilities)
        model.get_layer(head.name).thresholds = head.thresholds
