"""Modality registry: each modality (and each target task) is one `Codec` in one module.

A codec owns everything Braid does with one kind of column:

- fitting: `fitter(spec)` returns an accumulator with `update(values)` (called once per batch of
  TRAIN rows, so fitting streams in bounded memory) and `finalize() -> dict` (JSON-able state);
- transforming: `transform(spec, fitted, values, ctx) -> np.ndarray` gives model-ready values;
- storing: `encode` gives one stored value per row, `tf_feature` wraps one of them in a
  `tf.train.Feature`, `parse_spec`/`decode` read it back in tf.data, `parquet_columns` gives the
  columns written to the tabular Parquet files.

Codecs register themselves by name (`register`); the rest of Braid looks them up with `codec_for`
and never branches on a modality's name. Adding a modality = one module here + one import below.

Example:
    >>> from components.data.contract import feature_spec
    >>> feature = feature_spec(name="price", modality="numerical")
    >>> codec = codec_for(feature)
    >>> fit = codec.fitter(feature); fit.update(pd.Series(["1", "3"])); fitted = fit.finalize()
    >>> codec.transform(feature, fitted, pd.Series([2.0, None]), TransformContext())
    array([[0., 0.], [0., 1.]], dtype=float32)
"""

from __future__ import annotations

from collections import Counter
from concurrent.futures import Executor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, Sequence

import numpy as np
import pandas as pd
import pyarrow as pa

from components.data.spec import FeatureSpec
from components.errors import ContractError, DataError

if TYPE_CHECKING:
    import tensorflow as tf

Slot = str  # where a feature lands in the model's x dict: "tabular", or its own key ("image", "text")


@dataclass
class TransformContext:
    """What a transform may need besides the values: where images live, who the rows are, helpers.

    Attributes:
        image_root: directory image paths are relative to (paths escaping it are rejected).
        row_ids: the id of each row, so errors can name the row.
        executor: a pool image decoding runs on (None: run inline).
        issues: counts of tolerated problems ("color: unseen category" -> 3), reported by the caller.
        row_errors: None to raise at a row that cannot be used; a dict to collect such rows instead
            ({position: RowError}), every one in the same pass, while the codec fills them with zeros.
        positions: where this context's rows sit in the caller's frame, for a context over some of its
            rows (`subset`); None when they are the caller's rows.
    """

    image_root: Path | None = None
    row_ids: Sequence[Any] | None = None
    executor: Executor | None = None
    issues: Counter = field(default_factory=Counter)
    row_errors: dict[int, RowError] | None = None
    positions: Sequence[int] | None = None

    def row_id(self, position: int) -> Any:
        if self.row_ids is not None:
            return self.row_ids[position]
        return f"#{self.positions[position] if self.positions is not None else position}"

    def reject(self, position: int, column: str, problem: str) -> None:
        """The cell of row `position` in `column` cannot be used: raise a DataError naming the row, or,
        when the caller collects `row_errors`, record it (the first problem of a row wins)."""
        if self.row_errors is None:
            raise DataError(f"row {self.row_id(position)!r}, column '{column}': {problem}")
        where = self.positions[position] if self.positions is not None else position
        self.row_errors.setdefault(int(where), RowError(column, problem))

    def subset(self, positions: Sequence[int]) -> TransformContext:
        """A context over the rows at `positions` that shares the issues and the collected row errors."""
        return TransformContext(
            self.image_root,
            None if self.row_ids is None else [self.row_ids[i] for i in positions],
            self.executor,
            self.issues,
            self.row_errors,
            [self.positions[i] for i in positions] if self.positions is not None else list(positions),
        )


@dataclass(frozen=True)
class RowError:
    """Why one row cannot be used: the column and the problem of its cell."""

    column: str
    problem: str

    def __str__(self) -> str:
        return f"column '{self.column}': {self.problem}"


class Fitter(Protocol):
    def update(self, values: pd.Series) -> None: ...

    def finalize(self) -> dict: ...


