"""Heads: learn the target encoding from training targets, build the output layer, decode predictions.

A head infers its loss, activation and units from the targets it sees in `fit`:
integer/string labels or one-hot rows give a softmax (or a 1-unit sigmoid for two
classes), multi-hot rows with `multi_label=True` give per-label sigmoids with
thresholds tuned on validation data, and numbers give a regression output
trained on standardised targets and de-standardised inside the model.
"""

from __future__ import annotations

from typing import Any

import keras
import numpy as np
import tensorflow as tf

from components import imbalance
from components.automl.blocks.general import Block, check_numeric, to_vector
from components.errors import DataError, InputError
from components.features import classification, multilabel
from components.features.numerical import moments


@keras.saving.register_keras_serializable(package="braid")
class ClassificationOutput(keras.layers.Layer):
    """Passes probabilities through and stores what decodes them: classes and multi-label thresholds."""

    def __init__(self, classes: list, multi_label: bool = False, thresholds: list | None = None, **kwargs: Any):
        super().__init__(**kwargs)
        self.classes = list(classes)
        self.multi_label = multi_label
        self.thresholds = thresholds

    def call(self, x):
        return keras.ops.cast(x, "float32")

    def get_config(self):
        return {
            **super().get_config(),
            "classes": self.classes,
            "multi_label": self.multi_label,
            "thresholds": self.thresholds,
        }


@keras.saving.register_keras_serializable(package="braid")
class Destandardize(keras.layers.Layer):
    """`y = z * std + mean`: the model learns standardised targets and answers in original units."""

    def __init__(self, mean: list[float], std: list[float], **kwargs: Any):
        super().__init__(**kwargs)
        self.mean, self.std = list(mean), list(std)

    def call(self, z):
        return keras.ops.cast(z, "float32") * np.asarray(self.std, "float32") + np.asarray(self.mean, "float32")

    def get_config(self):
        return {**super().get_config(), "mean": self.mean, "std": self.std}


class Head(Block):
    """Base class of heads. Call on a node like a block, or pass uncalled to `AutoModel`."""

    accepts = ("vector", "image", "structured")

    def __init__(
        self,
        name: str | None = None,
        loss: Any = None,
        metrics: list | None = None,
        dropout: float | None = None,
        mask_missing: bool = False,
        **kwargs: Any,
    ):
        super().__init__(name=name, **kwargs)
        self.loss, self.metrics, self.dropout = loss, metrics, dropout
        # Missing targets (NaN, or class index -1) are an error unless masked: then those rows add
        # nothing to this head's loss and metrics, while still training the other heads.
        self.mask_missing = mask_missing
        self.fitted = False
        self.baseline = 1.0

    def present(self, y: np.ndarray) -> np.ndarray:
        """Rows whose target is known (all rows unless `mask_missing`)."""
        return np.ones(len(y), bool)

    def present_tensor(self, y):
        """The same as a float 0/1 tensor, for the masked loss."""
        return tf.ones(tf.shape(y)[:1], "float32")

    def features(self, inputs):
        x = inputs[0]
        check_numeric(x, self)
        x = to_vector(x)
        if self.dropout:
            x = keras.layers.Dropout(self.dropout)(x)
        return x

    def metric_names(self) -> list[str]:
        return [m if isinstance(m, str) else m.name for m in self.metric_list()]

    def metric_list(self) -> list:
        """The metrics asked for; the defaults when `metrics` is None (an empty list means none)."""
        return list(self.default_metrics if self.metrics is None else self.metrics)

    def check_fitted(self):
        if not self.fitted:
            raise InputError(f"Head {self.name!r} has not seen targets yet; call fit first.")


MIN_POSITIVES = 10  # validation positives a label needs before it gets a threshold of its own


