"""Per-task metrics (scikit-learn underneath), their direction, and the scores that compare models.

`evaluate_task` scores one head; `normalized_score` puts a head on a 0 (its trivial baseline) to 1
(perfect) scale; `combined_score` averages that over heads.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sklearn import metrics as skm

from components.errors import InputError

TASKS = ("classification", "multilabel", "regression")
PRIMARY_METRIC = {"classification": "accuracy", "multilabel": "micro_f1", "regression": "mae"}
# Metrics where a smaller value is better; every other metric Braid reports is better when higher.
LOWER_IS_BETTER = frozenset({"mae", "rmse", "log_loss", "hamming_loss"})


def higher_is_better(metric: str) -> bool:
    """Whether a larger value of `metric` ("accuracy", "mae", "mae_<output>", ...) is better."""
    base = metric.rsplit("/", 1)[-1]
    return not (base in LOWER_IS_BETTER or base.startswith("mae_"))


_EPS = 1e-15


@dataclass(frozen=True)
class TaskReport:
    """Metrics of one head on one split.

    Args:
        task: "classification", "multilabel" or "regression".
        metrics: flat `{name: float}`, ready for `mlflow.log_metrics` ("accuracy", "macro_f1",
            "f1_<label>", "mae"...). Every value is finite: a metric that cannot be computed on
            this data is left out and `notes` says why.
        n_samples: rows scored.
        names: class names (classification), label names (multilabel) or output names (regression).
        confusion_matrix: `[C, C]` counts, rows = true class, columns = predicted (classification).
        per_label_f1: `[L]` F1 per label (multilabel).
        per_class: classification: class → `{"precision", "recall", "f1", "support"}` (support: rows
            of that class), what a single accuracy hides when one class is rare.
        notes: human-readable remarks (skipped classes, baseline strategy...).
        primary: the metric that ranks models on this head when it is not the task's
            `PRIMARY_METRIC` (a classification head with a rare class: "macro_f1"); see `primary_metric`.
    """

    task: str
    metrics: dict[str, float]
    n_samples: int
    names: tuple[str, ...] = ()
    confusion_matrix: np.ndarray | None = field(default=None, compare=False, repr=False)
    per_label_f1: np.ndarray | None = field(default=None, compare=False, repr=False)
    per_class: dict[str, dict[str, float]] | None = field(default=None, compare=False, repr=False)
    notes: tuple[str, ...] = ()
    primary: str = ""

    @property
    def primary_metric(self) -> str:
        """The metric that ranks models on this head: `primary`, else the task's `PRIMARY_METRIC`."""
        return self.primary or PRIMARY_METRIC[self.task]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe dict (plain floats/ints/lists; non-finite floats become None)."""
        return {
            "task": self.task,
            "n_samples": int(self.n_samples),
            "metrics": {k: _json_float(v) for k, v in self.metrics.items()},
            "names": list(self.names),
            "confusion_matrix": None
            if self.confusion_matrix is None
            else np.asarray(self.confusion_matrix).astype(int).tolist(),
            "per_label_f1": None
            if self.per_label_f1 is None
            else {n: _json_float(v) for n, v in zip(self.names, self.per_label_f1)},
            "per_class": None
            if self.per_class is None
            else {c: {k: _json_float(v) for k, v in row.items()} for c, row in self.per_class.items()},
            "notes": list(self.notes),
            "primary_metric": self.primary_metric,
        }


def evaluate_task(
    task: str,
    y_true: Any,
    y_pred: Any,
    *,
    classes: Sequence[str] | None = None,
    labels: Sequence[str] | None = None,
    thresholds: float | Sequence[float] | Mapping[str, float] | None = None,
    decisions: Any = None,
) -> TaskReport:
    """Scores the predictions of one head.

    Args:
        task: "classification", "multilabel" or "regression".
        y_true: classification: class indices `[N]` (or class names when `classes` is given);
            multilabel: multi-hot `[N, L]`; regression: values `[N]` or `[N, k]`.
        y_pred: classification: probabilities `[N, C]` (binary also `[N, 1]` or `[N]`, the
            probability of class 1); multilabel: probabilities `[N, L]`; regression: like y_true.
        classes: class names, index-aligned with the columns of y_pred (default "0".."C-1").
        labels: multilabel label names (default "0".."L-1"); regression output names when k > 1.
        thresholds: multilabel decision thresholds: one float, one per label, or a mapping
            label -> threshold (missing labels use 0.5). A label is predicted when p >= threshold.
        decisions: classification: the class index the model answers per row, when that is not the
            most probable class (a binary head's tuned threshold); accuracy, F1, the confusion matrix
            and per-class figures score these, log loss and ROC AUC the probabilities.

    Returns:
        A `TaskReport`.

    Example:
        >>> r = evaluate_task("classification", [0, 1, 1], [[0.9, 0.1], [0.2, 0.8], [0.6, 0.4]])
        >>> round(r.metrics["accuracy"], 3)
        0.667
    """
    if task not in TASKS:
        raise InputError(f"unknown task {task!r}; expected one of {', '.join(TASKS)}")
    if task == "multilabel":
        return _evaluate_multilabel(y_true, y_pred, labels, thresholds)
    if task == "classification":
        return _evaluate_classification(y_true, y_pred, classes, decisions)
    return _evaluate_regression(y_true, y_pred, labels)


def _evaluate_classification(
    y_true: Any, y_pred: Any, classes: Sequence[str] | None, decisions: Any = None
) -> TaskReport:
    proba = _as_float(y_pred, "y_pred")
    if proba.ndim == 1 or (proba.ndim == 2 and proba.shape[1] == 1):
        p1 = proba.reshape(-1)
        proba = np.stack([1.0 - p1, p1], axis=1)
    if proba.ndim != 2:
        raise InputError(f"classification y_pred must be probabilities [N, C]; got shape {proba.shape}")
    n, n_classes = proba.shape
    if classes is not None and len(classes) != n_classes:
        raise InputError(f"got {len(classes)} class names but y_pred has {n_classes} columns")
    names = tuple(str(c) for c in classes) if classes is not None else tuple(map(str, range(n_classes)))
    if ((proba < -1e-6) | (proba > 1 + 1e-6)).any():
        raise InputError("classification y_pred must hold probabilities in [0, 1] (apply softmax first)")
    y = _class_indices(y_true, n_classes, classes)
    _check_lengths(y, proba)

    y_hat = proba.argmax(axis=1) if decisions is None else np.asarray(decisions, dtype=np.int64).reshape(-1)
    _check_lengths(y_hat, proba)
    metrics = {
        "accuracy": float(skm.accuracy_score(y, y_hat)),
        "macro_f1": float(skm.f1_score(y, y_hat, average="macro", zero_division=0)),
        # Rows normalised first: sklearn refuses probabilities that sum to 1 only up to rounding.
        "log_loss": float(
            skm.log_loss(
                y,
                np.clip(proba, _EPS, 1.0) / np.clip(proba, _EPS, 1.0).sum(axis=1, keepdims=True),
                labels=np.arange(n_classes),
            )
        ),
    }
    notes: list[str] = []
    aucs = []
    for c in range(n_classes):
        positives = int(np.sum(y == c))
        if positives == 0 or positives == n:
            notes.append(
                f"roc_auc: skipped class {names[c]!r} ("
                + ("absent from" if positives == 0 else "the only class in")
                + " y_true)"
            )
            continue
        aucs.append(skm.roc_auc_score(y == c, proba[:, c]))
    if aucs:
        metrics["roc_auc"] = float(np.mean(aucs))
    else:
        notes.append("roc_auc: not computed, y_true holds a single class")
    cm = skm.confusion_matrix(y, y_hat, labels=np.arange(n_classes))
    precision, recall, f1, support = skm.precision_recall_fscore_support(
        y, y_hat, labels=np.arange(n_classes), zero_division=0
    )
    per_class = {
        name: {"precision": float(p), "recall": float(r), "f1": float(f), "support": float(s)}
        for name, p, r, f, s in zip(names, precision, recall, f1, support)
    }
    return TaskReport("classification", metrics, n, names, confusion_matrix=cm, per_class=per_class, notes=tuple(notes))


def _evaluate_multilabel(
    y_true: Any,
    y_pred: Any,
    labels: Sequence[str] | None,
    thresholds: float | Sequence[float] | Mapping[str, float] | None,
) -> TaskReport:
    truth = _as_float(y_true, "y_true")
    proba = _as_float(y_pred, "y_pred")
    _check_lengths(truth, proba)
    if truth.ndim != 2 or truth.shape != proba.shape:
        raise InputError(f"multilabel y_true and y_pred must both be [N, L]; got {truth.shape} and {proba.shape}")
    if not np.isin(truth, (0.0, 1.0)).all():
        raise InputError("multilabel y_true must be multi-hot (only 0 and 1)")
    n, n_labels = truth.shape
    if labels is not None and len(labels) != n_labels:
        raise InputError(f"got {len(labels)} label names but y_true has {n_labels} columns")
    names = tuple(str(x) for x in labels) if labels is not None else tuple(map(str, range(n_labels)))
    cut = _thresholds(thresholds, names)
    truth_i = truth.astype(int)
    hat = (proba >= cut).astype(int)

    per_label = skm.f1_score(truth_i, hat, average=None, zero_division=0)
    metrics = {
        "micro_f1": float(skm.f1_score(truth_i, hat, average="micro", zero_division=0)),
        "macro_f1": float(np.mean(per_label)),
        "subset_accuracy": float(np.mean((truth_i == hat).all(axis=1))),
        "hamming_loss": float(skm.hamming_loss(truth_i, hat)),
    }
    for key, value in zip(_metric_keys("f1_", names), per_label):
        metrics[key] = float(value)
    return TaskReport("multilabel", metrics, n, names, per_label_f1=np.asarray(per_label, float))


def _evaluate_regression(y_true: Any, y_pred: Any, outputs: Sequence[str] | None) -> TaskReport:
    truth = _as_float(y_true, "y_true")
    pred = _as_float(y_pred, "y_pred")
    _check_lengths(truth, pred)
    truth = truth.reshape(len(truth), -1)
    pred = pred.reshape(len(pred), -1)
    if truth.shape != pred.shape:
        raise InputError(f"regression y_true and y_pred shapes differ: {truth.shape} vs {pred.shape}")
    n, k = truth.shape
    names = tuple(str(x) for x in outputs) if outputs is not None else tuple(map(str, range(k)))
    if len(names) != k:
        raise InputError(f"got {len(names)} output names but the targets have {k} columns")

    err = pred - truth
    metrics = {
        "mae": float(skm.mean_absolute_error(truth, pred)),
        "rmse": float(skm.root_mean_squared_error(truth, pred)),
    }
    notes: list[str] = []
    if n >= 2:
        metrics["r2"] = float(skm.r2_score(truth, pred))
    else:
        notes.append("r2: not computed on fewer than 2 rows")
    if k > 1:
        for key, column in zip(_metric_keys("mae_", names), range(k)):
            metrics[key] = float(np.mean(np.abs(err[:, column])))
    return TaskReport("regression", metrics, n, names if k > 1 else (), notes=tuple(notes))


def primary_score(task: str, report: TaskReport) -> float:
    """The single metric that ranks models on one head; higher is better.

    The report's `primary_metric`: accuracy (classification; macro-F1 where a class is rare),
    micro-F1 (multilabel), -MAE (regression).
    """
    if task not in TASKS:
        raise InputError(f"unknown task {task!r}; expected one of {', '.join(TASKS)}")
    if report.task != task:
        raise InputError(f"report is for task {report.task!r}, not {task!r}")
    key = report.primary_metric
    value = _metric(report, key)
    return value if higher_is_better(key) else -value


def normalized_score(report: TaskReport, baseline: TaskReport) -> float:
    """How far a head moved from its baseline towards a perfect score.

    1 is perfect, 0 is no better than the baseline, below 0 is worse than it:
    classification `(acc - acc_b) / (1 - acc_b)` (macro-F1 in place of accuracy where the report's
    `primary_metric` says so: a rare class), multilabel the same with micro-F1, regression
    `1 - MAE / MAE_b`. When the baseline is already perfect the raw difference is used instead
    (0 when the model is perfect too, negative otherwise).
    """
    if report.task != baseline.task:
        raise InputError(f"cannot compare a {report.task} report with a {baseline.task} baseline")
    if report.task == "regression":
        mae, mae_b = _metric(report, "mae"), _metric(baseline, "mae")
        return 1.0 - mae / mae_b if mae_b > _EPS else -mae
    key = report.primary_metric
    value, base = _metric(report, key), _metric(baseline, key)
    return (value - base) / (1.0 - base) if 1.0 - base > _EPS else value - base


def combined_score(reports: Mapping[str, TaskReport], baselines: Mapping[str, TaskReport]) -> float:
    """One number for a multi-task model: the mean over heads of `normalized_score`.

    Each head counts equally whatever its task or units, because every head is first put on the
    same scale (0 = its own trivial baseline, 1 = perfect). The pipeline's champion gate compares
    this number between models scored on the same holdout; it is not comparable across holdouts,
    since the baselines move with the data.

    Args:
        reports: head name -> the model's `TaskReport`.
        baselines: head name -> the baseline's `TaskReport` on the same rows.

    Returns:
        The mean normalised score (higher is better).
    """
    if not reports:
        raise InputError("combined_score needs at least one task report")
    missing = sorted(set(reports) - set(baselines))
    if missing:
        raise InputError(f"no baseline report for head(s): {', '.join(missing)}")
    return float(np.mean([normalized_score(reports[h], baselines[h]) for h in reports]))


def markdown_table(
    reports: Mapping[str, TaskReport],
    baselines: Mapping[str, TaskReport] | None = None,
    classical: Mapping[str, TaskReport] | None = None,
) -> str:
    """A Markdown table of each head's summary metrics next to its trivial baseline (and, when given,
    the classical model fitted on the same split: `evaluation.classical`).

    Per-label/per-output metrics ("f1_<label>", "mae_<output>") are left out to keep it readable;
    they are in `TaskReport.metrics`. With baselines, a last line gives the combined score.
    """
    baselines = baselines or {}

    def cell(other: TaskReport | None, key: str) -> str:
        return "" if other is None or key not in other.metrics else f"{other.metrics[key]:.4f}"

    extra = " classical |" if classical else ""
    rows = [
        "| head | task | metric | model | baseline |" + extra,
        "|---|---|---|---|---|" + ("---|" if classical else ""),
    ]
    for head, report in reports.items():
        for key, value in report.metrics.items():
            if key.startswith(("f1_", "mae_")):
                continue
            row = f"| {head} | {report.task} | {key} | {value:.4f} | {cell(baselines.get(head), key)} |"
            rows.append(row + (f" {cell(classical.get(head), key)} |" if classical else ""))
    table = "\n".join(rows)
    table += "\n\nPrimary metric per head: " + ", ".join(f"{h} {r.primary_metric}" for h, r in reports.items())
    if baselines and set(reports) <= set(baselines):
        table += f"\n\nCombined score (0 = baselines, 1 = perfect): {combined_score(reports, baselines):.4f}"
    for head, report in reports.items():
        if report.per_class:
            table += f"\n\n{per_class_table(head, report.per_class)}"
    return table + "\n"


def per_class_table(head: str, per_class: Mapping[str, Mapping[str, float]]) -> str:
    """A Markdown table of one classification head's precision, recall, F1 and support per class."""
    rows = [f"Per class, {head}:", "", "| class | precision | recall | F1 | support |", "|---|---|---|---|---|"]
    for name, row in per_class.items():
        rows.append(
            f"| {name} | {row['precision']:.4f} | {row['recall']:.4f} | {row['f1']:.4f} | {int(row['support'])} |"
        )
    return "\n".join(rows)


