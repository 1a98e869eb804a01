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

from components.data.tasks import PROBA_SUFFIX, TASKS
from components.errors import DataError

__all__ = [
    "PROBA_SUFFIX",
    "ServingConfig",
    "TargetInfo",
    "decode_predictions",
    "model_inputs",
    "output_dict",
    "predict_frame",
]


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
    blend: Any = None,
) -> pd.DataFrame:
    """Raw rows → predictions of every target. Rows that can't be read fail with their row numbers.
    `blend` (a `serving.blend.Blend`) mixes each head's network output with its classical model's."""
    from components.data.preprocess import transform_frame

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
    try:
        x = transform_frame(state, frame, root)
    except DataError:
        raise DataError(_row_errors(state, frame, root)) from None
    raw = output_dict(model, model.predict(model_inputs(model, x), verbose=0))
    if blend is not None:
        raw = blend.apply(raw, frame)
    ids = frame[config.id_column].tolist() if config.id_column in frame.columns else None
    return decode_predictions(config, raw, ids)


def _row_errors(state: Any, frame: pd.DataFrame, root: Path | None) -> str:
    from components.data.preprocess import transform_frame

    problems = []
    for i in range(len(frame)):
        try:
            transform_frame(state, frame.iloc[[i]], root)
        except DataError as exc:
            problems.append(f"row {i}: {exc}")
    shown = "; ".join(problems[:20])
    more = f" (and {len(problems) - 20} more)" if len(problems) > 20 else ""
    return f"{len(problems)} of {len(frame)} input row(s) cannot be scored: {shown}{more}"


def __getattr__(name: str):
    # Models registered before the pyfunc moved to `serving.pyfunc` name `components.serving.BraidPyfunc`
    # in their code: keep that import working (lazily, so serving helpers don't import MLflow).
    if name == "BraidPyfunc":
        from components.serving.pyfunc import BraidPyfunc

        return BraidPyfunc
    raise AttributeError(f"module 'components.serving' has no attribute {name!r}")
