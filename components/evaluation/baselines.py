"""Trivial baselines per task, fitted on the train targets: what "no better than guessing" scores."""

from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np
from sklearn import metrics as skm

from components.errors import InputError
from components.evaluation.metrics import TASKS, TaskReport, _as_float, _class_indices, evaluate_task


def baseline_report(
    task: str,
    y_train: Any,
    y_test: Any,
    *,
    classes: Sequence[str] | None = None,
    labels: Sequence[str] | None = None,
) -> TaskReport:
    """Scores a trivial predictor fitted on the train targets, with the metrics of `evaluate_task`.

    - classification: the train class frequencies (Laplace-smoothed, so log loss stays finite) as
      the probabilities of every row; their argmax is the majority class.
    - multilabel: whichever of "predict each label whose train prevalence > 0.5" and "predict the
      k most frequent labels, k = round(mean labels per train row)" has the higher micro-F1 on the
      train targets (chosen on train, never on test).
    - regression: the train mean of each output.

    Args:
        task: "classification", "multilabel" or "regression".
        y_train: train targets, in the form `evaluate_task` takes for y_true.
        y_test: test targets, same form.
        classes: class names (classification); their count fixes C.
        labels: label names (multilabel) or output names (regression).

    Returns:
        A `TaskReport` whose `notes` name the baseline.
    """
    if task == "classification":
        n_classes = len(classes) if classes is not None else None
        train = _class_indices(y_train, n_classes, classes, "y_train")
        test = _class_indices(y_test, n_classes, classes, "y_test")
        if n_classes is None:
            n_classes = int(max(train.max(initial=0), test.max(initial=0))) + 1
        counts = np.bincount(train, minlength=n_classes).astype(float)
        prior = (counts + 1.0) / (counts.sum() + n_classes)
        proba = np.tile(prior, (len(test), 1))
        report = evaluate_task("classification", test, proba, classes=classes)
        note = f"baseline: majority class {report.names[int(prior.argmax())]!r} (train frequencies)"
    elif task == "multilabel":
        train = _as_float(y_train, "y_train")
        test = _as_float(y_test, "y_test")
        if train.ndim != 2 or test.ndim != 2 or train.shape[1] != test.shape[1]:
            raise InputError(
                f"multilabel y_train and y_test must be [N, L] with the same L; got {train.shape} and {test.shape}"
            )
        rule, chosen = _multilabel_baseline(train)
        proba = np.tile(chosen.astype(float), (len(test), 1))
        report = evaluate_task("multilabel", test, proba, labels=labels)
        note = f"baseline: {rule}"
    elif task == "regression":
        train = _as_float(y_train, "y_train")
        test = _as_float(y_test, "y_test")
        train = train.reshape(len(train), -1)
        if train.shape[1] != test.reshape(len(test), -1).shape[1]:
            raise InputError(f"y_train has {train.shape[1]} output(s) but y_test has a different count")
        mean = train.mean(axis=0)
        pred = np.tile(mean, (len(test), 1)).reshape(np.shape(test))
        report = evaluate_task("regression", test, pred, labels=labels)
        note = "baseline: train mean " + ", ".join(f"{m:.4g}" for m in mean)
    else:
        raise InputError(f"unknown task {task!r}; expected one of {', '.join(TASKS)}")
    return TaskReport(
        report.task,
        report.metrics,
        report.n_samples,
        report.names,
        confusion_matrix=report.confusion_matrix,
        per_label_f1=report.per_label_f1,
        notes=(note, *report.notes),
    )


def _multilabel_baseline(train: np.ndarray) -> tuple[str, np.ndarray]:
    if len(train) == 0:
        raise InputError("y_train is empty; a baseline needs train targets")
    prevalence = train.mean(axis=0)
    by_prevalence = prevalence > 0.5
    k = int(min(math.floor(train.sum(axis=1).mean() + 0.5), train.shape[1]))
    top_k = np.zeros(train.shape[1], dtype=bool)
    # stable sort so ties go to the earlier label, the same on every run
    top_k[np.argsort(-prevalence, kind="stable")[:k]] = True
    truth = train.astype(int)

    def train_f1(row: np.ndarray) -> float:
        hat = np.tile(row.astype(int), (len(truth), 1))
        return float(skm.f1_score(truth, hat, average="micro", zero_division=0))

    if train_f1(top_k) > train_f1(by_prevalence):
        return f"top-{k} most frequent labels", top_k
    return "labels with train prevalence > 0.5", by_prevalence
