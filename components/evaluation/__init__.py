"""Evaluation: per-task metrics, trivial baselines, one comparable score, and plots.

Every head of a model is scored on the test split by `evaluate_task`, next to a trivial baseline
fitted on the train targets (`baseline_report`). `combined_score` folds all heads into one number
that says how far each head moved from its baseline towards a perfect score; the pipeline's
champion gate compares this number between models scored on the same holdout.

Plots are drawn on `matplotlib.figure.Figure` objects (Agg canvas, no pyplot), so plotting touches no
global state and needs no display.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.figure import Figure
from sklearn import metrics as skm

from components.errors import InputError, StorageError

TASKS = ("classification", "multilabel", "regression")
PRIMARY_METRIC = {"classification": "accuracy", "multilabel": "micro_f1", "regression": "mae"}
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
        notes: human-readable remarks (skipped classes, baseline strategy...).
    """

    task: str
    metrics: dict[str, float]
    n_samples: int
    names: tuple[str, ...] = ()
    confusion_matrix: np.ndarray | None = field(default=None, compare=False, repr=False)
    per_label_f1: np.ndarray | None = field(default=None, compare=False, repr=False)
    notes: tuple[str, ...] = ()

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
            "notes": list(self.notes),
        }


# --------------------------------------------------------------------------- metrics


