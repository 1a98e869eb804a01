"""The search's objective: a metric the trials log, named as AutoKeras users name it."""

from __future__ import annotations

import keras_tuner as kt

from components.automl.heads import Head
from components.errors import InputError

COMBINED_OBJECTIVE = "val_combined_loss"


def objective_for(objective: str | kt.Objective | None, heads: list[Head]) -> kt.Objective:
    """The tuner's objective: `objective` as given, or the combined validation loss of every head.

    A name must be a metric the trials log (`val_<head>_<metric>`, `val_loss`...); AutoKeras names a
    single head's metrics without the head ("val_accuracy"), which is accepted for one head. Its
    direction follows its name (losses and errors down, the rest up).
    """
    if isinstance(objective, kt.Objective):
        return objective
    name = objective or COMBINED_OBJECTIVE
    known = {"loss", "combined_loss"}
    for head in heads:
        known.add(f"{head.name}_loss")
        known.update(
            f"{head.name}_{m}" if isinstance(m, str) else m.name for m in (head.metrics or head.default_metrics)
        )
    known |= {f"val_{k}" for k in known}
    name = _head_metric(name, known, heads)
    if name not in known:
        raise InputError(f"objective={name!r} is not a logged metric; choose one of {sorted(known)}.")
    lower = ("loss", "error", "mae", "mse", "rmse", "mape", "mean_absolute", "mean_squared")
    direction = "min" if any(token in name for token in lower) else "max"
    return kt.Objective(name, direction)


def _head_metric(name: str, known: set[str], heads: list[Head]) -> str:
    """AutoKeras names a single head's metrics without the head ("val_accuracy"); Braid
    prefixes the head's name ("val_classification_head_1_accuracy")."""
    if name in known or len(heads) != 1:
        return name
    prefix = "val_" if name.startswith("val_") else ""
    candidate = f"{prefix}{heads[0].name}_{name[len(prefix) :]}"
    aliases = {"acc": "accuracy", "mse": "mean_squared_error", "mae": "mean_absolute_error"}
    if candidate not in known:
        long = aliases.get(name[len(prefix) :])
        candidate = f"{prefix}{heads[0].name}_{long}" if long else candidate
    return candidate if candidate in known else name
