"""Evaluation plots on `matplotlib.figure.Figure` objects (Agg canvas, no pyplot): no global state,
no display needed."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from components.errors import InputError, StorageError
from components.evaluation.metrics import _as_float, _check_lengths


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
        ax.scatter(
            x, np.asarray(baseline, dtype=float).reshape(-1), color="tab:red", marker="_", s=200, label="baseline"
        )
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


def plot_learning_curves(history: Any, out_dir: str | Path, *, filename: str = "learning_curves.png") -> Path:
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


def rank_trials(trials: Sequence[Mapping[str, Any]], direction: str = "max") -> list[Mapping[str, Any]]:
    """Trials best first for an objective that is maximised (`direction="max"`) or minimised ("min");
    trials with no score come last."""
    if direction not in ("max", "min"):
        raise InputError(f"direction must be 'max' or 'min', got {direction!r}")
    sign = -1.0 if direction == "max" else 1.0

    def key(t: Mapping[str, Any]) -> float:
        return sign * float(t["score"]) if _scored(t) else math.inf

    return sorted(trials, key=key)


def _scored(t: Mapping[str, Any]) -> bool:
    return t["score"] is not None and math.isfinite(float(t["score"]))


def plot_trial_leaderboard(
    trials: Sequence[Mapping[str, Any]],
    out_dir: str | Path,
    *,
    filename: str = "trial_leaderboard.png",
    direction: str = "max",
    objective: str = "score",
) -> Path:
    """Draws one bar per search trial, best first (green); trials with no score appear greyed at 0.

    Args:
        trials: dicts with `trial_id`, `score` (the objective's value, or None) and `status`.
        direction: "max" when a higher objective is better, "min" when lower is (a loss).
        objective: the objective's name, for the axis (e.g. "val_combined_loss").
    """
    if not trials:
        raise InputError("no trials to plot")
    for t in trials:
        if "trial_id" not in t or "score" not in t:
            raise InputError(f"each trial needs 'trial_id' and 'score'; got keys {sorted(t)}")
    ranked = rank_trials(trials, direction)
    scored = _scored
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
    ax.set_xlabel("trial (best first, green)")
    ax.set_ylabel(f"{objective} ({'higher' if direction == 'max' else 'lower'} is better)")
    ax.set_title("Trial leaderboard")
    return _save(fig, out_dir, filename)


def _save(fig: Figure, out_dir: str | Path, filename: str) -> Path:
    path = Path(out_dir) / filename
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, format="png", dpi=100, bbox_inches="tight")
    except OSError as exc:
        raise StorageError(f"cannot write plot {path}: {exc}") from exc
    return path