def _as_float(values: Any, name: str) -> np.ndarray:
    try:
        array = np.asarray(values, dtype=float)
    except (TypeError, ValueError) as exc:
        raise InputError(f"{name} must be numeric: {exc}") from exc
    if array.ndim == 0 or len(array) == 0:
        raise InputError(f"{name} is empty")
    bad = ~np.isfinite(array)
    if bad.any():
        first = int(np.argwhere(bad)[0][0])
        raise InputError(f"{name} holds {int(bad.sum())} NaN/inf value(s), first at row {first}")
    return array


def _check_lengths(y_true: np.ndarray, y_pred: np.ndarray) -> None:
    if len(y_true) != len(y_pred):
        raise InputError(f"length mismatch: y_true has {len(y_true)} rows but y_pred has {len(y_pred)}")


def _class_indices(y: Any, n_classes: int | None, classes: Sequence[str] | None, name: str = "y_true") -> np.ndarray:
    raw = np.asarray(y).reshape(-1) if np.ndim(y) else np.asarray([y])
    if raw.dtype.kind in "USO":
        if classes is None:
            raise InputError(f"{name} holds class names; pass classes= to map them to indices")
        index = {str(c): i for i, c in enumerate(classes)}
        unknown = sorted({str(v) for v in raw} - set(index))
        if unknown:
            raise InputError(f"unknown class name(s) in targets: {', '.join(unknown[:5])}")
        return np.array([index[str(v)] for v in raw], dtype=int)
    values = _as_float(raw, name)
    if not np.all(values == np.round(values)):
        raise InputError("classification targets must be integer class indices")
    indices = values.astype(int)
    if indices.min() < 0 or (n_classes is not None and indices.max() >= n_classes):
        raise InputError(f"class index out of range [0, {n_classes}): found {int(indices.min())}..{int(indices.max())}")
    return indices


