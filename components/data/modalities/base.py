"""The base of a modality codec (`Codec`), what a transform is given (`TransformContext`), and the
helpers codecs share; `components.data.modalities` describes the whole and looks codecs up."""

from __future__ import annotations

from collections import Counter
from concurrent.futures import Executor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, ClassVar, Protocol, Sequence

import numpy as np
import pandas as pd
import pyarrow as pa

from components.data.spec import FeatureSpec
from components.errors import DataError

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
    """What a codec learns from the train rows: `update` per batch, `finalize` to the fitted dict, and
    `merge` of fitters over disjoint parts of the rows, whose `finalize` equals one fitter's over all of
    them (the parallel preprocessing fits parts apart, `components.data.preprocess.fit_part`)."""

    def update(self, values: pd.Series) -> None: ...

    def finalize(self) -> dict: ...

    @classmethod
    def merge(cls, parts: Sequence[Fitter]) -> Fitter: ...


class NoFit:
    """Fitter for codecs that learn nothing from data; remembers only how many rows it saw."""

    def __init__(self) -> None:
        self.rows = 0

    def update(self, values: pd.Series) -> None:
        self.rows += len(values)

    def finalize(self) -> dict:
        return {"rows": self.rows}

    @classmethod
    def merge(cls, parts: Sequence[NoFit]) -> NoFit:
        out = cls()
        out.rows = sum(p.rows for p in parts)
        return out


class Codec:
    """Base of every modality / target codec. `spec` is the contract's feature (the modality's
    `options` model) or target. TensorFlow is imported inside the methods that store and parse
    values, so reading a contract does not import it."""

    name: ClassVar[str]
    slot: ClassVar[Slot] = "tabular"
    options: ClassVar[type[FeatureSpec]]  # the contract options of a feature of this modality
    blank: ClassVar[Any] = None  # what a caller sends when this input is not there (missing)
    library_input: ClassVar[str | None] = None  # its own x key's library input node (`ak.<name>`), or None

    def library_input_options(self, spec) -> dict:
        """The options of its library input node (`library_input`) besides the name."""
        return {}

    def library_block(self, spec) -> tuple[str, dict]:
        """The library block (`ak.<name>`) and its options that encode this feature from scratch."""
        raise NotImplementedError

    def fitter(self, spec) -> Fitter:
        return NoFit()

    def columns(self, spec, fitted: dict) -> list[str]:
        """Names of the values one row produces (one per slot of a tabular vector)."""
        return [spec.name]

    def category_indices(self, spec, fitted: dict) -> dict[str, list[str]]:
        """Tabular slots that hold a category's index (slot name → the vocabulary it indexes; an index
        past its end: none of them), for the network to embed; none by default."""
        return {}

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


def run_chunks(ctx: TransformContext, work: Callable[[list], list], jobs: list) -> list:
    """`work` over `jobs` in chunks on the context's executor (inline without one): one task per chunk
    keeps the per-task overhead small. `work` maps a chunk of jobs to as many results, in order."""
    if ctx.executor is None or len(jobs) < 2:
        return work(jobs)
    size = max(1, min(128, len(jobs) // 8))
    chunks = [jobs[i : i + size] for i in range(0, len(jobs), size)]
    return [out for chunk in ctx.executor.map(work, chunks) for out in chunk]


def float_feature(row: np.ndarray) -> "tf.train.Feature":
    import tensorflow as tf

    return tf.train.Feature(float_list=tf.train.FloatList(value=np.atleast_1d(row).tolist()))
