"""The library's per-head choice of the searched network, a gradient-boosted model of the same table, or
their blend (`AutoModel(head_models=...)`), by the pipeline's rule (`components.evaluation.blend`).

With a `StructuredDataInput` among the inputs, each head gets the classical model
(`components.evaluation.classical`: HistGradientBoosting on the table's numbers, dates and categories;
one-vs-rest logistic regression for multi-label heads, with the text inputs' TF-IDF) fitted on the
training rows the search used, and keeps the network, the classical model or their blend by its loss on
the validation rows (`ensemble.choice_loss`), against the network's outputs from before the refit.
Without a table the heads keep the network: images and text alone are the network's ground.

The classical model reads a frame of raw columns: one per table column, named `<input>/<column>`, and
one per text input, named after it (`raw_rows`), from what the AutoModel's datasets carry.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from functools import partial

import numpy as np
import pandas as pd
import tensorflow as tf

from components.automl.ensemble import choice_criterion, choice_loss
from components.automl.heads import ClassificationHead, Head
from components.automl.nodes import CATEGORICAL, DATETIME, NUMERICAL, InputNode, StructuredDataInput, TextInput
from components.evaluation.blend import Blend, HeadChoice, choose_head_model
from components.evaluation.classical import ClassicalColumns

# HistGradientBoosting keeps at least 20 rows per leaf: below twice that it cannot split and predicts the
# training prior, a constant that a tiny validation split may prefer to the network by chance.
MIN_ROWS = 40


@dataclass(frozen=True)
class HeadModels:
    """What `choose_head_models` returns: each head's choice, the blend `predict` applies (None when every
    head keeps the network) and the decision thresholds tuned on the blended validation outputs."""

    choices: dict[str, HeadChoice]
    blend: Blend | None
    thresholds: dict[str, list[float]]


def classical_columns(inputs: list[InputNode]) -> ClassicalColumns | None:
    """The raw columns the classical model reads (see the module), None when no input is a table."""
    tables = [node for node in inputs if isinstance(node, StructuredDataInput)]
    if not tables:
        return None
    kinds = {NUMERICAL: [], CATEGORICAL: [], DATETIME: []}
    for node in tables:
        for column in node.column_names:
            kinds[node.column_types[column]].append(f"{node.name}/{column}")
    return ClassicalColumns(
        texts=tuple(node.name for node in inputs if isinstance(node, TextInput)),
        numbers=tuple(kinds[NUMERICAL]),
        dates=tuple((column, None) for column in kinds[DATETIME]),  # the adapters write ISO dates
        categories=tuple(kinds[CATEGORICAL]),
    )


def raw_rows(inputs: list[InputNode], x: dict[str, np.ndarray]) -> pd.DataFrame:
    """The table and text inputs' raw values (`{input name: array}`, as the datasets carry them) as the
    frame the classical model reads; an empty cell of a category or date column is missing."""
    frame = {}
    for node in inputs:
        if isinstance(node, StructuredDataInput):
            values = _strings(x[node.name]) if node.is_string else np.asarray(x[node.name], np.float64)
            for i, column in enumerate(node.column_names):
                cells = values[:, i]
                if node.is_string and node.column_types[column] != NUMERICAL:
                    cells = np.where(cells == "", None, cells)
                frame[f"{node.name}/{column}"] = cells
        elif isinstance(node, TextInput):
            frame[node.name] = _strings(x[node.name]).reshape(-1)
    return pd.DataFrame(frame)


def read_rows(
    inputs: list[InputNode], dataset: tf.data.Dataset, batch: int | None = 4096
) -> tuple[pd.DataFrame, dict | None]:
    """The classical model's frame (`raw_rows`) of a dataset of `x` dicts or `(x, y)` pairs, and its
    targets as arrays (None without); `batch` batches an unbatched dataset first (None: it is batched)."""
    names = [node.name for node in inputs if isinstance(node, (StructuredDataInput, TextInput))]
    if batch is not None:
        dataset = dataset.batch(batch)
    xs, ys = {name: [] for name in names}, None
    for element in dataset.as_numpy_iterator():
        x, y = element if isinstance(element, tuple) else (element, None)
        for name in names:
            xs[name].append(x[name])
        if y is not None:
            ys = ys or {key: [] for key in y}
            for key, value in y.items():
                ys[key].append(value)
    rows = raw_rows(inputs, {name: np.concatenate(parts) for name, parts in xs.items()})
    return rows, None if ys is None else {key: np.concatenate(parts) for key, parts in ys.items()}


def choose_head_models(
    inputs: list[InputNode],
    heads: list[Head],
    train_ds: tf.data.Dataset,
    val_ds: tf.data.Dataset,
    network_val: dict[str, np.ndarray],
    mode: str,
    seed: int = 0,
    refit: bool = True,
) -> HeadModels:
    """Per head, the network, the classical model or their blend, chosen on the validation rows.

    Args:
        inputs: the AutoModel's input nodes, fitted (their column names and types).
        heads: its fitted heads.
        train_ds: the encoded training examples the search used, unbatched.
        val_ds: the encoded validation examples, batched, in the order of `network_val`.
        network_val: each head's network outputs on the validation rows, from before any refit.
        mode: "auto", "network", "classical" or "blend" (`evaluation.blend.choose`).
        seed: seeds the classical models.
        refit: refit a served classical model on training + validation rows.
    """
    columns = classical_columns(inputs)
    if mode == "network" or columns is None:
        why = "not tried (head_models='network')" if mode == "network" else "none (no StructuredDataInput)"
        return HeadModels({h.name: HeadChoice("network", 1.0, classical=why) for h in heads}, None, {})
    train_rows, train_y = read_rows(inputs, train_ds)
    val_rows, val_y = read_rows(inputs, val_ds, batch=None)
    train, val = columns.inputs(train_rows), columns.inputs(val_rows)
    every = columns.inputs(pd.concat([train_rows, val_rows], ignore_index=True))
    choices, models, thresholds = {}, {}, {}
    for head in heads:
        task, y_train, known_train = _classical_targets(head, train_y[head.name])
        _, y_val, known_val = _classical_targets(head, val_y[head.name])
        if task == "classification":  # a class the training rows lack counts for neither model, as in the pipeline
            known_val &= np.isin(y_val, y_train[known_train])
        why = _no_classical_model(head, task, y_train[known_train])
        if why:
            choices[head.name] = HeadChoice("network", 1.0, classical=why)
            continue
        y_all, known_all = np.concatenate([y_train, y_val]), np.concatenate([known_train, known_val])
        served = choose_head_model(
            task,
            partial(choice_loss, head),
            train.take(known_train),
            y_train[known_train],
            val,
            val_y[head.name],
            known_val,
            network_val[head.name],
            mode,
            seed=seed,
            n_classes=len(head.classes) if task == "classification" else 0,
            columns=columns,
            refit_on=(every.take(known_all), y_all[known_all]) if refit else None,
            criterion=choice_criterion(head),
        )
        choices[head.name] = served.choice
        if served.model is None:
            continue
        models[head.name] = served.model
        if isinstance(head, ClassificationHead) and head.tunes_thresholds:
            # the blend's probabilities need thresholds of their own; the network keeps its own
            thresholds[head.name] = copy.copy(head).tune_thresholds(val_y[head.name], served.outputs)
    return HeadModels(choices, Blend(choices, models) if models else None, thresholds)


def _classical_targets(head: Head, y: np.ndarray) -> tuple[str, np.ndarray, np.ndarray]:
    """A head's task, its encoded targets in the classical model's form (class indices, multi-hot ints,
    one value per row) and the rows that have one."""
    if isinstance(head, ClassificationHead) and head.multi_label:
        return "multilabel", y.astype(np.int64), np.ones(len(y), bool)
    if isinstance(head, ClassificationHead):
        index = y.reshape(len(y), -1)[:, 0]
        return "classification", index.astype(np.int64), index >= 0
    values = y.reshape(len(y), -1).astype(np.float64)
    return "regression", values[:, 0], np.isfinite(values).all(axis=1)


def _no_classical_model(head: Head, task: str, y_train: np.ndarray) -> str:
    """Why the head gets no classical model ("" when it does)."""
    if task == "regression" and len(getattr(head, "mean", [])) > 1:
        return "none (a regression head with several outputs)"
    if task == "classification" and len(np.unique(y_train)) < 2:
        return "none (one class in the training rows)"
    if len(y_train) < MIN_ROWS:
        return f"none (fewer than {MIN_ROWS} training rows with a target)"
    return ""


def _strings(values: np.ndarray) -> np.ndarray:
    """bytes (as tf.data gives strings) → str, in an object array of the same shape."""
    flat = [v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v) for v in np.asarray(values).reshape(-1)]
    return np.asarray(flat, dtype=object).reshape(np.shape(values))
