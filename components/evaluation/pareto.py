"""Choosing across heads: the Pareto front of a multi-task search.

One summed objective hides how trials trade heads against each other. Each trial is a point of
per-head validation losses (lower is better on every axis); a trial is on the front when no other
trial is at least as good on every head and better on one. A weighted sum of the heads always picks a
point of the front, so re-weighting the heads moves along it without a new search.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from components.errors import InputError
from components.evaluation.plots import _save

Points = Mapping[str, Mapping[str, float]]  # trial id → head → validation loss


def head_losses(
    history: Mapping[str, Mapping[str, Sequence[float]]], heads: Sequence[str], objective: str = "val_combined_loss"
) -> dict[str, dict[str, float]]:
    """Each trial's per-head validation losses at its best epoch (the one its checkpoint keeps).

    Args:
        history: trial id → metric name → per-epoch values (`val_<head>_loss` and the objective).
        heads: the head names.
        objective: the metric whose minimum picks the epoch.

    Returns:
        trial id → head → loss, for the trials that logged every head and the objective.
    """
    points: dict[str, dict[str, float]] = {}
    for trial_id, curves in history.items():
        values = list(curves.get(objective, []))
        if not values or not all(f"val_{h}_loss" in curves for h in heads):
            continue
        finite = [(v, i) for i, v in enumerate(values) if v is not None and math.isfinite(v)]
        if not finite:
            continue
        epoch = min(finite)[1]
        losses = {h: float(curves[f"val_{h}_loss"][epoch]) for h in heads if epoch < len(curves[f"val_{h}_loss"])}
        if len(losses) == len(heads) and all(math.isfinite(v) for v in losses.values()):
            points[str(trial_id)] = losses
    return points


def front(points: Points) -> list[str]:
    """The trials no other trial dominates, in the order given."""
    ids = list(points)

    def dominates(a: Mapping[str, float], b: Mapping[str, float]) -> bool:
        return all(a[h] <= b[h] for h in b) and any(a[h] < b[h] for h in b)

    return [i for i in ids if not any(dominates(points[j], points[i]) for j in ids if j != i)]


def choose(points: Points, weights: Mapping[str, float] | None = None) -> str:
    """The trial that minimises the weighted sum of its heads' losses, each divided by that head's best
    loss over the trials (so heads on different scales weigh what their weights say).

    Args:
        points: trial id → head → loss.
        weights: head → weight (default 1 each); heads not named weigh 1.

    Raises:
        InputError: no points, a weight for a head the search did not train, or a weight that is not
            a positive number.
    """
    if not points:
        raise InputError("no trial has a validation loss for every head: nothing to choose from")
    heads = list(next(iter(points.values())))
    weights = dict(weights or {})
    unknown = sorted(set(weights) - set(heads))
    if unknown:
        raise InputError(f"weights name head(s) {unknown} the search did not train; heads: {heads}")
    bad = {h: w for h, w in weights.items() if not (isinstance(w, (int, float)) and w > 0)}
    if bad:
        raise InputError(f"head weights must be positive numbers; got {bad}")
    best = {h: min(p[h] for p in points.values()) for h in heads}
    scale = {h: best[h] if best[h] > 0 else 1.0 for h in heads}

    def cost(trial: str) -> float:
        return sum(weights.get(h, 1.0) * points[trial][h] / scale[h] for h in heads)

    return min(front(points), key=cost)


def plot_front(
    points: Points, chosen: str | None, out_dir: str | Path, filename: str = "pareto_front.png"
) -> Path | None:
    """Two heads: a scatter with the front joined; more: parallel coordinates (each head scaled to
    [0, 1] over the trials). One head has no front to draw: returns None."""
    if not points:
        return None
    heads = list(next(iter(points.values())))
    if len(heads) < 2:
        return None
    on_front = set(front(points))
    fig = Figure(figsize=(6.5, 4.5))
    ax = fig.add_subplot()
    if len(heads) == 2:
        x, y = heads
        for trial, p in points.items():
            ax.scatter(p[x], p[y], color="tab:blue" if trial in on_front else "tab:grey", zorder=2)
            ax.annotate(trial, (p[x], p[y]), fontsize=7, xytext=(3, 3), textcoords="offset points")
        line = sorted((points[t][x], points[t][y]) for t in on_front)
        ax.plot(*zip(*line), color="tab:blue", linewidth=1, zorder=1, label="Pareto front")
        if chosen in points:
            ax.scatter(
                points[chosen][x],
                points[chosen][y],
                s=160,
                facecolors="none",
                edgecolors="tab:green",
                linewidths=2,
                label=f"chosen (trial {chosen})",
                zorder=3,
            )
        ax.set_xlabel(f"val {x} loss (lower is better)")
        ax.set_ylabel(f"val {y} loss (lower is better)")
    else:
        values = np.array([[points[t][h] for h in heads] for t in points])
        low, span = values.min(axis=0), np.ptp(values, axis=0)
        scaled = (values - low) / np.where(span > 0, span, 1.0)
        for row, trial in zip(scaled, points):
            style = (
                {"color": "tab:green", "linewidth": 2.5}
                if trial == chosen
                else {"color": "tab:blue", "linewidth": 1.2}
                if trial in on_front
                else {"color": "tab:grey", "alpha": 0.5}
            )
            ax.plot(range(len(heads)), row, marker="o", **style)
        ax.set_xticks(range(len(heads)), labels=[f"{h}\n(val loss)" for h in heads])
        ax.set_ylabel("scaled over trials (0 = best)")
        ax.plot([], [], color="tab:blue", label="Pareto front")
        ax.plot([], [], color="tab:green", label=f"chosen (trial {chosen})")
    ax.legend(fontsize=8)
    ax.set_title(f"Trials across heads: {len(on_front)} of {len(points)} on the Pareto front")
    return _save(fig, out_dir, filename)