class NoFit:
    """Fitter for codecs that learn nothing from data; remembers only how many rows it saw."""

    def __init__(self) -> None:
        self.rows = 0

    def update(self, values: pd.Series) -> None:
        self.rows += len(values)

    def finalize(self) -> dict:
        return {"rows": self.rows}


class Codec:
    """Base of every modality / target codec. `spec` is the contract's feature (the modality's
    `options` model) or target. TensorFlow is imported inside the methods that store and parse
    values, so reading a contract does not import it."""

    name: ClassVar[str]
    slot: ClassVar[Slot] = "tabular"
    options: ClassVar[type[FeatureSpec]]  # the contract options of a feature of this modality

    def fitter(self, spec) -> Fitter:
        return NoFit()

    def columns(self, spec, fitted: dict) -> list[str]:
        """Names of the values one row produces (one per slot of a tabular vector)."""
        return [spec.name]

    def transform(self, spec, fitted: dict, values: pd.Series, ctx: TransformContext) -> np.ndarray:
        raise NotImplementedError

    def encode(self, spec, fitted: dict, values: pd.Series, ctx: TransformContext) -> Sequence:
        """Per-row values to store in a TFRecord (default: the transformed values)."""
        return self.transform(spec, fitted, values, ctx)

    def tf_feature(self, stored) -> tf.train.Feature:
        raise NotImplementedError

    def parse_spec(self, spec, fitted: dict) -> tf.io.FixedLenFeature:
        raise NotImplementedError

    def decode(self, spec, fitted: dict, tensor: tf.Tensor) -> tf.Tensor:
        """Turn one parsed (unbatched) value into what the model gets."""
        return tensor

    def decode_batch(self, spec, fitted: dict, tensor: tf.Tensor) -> tf.Tensor:
        """`decode` over a batch of parsed values (default: `decode` is already element-wise)."""
        return self.decode(spec, fitted, tensor)

    def tensor_spec(self, spec, fitted: dict) -> tf.TensorSpec:
        raise NotImplementedError

    def parquet_columns(self, spec, fitted: dict, transformed: np.ndarray) -> dict[str, pa.Array]:
        if transformed.ndim == 1:
            return {spec.name: pa.array(transformed)}
        return {col: pa.array(transformed[:, j]) for j, col in enumerate(self.columns(spec, fitted))}


def float_feature(row: np.ndarray) -> "tf.train.Feature":
    import tensorflow as tf

    return tf.train.Feature(float_list=tf.train.FloatList(value=np.atleast_1d(row).tolist()))


def missing_mask(values: pd.Series) -> np.ndarray:
    return pd.isna(values).to_numpy(dtype=bool)


def prune(counts: Counter, limit: int) -> None:
    """Bound a frequency counter's memory on huge vocabularies, keeping the most frequent half."""
    if len(counts) > 2 * limit:
        keep = counts.most_common(limit)
        counts.clear()
        counts.update(dict(keep))


_MODALITIES: dict[str, Codec] = {}


def register(codec_class: type[Codec]) -> type[Codec]:
    """Class decorator: make a modality codec available under its `name`."""
    _MODALITIES[codec_class.name] = codec_class()
    return codec_class


def codec_for(feature) -> Codec:
    """The codec of a contract feature (by its `modality`)."""
    try:
        return _MODALITIES[feature.modality]
    except KeyError:
        raise ContractError(
            f"feature '{feature.name}': no modality '{feature.modality}' (known: {sorted(_MODALITIES)})"
        ) from None


def modality_names() -> list[str]:
    return sorted(_MODALITIES)


def feature_models() -> tuple[type[FeatureSpec], ...]:
    """Each registered modality's options model, in registration order (the order a contract error
    lists them): the contract's features are their union."""
    return tuple(codec.options for codec in _MODALITIES.values())


# Importing a module registers its codec.
from components.data.modalities import image, text, numerical, categorical, datetime  # noqa: E402,F401,I001
