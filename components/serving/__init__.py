"""The served model: an MLflow pyfunc over raw DataFrame rows, preprocessing included.

The package holds the exported `.keras` model (loaded with `safe_mode=True`), the fitted
preprocessing `state.json` and `serving.json` (targets, thresholds, image root). Predicting runs the
same `transform_frame` that produced the training shards, so serving sees exactly what training saw.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from components.data.modalities import RowError
from components.data.sources import row_ids
from components.data.tasks import PROBA_SUFFIX, TASKS
from components.errors import DataError, InputError

__all__ = [
    "ERROR_COLUMN",
    "ON_BAD_ROWS",
    "PROBA_SUFFIX",
    "SERVING_PARAMS",
    "ServingConfig",
    "TargetInfo",
    "decode_predictions",
    "model_inputs",
    "output_dict",
    "predict_frame",
    "predict_outputs",
]

ON_BAD_ROWS = ("fail", "skip")  # rows that cannot be read fail the request, or get null predictions
ERROR_COLUMN = "__error"  # with on_bad_rows="skip": why a row got null predictions (None for scored rows)
# The pyfunc's params and their defaults, as the model signature declares them: MLflow passes a request's
# params to `predict` only when the signature names them.
SERVING_PARAMS = {"image_root": "", "on_bad_rows": "fail"}
PREDICT_CHUNK = 512  # rows per compiled predict call (`predict_outputs`)


@dataclass(frozen=True)
class TargetInfo:
    name: str
    task: str
    classes: list[str] = field(default_factory=list)  # classification classes / multilabel labels
    thresholds: list[float] = field(default_factory=list)  # multilabel, tuned on validation data
    separator: str = "|"


@dataclass(frozen=True)
class ServingConfig:
    """What the pyfunc needs beyond the model and the state."""

    contract: str
    id_column: str
    feature_columns: list[str]
    targets: list[TargetInfo]
    image_root: str | None = None

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=1)

    @classmethod
    def from_json(cls, text: str) -> "ServingConfig":
        raw = json.loads(text)
        raw["targets"] = [TargetInfo(**t) for t in raw["targets"]]
        return cls(**raw)


def model_inputs(model: Any, x: dict[str, np.ndarray]) -> Any:
    """Order the x dict the way the Keras model's inputs are named."""
    names = [t.name.split(":")[0] for t in model.inputs]
    missing = [n for n in names if n not in x]
    if missing:
        raise DataError(f"the model expects inputs {names}; the rows gave {sorted(x)} (missing {missing})")
    return [x[n] for n in names] if len(names) > 1 else x[names[0]]


def output_dict(model: Any, outputs: Any) -> dict[str, np.ndarray]:
    """Name each model output: {output name: array}."""
    if isinstance(outputs, dict):
        return {k: np.asarray(v) for k, v in outputs.items()}
    if not isinstance(outputs, (list, tuple)):
        outputs = [outputs]
    return {name: np.asarray(out) for name, out in zip(model.output_names, outputs)}


def predict_outputs(model: Any, inputs: Any, rows: int, chunk: int = PREDICT_CHUNK) -> dict[str, np.ndarray]:
    """The model's named outputs for `rows` rows, `chunk` rows per call of its compiled predict step.

    `Model.predict` builds a dataset and an epoch iterator on every call: about 130 ms for one row on
    the demo's champion, against 2 ms for `predict_on_batch` (benchmarks/serving.py). Chunks bound the
    memory a large frame's activations take.
    """
    if rows <= chunk:
        return output_dict(model, model.predict_on_batch(inputs))
    parts = []
    for start in range(0, rows, chunk):
        part = [a[start : start + chunk] for a in inputs] if isinstance(inputs, list) else inputs[start : start + chunk]
        parts.append(output_dict(model, model.predict_on_batch(part)))
    return {name: np.concatenate([part[name] for part in parts]) for name in parts[0]}


def decode_predictions(config: ServingConfig, raw: dict[str, np.ndarray], ids: list[Any] | None) -> pd.DataFrame:
    """Model outputs → one column per target (label, labels, or value) plus `<target>__proba`."""
    columns: dict[str, Any] = {}
    if ids is not None:
        columns[config.id_column] = ids
    for target in config.targets:
        out = np.asarray(raw[target.name], dtype=np.float64)
        columns.update(
            TASKS[target.task].decode_outputs(out, target.classes, target.thresholds, target.separator, target.name)
        )
    return pd.DataFrame(columns)


