"""Ensembles of the search's best trials: Caruana-style greedy selection, per head, into one model.

Caruana et al. (2004), "Ensemble Selection from Libraries of Models": start from nothing and
repeatedly add (with replacement) the member whose addition most lowers the validation loss of the
average; the counts are the members' weights. Selection is per head, so each head takes the trials
that predict it best — in a multi-task search the trial with the best combined objective is rarely
the best at every head — and may end up with a single trial's output.

The result is one plain keras.Model: every chosen member runs on the same raw inputs and each head
is the weighted average of its members' outputs, under a layer named after the head (classification
heads keep their classes and thresholds), so it exports and loads like a single trial's model.
"""

from __future__ import annotations

import copy

import keras
import numpy as np
import tensorflow as tf
from sklearn.metrics import f1_score

from components.automl.heads import ClassificationHead, ClassificationOutput, Head
from components.features import multilabel

EPSILON = 1e-7
# Validation sets up to this many rows and input bytes are predicted in one eager call of the model:
# `Model.predict` traces a predict function first (0.3-0.5 s on 2 cores for the seed tutorial's model),
# which costs more than it saves on a few batches.
EAGER_ROWS = 512
EAGER_BYTES = 64 * 2**20


def head_loss(head: Head, truth: np.ndarray, predicted: np.ndarray) -> float:
    """The head's validation loss on encoded targets (rows with a target only): log loss for a classification
    head; for a regression head its primary metric, the mean absolute error, in target standard deviations
    (the trees fit it; the network's squared error would favour the mean where the median scores better)."""
    predicted = np.asarray(predicted, "float64")
    if isinstance(head, ClassificationHead):
        p = np.clip(predicted, EPSILON, 1 - EPSILON)
        if head.multi_label or head.binary:
            y = truth.reshape(p.shape).astype("float64")
            return float(np.mean(-(y * np.log(p) + (1 - y) * np.log(1 - p))))
        index = truth.reshape(-1).astype("int64")
        known = index >= 0
        return float(np.mean(-np.log(p[known, index[known]]))) if known.any() else 0.0
    y = truth.reshape(predicted.shape).astype("float64")
    known = np.all(np.isfinite(y), axis=-1)
    std = np.asarray(head.std, "float64")
    return float(np.mean(np.abs((y[known] - predicted[known]) / std))) if known.any() else 0.0


def choice_loss(head: Head, truth: np.ndarray, predicted: np.ndarray) -> float:
    """What a head's served model (network, classical model or their blend) is chosen by on validation rows:
    `head_loss`, except for a multi-label head, whose decision is thresholded: 1 - micro-F1 at thresholds
    tuned on these rows for these outputs (`ClassificationHead.tune_thresholds`), as they will be served.

    Log loss rewards calibration that the tuned thresholds make moot: on the suite it kept demo's `tags`
    on the classical model and movies' `genres` on the network, while at tuned thresholds the network
    and a blend scored higher on test (benchmarks/README.md, "suite")."""
    if not (isinstance(head, ClassificationHead) and head.multi_label):
        return head_loss(head, truth, predicted)
    truth = np.asarray(truth).reshape(np.shape(predicted)) > 0.5
    predicted = np.asarray(predicted, "float64")
    tuned = copy.copy(head)
    tuned.tune_thresholds(truth.astype("float64"), predicted)
    decided = multilabel.decide(predicted, tuned.thresholds)
    return 1.0 - float(f1_score(truth, decided, average="micro", zero_division=0))


def choice_criterion(head: Head) -> str:
    """`choice_loss` of this head in words (for `HeadChoice.explain`)."""
    if isinstance(head, ClassificationHead) and head.multi_label:
        return "1 - micro-F1 at tuned thresholds"
    return "log loss" if isinstance(head, ClassificationHead) else "MAE in standard deviations"


