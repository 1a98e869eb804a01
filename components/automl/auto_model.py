"""AutoModel: search a multimodal, multi-task Keras model; predict, evaluate, export (AutoKeras API)."""

from __future__ import annotations

import copy
import os
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

import keras
import keras_tuner as kt
import numpy as np
import tensorflow as tf

from components.automl import adapters as data
from components.automl import training
from components.automl.blocks.general import name_unnamed
from components.automl.export import quiet_predict_retracing
from components.automl.final_fit import final_fit, refit_examples, refit_trial
from components.automl.frozen import Embedder, Feeds, Part, plan
from components.automl.graph import Graph, output_heads
from components.automl.head_models import HeadModels, choose_head_models, read_rows
from components.automl.heads import ClassificationHead, Head
from components.automl.hypermodel import GraphHyperModel
from components.automl.loss_weighting import MODES, LossWeighting, MultiTaskModel, resolve_weights
from components.automl.nodes import InputNode
from components.automl.objective import objective_for
from components.automl.portfolio import DataFacts, choose, data_facts, resolve
from components.automl.tuners import (
    check_tuner_arguments,
    distributed,
    make_tuner,
    raise_if_all_failed,
    tuner_class,
    warm_trial_ids,
)
from components.errors import BraidError, DataError, InputError, InputTypeError
from components.evaluation.blend import check_mode