def predict_frame(
    model: Any,
    state: Any,
    config: ServingConfig,
    frame: pd.DataFrame,
    image_root: str | Path | None = None,
    on_bad_rows: str = "fail",
    blend: Any = None,
) -> pd.DataFrame:
    """Raw rows → predictions of every target.

    Args:
        model: the exported Keras model.
        state: the fitted preprocessing state.
        config: the served targets, id and feature columns.
        frame: raw rows with every feature column.
        image_root: directory image paths are relative to (default: `config.image_root`).
        on_bad_rows: what to do with rows whose cells cannot be read (an image path that names no file or
            leads outside the image root, undecodable bytes): "fail" raises one DataError naming every
            such row (its position in `frame`, counted from 0, and its id where `frame` has the id column)
            and the column; "skip" scores the other rows and gives each bad row null predictions and its
            reason in the `__error` column (None for good rows).
        blend: an `evaluation.blend.Blend` that mixes each head's network output with its classical
            model's (None: the network alone).

    Returns:
        One row per input row: the id column (when sent), then each target's prediction columns.
    """
    from components.data.preprocess import transform_frame

    if on_bad_rows not in ON_BAD_ROWS:
        raise InputError(f"on_bad_rows must be one of {list(ON_BAD_ROWS)}, got {on_bad_rows!r}")
    if not isinstance(frame, pd.DataFrame):
        raise DataError(f"expected a pandas DataFrame of raw rows, got {type(frame).__name__}")
    missing = [c for c in config.feature_columns if c not in frame.columns]
    if missing:
        raise DataError(
            f"input rows lack column(s) {missing}; send every feature column of contract "
            f"'{config.contract}': {config.feature_columns}"
        )
    if frame.empty:
        raise DataError("no rows to score: the DataFrame is empty")
    root = Path(image_root or config.image_root) if (image_root or config.image_root) else None
    frame = frame.reset_index(drop=True)
    bad: dict[int, RowError] = {}
    x = transform_frame(state, frame, root, row_errors=bad)  # one pass finds every bad row
    has_ids = config.id_column in frame.columns
    if bad and on_bad_rows == "fail":
        raise DataError(_bad_rows_message(bad, len(frame), row_ids(frame, config.id_column) if has_ids else None))
    raw = predict_outputs(model, model_inputs(model, x), len(frame))
    if blend is not None:
        raw = blend.apply(raw, frame)
    out = decode_predictions(config, raw, frame[config.id_column].tolist() if has_ids else None)
    if on_bad_rows == "skip":
        out = _blank_bad_rows(out, bad, config.id_column)
    return out


def _bad_rows_message(bad: dict[int, RowError], rows: int, ids: list[str] | None) -> str:
    named = [f"row {i}{f' (id {ids[i]!r})' if ids is not None else ''}, {bad[i]}" for i in sorted(bad)[:20]]
    more = f"; and {len(bad) - 20} more" if len(bad) > 20 else ""
    return (
        f"{len(bad)} of {rows} row(s) cannot be scored (rows counted from 0 in the order sent): "
        f'{"; ".join(named)}{more}. Fix those cells, or score the other rows with on_bad_rows "skip" '
        '(a request\'s "params": {"on_bad_rows": "skip"}; `braid score --on-bad-rows skip`)'
    )


def _blank_bad_rows(out: pd.DataFrame, bad: dict[int, RowError], id_column: str) -> pd.DataFrame:
    """Null predictions and the reason for each bad row (its zero-filled inputs were scored with the rest)."""
    predicted = [c for c in out.columns if c != id_column]
    if bad:
        out[predicted] = out[predicted].astype(object)
        out.loc[sorted(bad), predicted] = None
    # object, not pandas' string dtype: a scored row's reason must be None (JSON null), not NaN
    out[ERROR_COLUMN] = pd.Series([str(bad[i]) if i in bad else None for i in range(len(out))], dtype=object)
    return out


def __getattr__(name: str):
    # Models registered before the pyfunc moved to `serving.pyfunc` name `components.serving.BraidPyfunc`
    # in their code: keep that import working (lazily, so serving helpers don't import MLflow).
    if name == "BraidPyfunc":
        from components.serving.pyfunc import BraidPyfunc

        return BraidPyfunc
    raise AttributeError(f"module 'components.serving' has no attribute {name!r}")
