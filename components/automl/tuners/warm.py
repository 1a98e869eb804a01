"""Warm starts: hyperparameter values from an earlier search, fitted to today's search space."""

from __future__ import annotations

import logging
import numbers
from typing import Any

import keras_tuner as kt
import numpy as np
from keras_tuner.engine import hyperparameters as hps

log = logging.getLogger(__name__)


def fit_to_space(values: dict, space: kt.HyperParameters) -> dict:
    """Values from an earlier search → one value for each active hyperparameter of `space`.

    Names the space no longer has are dropped. A value that is missing or not valid for its
    hyperparameter (not one of a Choice's values, outside an Int/Float range, of the wrong type)
    becomes that hyperparameter's default. Conditional hyperparameters get a value only when they
    are active given the values chosen for their parents (keras-tuner's `is_active`), as the
    oracles fill a trial.

    Args:
        values: hyperparameter name → value, e.g. an earlier trial's `hyperparameters.values`
            or `AutoModel.leaderboard()[i]["hyperparameters"]`.
        space: the current search space, e.g. `oracle.hyperparameters`.

    Returns:
        name → value, in the space's order, for every active hyperparameter (values in the
        space's own types, so equal configurations hash equally in keras-tuner).

    Example:
        >>> space = kt.HyperParameters()
        >>> space.Choice("units", [16, 32])
        >>> fit_to_space({"units": 32, "gone": 1}, space)
        {'units': 32}
    """
    fitted = kt.HyperParameters()
    replaced = []
    for hp in space.space:
        fitted.merge([hp])
        if not fitted.is_active(hp):
            continue
        value = valid_value(hp, values[hp.name]) if hp.name in values else None
        if value is None and hp.name in values:
            replaced.append(hp.name)
        fitted.values[hp.name] = hp.default if value is None else value
    dropped = sorted(str(name) for name in values if name not in fitted.values)
    if dropped or replaced:
        log.info("warm start: dropped %s (not in the space or inactive); default for invalid %s", dropped, replaced)
    return dict(fitted.values)


def valid_value(hp: hps.HyperParameter, value: Any) -> Any:
    """`value` in `hp`'s own type when `hp` could take it, else None."""
    if isinstance(hp, hps.Boolean):
        return bool(value) if isinstance(value, (bool, np.bool_)) else None
    if isinstance(hp, hps.Choice):
        # The choice itself, not the value: 32.0 from a JSON file must become the Choice's int 32.
        return next((choice for choice in hp.values if _same_kind(choice, value) and choice == value), None)
    if isinstance(hp, hps.Int):
        inside = _is_number(value) and float(value).is_integer() and hp.min_value <= value <= hp.max_value
        return int(value) if inside else None
    if isinstance(hp, hps.Float):
        # NaN fails both comparisons.
        return float(value) if _is_number(value) and hp.min_value <= value <= hp.max_value else None
    return None  # Fixed (its default is its value) and hyperparameter types Braid does not know


def _is_number(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_))


def _same_kind(choice: Any, value: Any) -> bool:
    # True == 1 and 1 == 1.0 in Python; only numbers may stand in for numbers.
    if isinstance(choice, str) or isinstance(value, str):
        return isinstance(choice, str) and isinstance(value, str)
    if isinstance(choice, (bool, np.bool_)) or isinstance(value, (bool, np.bool_)):
        return isinstance(choice, (bool, np.bool_)) and isinstance(value, (bool, np.bool_))
    return _is_number(choice) and _is_number(value)