class AutoModel:
    """Search a Keras model for any mix of image, text and table inputs and any set of heads.

    Args:
        inputs: input nodes (`ImageInput`, `TextInput`, `StructuredDataInput`), or one node.
        outputs: heads, or nodes returned by calling heads on a custom graph.
        project_name: name of the search folder under `directory`.
        max_trials: number of models to try.
        directory: where trials are kept (a temporary folder when None).
        objective: name of a logged validation metric to optimise, e.g.
            "val_genre_accuracy" or "val_score_loss", or a `kt.Objective`. The
            default "val_combined_loss" sums every head's validation loss
            divided by the loss of predicting its training prior/mean.
        tuner: "greedy", "random", "bayesian" or "hyperband", or a tuner class (`ak.Greedy`,
            `ak.RandomSearch`, `ak.BayesianOptimization`, `ak.Hyperband`).
        overwrite: start afresh; when False an existing search in the same
            folder resumes without repeating finished trials.
        seed: makes the search reproducible: the oracle's choices (every tuner), weight
            initialisation, dropout, augmentation and the training shuffle of each trial (each
            trial restarts from the seed, so a resumed search repeats an uninterrupted one).
            The validation split and threshold tuning draw nothing at random. On CPUs two runs
            with one seed give the same trials and scores; on GPUs cuDNN convolution and
            reduction kernels use nondeterministic atomics, so scores may differ in the last
            digits (and, through the oracle, later choices) unless the caller turns on
            `tf.config.experimental.enable_op_determinism()`, which Braid leaves to the caller
            because it is process-wide and slows GPU training.
        max_model_size: reject trials with more parameters than this.
        time_budget: seconds from the start of `fit`; no new trial starts after it (the first trial
            always runs; a running trial stops at its next epoch end).
        observers: objects with optional `on_trial_begin`, `on_epoch_end`, `on_trial_end` methods.
        loss_weighting: "static", "uncertainty", "gradnorm" or "search".
        loss_weights: static weights per head (list in head order or `{head: weight}`).
        refit: after the search, retrain each trial the ensemble uses (the best one when `ensemble_size=1`)
            on training + validation rows, for the epochs its trial took to its best validation score;
            the ensemble keeps the picks it made on the validation rows (multi-label thresholds, and
            those of binary heads with a rare class, are tuned after the refit). Skipped once
            `time_budget` is spent. On by default: on small data the fifth of the rows held out for
            the search is worth more as training data (benchmarks/README.md).
        learning_rate: fixed peak Adam learning rate (warmup + cosine decay, gradient clipping:
            see `training`); searched in {1e-2, 3e-3, 1e-3} when None (a small budget of epochs needs the
            larger one first).
        ensemble_size: keep the best `ensemble_size` trials and combine them per head by greedy
            ensemble selection on the validation data (Caruana et al., 2004) into one model;
            1 keeps only the best trial.
        distribution_strategy: where each trial (and the refit) trains: None (the default device), "auto"
            (MirroredStrategy when several GPUs are visible), "mirrored" (MirroredStrategy over every GPU, or
            over every logical CPU device when there is no GPU: see `components.devices`) or a
            tf.distribute strategy. The batch size is the global one, split across the replicas;
            `replicas` says how many the trials trained on.
        mixed_precision: compute in half precision with float32 weights and outputs: True or "float16"
            (the "mixed_float16" policy, with loss scaling: GPUs), "bfloat16" ("mixed_bfloat16": CPUs
            with bfloat16 instructions, TPUs, recent GPUs), False for float32. The exported model keeps
            its layers' policy, so it serves in the same precision.
        pretrained: frozen pretrained encoders in the default graph (`automl.frozen`): each text and
            image input may use MiniLM / EfficientNet-Lite0 embeddings, computed once per row when a trial
            first picks them (text tries them first, images the scratch CNN first). None: when the
            `braid[pretrained]` extra is installed; True: required; False: never.
            Custom graphs wire `PretrainedTextEncoder` / `PretrainedImageEncoder` themselves.
        warm_start: hyperparameter values of earlier searches' trials, best first (e.g.
            `[row["hyperparameters"] for row in earlier.leaderboard()]`): the first trials run them in
            order, then the tuner goes on with its own strategy (greedy mutates the best trial so far,
            which may be a warm one; hyperband takes them as its first candidates). Each is fitted to
            this search's space: unknown names dropped, invalid or missing values set to the default,
            duplicates skipped (also of trials a resumed search already ran). They count toward
            `max_trials`; `leaderboard()` marks them `"warm": True`.
        workers: for the chief of a distributed search (keras-tuner's `KERASTUNER_TUNER_ID=chief`,
            `KERASTUNER_ORACLE_IP`, `KERASTUNER_ORACLE_PORT`; see `tuners.distributed`), an object
            saying which workers have exited (`len()` and `exited() -> {tuner_id: exit code}`): the
            trial a dead worker was running fails and the search goes on with the others. Without it
            the chief waits for every worker, as keras-tuner does. On a worker, `fit` runs trials for
            the chief and returns None; only the chief ends with a model.
        portfolio: the first trials' configurations, after `warm_start`'s (`automl.portfolio`): None
            for the benchmark suite's choice for this kind of data (image-only data: a small ResNet with
            batch norm and flatten, then frozen EfficientNet-Lite0 features, then a deeper plain CNN;
            other data: the blocks' defaults), a list of names from `portfolio.CANDIDATES` or of
            candidate dicts, or `[]` for none. Candidates this graph cannot run are skipped.
        head_models: with a `StructuredDataInput` among the inputs, what each head predicts with:
            "auto" (default) chooses per head between the searched network, a gradient-boosted model
            of the same table (scikit-learn's HistGradientBoosting; for multi-label heads one-vs-rest
            logistic regression) and their weighted average, by the head's loss on the validation rows
            (the network's outputs from before the refit; the classical model fitted on the training
            rows the search used, then refitted on all rows when `refit`); "network", "classical" or
            "blend" take that one (see `head_choices`). `predict`, `predict_proba` and `evaluate` use
            the choice; `export_model()` is the network alone. Without a table every head keeps the
            network. The pipeline's `training.head_models` is the same rule. "auto" by default: on
            small tables trees often beat a short search (benchmarks/README.md, head_models).
        **kwargs: passed on to the keras-tuner Tuner, as AutoKeras does: `executions_per_trial`,
            `max_retries_per_trial`, `max_consecutive_failed_trials`, ... (an unknown name is an
            `InputError` naming it).

    Example:
        >>> auto_model = AutoModel(
        ...     inputs=[ImageInput(), StructuredDataInput()],
        ...     outputs=[RegressionHead(metrics=["mae"]), ClassificationHead()],
        ...     max_trials=2, overwrite=True)
        >>> auto_model.fit([images, table], [scores, labels], epochs=3)
        >>> scores_pred, labels_pred = auto_model.predict([images, table])
    """

    def __init__(
        self,
        inputs: InputNode | list[InputNode],
        outputs: Any,
        project_name: str = "auto_model",
        max_trials: int = 100,
        directory: str | os.PathLike | None = None,
        objective: str | kt.Objective | None = None,
        tuner: str | type = "greedy",
        overwrite: bool = False,
        seed: int | None = None,
        max_model_size: int | None = None,
        time_budget: float | None = None,
        observers: list | None = None,
        loss_weighting: str = "static",
        loss_weights: list | dict | None = None,
        refit: bool = True,
        learning_rate: float | None = None,
        distribution_strategy: Any = None,
        mixed_precision: bool | str = False,
        ensemble_size: int = 3,
        pretrained: bool | None = None,
        warm_start: list[dict] | None = None,
        workers: Any = None,
        portfolio: list | None = None,
        head_models: str = "auto",
        **kwargs: Any,
    ):
        check_tuner_arguments(kwargs, type(self).__name__)
        self.head_models = check_mode(head_models)
        self.warm_start = _check_warm_start(warm_start)
        self.portfolio = portfolio
        choose(DataFacts(()), portfolio)  # a bad portfolio fails here, before any data is read
        self.tuner_kwargs = dict(kwargs)
        self.inputs = list(inputs) if isinstance(inputs, (list, tuple)) else [inputs]
        if not self.inputs or not all(isinstance(n, InputNode) for n in self.inputs):
            raise InputTypeError(
                "AutoModel inputs must be input nodes such as ak.ImageInput(), ak.TextInput(), ak.StructuredDataInput()."
            )
        self.heads: list[Head] = output_heads(list(outputs) if isinstance(outputs, (list, tuple)) else [outputs])
        _name_nodes(self.inputs + self.heads)
        tuner_class(tuner)  # an unknown tuner fails here, before any data is read
        if loss_weighting not in (*MODES, "search"):
            raise InputError(f"loss_weighting={loss_weighting!r} is unknown; use one of {[*MODES, 'search']}.")
        if max_trials < 1:
            raise InputError(f"max_trials={max_trials}; use at least 1.")
        if ensemble_size < 1:
            raise InputError(f"ensemble_size={ensemble_size}; use at least 1 (1 keeps only the best trial).")
        self.directory = str(directory or os.path.join(tempfile.gettempdir(), "braid_auto_model"))
        wired = any(h.inputs for h in self.heads)
        frozen = [] if wired else plan(self.inputs, pretrained)
        self.graph = Graph(self.inputs, self.heads, frozen)
        self.raw_inputs = list(self.inputs)  # what the caller gives; `inputs` adds the hidden embedding inputs
        self.inputs = list(self.graph.inputs)
        self.embedder = Embedder(self.graph.frozen, Path(self.directory) / "_embeddings")
        self.loss_weights = resolve_weights([h.name for h in self.heads], loss_weights)
        self.project_name, self.max_trials, self.tuner_name = project_name, max_trials, tuner
        self.objective, self.overwrite, self.seed = objective, overwrite, seed
        self.max_model_size, self.time_budget, self.observers = max_model_size, time_budget, list(observers or [])
        self.loss_weighting, self.refit, self.learning_rate = loss_weighting, refit, learning_rate
        self.distribution_strategy, self.mixed_precision = distribution_strategy, mixed_precision
        self.precision_policy = _precision_policy(mixed_precision)  # a bad value fails here, before any data
        _check_strategy(distribution_strategy)
        self.ensemble_size, self.ensemble_picks = int(ensemble_size), {}
        self.refit_history: keras.callbacks.History | None = None
        self.validation_outputs: dict[str, np.ndarray] = {}
        self.served = HeadModels({}, None, {})
        self.workers = workers
        # Refits the picked trials elsewhere (`final_fit._refit`): the pipeline's data-parallel workers.
        self.refit_runner = None
        self.tuner: kt.Tuner | None = None
        self.model: keras.Model | None = None

    # ---------- fit ----------

    def fit(
        self,
        x: Any = None,
        y: Any = None,
        batch_size: int | None = None,
        epochs: int | None = None,
        callbacks: list | None = None,
        validation_split: float = 0.2,
        validation_data: Any = None,
        verbose: int = 1,
        class_weight: Any = None,
        **kwargs: Any,
    ):
        """Search for the best model on `(x, y)`, validating on `validation_data` or a `validation_split` of it.

        Args:
            x: arrays/DataFrames (a list in input order, a dict keyed by input
                names, or one for a single input), or a `tf.data.Dataset` of `(x, y)`.
            y: targets (list in head order, dict keyed by head names, or one); None with a dataset.
            batch_size: defaults to 32..128 by data size.
            epochs: epochs per trial (early stopping on the objective); 10 when None.
            callbacks: extra Keras callbacks for every trial.
            validation_split: fraction held out when no validation_data: rows drawn with a fixed seed,
                stratified on the first classification head (a dataset: its last rows, as Keras does).
            validation_data: `(x, y)` or a dataset.
            verbose: Keras verbosity.
            class_weight: "balanced" or `{label: weight}` for the single classification head,
                or `{head_name: ...}`; same as `ClassificationHead(class_weight=...)`.

        Returns:
            The Keras `History` of the best trial, with its validation metrics (rebuilt from its saved
            metrics when that trial ran before a resume); the refit's (training metrics only, on
            training + validation rows) is `refit_history`, None when there was no refit. Each
            head's outputs on the validation rows, from the chosen model before any refit, are
            `validation_outputs` (`{head name: array}`, in the validation data's row order). What each
            head predicts with, and why, is `head_choices`.
        """
        quiet_predict_retracing()  # the ensemble loads several trials' models, each traced once
        if kwargs:
            raise InputError(f"fit got unknown arguments {sorted(kwargs)}.")
        self._apply_class_weight(class_weight)
        epochs = int(epochs or 10)
        if self.seed is not None:
            # The shuffle order depends on the global seed too; a previous search in this process
            # (or any other code) must not change what this one sees.
            keras.utils.set_random_seed(self.seed)
        started = time.time()
        prepared = self._prepare(x, y, validation_split, validation_data, batch_size, epochs)
        feeds, hypermodel, analysis, val_rows = prepared
        objective = objective_for(self.objective, self.heads)
        train_ds, val_ds = feeds.light
        try:
            worker = distributed.role() == "worker"
            first, space = self._portfolio(hypermodel, analysis.rows) if not worker else ([], None)
            self.tuner = make_tuner(
                self.tuner_name,
                hypermodel,
                objective,
                self.max_trials,
                epochs,
                self.seed,
                self.directory,
                self.project_name,
                self.overwrite and not worker,  # the chief owns the folder
                self.max_model_size,
                self._strategy(),
                warm_start=self.warm_start + first,
                **self.tuner_kwargs,
            )
            if space is not None:
                self.tuner.oracle.update_space(space)  # hyperparameters only a portfolio choice activates
            deadline = started + self.time_budget if self.time_budget else None
            self.tuner.setup(
                self.observers,
                patience=3,
                deadline=deadline,
                workers=self.workers,
                keep=self.ensemble_size,
                restarts=self.refit and self.refit_runner is None,  # `final_fit._refit` here restarts kept models
            )
            self.tuner.search(
                train_ds, validation_data=val_ds, epochs=epochs, callbacks=list(callbacks or []), verbose=verbose
            )
            if worker:
                return None
            raise_if_all_failed(self.tuner)
            train_ds, val_ds = feeds.current()  # with the frozen vectors when any trial read them
            # The refit is skipped once a time budget is spent.
            refit = self.refit and (deadline is None or time.time() < deadline)
            done = final_fit(
                self.tuner,
                self.heads,
                self.inputs,
                self.ensemble_size,
                refit,
                train_ds,
                val_ds,
                analysis.rows + val_rows,
                verbose,
                self.refit_runner,
            )
            self.model, self.ensemble_picks, self.refit_history = done.model, done.picks, done.refit_history
            self.validation_outputs = done.validation_outputs
            self.served = choose_head_models(
                self.raw_inputs,
                self.heads,
                train_ds,
                val_ds,
                self.validation_outputs,
                self.head_models,
                seed=self.seed or 0,
                refit=refit,
            )
            history = self._best_history()
            self.embedder.fed = any(self.graph.reads_frozen(hps) for hps in done.used_hyperparameters)
        finally:
            if self.tuner is not None:  # the datasets' in-memory caches go with the fit
                self.tuner.hypermodel.feeds = None
        return history

    def _best_history(self) -> keras.callbacks.History:
        best = self.tuner.oracle.get_best_trials(1)[0]
        if best.trial_id in self.tuner.histories:
            return self.tuner.histories[best.trial_id]
        # A trial that ran before a resume, or in a search worker.
        history = keras.callbacks.History()
        history.set_model(self.model)
        history.history = self.tuner.trial_history(best.trial_id)
        history.epoch = list(range(max((len(v) for v in history.history.values()), default=0)))
        return history

    def trial_histories(self) -> dict[str, dict[str, list[float]]]:
        """Trial id → metric → per-epoch values, for every trial of the search (also those a resumed
        search ran before, or search workers ran)."""
        if self.tuner is None:
            return {}
        return {t.trial_id: self.tuner.trial_history(t.trial_id) for t in self.tuner.oracle.trials.values()}

    def _apply_class_weight(self, class_weight) -> None:
        if class_weight is None:
            return
        classifiers = [h for h in self.heads if isinstance(h, ClassificationHead)]
        names = {h.name for h in classifiers}
        if isinstance(class_weight, dict) and set(class_weight) <= names and class_weight:
            for head in classifiers:
                if head.name in class_weight:
                    head.class_weight = class_weight[head.name]
        elif len(classifiers) == 1:
            classifiers[0].class_weight = class_weight
        else:
            raise InputError(
                f"class_weight must be a dict keyed by classification head names {sorted(names)} when there are several."
            )

    def _training_data(self, x, y, validation_split, validation_data) -> tuple[tf.data.Dataset, tf.data.Dataset]:
        """The raw training and validation examples with the frozen vectors (what a trial that reads them sees)."""
        train, val = self._training_parts(x, y, validation_split, validation_data)
        return train.with_vectors(), val.with_vectors()

    def _training_parts(self, x, y, validation_split, validation_data) -> tuple[Part, Part]:
        """The raw training and validation examples (the frozen vectors are added when a trial reads them)."""
        if isinstance(x, tf.data.Dataset):
            if y is not None:
                raise InputError("y must be None when x is a tf.data.Dataset of (x, y) pairs.")
            train = data.from_tf_dataset(self.raw_inputs, self.heads, x, with_targets=True)
            if validation_data is None:
                rows = data.count(train)
                if rows == 0:
                    raise DataError("The training dataset is empty; give at least one example.")
                held = max(1, int(round(rows * validation_split)))
                if rows - held < 1:
                    raise DataError(
                        f"Only {rows} examples: too few to hold out a validation split; pass validation_data."
                    )
                return self.embedder.part_of_dataset(train.take(rows - held)), self.embedder.part_of_dataset(
                    train.skip(rows - held)
                )
            return self.embedder.part_of_dataset(train), self._validation(validation_data)
        if x is None or y is None:
            raise InputError("fit needs x and y (or a tf.data.Dataset of (x, y) as x).")
        other_y = (
            validation_data[1] if isinstance(validation_data, (tuple, list)) and len(validation_data) == 2 else None
        )
        xs, ys = data.from_arrays(self.raw_inputs, self.heads, x, y, fitting=True, other_y=other_y)
        if validation_data is None:
            (xs, ys), (vx, vy) = data.split_arrays(xs, ys, validation_split, self.heads)
            val = self.embedder.part_of_arrays(vx, vy)
        else:
            val = self._validation(validation_data)
        return self.embedder.part_of_arrays(xs, ys), val

    def _validation(self, validation_data) -> Part:
        if isinstance(validation_data, tf.data.Dataset):
            return self.embedder.part_of_dataset(
                data.from_tf_dataset(self.raw_inputs, self.heads, validation_data, with_targets=True)
            )
        if not isinstance(validation_data, (tuple, list)) or len(validation_data) != 2:
            raise InputError("validation_data must be (x, y) or a tf.data.Dataset of (x, y).")
        vx, vy = data.from_arrays(
            self.raw_inputs, self.heads, validation_data[0], validation_data[1], fitting=False, what="validation x"
        )
        return self.embedder.part_of_arrays(vx, vy)

    def _from_dataset(self, dataset: tf.data.Dataset, with_targets: bool) -> tf.data.Dataset:
        raw = data.from_tf_dataset(self.raw_inputs, self.heads, dataset, with_targets=with_targets)
        return self.embedder.map_dataset(raw, with_targets)

    def _prepare(self, x, y, validation_split, validation_data, batch_size, epochs):
        """The data analysed (input statistics, head classes) and the hypermodel every trial builds:
        `(feeds, hypermodel, training analysis, validation rows)`."""
        train, val = self._training_parts(x, y, validation_split, validation_data)
        # Like AutoKeras, heads learn their classes from every target given to fit, validation included.
        validation = data.analyse(self.raw_inputs, self.heads, val.raw, fitting=False, check=False)
        analysis = data.analyse(self.raw_inputs, self.heads, train.raw, fitting=True, other_targets=validation.targets)
        data.check_targets(self.heads, validation.targets)
        val_rows = validation.rows
        batch_size = batch_size or data.default_batch_size(analysis.rows)
        self._dry_build()
        feeds = Feeds(
            self.embedder,
            train,
            val,
            lambda train_raw, val_raw, fed: self._datasets(
                train_raw, val_raw, fed, analysis.rows, val_rows, batch_size
            ),
        )
        hypermodel = GraphHyperModel(
            self.graph,
            self.loss_weighting,
            self.loss_weights,
            self.seed,
            self.learning_rate,
            batch_size,
            min(analysis.rows, 10000),
        )
        hypermodel.total_steps = training.total_steps(analysis.rows, batch_size, epochs)
        hypermodel.feeds = feeds
        hypermodel.precision_policy = self.precision_policy
        return feeds, hypermodel, analysis, val_rows

    def refit_trials(
        self, x: Any, validation_data: Any, batch_size: int | None, epochs: int, jobs: list[dict], strategy: Any
    ) -> list[tuple[keras.Model, keras.callbacks.History]]:
        """The refit of `jobs` (`final_fit.refit_jobs`: a finished search's trials) under `strategy`, on
        the same data `fit` had: what one data-parallel worker runs (`AutoModel.refit_runner`).

        Args:
            x, validation_data, batch_size, epochs: as given to the search's `fit` (the same analysis,
                learning-rate schedule and examples: training + validation rows).
            jobs: per trial, its hyperparameters (config), refit epochs and batch size.
            strategy: where the models train (`multiworker.data_parallel_strategy()` in a worker).

        Returns:
            Per job, the trained training model (its `inner` is the plain model) and its history.
        """
        if self.seed is not None:
            keras.utils.set_random_seed(self.seed)
        feeds, hypermodel, analysis, val_rows = self._prepare(x, None, 0.2, validation_data, batch_size, epochs)
        done = []
        try:
            for job in jobs:
                hps = kt.HyperParameters.from_config(job["hyperparameters"])
                if self.graph.reads_frozen(hps):
                    feeds.feed()  # before the examples are read: this trial's model reads the frozen vectors
                examples = refit_examples(*feeds.current(), analysis.rows + val_rows).with_options(_by_data())
                done.append(refit_trial(hypermodel, hps, job["batch_size"], strategy, examples, job["epochs"], 0))
        finally:
            hypermodel.feeds = None
        return done

    def _arrays(self, x, y, fitting: bool = False, **kwargs: Any) -> tuple[dict, dict | None]:
        """Caller's arrays → raw examples keyed by input name, the hidden embedding inputs added."""
        xs, ys = data.from_arrays(self.raw_inputs, self.heads, x, y, fitting=fitting, **kwargs)
        return self.embedder.add(xs), ys

    def _datasets(self, train_raw, val_raw, fed: bool, rows: int, val_rows: int, batch_size: int):
        """Raw training and validation examples → (unbatched training, batched validation) datasets, with
        the frozen vectors when `fed` (their inputs then fitted on the training ones), else zeros in their place."""
        inputs = self.inputs if fed else self.raw_inputs
        if fed:  # the image features are standardised with their training statistics
            data.analyse([item.vector for item in self.graph.frozen], [], train_raw, fitting=True)
        val_ds = self._pipeline(val_raw, val_rows, inputs).batch(batch_size).map(self.embedder.fill)
        return self._pipeline(train_raw, rows, inputs), val_ds.prefetch(tf.data.AUTOTUNE)

    def _pipeline(self, raw, rows: int, inputs: list[InputNode]):
        """Raw examples → encoded, unbatched examples, cached in memory when they fit."""
        ds = data.encode(inputs, self.heads, raw)
        bytes_per_row = sum(4 * int(np.prod(n.shape or (1,))) if n.dtype != "string" else 256 for n in inputs)
        if rows * bytes_per_row < 2e9:
            ds = cached_in_chunks(ds)
        # Known cardinality lets Keras show progress and avoids "ran out of data" after unbatching.
        return ds.apply(tf.data.experimental.assert_cardinality(rows))

    def _dry_build(self) -> None:
        """Build once with default hyperparameters so wiring mistakes fail before any training."""
        try:
            self.graph.build(kt.HyperParameters())
        except BraidError:
            raise
        except Exception as error:
            raise InputError(f"The model graph cannot be built from these inputs and blocks: {error}") from None
        finally:
            keras.backend.clear_session()

    def _portfolio(self, hypermodel: GraphHyperModel, rows: int) -> tuple[list[dict], kt.HyperParameters | None]:
        """The portfolio's configurations for this data, fitted to this graph, and the space they span."""
        candidates = choose(data_facts(self.raw_inputs, rows), self.portfolio)
        configs, space = [], kt.HyperParameters()
        try:
            for candidate in candidates:
                fitted = resolve(candidate, self.graph.blocks, hypermodel.build_unfed)
                if fitted is not None:
                    configs.append(fitted[0])
                    space.merge(fitted[1].space)
        finally:
            keras.backend.clear_session()
        return configs, (space if configs else None)

    def _strategy(self):
        if self.distribution_strategy in (None, False):
            return None
        if self.distribution_strategy == "auto":
            gpus = tf.config.list_logical_devices("GPU")
            return tf.distribute.MirroredStrategy() if len(gpus) > 1 else None
        if self.distribution_strategy == "mirrored":
            # MirroredStrategy() alone takes every GPU, or one CPU device when there is none: name the
            # logical CPUs so that a CPU split into devices (`components.devices`) runs one replica each.
            devices = tf.config.list_logical_devices("GPU") or tf.config.list_logical_devices("CPU")
            return tf.distribute.MirroredStrategy(devices=[device.name for device in devices])
        return self.distribution_strategy  # a tf.distribute strategy (`_check_strategy`)

    @property
    def replicas(self) -> int | None:
        """How many replicas the trials this process trained ran on (1 without a distribution strategy);
        None before `fit`, or when no trial trained here (a distributed search's chief, a resumed search
        whose trials had all run)."""
        counts = getattr(self.tuner, "replicas", None) or {}
        return max(counts.values()) if counts else None

    # ---------- after the search ----------

    def _require_model(self) -> keras.Model:
        if self.model is None:
            raise InputError("Call fit before predict, evaluate or export_model.")
        return self.model

    def _raw_features(self, x) -> tf.data.Dataset:
        """The caller's inputs as raw, unbatched examples keyed by input name."""
        if isinstance(x, tf.data.Dataset):
            return self._from_dataset(x, with_targets=False)
        return tf.data.Dataset.from_tensor_slices(self._arrays(x, None)[0])

    def _batched(self, raw: tf.data.Dataset, batch_size: int) -> tf.data.Dataset:
        """Raw examples → the model's batched inputs."""
        inputs = self.embedder.inputs(self.inputs)
        return raw.map(lambda item: data.cast_inputs(inputs, item)).batch(batch_size).map(self.embedder.fill)

    def model_inputs(self, x: Any) -> dict:
        """Raw arrays / DataFrames → the dict the exported model takes (tables with categorical
        columns become string tensors, text a string vector), keyed by input names."""
        self._require_model()
        xs, _ = data.from_arrays(self.raw_inputs, self.heads, x, None, fitting=False)
        return {k: tf.constant(v) if v.dtype.kind == "U" else v for k, v in xs.items()}

    def predict(self, x: Any, batch_size: int = 32, verbose: int = 0, **kwargs: Any):
        """Predictions in the form the targets were given: labels for classification (ints or
        strings, `(N, 1)`), for multi-label a 0/1 matrix using the tuned thresholds, or one list of
        labels per row when `fit` got label lists; values in target units for regression.

        Returns:
            One array per head in head order (a list), or the array itself for a single head.
        """
        outputs = self._outputs(x, batch_size, verbose)
        decoded = [self._decoder(head).decode(out) for head, out in zip(self.heads, outputs)]
        return decoded if len(decoded) > 1 else decoded[0]

    def predict_proba(self, x: Any, batch_size: int = 32, verbose: int = 0):
        """Class probabilities: one column per class, in `head.classes` order (two columns for a
        binary head, one per label for multi-label); regression heads give their values.

        Returns:
            One array per head in head order (a list), or the array itself for a single head.
        """
        outputs = self._outputs(x, batch_size, verbose)
        probabilities = [
            head.probabilities(out) if isinstance(head, ClassificationHead) else out
            for head, out in zip(self.heads, outputs)
        ]
        return probabilities if len(probabilities) > 1 else probabilities[0]

    @property
    def head_choices(self) -> dict:
        """What each head predicts with after `fit` (`head_models`): `{head name: HeadChoice}`, whose
        `choice` is "network", "classical" or "blend", `network_weight` the network's share,
        `validation` the validation losses that chose it (`network_loss`, `classical_loss`, `blend_loss`,
        `blend_network_weight`), `classical` the classical model in words (or why there is none), and
        `explain()` all of it in one line."""
        return dict(self.served.choices)

    def _decoder(self, head: Head) -> Head:
        """The head that decodes the served outputs: a blended head's thresholds were tuned on the blend."""
        thresholds = self.served.thresholds.get(head.name)
        if thresholds is None:
            return head
        served = copy.copy(head)
        served.thresholds = thresholds
        return served

    def _outputs(self, x, batch_size: int, verbose: int) -> list[np.ndarray]:
        """Each head's served outputs: the network's, with the heads' classical models or blends applied."""
        model = self._require_model()
        raw = self._raw_features(x)
        if self.served.blend is not None and isinstance(x, tf.data.Dataset):
            raw = _in_memory(raw)  # one pass: a shuffling dataset would feed the two models different rows
        outputs = model.predict(self._batched(raw, batch_size), verbose=verbose)
        outputs = [np.asarray(out) for out in (outputs if isinstance(outputs, list) else [outputs])]
        if self.served.blend is None:
            return outputs
        rows, _ = read_rows(self.raw_inputs, raw)
        served = self.served.blend.apply({h.name: out for h, out in zip(self.heads, outputs)}, rows)
        return [np.asarray(served[h.name], out.dtype) for h, out in zip(self.heads, outputs)]

    def evaluate(
        self, x: Any, y: Any = None, batch_size: int = 32, verbose: int = 0, return_dict: bool = False, **kwargs: Any
    ):
        """The loss and metrics on `(x, y)`, like `keras.Model.evaluate`.

        Rows whose label is a class never seen in `fit` count as wrong (scored as the class the
        model finds least likely) and a warning says how many.

        Returns:
            `[loss, metric, ...]`: for one head the loss then its metrics; for several the total
            loss, each head's loss, then each head's metrics. A single value alone is returned as a
            scalar. With `return_dict=True` the dict of every logged value (`"combined_loss"`,
            `"<head>_loss"`, `"<head>_<metric>"`, ...).
        """
        model = self._require_model()
        if isinstance(x, tf.data.Dataset):
            raw = self._from_dataset(x, with_targets=True)
        else:
            xs, ys = self._arrays(x, y)
            raw = tf.data.Dataset.from_tensor_slices((xs, ys))
        if self.served.blend is not None and isinstance(x, tf.data.Dataset):
            raw = _in_memory(raw)  # the served outputs take a pass of their own: a reshuffle must not reorder it
        raw = self._score_unseen_classes_as_wrong(raw, batch_size)
        encoded = (
            data.encode(self.embedder.inputs(self.inputs), self.heads, raw).batch(batch_size).map(self.embedder.fill)
        )
        if self.served.blend is not None:
            model, encoded = self._served_model(raw, encoded, batch_size)
        wrapper = MultiTaskModel(model, self.heads, LossWeighting("static", self.loss_weights))
        wrapper.compile(optimizer="adam")
        logs = wrapper.evaluate(encoded, verbose=verbose, return_dict=True)
        logs = {k: float(v) for k, v in logs.items()}
        if return_dict:
            return logs
        names = ["loss"] if len(self.heads) == 1 else ["loss", *(f"{h.name}_loss" for h in self.heads)]
        names += [f"{h.name}_{m}" if isinstance(m, str) else m.name for h in self.heads for m in h.metric_list()]
        values = [logs[n] for n in names if n in logs]
        return values[0] if len(values) == 1 else values

    def _served_model(self, raw, encoded, batch_size: int) -> tuple[keras.Model, tf.data.Dataset]:
        """A model that passes the served outputs (the blend, computed outside Keras) through, and its
        data: those outputs with `encoded`'s targets, so they are scored by the network's own losses and
        metrics."""
        outputs = self._outputs(raw.map(lambda x, y: x), batch_size, verbose=0)
        inputs = {h.name: keras.Input(shape=out.shape[1:], name=h.name) for h, out in zip(self.heads, outputs)}
        passthrough = keras.Model(
            inputs, [keras.layers.Identity(name=f"{h.name}_served")(inputs[h.name]) for h in self.heads]
        )
        served = tf.data.Dataset.from_tensor_slices(
            {h.name: out.astype("float32") for h, out in zip(self.heads, outputs)}
        ).batch(batch_size)
        return passthrough, tf.data.Dataset.zip((served, encoded.map(lambda x, y: y)))

    def _score_unseen_classes_as_wrong(self, raw: tf.data.Dataset, batch_size: int) -> tf.data.Dataset:
        targets = data.analyse(self.embedder.inputs(self.inputs), self.heads, raw, fitting=False, check=False).targets
        unseen = {h.name: h.unknown_rows(targets[h.name]) for h in self.heads if isinstance(h, ClassificationHead)}
        unseen = {name: rows for name, rows in unseen.items() if rows.any()}
        if not unseen:
            data.check_targets(self.heads, targets)
            return raw
        outputs = self._outputs(raw.map(lambda x, y: x), batch_size, verbose=0)
        for name, rows in unseen.items():
            head = next(h for h in self.heads if h.name == name)
            least_likely = head.probabilities(outputs[self.heads.index(head)]).argmin(axis=1)
            labels = targets[name].reshape(len(rows), -1)[:, 0].astype(object)
            sample = [v.item() if isinstance(v, np.generic) else v for v in labels[rows][:3]]
            labels[rows] = np.asarray(head.classes, dtype=object)[least_likely[rows]]
            kind = str if head.label_kind == "lookup" and isinstance(head.classes[0], str) else None
            targets[name] = labels.astype(kind or targets[name].dtype).reshape(targets[name].shape)
            warnings.warn(
                f"Head {name!r}: {int(rows.sum())} rows have labels never seen in fit "
                f"(e.g. {sample}); they count as wrong.",
                stacklevel=3,
            )
        data.check_targets(self.heads, targets)
        return tf.data.Dataset.zip((raw.map(lambda x, y: x), tf.data.Dataset.from_tensor_slices(targets)))

    def export_model(self) -> keras.Model:
        """The best model as a plain keras.Model taking raw inputs (named after the input nodes)
        and returning probabilities / values in target units; save it with `model.save("m.keras")`.

        It is the searched network alone: a head that `head_choices` serves with the classical model
        or a blend predicts differently in `predict` than in the exported model (the classical models
        are scikit-learn's, outside Keras; `head_models="network"` makes the two agree).

        With frozen pretrained encoders (`pretrained`), the encoders run inside the exported model
        (reloading it needs `import components` for their layers)."""
        return self.embedder.export(self._require_model(), self.raw_inputs)

    def leaderboard(self) -> list[dict]:
        """Every trial, best first: `{"trial_id", "status", "score", "hyperparameters", "warm"}`
        (`warm`: the trial ran one of `warm_start`'s configurations)."""
        if self.tuner is None:
            return []
        trials = list(self.tuner.oracle.trials.values())
        sign = 1 if self.tuner.oracle.objective.direction == "min" else -1
        warm = set(warm_trial_ids(self.tuner.oracle))
        rows = [
            {
                "trial_id": t.trial_id,
                "status": str(t.status),
                "score": None if t.score is None else float(t.score),
                "hyperparameters": dict(t.hyperparameters.values),
                "warm": t.trial_id in warm,
            }
            for t in trials
        ]
        return sorted(rows, key=lambda r: (r["score"] is None, sign * (r["score"] or 0.0)))