class ClassificationHead(Head):
    """Classification: binary, multi-class or multi-label.

    Args:
        num_classes: number of classes; inferred from the targets when None.
        multi_label: targets are multi-hot rows (or lists of labels); per-label
            sigmoids with F1-tuned thresholds.
        loss: optional loss name; the right one is inferred from the targets.
        metrics: metric names ("accuracy", "auc", "precision", "recall").
        dropout: dropout before the output layer.
        class_weight: "auto" (default): an unweighted loss, as None (balanced weights cost accuracy and
            macro-F1 wherever they were measured: `components.imbalance`); "balanced": scikit-learn's
            balanced weights; `{label: weight}`.
        threshold: binary heads' decision threshold on the probability of the second class: "auto"
            (default) tunes it on validation predictions for macro-F1 when the minority is rare (0.5
            otherwise), a float fixes it, None keeps 0.5. `predict` and the exported model's
            `ClassificationOutput` use it; `predict_proba` is unchanged.
        name: head name; y dicts and metric names use it.
    """

    default_metrics = ("accuracy",)

    def __init__(
        self,
        num_classes: int | None = None,
        multi_label: bool = False,
        loss: Any = None,
        metrics: list | None = None,
        dropout: float | None = None,
        class_weight: str | dict | None = "auto",
        threshold: str | float | None = "auto",
        name: str | None = None,
        **kwargs: Any,
    ):
        super().__init__(name=name, loss=loss, metrics=metrics, dropout=dropout, **kwargs)
        known = (None, "categorical_crossentropy", "sparse_categorical_crossentropy", "binary_crossentropy")
        if isinstance(loss, str) and loss not in known:
            raise InputError(f"ClassificationHead loss={loss!r}; use one of {[k for k in known if k]} or leave it out.")
        if class_weight is not None and class_weight not in ("auto", "balanced") and not isinstance(class_weight, dict):
            raise InputError(
                f"ClassificationHead class_weight={class_weight!r}; use 'auto', 'balanced', a {{label: weight}} "
                "dict or None."
            )
        if threshold is not None and threshold != "auto" and not (isinstance(threshold, float) and 0 < threshold < 1):
            raise InputError(
                f"ClassificationHead threshold={threshold!r}; use 'auto', a float between 0 and 1, or None (0.5)."
            )
        self.num_classes, self.multi_label, self.class_weight = num_classes, multi_label, class_weight
        self.threshold = threshold
        self.imbalanced = False  # set by `fit_targets`: the smallest training class is rare
        self.classes: list = []
        self.label_kind = "index"
        self.thresholds: list[float] | None = None
        self.class_weights: np.ndarray | None = None
        # "lists" when multi-label targets came as label lists: predict answers in the same form.
        self.label_format = "matrix"

    @property
    def binary(self) -> bool:
        return not self.multi_label and len(self.classes) == 2

    def present(self, y: np.ndarray) -> np.ndarray:
        if not self.mask_missing or self.multi_label:
            return np.ones(len(y), bool)
        flat = y.reshape(len(y), -1)[:, 0]
        if flat.dtype.kind in "iuf":
            return ~np.isnan(flat.astype("float64")) & (flat >= 0)
        return np.asarray([v is not None and str(v) not in {"", "nan", "None"} for v in flat])

    def present_tensor(self, y):
        if not self.mask_missing or self.multi_label:
            return tf.ones(tf.shape(y)[:1], "float32")
        return tf.cast(tf.reshape(y, [-1]) >= 0, "float32")

    def fit_targets(self, y: np.ndarray, other: np.ndarray | None = None) -> None:
        """Learn classes (or labels), class weights and the loss baseline from training targets.

        Args:
            y: the training targets.
            other: further targets given to `fit` (the validation part): their classes are classes
                too, so a class only seen there is a valid output, but priors and weights come from `y`.
        """
        self._table = None
        if other is not None and not self.multi_label and len(other):
            other = other[self.present(other)] if self.mask_missing else other
            if other.dtype.kind == "f" and np.isnan(other).any():
                other = other[~np.isnan(other.reshape(len(other), -1)).any(axis=1)]
        if self.mask_missing:
            y = y[self.present(y)]
            if len(y) == 0:
                raise DataError(f"Every target of head {self.name!r} is missing; it cannot be trained.")
        if y.dtype.kind == "f" and np.isnan(y).any():
            raise DataError(f"Targets of head {self.name!r} contain NaN; drop or fill those rows.")
        if self.multi_label:
            if y.ndim != 2 or not np.isin(y, (0, 1)).all():
                raise DataError(
                    f"Head {self.name!r} is multi_label: give multi-hot rows (N, labels) of 0/1 "
                    f"or lists of labels; got shape {y.shape}."
                )
            if not self.classes or len(self.classes) != y.shape[1]:
                self.classes = list(range(y.shape[1]))
            self.label_kind = "multi_hot"
            rates = np.clip(y.mean(axis=0), 1e-6, 1 - 1e-6)
            self.baseline = float(np.mean(-(rates * np.log(rates) + (1 - rates) * np.log(1 - rates))))
        else:
            if y.ndim == 2 and y.shape[1] > 1:
                if not np.isin(y, (0, 1)).all() or not np.allclose(y.sum(axis=1), 1):
                    raise DataError(
                        f"Head {self.name!r} got 2-D targets {y.shape} that are not one-hot rows; "
                        "pass labels (N,) or set multi_label=True for multi-hot rows."
                    )
                self.label_kind, self.classes = "one_hot", list(range(y.shape[1]))
                index = y.argmax(axis=1)
            else:
                flat = y.reshape(len(y)) if y.ndim == 2 else y
                if flat.ndim != 1:
                    raise DataError(f"Head {self.name!r} expects labels of shape (N,) or (N, 1); got {y.shape}.")
                labels = np.unique(_same_kind(flat, other))
                is_int = labels.dtype.kind in "iub" or (labels.dtype.kind == "f" and np.all(labels == np.round(labels)))
                if is_int and self.num_classes is not None and len(labels) != self.num_classes and -1 in labels:
                    labels = labels[labels != -1]  # the code of a missing target or an unseen class, not a class
                contiguous = (
                    is_int
                    and labels.min() >= 0
                    and (
                        (self.num_classes is not None and labels.max() < self.num_classes)
                        or (self.num_classes is None and len(labels) == labels.max() + 1)
                    )
                )
                if contiguous:
                    self.label_kind = "index"
                    self.classes = list(range(max(self.num_classes or 0, int(labels.max()) + 1, 2)))
                else:
                    self.label_kind, self.classes = "lookup", [_py(v) for v in labels]
                index = self.encode_numpy(flat)
            if self.num_classes is not None and len(self.classes) != self.num_classes:
                raise DataError(
                    f"Head {self.name!r} was given num_classes={self.num_classes} but the targets "
                    f"have {len(self.classes)} classes ({self.classes[:10]}...)."
                )
            counts = np.bincount(index, minlength=len(self.classes)).astype("float64")
            prior = counts[counts > 0] / counts.sum()
            self.baseline = float(max(-(prior * np.log(prior)).sum(), 1e-3))
            self.imbalanced = imbalance.is_imbalanced(counts)
            self.class_weights = self._class_weights(counts)
            self.thresholds = [float(self.threshold)] if self.binary and isinstance(self.threshold, float) else None
        self.fitted = True

    @property
    def tunes_thresholds(self) -> bool:
        """Whether `AutoModel.fit` tunes this head's thresholds on validation predictions after the
        search: multi-label heads, and binary heads with a rare minority and `threshold="auto"`."""
        return self.multi_label or (self.binary and self.threshold == "auto" and self.imbalanced)

    def _class_weights(self, counts: np.ndarray) -> np.ndarray | None:
        # "auto" weighs nothing: balanced weights lost wherever they were measured. On flights' cancelled
        # (2.5% yes) weights alone lose to the constant, and with the threshold they add little (macro-F1
        # median 0.569 vs 0.564) but cost the shared trunk's other head on every seed (arr_delay MAE
        # 25.40 vs 25.02); on posters' content_rating (6 classes, the rarest 1%) they cost the network
        # accuracy 0.680 -> 0.585 and macro-F1 0.589 -> 0.511 (medians of 3 seeds): benchmarks/README.md.
        if self.class_weight in (None, "auto"):
            return None
        if self.class_weight == "balanced":
            return imbalance.balanced_weights(counts)
        weights = np.ones(len(self.classes), "float32")
        for label, weight in self.class_weight.items():
            if _py(label) not in self.classes:
                raise InputError(
                    f"class_weight of head {self.name!r} names unknown class {label!r}; classes are {self.classes}."
                )
            weights[self.classes.index(_py(label))] = weight
        return weights

    def unknown_rows(self, y: np.ndarray) -> np.ndarray:
        """A boolean per row: its label is none of the classes learned in `fit`."""
        if self.label_kind in ("multi_hot", "one_hot"):
            return np.zeros(len(y), bool)
        flat = y.reshape(len(y))
        if self.label_kind == "index":
            known = (flat >= 0) & (flat < len(self.classes)) & (flat == np.round(flat.astype("float64")))
            return ~known & ~((flat == -1) & self.mask_missing)
        lookup = {str(c) for c in self.classes}
        return np.asarray(
            [str(_py(v)) not in lookup and not (self.mask_missing and not p) for v, p in zip(flat, self.present(y))],
            bool,
        )

    def probabilities(self, outputs: np.ndarray) -> np.ndarray:
        """Model outputs → one probability column per class (in `classes` order)."""
        return classification.probabilities(outputs) if self.binary else outputs

    def encode_numpy(self, y: np.ndarray) -> np.ndarray:
        """Targets → class indices (or multi-hot floats); unknown labels raise DataError."""
        if self.label_kind == "multi_hot":
            return y.astype("float32")
        if self.label_kind == "one_hot":
            return y.argmax(axis=1).astype("int64")
        flat = y.reshape(len(y))
        if self.label_kind == "index":
            known = flat >= 0 if self.mask_missing else np.ones(len(flat), bool)
            bad = known & ((flat < 0) | (flat >= len(self.classes)) | (flat != np.round(flat.astype("float64"))))
            bad |= ~known & (flat != -1)
            if bad.any():
                hint = (
                    " (-1 codes a missing target: pass mask_missing=True to leave such rows out)"
                    if (flat[bad] == -1).any()
                    else ""
                )
                raise DataError(
                    f"Head {self.name!r} got label {flat[bad][0]!r} outside its classes 0..{len(self.classes) - 1}{hint}."
                )
            return flat.astype("int64")
        lookup = {str(c): i for i, c in enumerate(self.classes)}
        keys = [str(_py(v)) for v in flat]
        missing = [k for k in keys if k not in lookup]
        if missing:
            raise DataError(
                f"Head {self.name!r} got label {missing[0]!r} not seen in the training targets {self.classes[:10]}."
            )
        return np.asarray([lookup[k] for k in keys], "int64")

    def encode_tensor(self, y):
        """The same encoding as a TF op, for datasets (per example)."""
        if self.label_kind == "multi_hot":
            return tf.cast(y, "float32")
        if self.label_kind == "one_hot":
            index = tf.argmax(y, axis=-1)
        elif self.label_kind == "index":
            index = tf.cast(tf.reshape(y, []), "int64")
        else:
            numeric = all(isinstance(c, (int, np.integer)) and not isinstance(c, bool) for c in self.classes)
            with tf.init_scope():
                keys = (
                    tf.constant([int(c) for c in self.classes], tf.int64)
                    if numeric
                    else tf.constant([str(c) for c in self.classes])
                )
            with tf.init_scope():  # one table for every trace of the dataset map
                if getattr(self, "_table", None) is None:
                    values = tf.range(len(self.classes), dtype=tf.int64)
                    self._table = tf.lookup.StaticHashTable(tf.lookup.KeyValueTensorInitializer(keys, values), -1)
            table = self._table
            key = tf.cast(y, tf.int64) if numeric else (y if y.dtype == tf.string else tf.strings.as_string(y))
            index = table.lookup(tf.reshape(key, []))
        if self.binary:
            return tf.cast(tf.reshape(index, [1]), "float32")
        return index

    def build(self, hp, inputs, sources):
        self.check_fitted()
        x = self.features(inputs)
        units = 1 if self.binary else len(self.classes)
        activation = "sigmoid" if (self.binary or self.multi_label) else "softmax"
        x = keras.layers.Dense(units, name=f"{self.name}_dense")(x)
        x = keras.layers.Activation(activation, dtype="float32")(x)
        return ClassificationOutput(self.classes, self.multi_label, self.thresholds, name=self.name, dtype="float32")(x)

    def loss_fn(self):
        if callable(self.loss):
            return self.loss
        if self.binary or self.multi_label:
            return keras.losses.BinaryCrossentropy()
        return keras.losses.SparseCategoricalCrossentropy()

    def metric_objects(self) -> list:
        objects = []
        for metric in self.metric_list():
            if not isinstance(metric, str):
                objects.append(metric)
                continue
            name = f"{self.name}_{metric}"
            sigmoid = self.binary or self.multi_label
            if metric in ("accuracy", "acc"):
                objects.append(
                    keras.metrics.BinaryAccuracy(name=name)
                    if sigmoid
                    else keras.metrics.SparseCategoricalAccuracy(name=name)
                )
            elif metric == "auc" and sigmoid:
                objects.append(keras.metrics.AUC(name=name, multi_label=self.multi_label))
            elif metric in ("precision", "recall") and sigmoid:
                cls = keras.metrics.Precision if metric == "precision" else keras.metrics.Recall
                objects.append(cls(name=name))
            else:
                raise InputError(
                    f"Metric {metric!r} of head {self.name!r} is not supported; use accuracy, or auc/precision/recall for binary and multi-label heads."
                )
        return objects

    def decode(self, probabilities: np.ndarray) -> np.ndarray:
        """Probabilities → original labels `(N, 1)`; for multi-label a 0/1 matrix, or one list of
        labels per row when `fit` was given label lists."""
        if self.multi_label:
            chosen = multilabel.decide(probabilities, self.thresholds)
            if self.label_format != "lists":
                return chosen.astype("int64")
            labels = np.empty(len(chosen), dtype=object)
            labels[:] = multilabel.label_sets(chosen, self.classes)
            return labels
        index = classification.decide(self.probabilities(probabilities), self.thresholds)
        return np.asarray(self.classes, dtype=object if self.label_kind == "lookup" else None)[index].reshape(-1, 1)

    def tune_thresholds(self, y_true: np.ndarray, probabilities: np.ndarray) -> list[float]:
        """Thresholds tuned on validation data: a binary head's one threshold for macro-F1
        (`imbalance.macro_f1_threshold`, rows with an unknown target left out); for multi-label,
        micro-F1: one global threshold first, then, for
        labels with enough validation positives (`MIN_POSITIVES`), a threshold of their own where it
        raises micro-F1 (one pass of coordinate ascent).

        Maximising each label's own F1 instead would, for a label the model can't yet tell apart,
        pick the lowest threshold (predict it everywhere) and flood the predictions.
        """
        if self.binary:
            truth, probability = y_true.reshape(-1), probabilities.reshape(len(probabilities), -1)[:, 0]
            known = truth >= 0
            self.thresholds = [imbalance.macro_f1_threshold(truth[known], probability[known])]
            return self.thresholds
        grid = np.linspace(0.05, 0.95, 19)
        truth = y_true > 0.5
        above = probabilities[:, :, None] >= grid[None, None, :]  # rows x labels x thresholds
        tp = (above & truth[:, :, None]).sum(axis=0).astype("float64")  # labels x thresholds
        predicted = above.sum(axis=0).astype("float64")
        positives = float(truth.sum())

        def micro_f1(tp_sum, predicted_sum):
            return 2 * tp_sum / np.maximum(predicted_sum + positives, 1.0)

        choice = np.full(truth.shape[1], int(np.argmax(micro_f1(tp.sum(axis=0), predicted.sum(axis=0)))))
        for j in np.flatnonzero(truth.sum(axis=0) >= MIN_POSITIVES):
            labels = np.arange(truth.shape[1])
            tp_rest = tp[labels, choice].sum() - tp[j, choice[j]]
            predicted_rest = predicted[labels, choice].sum() - predicted[j, choice[j]]
            choice[j] = int(np.argmax(micro_f1(tp_rest + tp[j], predicted_rest + predicted[j])))
        self.thresholds = [float(grid[c]) for c in choice]
        return self.thresholds