def _thresholds(thresholds: float | Sequence[float] | Mapping[str, float] | None, names: tuple[str, ...]) -> np.ndarray:
    if thresholds is None:
        cut = np.full(len(names), 0.5)
    elif isinstance(thresholds, Mapping):
        unknown = sorted(set(map(str, thresholds)) - set(names))
        if unknown:
            raise InputError(f"thresholds name unknown label(s): {', '.join(unknown)}")
        cut = np.array([float(thresholds.get(n, 0.5)) for n in names])
    elif np.ndim(thresholds) == 0:
        cut = np.full(len(names), float(thresholds))  # type: ignore[arg-type]
    else:
        cut = np.asarray(thresholds, dtype=float)
        if cut.shape != (len(names),):
            raise InputError(f"got {cut.size} thresholds for {len(names)} labels")
    if not ((cut >= 0) & (cut <= 1)).all():
        raise InputError("multilabel thresholds must lie in [0, 1]")
    return cut


def _metric_keys(prefix: str, names: Sequence[str]) -> list[str]:
    # MLflow metric names allow letters, digits, _ - . space (and / as a path); "R&B" does not fit
    keys: list[str] = []
    for name in names:
        key = prefix + re.sub(r"[^\w\-. ]", "_", name)
        while key in keys:
            key += "_"
        keys.append(key)
    return keys


def _metric(report: TaskReport, key: str) -> float:
    if key not in report.metrics:
        raise InputError(f"{report.task} report has no {key!r} metric")
    return float(report.metrics[key])


def _json_float(value: float) -> float | None:
    return float(value) if math.isfinite(value) else None