def _by_data() -> tf.data.Options:
    """Each worker of a multi-worker strategy keeps its share of every batch (the policy `AUTO` would split
    the shard files among the workers instead, which fails with fewer files than workers and otherwise
    gives them unequal row counts)."""
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return options


CACHE_CHUNK_ROWS = 1024


def cached_in_chunks(examples: tf.data.Dataset) -> tf.data.Dataset:
    """`examples` cached in memory as chunks of `CACHE_CHUNK_ROWS` rows, read back one example at a time: the
    same examples in the same order as `examples.cache()`, at a fraction of its memory. A cache of single
    examples holds one tensor per feature and row, ~3 KB a row for 20 scalar columns (100 bytes of data);
    in chunks, ~250 bytes (`benchmarks/README.md`, "scale"). Examples whose shapes vary are cached one by one."""
    if not all(spec.shape.is_fully_defined() for spec in tf.nest.flatten(examples.element_spec)):
        return examples.cache()
    return examples.batch(CACHE_CHUNK_ROWS).cache().unbatch()


def _in_memory(dataset: tf.data.Dataset) -> tf.data.Dataset:
    """A dataset of examples (dicts, or `(x, y)` pairs of dicts) read once into memory, so every later pass
    sees the same rows in the same order (an empty one is returned as it is)."""
    batches = list(dataset.batch(4096).as_numpy_iterator())
    if not batches:
        return dataset
    return tf.data.Dataset.from_tensor_slices(tf.nest.map_structure(lambda *parts: np.concatenate(parts), *batches))


