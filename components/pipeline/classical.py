"""The classical model a user would try first, per head, fitted on the same split as the network
(`components.evaluation.classical`): an honest "is this model worth it" beside every test metric."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from components import evaluation
from components.data.contract import Contract
from components.evaluation.classical import (
    ClassicalColumns,
    ClassicalFit,
    ClassicalInputs,
    ClassicalModel,
    fit_classical,
)


def classical_columns(contract: Contract) -> ClassicalColumns:
    """The raw columns the classical models read: texts, numbers, dates (raw timestamp, month, day of
    year and of week, hour), categories, series (summary numbers per channel) and audio (MFCC means and
    stds, level, centroid); images are left out."""
    return ClassicalColumns(
        texts=tuple(f.name for f in contract.features_of("text")),
        numbers=tuple(f.name for f in contract.features_of("numerical")),
        dates=tuple((f.name, f.datetime_format) for f in contract.features_of("datetime")),
        categories=tuple(f.name for f in contract.features_of("categorical")),
        series=tuple((f.name, f.channels) for f in contract.features_of("timeseries")),
        audio=tuple((f.name, f.sample_rate, f.max_seconds) for f in contract.features_of("audio")),
    )


def classical_inputs(contract: Contract, rows: pd.DataFrame) -> ClassicalInputs:
    """The classical models' features of raw rows (audio paths read under the contract's media root)."""
    return classical_columns(contract).inputs(media_located(contract, rows))


def media_located(contract: Contract, rows: pd.DataFrame) -> pd.DataFrame:
    """`rows` with each audio cell as its bytes or the checked path of its file under the media root (None
    where it names no usable file), as the classical model reads them."""
    from components.data.images import ImageProblem, locate, normalized_root

    features = [f.name for f in contract.features_of("audio") if f.name in rows.columns]
    if not features:
        return rows
    root = normalized_root(contract.source.image_base)
    rows = rows.copy()
    for name in features:
        located = []
        for cell in rows[name].astype(object):
            try:
                located.append(locate(cell, root))
            except ImageProblem:
                located.append(None)
        rows[name] = pd.Series(located, index=rows.index, dtype=object)
    return rows


def classical_reports(
    contract: Contract,
    state: Any,
    train_split: Callable[[], tuple[pd.DataFrame, dict[str, np.ndarray]]],
    test_rows: pd.DataFrame,
    truth: dict[str, np.ndarray],
    unseen: dict[str, np.ndarray],
    seed: int,
    models: dict[str, ClassicalModel] | None = None,
) -> tuple[dict[str, evaluation.TaskReport], dict[str, str]]:
    """Each head's classical model scored on the test rows the network was scored on, and its recipe
    (`unseen`: per head, the rows of a class the train split lacks, which count as wrong, as for the network).

    `models`: heads' classical models already fitted on these training rows with this seed (the head
    choice's, `Trained.classical_path`); the other heads are fitted here on `train_split()` (the training
    rows and their encoded targets), which is read only when some head needs it."""
    models = models or {}
    test = classical_inputs(contract, test_rows)
    train = train_truth = None
    reports, recipes = {}, {}
    for spec, codec, fitted in state.target_specs():
        y_true = truth[spec.name]
        known = codec.known(y_true) | unseen[spec.name]
        if spec.name in models:
            model = models[spec.name]
            fit = ClassicalFit(spec.task, model.predict(test.take(known)), model.description)
        else:
            if train is None:
                train_rows, train_truth = train_split()
                train = classical_inputs(contract, train_rows)
            y_train = train_truth[spec.name]
            known_train = codec.known(y_train)
            fit = fit_classical(spec.task, train.take(known_train), y_train[known_train], test.take(known), seed=seed)
        y_pred = fit.y_pred
        kwargs = dict(codec.evaluate_kwargs(fitted))
        if spec.task == "classification":  # classes absent from train get no column: give them 0
            width = len(kwargs["classes"])
            y_pred = np.pad(y_pred, ((0, 0), (0, width - y_pred.shape[1])))
        if fit.threshold is not None:
            kwargs["thresholds"] = fit.threshold
        y_true = codec.as_wrong(y_true[known], y_pred, unseen[spec.name][known])
        reports[spec.name] = evaluation.evaluate_task(spec.task, y_true, y_pred, **kwargs)
        recipes[spec.name] = fit.description
    return reports, recipes


def beats(
    reports: dict[str, evaluation.TaskReport],
    others: dict[str, evaluation.TaskReport],
    state: Any,
    strict: bool = False,
) -> dict[str, bool]:
    """Per head: whether the model's primary metric is at least the other model's (`strict`: better)."""
    out = {}
    for spec, codec, fitted in state.target_specs():
        metric = codec.primary(fitted)
        model, other = reports[spec.name].metrics[metric], others[spec.name].metrics[metric]
        if strict:
            out[spec.name] = bool(model > other if evaluation.higher_is_better(metric) else model < other)
        else:
            out[spec.name] = bool(model >= other if evaluation.higher_is_better(metric) else model <= other)
    return out
