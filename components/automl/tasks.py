"""AutoKeras's task APIs: one input, one head, AutoKeras's argument names and defaults.

clf = ak.StructuredDataClassifier(max_trials=3, overwrite=True, seed=0)
clf.fit("train.csv", "survived", epochs=10)      # a CSV path and the label column's name
print(clf.evaluate("test.csv", "survived"))      # [loss, accuracy]
labels = clf.predict("test.csv")                 # in the labels' own form (ints or strings)
"""

from __future__ import annotations

import os
from typing import Any

import pandas as pd

from components.automl.auto_model import AutoModel
from components.automl.heads import ClassificationHead, RegressionHead
from components.automl.nodes import AudioInput, ImageInput, StructuredDataInput, TextInput, TimeseriesInput
from components.errors import DataError, InputError


class _Task(AutoModel):
    """One input node, one head; the rest is AutoModel (a `tuner=None` means "greedy")."""

    def __init__(
        self,
        node,
        head,
        project_name: str,
        max_trials: int,
        directory,
        objective,
        tuner,
        overwrite: bool,
        seed,
        max_model_size,
        time_budget,
        **kwargs: Any,
    ):
        super().__init__(
            inputs=node,
            outputs=head,
            project_name=project_name,
            max_trials=max_trials,
            directory=directory,
            objective=objective,
            tuner=tuner or "greedy",
            overwrite=overwrite,
            seed=seed,
            max_model_size=max_model_size,
            time_budget=time_budget,
            **kwargs,
        )


_SEARCH_ARGS = (
    "project_name", "max_trials", "directory", "objective", "tuner", "overwrite", "seed", "max_model_size", "time_budget",
)  # fmt: skip


def _search_args(args: dict[str, Any]) -> dict[str, Any]:
    """The search's arguments, which every task API takes by AutoKeras's names and passes on unchanged,
    picked from its `locals()` (with its `**kwargs`)."""
    return {**{name: args[name] for name in _SEARCH_ARGS}, **args["kwargs"]}


def _classification_head(num_classes, multi_label, loss, metrics) -> ClassificationHead:
    return ClassificationHead(num_classes=num_classes, multi_label=multi_label, loss=loss, metrics=metrics)


class ImageClassifier(_Task):
    """Image classification (AutoKeras `ak.ImageClassifier`).

    Args:
        num_classes: inferred from the targets when None.
        multi_label: targets are multi-hot rows or label lists.
        loss: inferred from the targets when None.
        metrics: "accuracy" when None.
        project_name, max_trials, directory, objective, tuner, overwrite, seed, max_model_size:
            as for `AutoModel` (objective defaults to "val_loss", tuner to "greedy").
        time_budget: seconds; no new trial starts after it.
        **kwargs: passed on to the keras-tuner Tuner (e.g. `executions_per_trial`).
    """

    def __init__(
        self,
        num_classes: int | None = None,
        multi_label: bool = False,
        loss: Any = None,
        metrics: Any = None,
        project_name: str = "image_classifier",
        max_trials: int = 100,
        directory: str | None = None,
        objective: str = "val_loss",
        tuner: Any = None,
        overwrite: bool = False,
        seed: int | None = None,
        max_model_size: int | None = None,
        time_budget: float | None = None,
        **kwargs: Any,
    ):
        super().__init__(
            ImageInput(),
            _classification_head(num_classes, multi_label, loss, metrics),
            **_search_args(locals()),
        )


class ImageRegressor(_Task):
    """Image regression (AutoKeras `ak.ImageRegressor`); arguments as `ImageClassifier`, with
    `output_dim` (inferred when None) instead of `num_classes` / `multi_label`."""

    def __init__(
        self,
        output_dim: int | None = None,
        loss: Any = "mean_squared_error",
        metrics: Any = None,
        project_name: str = "image_regressor",
        max_trials: int = 100,
        directory: str | None = None,
        objective: str = "val_loss",
        tuner: Any = None,
        overwrite: bool = False,
        seed: int | None = None,
        max_model_size: int | None = None,
        time_budget: float | None = None,
        **kwargs: Any,
    ):
        super().__init__(
            ImageInput(),
            RegressionHead(output_dim=output_dim, loss=loss, metrics=metrics),
            **_search_args(locals()),
        )


class TextClassifier(_Task):
    """Text classification from raw strings (AutoKeras `ak.TextClassifier`); arguments as `ImageClassifier`."""

    def __init__(
        self,
        num_classes: int | None = None,
        multi_label: bool = False,
        loss: Any = None,
        metrics: Any = None,
        project_name: str = "text_classifier",
        max_trials: int = 100,
        directory: str | None = None,
        objective: str = "val_loss",
        tuner: Any = None,
        overwrite: bool = False,
        seed: int | None = None,
        max_model_size: int | None = None,
        time_budget: float | None = None,
        **kwargs: Any,
    ):
        super().__init__(
            TextInput(),
            _classification_head(num_classes, multi_label, loss, metrics),
            **_search_args(locals()),
        )


