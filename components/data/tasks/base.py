"""The base of a target task: one class per task owns everything Braid does with that kind of target.

A task codec is a modality `Codec` for the target column (fit on train, encode into the shards, parse
back) plus what only targets have:

- `decode_outputs(outputs, classes, thresholds, separator, name)`: model outputs → the served columns (labels,
  label sets or values, and `<target>__proba` where there are probabilities);
- `scored(predictions, name, labels, separator)`: the served columns → what `evaluate` scores;
- `known(y)`: rows whose target is present (missing targets are masked, never guessed);
- `strata(values)`, `unseen(fitted, values)`, `as_wrong(...)`: what a stratified split orders rows by
  (`stratifies`), and the raw targets the train split never had, which score as wrong answers;
- `evaluate`, `baseline`: the task's metrics (`components.evaluation`) on the model and on the
  trivial predictor fitted on train; `primary(fitted)` ranks models on this head (`evaluation.PRIMARY_METRIC`,
  unless the fitted target says otherwise: a rare class, `components.imbalance`);
- `plot`: the task's evaluation plot;
- `head`, `head_options(fitted, target)`: the library head (a `components` name) that learns this
  target, and its arguments (the library knows nothing of contracts).

Adding a task = its shared definition in `components.features.<task>` + one module in this package,
registered with `@TASKS.register` (`components.features.registry`) and imported in `__init__`.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from components import evaluation
from components.data.modalities import Codec

PROBA_SUFFIX = "__proba"


class TaskCodec(Codec):
    """A target task: storage codec + decoding + metrics + baseline + plot."""

    truth_dtype: ClassVar[Any] = np.float32  # dtype of the encoded target read back from the tabular Parquet
    stratifies: ClassVar[bool] = False  # whether `split.stratify` splits the rows by this target's `strata`
    head: ClassVar[str]  # the `components` head class that learns this target

    def head_options(self, fitted: dict, target) -> dict[str, Any]:
        """The head's arguments (besides its name) for a contract target fitted on train."""
        return {}

    def names(self, fitted: dict) -> list[str]:
        """The classes or labels a fitted target knows (empty for regression)."""
        return []

    def evaluate_kwargs(self, fitted: dict) -> dict[str, Any]:
        return {}

    def primary(self, fitted: dict) -> str:
        """The metric that ranks models on this target (the gate, the combined score, the tables)."""
        return evaluation.PRIMARY_METRIC[self.name]

    def known(self, y: np.ndarray) -> np.ndarray:
        return np.ones(len(y), bool)

    def strata(self, values: pd.Series) -> list:
        """The stratum of each raw target (None: no target) for a stratified split."""
        raise NotImplementedError

    def unseen(self, fitted: dict, values: pd.Series) -> list:
        """Per raw target, the value the train split never had (a class unseen in train), else None."""
        return [None] * len(values)

    def as_wrong(
        self, y_true: np.ndarray, y_pred: np.ndarray, unseen: np.ndarray, decisions: np.ndarray | None = None
    ) -> np.ndarray:
        """`y_true` with each `unseen` row's truth set to an answer the model did not give (the one
        `y_pred` finds least likely, unless that is the row's `decisions`), so the row scores as wrong
        (as `AutoModel.evaluate` scores labels never seen in fit)."""
        return y_true

    def decisions(self, predictions: pd.DataFrame, name: str, labels: list) -> np.ndarray | None:
        """The answer the served model gave per row, where scoring needs it beside `scored` (a
        class index per row, decided by a tuned threshold rather than the most probable class)."""
        return None

    def decode_outputs(
        self, outputs: np.ndarray, classes: list, thresholds: list[float], separator: str, name: str
    ) -> dict[str, list]:
        raise NotImplementedError

    def scored(self, predictions: pd.DataFrame, name: str, labels: list, separator: str) -> np.ndarray:
        raise NotImplementedError

    def evaluate(
        self, y_true: np.ndarray, y_pred: np.ndarray, fitted: dict, decisions: np.ndarray | None = None
    ) -> evaluation.TaskReport:
        extra = {} if decisions is None else {"decisions": decisions}
        report = evaluation.evaluate_task(self.name, y_true, y_pred, **self.evaluate_kwargs(fitted), **extra)
        return replace(report, primary=self.primary(fitted))

    def baseline(self, y_train: np.ndarray, y_true: np.ndarray, fitted: dict) -> evaluation.TaskReport:
        report = evaluation.baseline_report(self.name, y_train, y_true, **self.evaluate_kwargs(fitted))
        return replace(report, primary=self.primary(fitted))

    def plot(
        self, name: str, report: evaluation.TaskReport, y_true: np.ndarray, predictions: pd.DataFrame, out: Path
    ) -> Path:
        raise NotImplementedError