def select(head: Head, truth: np.ndarray, candidates: list[np.ndarray], size: int) -> list[int]:
    """Greedy ensemble selection with replacement: `size` picks of candidate indices (repeats allowed)."""
    picks: list[int] = []
    total = np.zeros_like(np.asarray(candidates[0], "float64"))
    best_loss = np.inf
    for _ in range(size):
        losses = [head_loss(head, truth, (total + c) / (len(picks) + 1)) for c in candidates]
        choice = int(np.argmin(losses))
        if picks and losses[choice] >= best_loss - 1e-9:
            break  # no member improves the average any more
        picks.append(choice)
        total = total + candidates[choice]
        best_loss = losses[choice]
    return picks


def outputs_on(model: keras.Model, val_ds) -> list[np.ndarray]:
    """`model`'s outputs on the features of `val_ds` (batched `(x, y)`), one array per output, in the data's
    row order: a few rows (`EAGER_ROWS`, `EAGER_BYTES`) in one eager call, more through `Model.predict`."""
    batches, rows, size = [], 0, 0
    for x, _ in val_ds:
        batches.append(x)
        rows += int(tf.shape(next(iter(x.values())))[0])
        size += sum(int(tf.size(v)) * (256 if v.dtype == tf.string else v.dtype.size) for v in x.values())
        if rows > EAGER_ROWS or size > EAGER_BYTES:
            batches = []
            break
    if batches:
        out = model({name: tf.concat([b[name] for b in batches], 0) for name in batches[0]}, training=False)
    else:  # too many rows, or none
        out = model.predict(val_ds.map(lambda x, y: x), verbose=0)
    return [np.asarray(o) for o in (out if isinstance(out, (list, tuple)) else [out])]


def combine(members: list[keras.Model], heads: list[Head], picks: dict[str, list[int]], inputs: list) -> keras.Model:
    """One functional model whose head `h` averages `members[i]` outputs for `i` in `picks[h]`."""
    tensors = [node.keras_input() for node in inputs]
    used = sorted({i for chosen in picks.values() for i in chosen})
    outputs = {}
    for i in used:
        members[i].name = f"member_{i}"  # every trial's model is "functional"; nested names must differ
        result = members[i](tensors if len(tensors) > 1 else tensors[0])
        outputs[i] = result if isinstance(result, (list, tuple)) else [result]
    final = []
    for position, head in enumerate(heads):
        chosen = picks[head.name]
        parts = [outputs[i][position] for i in chosen]
        x = parts[0] if len(parts) == 1 else keras.layers.Average(name=f"{head.name}_ensemble")(parts)
        if isinstance(head, ClassificationHead):
            final.append(
                ClassificationOutput(head.classes, head.multi_label, head.thresholds, name=head.name, dtype="float32")(
                    x
                )
            )
        else:
            final.append(keras.layers.Identity(name=head.name, dtype="float32")(x))
    return keras.Model(tensors, final, name="ensemble")


def ensemble(
    members: list[keras.Model], heads: list[Head], inputs: list, val_ds, size: int
) -> tuple[keras.Model, dict, list[np.ndarray]]:
    """Select per head among `members` on `val_ds` (encoded `(x, y)` batches) and combine them.

    Returns:
        The combined model (the single best member when every head picks only it), the picks, and the
        combined model's outputs on `val_ds` per head, in head order (averaged here from the members'
        predictions: a `predict` of the combined model would trace it once more for the same numbers).
    """
    truth = {h.name: [] for h in heads}
    for _, y in val_ds.as_numpy_iterator():
        for head in heads:
            truth[head.name].append(y[head.name])
    truth = {k: np.concatenate(v) for k, v in truth.items()}
    predictions = [outputs_on(member, val_ds) for member in members]
    picks, outputs = {}, []
    for position, head in enumerate(heads):
        candidates = [np.asarray(p[position], "float64") for p in predictions]
        picks[head.name] = select(head, truth[head.name], candidates, size)
        # what `combine`'s Average layer computes: a member picked twice counts twice
        chosen = np.mean([candidates[i] for i in picks[head.name]], axis=0)
        outputs.append(chosen.astype(np.asarray(predictions[0][position]).dtype))
    if all(chosen == [0] for chosen in picks.values()):
        return members[0], picks, outputs
    return combine(members, heads, picks, inputs), picks, outputs