class TextRegressor(_Task):
    """Text regression from raw strings (AutoKeras `ak.TextRegressor`); arguments as `ImageRegressor`."""

    def __init__(
        self,
        output_dim: int | None = None,
        loss: Any = "mean_squared_error",
        metrics: Any = None,
        project_name: str = "text_regressor",
        max_trials: int = 100,
        directory: str | None = None,
        objective: str = "val_loss",
        tuner: Any = None,
        overwrite: bool = False,
        seed: int | None = None,
        max_model_size: int | None = None,
        time_budget: float | None = None,
        **kwargs: Any,
    ):
        super().__init__(
            TextInput(),
            RegressionHead(output_dim=output_dim, loss=loss, metrics=metrics),
            **_search_args(locals()),
        )


class _StructuredTask(_Task):
    """Tables as arrays, DataFrames or a CSV path; with a path (or a DataFrame), `y` may name the
    label column, as AutoKeras 1.x scripts write `clf.fit("train.csv", "survived")`."""

    def _table(self, x: Any, y: Any = None) -> tuple[Any, Any]:
        if isinstance(x, (str, os.PathLike)):
            try:
                x = pd.read_csv(x)
            except (OSError, ValueError) as error:
                raise DataError(f"Cannot read the CSV file {str(x)!r}: {error}") from None
        if isinstance(y, str):
            if not isinstance(x, pd.DataFrame):
                raise InputError(
                    f"y={y!r} names a column, so x must be a CSV path or a DataFrame; got {type(x).__name__}."
                )
            if y not in x.columns:
                raise DataError(f"The label column {y!r} is not in the data; its columns are {list(x.columns)}.")
            x, y = x.drop(columns=[y]), x[y]
        elif self._label_column and isinstance(x, pd.DataFrame) and self._label_column in x.columns:
            x = x.drop(columns=[self._label_column])  # predict on the file that was fitted on
        return x, y

    _label_column: str | None = None

    def fit(
        self,
        x: Any = None,
        y: Any = None,
        epochs: int | None = None,
        callbacks: list | None = None,
        validation_split: float = 0.2,
        validation_data: Any = None,
        **kwargs: Any,
    ):
        """As `AutoModel.fit`; `x` may be a CSV path and `y` the name of its label column."""
        if isinstance(y, str):
            self._label_column = y
        x, y = self._table(x, y)
        if isinstance(validation_data, (tuple, list)) and len(validation_data) == 2:
            validation_data = self._table(*validation_data)
        return super().fit(
            x,
            y,
            epochs=epochs,
            callbacks=callbacks,
            validation_split=validation_split,
            validation_data=validation_data,
            **kwargs,
        )

    def predict(self, x: Any, **kwargs: Any):
        return super().predict(self._table(x)[0], **kwargs)

    def predict_proba(self, x: Any, **kwargs: Any):
        return super().predict_proba(self._table(x)[0], **kwargs)

    def evaluate(self, x: Any, y: Any = None, **kwargs: Any):
        return super().evaluate(*self._table(x, y), **kwargs)


class StructuredDataClassifier(_StructuredTask):
    """Table classification (AutoKeras `ak.StructuredDataClassifier`).

    Args:
        column_names: the feature columns (the DataFrame's or CSV header when None).
        column_types: `{"column": "numerical" | "categorical" | "datetime"}`; inferred when None.
        num_classes, multi_label, loss, metrics: as `ImageClassifier`.
        project_name, max_trials, directory, objective, tuner, overwrite, seed, max_model_size,
            time_budget, **kwargs: as `ImageClassifier` (objective defaults to "val_accuracy").
        head_models: "auto" (default), "network", "classical" or "blend": what `predict` and
            `evaluate` answer with, per head: the searched network, a gradient-boosted model of the
            same table, or their blend, chosen on the validation rows (`AutoModel`'s `head_models`;
            `head_choices` says what was chosen and why). `export_model()` is the network alone.
    """

    def __init__(
        self,
        column_names: list[str] | None = None,
        column_types: dict[str, str] | None = None,
        num_classes: int | None = None,
        multi_label: bool = False,
        loss: Any = None,
        metrics: Any = None,
        project_name: str = "structured_data_classifier",
        max_trials: int = 100,
        directory: str | None = None,
        objective: str = "val_accuracy",
        tuner: Any = None,
        overwrite: bool = False,
        seed: int | None = None,
        max_model_size: int | None = None,
        time_budget: float | None = None,
        head_models: str = "auto",
        **kwargs: Any,
    ):
        super().__init__(
            StructuredDataInput(column_names=column_names, column_types=column_types),
            _classification_head(num_classes, multi_label, loss, metrics),
            head_models=head_models,
            **_search_args(locals()),
        )