class RegressionHead(Head):
    """Regression of one or several numbers.

    Targets are standardised for training and the output layer de-standardises,
    so predictions (and metrics like "mae") are in the original units.

    Args:
        output_dim: number of outputs; inferred from the targets when None.
        loss: "mean_squared_error" (default), "mean_absolute_error" or "huber".
        metrics: "mae", "mse", "rmse", "mape" (or their long names).
        dropout: dropout before the output layer.
        name: head name.
    """

    default_metrics = ("mean_squared_error",)
    _losses = {
        "mean_squared_error": "mse",
        "mse": "mse",
        "mean_absolute_error": "mae",
        "mae": "mae",
        "huber": "huber",
        "huber_loss": "huber",
    }

    def __init__(
        self,
        output_dim: int | None = None,
        loss: Any = None,
        metrics: list | None = None,
        dropout: float | None = None,
        name: str | None = None,
        **kwargs: Any,
    ):
        super().__init__(name=name, loss=loss, metrics=metrics, dropout=dropout, **kwargs)
        if isinstance(loss, str) and loss not in self._losses:
            raise InputError(f"RegressionHead loss={loss!r}; use one of {sorted(self._losses)}.")
        self.output_dim = output_dim
        self.mean: list[float] = []
        self.std: list[float] = []
        self.class_weights = None

    def fit_targets(self, y: np.ndarray) -> None:
        if y.dtype.kind not in "iufb":
            raise DataError(
                f"RegressionHead {self.name!r} got non-numeric targets (dtype {y.dtype}, e.g. {y.reshape(-1)[:1]}); "
                "use a ClassificationHead for labels or convert the column to numbers."
            )
        y = y.astype("float64").reshape(len(y), -1)
        if self.mask_missing:
            y = y[self.present(y)]
            if len(y) == 0:
                raise DataError(f"Every target of head {self.name!r} is missing; it cannot be trained.")
        if np.isnan(y).any() or np.isinf(y).any():
            raise DataError(f"Targets of head {self.name!r} contain NaN or infinity; drop or fill those rows.")
        if self.output_dim is not None and y.shape[1] != self.output_dim:
            raise DataError(
                f"RegressionHead {self.name!r} has output_dim={self.output_dim} but targets have {y.shape[1]} columns."
            )
        columns = [moments(y[:, j]) for j in range(y.shape[1])]
        self.mean, self.std = [mean for mean, _ in columns], [std for _, std in columns]
        self.fitted = True

    def present(self, y: np.ndarray) -> np.ndarray:
        if not self.mask_missing:
            return np.ones(len(y), bool)
        return ~np.isnan(y.astype("float64").reshape(len(y), -1)).any(axis=1)

    def present_tensor(self, y):
        if not self.mask_missing:
            return tf.ones(tf.shape(y)[:1], "float32")
        return tf.cast(tf.reduce_all(tf.math.is_finite(tf.cast(y, "float32")), axis=-1), "float32")

    def encode_numpy(self, y: np.ndarray) -> np.ndarray:
        return y.astype("float32").reshape(len(y), len(self.mean))

    def encode_tensor(self, y):
        return tf.reshape(tf.cast(y, "float32"), [len(self.mean)])

    def build(self, hp, inputs, sources):
        self.check_fitted()
        x = keras.layers.Dense(len(self.mean), name=f"{self.name}_dense")(self.features(inputs))
        return Destandardize(self.mean, self.std, name=self.name, dtype="float32")(x)

    def loss_fn(self):
        if callable(self.loss):
            return self.loss
        kind = self._losses[self.loss or "mse"]
        std = tf.constant(self.std, "float32")

        def standardized_loss(y_true, y_pred, sample_weight=None):
            error = (tf.cast(y_true, "float32") - tf.cast(y_pred, "float32")) / std
            if kind == "mse":
                per_row = tf.reduce_mean(tf.square(error), axis=-1)
            elif kind == "mae":
                per_row = tf.reduce_mean(tf.abs(error), axis=-1)
            else:
                small = tf.abs(error) <= 1.0
                per_row = tf.reduce_mean(tf.where(small, 0.5 * tf.square(error), tf.abs(error) - 0.5), axis=-1)
            if sample_weight is not None:
                return tf.reduce_sum(per_row * sample_weight) / tf.maximum(tf.reduce_sum(sample_weight), 1e-9)
            return tf.reduce_mean(per_row)

        return standardized_loss

    def metric_objects(self) -> list:
        table = {
            "mae": keras.metrics.MeanAbsoluteError,
            "mean_absolute_error": keras.metrics.MeanAbsoluteError,
            "mse": keras.metrics.MeanSquaredError,
            "mean_squared_error": keras.metrics.MeanSquaredError,
            "rmse": keras.metrics.RootMeanSquaredError,
            "root_mean_squared_error": keras.metrics.RootMeanSquaredError,
            "mape": keras.metrics.MeanAbsolutePercentageError,
            "mean_absolute_percentage_error": keras.metrics.MeanAbsolutePercentageError,
        }
        objects = []
        for metric in self.metric_list():
            if not isinstance(metric, str):
                objects.append(metric)
            elif metric in table:
                objects.append(table[metric](name=f"{self.name}_{metric}"))
            else:
                raise InputError(
                    f"Metric {metric!r} of head {self.name!r} is not supported; use one of {sorted(table)}."
                )
        return objects

    def decode(self, values: np.ndarray) -> np.ndarray:
        return values


def _same_kind(y: np.ndarray, other: np.ndarray | None) -> np.ndarray:
    """The labels of `y` and of `other` together, as one flat array (strings if either is)."""
    if other is None or not len(other):
        return y
    other = other.reshape(len(other), -1)[:, 0] if other.ndim == 2 and other.shape[1] == 1 else other
    if other.ndim != 1:
        return y
    if y.dtype.kind in "USO" or other.dtype.kind in "USO":
        return (
            np.concatenate([y.astype(str), other.astype(str)])
            if y.dtype.kind in "USO" and other.dtype.kind in "USO"
            else y
        )
    return np.concatenate([y, other])


def _py(value: Any) -> Any:
    """numpy scalars → plain Python values, so classes serialise to JSON."""
    return value.item() if isinstance(value, np.generic) else value