def evaluate_task(
    task: str,
    y_true: Any,
    y_pred: Any,
    *,
    classes: Sequence[str] | None = None,
    labels: Sequence[str] | None = None,
    thresholds: float | Sequence[float] | Mapping[str, float] | None = None,
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

    Returns:
        A `TaskReport`.

    Example:
        >>> r = evaluate_task("classification", [0, 1, 1], [[0.9, 0.1], [0.2, 0.8], [0.6, 0.4]])
        >>> round(r.metrics["accuracy"], 3)
        0.667
    """
    if task == "classification":
        return _evaluate_classification(y_true, y_pred, classes)
    if task == "multilabel":
        return _evaluate_multilabel(y_true, y_pred, labels, thresholds)
    if task == "regression":
        return _evaluate_regression(y_true, y_pred, labels)
    raise InputError(f"unknown task {task!r}; expected one of {', '.join(TASKS)}")


def _evaluate_classification(y_true: Any, y_pred: Any, classes: Sequence[str] | None) -> TaskReport:
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

    y_hat = proba.argmax(axis=1)
    metrics = {
        "accuracy": float(np.mean(y_hat == y)),
        "macro_f1": float(skm.f1_score(y, y_hat, average="macro", zero_division=0)),
        "log_loss": float(-np.mean(np.log(np.clip(proba[np.arange(n), y], _EPS, 1.0)))),
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
    return TaskReport("classification", metrics, n, names, confusion_matrix=cm, notes=tuple(notes))


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
        raise InputError(
            f"multilabel y_true and y_pred must both be [N, L]; got {truth.shape} and {proba.shape}"
        )
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
        "hamming_loss": float(np.mean(truth_i != hat)),
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
        "mae": float(np.mean(np.abs(err))),
        "rmse": float(np.sqrt(np.mean(err**2))),
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


# --------------------------------------------------------------------------- baselines


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
                f"multilabel y_train and y_test must be [N, L] with the same L; got "
                f"{train.shape} and {test.shape}"
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


# --------------------------------------------------------------------------- scores


def primary_score(task: str, report: TaskReport) -> float:
    """The single metric that ranks models on one head; higher is better.

    Accuracy (classification), micro-F1 (multilabel), -MAE (regression).
    """
    if task not in TASKS:
        raise InputError(f"unknown task {task!r}; expected one of {', '.join(TASKS)}")
    if report.task != task:
        raise InputError(f"report is for task {report.task!r}, not {task!r}")
    value = _metric(report, PRIMARY_METRIC[task])
    return -value if task == "regression" else value


def normalized_score(report: TaskReport, baseline: TaskReport) -> float:
    """How far a head moved from its baseline towards a perfect score.

    1 is perfect, 0 is no better than the baseline, below 0 is worse than it:
    classification `(acc - acc_b) / (1 - acc_b)`, multilabel the same with micro-F1, regression
    `1 - MAE / MAE_b`. When the baseline is already perfect the raw difference is used instead
    (0 when the model is perfect too, negative otherwise).
    """
    if report.task != baseline.task:
        raise InputError(f"cannot compare a {report.task} report with a {baseline.task} baseline")
    if report.task == "regression":
        mae, mae_b = _metric(report, "mae"), _metric(baseline, "mae")
        return 1.0 - mae / mae_b if mae_b > _EPS else -mae
    key = PRIMARY_METRIC[report.task]
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
    reports: Mapping[str, TaskReport], baselines: Mapping[str, TaskReport] | None = None
) -> str:
    """A Markdown table of each head's summary metrics next to its baseline.

    Per-label/per-output metrics ("f1_<label>", "mae_<output>") are left out to keep it readable;
    they are in `TaskReport.metrics`. With baselines, a last line gives the combined score.
    """
    baselines = baselines or {}
    rows = ["| head | task | metric | model | baseline |", "|---|---|---|---|---|"]
    for head, report in reports.items():
        base = baselines.get(head)
        for key, value in report.metrics.items():
            if key.startswith(("f1_", "mae_")):
                continue
            base_value = "" if base is None or key not in base.metrics else f"{base.metrics[key]:.4f}"
            rows.append(f"| {head} | {report.task} | {key} | {value:.4f} | {base_value} |")
    table = "\n".join(rows)
    if baselines and set(reports) <= set(baselines):
        table += f"\n\nCombined score (0 = baselines, 1 = perfect): {combined_score(reports, baselines):.4f}"
    return table + "\n"


# --------------------------------------------------------------------------- plots


def plot_confusion_matrix(
    matrix: Any, class_names: Sequence[str], out_dir: str | Path, *, filename: str = "confusion_matrix.png"
) -> Path:
    """Draws a confusion matrix (rows = true class) with class names on both axes.

    Example:
        >>> plot_confusion_matrix(report.confusion_matrix, report.names, "plots/genre")
    """
    cm = np.asarray(matrix)
    if cm.ndim != 2 or cm.shape[0] != cm.shape[1] or cm.shape[0] != len(class_names):
        raise InputError(f"confusion matrix {cm.shape} does not match {len(class_names)} class names")
    size = max(4.0, 0.5 * len(class_names) + 2)
    fig = Figure(figsize=(size, size))
    ax = fig.add_subplot()
    image = ax.imshow(cm, cmap="Blues")
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04)
    ticks = np.arange(len(class_names))
    ax.set_xticks(ticks, labels=list(class_names), rotation=45, ha="right")
    ax.set_yticks(ticks, labels=list(class_names))
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    # numbers become unreadable past a few dozen classes; the colours still tell the story
    if len(class_names) <= 30:
        high = cm.max() / 2 if cm.size else 0
        for i, j in np.ndindex(cm.shape):
            ax.text(j, i, str(cm[i, j]), ha="center", va="center", color="white" if cm[i, j] > high else "black")
    ax.set_title("Confusion matrix")
    return _save(fig, out_dir, filename)


def plot_per_label_f1(
    per_label_f1: Any,
    label_names: Sequence[str],
    out_dir: str | Path,
    *,
    baseline: Any | None = None,
    filename: str = "per_label_f1.png",
) -> Path:
    """Draws one F1 bar per label, with the baseline's F1 as markers when given."""
    f1 = np.asarray(per_label_f1, dtype=float).reshape(-1)
    if len(f1) != len(label_names):
        raise InputError(f"{len(f1)} F1 values but {len(label_names)} label names")
    fig = Figure(figsize=(max(5.0, 0.4 * len(f1) + 2), 4))
    ax = fig.add_subplot()
    x = np.arange(len(f1))
    ax.bar(x, f1, color="tab:blue", label="model")
    if baseline is not None:
        ax.scatter(x, np.asarray(baseline, dtype=float).reshape(-1), color="tab:red", marker="_", s=200, label="baseline")
        ax.legend()
    ax.set_xticks(x, labels=list(label_names), rotation=45, ha="right")
    ax.set_ylim(0, 1)
    ax.set_ylabel("F1")
    ax.set_title("F1 per label")
    return _save(fig, out_dir, filename)


def plot_predicted_vs_actual(
    y_true: Any, y_pred: Any, out_dir: str | Path, *, filename: str = "predicted_vs_actual.png"
) -> Path:
    """Scatters predictions against actual values, with the identity line y = x."""
    truth = _as_float(y_true, "y_true").reshape(-1)
    pred = _as_float(y_pred, "y_pred").reshape(-1)
    _check_lengths(truth, pred)
    fig = Figure(figsize=(5, 5))
    ax = fig.add_subplot()
    ax.scatter(truth, pred, s=8, alpha=0.5)
    low, high = float(min(truth.min(), pred.min())), float(max(truth.max(), pred.max()))
    ax.plot([low, high], [low, high], color="tab:red", linestyle="--", label="y = x")
    ax.set_xlabel("actual")
    ax.set_ylabel("predicted")
    ax.legend()
    ax.set_title("Predicted vs actual")
    return _save(fig, out_dir, filename)


def plot_learning_curves(
    history: Any, out_dir: str | Path, *, filename: str = "learning_curves.png"
) -> Path:
    """Draws per-epoch metrics, one panel per metric with its `val_` twin on the same axes.

    Args:
        history: a Keras `History` or its `.history` dict `{metric: [value per epoch]}`.
    """
    logs: Mapping[str, Sequence[float]] = getattr(history, "history", history)
    if not isinstance(logs, Mapping) or not logs:
        raise InputError("history must be a non-empty {metric: [per-epoch values]} mapping")
    bases = sorted({k.removeprefix("val_") for k in logs}, key=lambda k: (k != "loss", k))
    fig = Figure(figsize=(5 * min(len(bases), 3), 3.5 * math.ceil(len(bases) / 3)))
    for i, base in enumerate(bases, start=1):
        ax = fig.add_subplot(math.ceil(len(bases) / 3), min(len(bases), 3), i)
        for key in (base, f"val_{base}"):
            if key in logs:
                values = np.asarray(logs[key], dtype=float)
                ax.plot(np.arange(1, len(values) + 1), values, marker="o", markersize=3, label=key)
        ax.set_xlabel("epoch")
        ax.set_title(base)
        ax.legend()
    fig.tight_layout()
    return _save(fig, out_dir, filename)


def plot_trial_leaderboard(
    trials: Sequence[Mapping[str, Any]], out_dir: str | Path, *, filename: str = "trial_leaderboard.png"
) -> Path:
    """Draws one bar per search trial, best first; trials with no score appear greyed at 0.

    Args:
        trials: dicts with `trial_id`, `score` (higher is better, or None) and `status`.
    """
    if not trials:
        raise InputError("no trials to plot")
    for t in trials:
        if "trial_id" not in t or "score" not in t:
            raise InputError(f"each trial needs 'trial_id' and 'score'; got keys {sorted(t)}")

    def scored(t: Mapping[str, Any]) -> bool:
        return t["score"] is not None and math.isfinite(float(t["score"]))

    ranked = sorted(trials, key=lambda t: -float(t["score"]) if scored(t) else math.inf)
    heights = [float(t["score"]) if scored(t) else 0.0 for t in ranked]
    colors = ["tab:grey" if not scored(t) else "tab:blue" for t in ranked]
    if scored(ranked[0]):
        colors[0] = "tab:green"
    fig = Figure(figsize=(max(5.0, 0.4 * len(ranked) + 2), 4))
    ax = fig.add_subplot()
    x = np.arange(len(ranked))
    ax.bar(x, heights, color=colors)
    for xi, t in zip(x, ranked):
        if not scored(t):
            ax.text(xi, 0, str(t.get("status", "no score")).lower(), rotation=90, ha="center", va="bottom", fontsize=8)
    ax.set_xticks(x, labels=[str(t["trial_id"]) for t in ranked], rotation=45, ha="right")
    ax.axhline(0, color="black", linewidth=0.5)
    ax.set_xlabel("trial")
    ax.set_ylabel("score")
    ax.set_title("Trial leaderboard")
    return _save(fig, out_dir, filename)


# --------------------------------------------------------------------------- helpers


def _save(fig: Figure, out_dir: str | Path, filename: str) -> Path:
    path = Path(out_dir) / filename
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, format="png", dpi=100, bbox_inches="tight")
    except OSError as exc:
        raise StorageError(f"cannot write plot {path}: {exc}") from exc
    return path


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


def _class_indices(
    y: Any, n_classes: int | None, classes: Sequence[str] | None, name: str = "y_true"
) -> np.ndarray:
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
        raise InputError(
            f"class index out of range [0, {n_classes}): found {int(indices.min())}..{int(indices.max())}"
        )
    return indices


def _thresholds(
    thresholds: float | Sequence[float] | Mapping[str, float] | None, names: tuple[str, ...]
) -> np.ndarray:
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