_POLICIES = {"float16": "mixed_float16", "bfloat16": "mixed_bfloat16"}


def _precision_policy(mixed_precision: Any) -> str | None:
    """The Keras policy `mixed_precision` names (None: float32)."""
    if mixed_precision is None or mixed_precision is False:
        return None
    if mixed_precision is True:  # AutoKeras' meaning, and Braid's before bfloat16
        return "mixed_float16"
    name = str(mixed_precision).removeprefix("mixed_")
    if name not in _POLICIES:
        raise InputError(
            f"mixed_precision={mixed_precision!r}; use False, True or 'float16' (GPUs), or 'bfloat16' (CPUs, TPUs)."
        )
    return _POLICIES[name]


def _check_strategy(strategy: Any) -> None:
    if strategy in (None, False, "auto", "mirrored") or isinstance(strategy, tf.distribute.Strategy):
        return
    raise InputError(f"distribution_strategy={strategy!r}; use None, 'auto', 'mirrored' or a tf.distribute strategy.")


def _check_warm_start(warm_start: Any) -> list[dict]:
    if warm_start is None:
        return []
    if isinstance(warm_start, dict) or not isinstance(warm_start, (list, tuple)):
        raise InputError(
            f"warm_start must be a list of hyperparameter dicts, best first (e.g. "
            f"[row['hyperparameters'] for row in leaderboard]); got {type(warm_start).__name__}."
        )
    for position, values in enumerate(warm_start):
        if not isinstance(values, dict):
            raise InputError(
                f"warm_start[{position}] is a {type(values).__name__}; each item must be a dict of "
                "hyperparameter name → value (a trial's hyperparameters.values)."
            )
    return [dict(values) for values in warm_start]


def _name_nodes(items: list) -> None:
    names = [i.name for i in items if i.name]
    if len(names) != len(set(names)):
        raise InputError(f"Input and head names must be unique; got {names}.")
    for name in names:
        if "/" in name:
            raise InputError(f"Name {name!r} may not contain '/'.")
    name_unnamed(items, set(names))