class StructuredDataRegressor(_StructuredTask):
    """Table regression (AutoKeras `ak.StructuredDataRegressor`); arguments as
    `StructuredDataClassifier`, with `output_dim` instead of `num_classes` / `multi_label` and
    objective "val_loss"."""

    def __init__(
        self,
        column_names: list[str] | None = None,
        column_types: dict[str, str] | None = None,
        output_dim: int | None = None,
        loss: Any = "mean_squared_error",
        metrics: Any = None,
        project_name: str = "structured_data_regressor",
        max_trials: int = 100,
        directory: str | None = None,
        objective: str = "val_loss",
        tuner: Any = None,
        overwrite: bool = False,
        seed: int | None = None,
        max_model_size: int | None = None,
        time_budget: float | None = None,
        head_models: str = "auto",
        **kwargs: Any,
    ):
        super().__init__(
            StructuredDataInput(column_names=column_names, column_types=column_types),
            RegressionHead(output_dim=output_dim, loss=loss, metrics=metrics),
            head_models=head_models,
            **_search_args(locals()),
        )


class TimeseriesClassifier(_Task):
    """Classification of series (sensor recordings): `x` as `ak.TimeseriesInput` takes it, an array
    `(N, T, C)` with NaN where no value or a list of series of any length; arguments as `ImageClassifier`,
    and `max_length` as `TimeseriesInput`'s.

    Example:
        >>> clf = ak.TimeseriesClassifier(max_trials=2, overwrite=True, seed=0)
        >>> clf.fit([[0.1, 0.3, 0.2], [1.0, 0.0, 1.0, 0.0]] * 20, ["calm", "shaky"] * 20, epochs=2)
    """

    def __init__(
        self,
        num_classes: int | None = None,
        multi_label: bool = False,
        loss: Any = None,
        metrics: Any = None,
        max_length: int | None = None,
        project_name: str = "timeseries_classifier",
        max_trials: int = 100,
        directory: str | None = None,
        objective: str = "val_loss",
        tuner: Any = None,
        overwrite: bool = False,
        seed: int | None = None,
        max_model_size: int | None = None,
        time_budget: float | None = None,
        **kwargs: Any,
    ):
        super().__init__(
            TimeseriesInput(max_length=max_length),
            _classification_head(num_classes, multi_label, loss, metrics),
            **_search_args(locals()),
        )


class TimeseriesRegressor(_Task):
    """Regression from series; arguments as `ImageRegressor`, and `max_length` as `TimeseriesInput`'s."""

    def __init__(
        self,
        output_dim: int | None = None,
        loss: Any = "mean_squared_error",
        metrics: Any = None,
        max_length: int | None = None,
        project_name: str = "timeseries_regressor",
        max_trials: int = 100,
        directory: str | None = None,
        objective: str = "val_loss",
        tuner: Any = None,
        overwrite: bool = False,
        seed: int | None = None,
        max_model_size: int | None = None,
        time_budget: float | None = None,
        **kwargs: Any,
    ):
        super().__init__(
            TimeseriesInput(max_length=max_length),
            RegressionHead(output_dim=output_dim, loss=loss, metrics=metrics),
            **_search_args(locals()),
        )


class AudioClassifier(_Task):
    """Classification of audio clips (spoken words, sounds): `x` as `ak.AudioInput` takes it, waveforms
    `(N, samples)` at `sample_rate` or a list of WAV/FLAC/OGG paths, bytes or data URIs; arguments as
    `ImageClassifier`, and `sample_rate`, `max_seconds` as `AudioInput`'s.

    Example:
        >>> clf = ak.AudioClassifier(sample_rate=16000, max_trials=2, overwrite=True, seed=0)
        >>> clf.fit(["yes-0.wav", "no-0.wav", ...], ["yes", "no", ...], epochs=5)
        >>> clf.predict(["yes-9.wav"])
    """

    def __init__(
        self,
        num_classes: int | None = None,
        multi_label: bool = False,
        loss: Any = None,
        metrics: Any = None,
        sample_rate: int = 16_000,
        max_seconds: float | None = None,
        project_name: str = "audio_classifier",
        max_trials: int = 100,
        directory: str | None = None,
        objective: str = "val_loss",
        tuner: Any = None,
        overwrite: bool = False,
        seed: int | None = None,
        max_model_size: int | None = None,
        time_budget: float | None = None,
        **kwargs: Any,
    ):
        super().__init__(
            AudioInput(sample_rate=sample_rate, max_seconds=max_seconds),
            _classification_head(num_classes, multi_label, loss, metrics),
            **_search_args(locals()),
        )
