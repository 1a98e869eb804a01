"""Graph placeholders: input nodes (what data comes in) and the nodes blocks produce.

A node knows its *kind*, which decides which blocks may consume it:
`"image"` (a spatial float tensor), `"text"` (one string per example), `"timeseries"` (padded
series `[T, C]`, NaN where no value), `"audio"` (a mono waveform `[samples]` at one rate),
`"structured"` (a raw table row, numeric or string) and `"vector"` (features).
Input nodes also carry what was learned from the training data (shape, dtype,
statistics) once `AutoModel.fit` has looked at it.
"""

from __future__ import annotations

from typing import Any

from components.errors import InputError
from components.features.categorical import MAX_CATEGORIES

NUMERICAL = "numerical"
CATEGORICAL = "categorical"
DATETIME = "datetime"
COLUMN_TYPES = (NUMERICAL, CATEGORICAL, DATETIME)


class Node:
    """An edge of the model graph: the output of an input or of a block."""

    def __init__(self, kind: str, block: Any = None, name: str | None = None):
        self.kind = kind
        self.block = block
        self.name = name

    def __repr__(self) -> str:
        return f"{type(self).__name__}(kind={self.kind!r}, name={self.name!r})"


class InputNode(Node):
    """Base class of the model inputs; `fit` fills `shape`, `dtype` and `stats`."""

    kind_name = "vector"

    def __init__(self, name: str | None = None):
        super().__init__(kind=self.kind_name, block=None, name=name)
        self.shape: tuple[int, ...] | None = None
        self.dtype: str = "float32"
        self.stats: dict[str, Any] = {}

    def keras_input(self):
        import keras

        if self.shape is None:
            raise InputError(f"Input {self.name!r} has not seen any data yet; call fit first.")
        return keras.Input(shape=self.shape, dtype=self.dtype, name=self.name)


class Input(InputNode):
    """A generic numeric input of any shape (AutoKeras `ak.Input`)."""

    kind_name = "vector"


class ImageInput(InputNode):
    """Images, `(N, H, W, C)` or `(N, H, W)`, uint8 or float.

    Args:
        name: optional input name; dict inputs and datasets are keyed by it.
    """

    kind_name = "image"


class TextInput(InputNode):
    """Raw text, one string per example (`(N,)` or `(N, 1)`).

    Args:
        name: optional input name; dict inputs and datasets are keyed by it.
    """

    kind_name = "text"

    def __init__(self, name: str | None = None):
        super().__init__(name=name)
        self.dtype = "string"


class TimeseriesInput(InputNode):
    """Series, one per example: numbers or vectors per step, of varying length, with missing values.

    Give a float array `(N, T, C)` (or `(N, T)` for one channel) with NaN where there is no value (a
    missing reading, or padding after a shorter series' end), or a list of N series of any length
    (lists, numpy arrays, or JSON arrays as strings: "[[0.1, 3], [0.2, null]]"). Each channel is
    standardised by its training mean and std inside the model, which also masks the steps without a
    value, so an exported model takes the raw padded array.

    Args:
        max_length: steps the model reads; longer series are cropped to their first `max_length`
            steps. When None: an array's T, or the 95th percentile of the training series' lengths.
        name: optional input name; dict inputs and datasets are keyed by it.
    """

    kind_name = "timeseries"

    def __init__(self, max_length: int | None = None, name: str | None = None):
        super().__init__(name=name)
        if max_length is not None and (not isinstance(max_length, int) or max_length < 1):
            raise InputError(f"TimeseriesInput max_length={max_length!r}; use a positive integer or None.")
        self.max_length = max_length


class AudioInput(InputNode):
    """Audio clips, one per example: mono waveforms at `sample_rate`, or clips to decode.

    Give a float array `(N, samples)` in [-1, 1] already at `sample_rate`, or a list of N clips: WAV,
    FLAC or OGG files (paths), their bytes, or `data:audio/...;base64,` URIs. Clips are mixed to mono,
    resampled to `sample_rate` and cropped or padded with silence to `max_seconds`. The model computes
    log mel frames from the waveform itself, so an exported model takes the raw waveform.

    Args:
        sample_rate: Hz every clip is resampled to (and an array's rate).
        max_seconds: seconds the model reads; longer clips are cropped to their start. When None: an
            array's length, or the 95th percentile of the training clips' durations.
        name: optional input name; dict inputs and datasets are keyed by it.
    """

    kind_name = "audio"

    def __init__(self, sample_rate: int = 16_000, max_seconds: float | None = None, name: str | None = None):
        super().__init__(name=name)
        if not isinstance(sample_rate, int) or sample_rate < 1000:
            raise InputError(f"AudioInput sample_rate={sample_rate!r}; use a whole number of Hz, at least 1000.")
        if max_seconds is not None and not (isinstance(max_seconds, (int, float)) and max_seconds > 0):
            raise InputError(f"AudioInput max_seconds={max_seconds!r}; use a positive number of seconds or None.")
        self.sample_rate, self.max_seconds = sample_rate, max_seconds


class StructuredDataInput(InputNode):
    """A table: numpy `(N, D)`, a pandas DataFrame, or a `[D]` tensor per example.

    Numeric columns are standardised inside the model. When any column is
    categorical the model input is a string matrix `(N, D)` of raw values
    (numbers written as text, e.g. `df.astype(str).to_numpy()`); `AutoModel.predict`
    does that conversion for DataFrames itself. All-numeric tables use a float input.

    Args:
        column_names: column order; taken from the DataFrame when not given.
        column_types: `{"column": "numerical" | "categorical" | "datetime"}`; inferred from
            dtypes (numbers are numerical, everything else categorical) when not given.
            Datetime columns (dates, or strings pandas can read as dates) become the date parts of
            `components.features.datetime` (scaled year, cyclic month, weekday, day of year and, when
            the column has times, hour; a time index since the earliest training date).
        max_categories: a categorical column with at most this many training values is one-hot
            encoded; one with more gets a learned embedding of its most frequent values (seen at
            least 5 times, 1,000 at most), the rest sharing one bucket
            (`components.features.categorical.encoding`).
        vocabularies: `{"column": [values]}`: a categorical column's vocabulary, fixed instead of
            fitted. In an all-numeric table such a column holds each row's index into it (an index
            past its end: none of them): what Braid's pipeline sends for its embedded columns.
        name: optional input name.
    """

    kind_name = "structured"

    def __init__(
        self,
        column_names: list[str] | None = None,
        column_types: dict[str, str] | None = None,
        max_categories: int = MAX_CATEGORIES,
        vocabularies: dict[str, list[str]] | None = None,
        name: str | None = None,
    ):
        super().__init__(name=name)
        if not isinstance(max_categories, int) or max_categories < 1:
            raise InputError(f"StructuredDataInput max_categories={max_categories!r}; use a positive integer.")
        for column, ctype in (column_types or {}).items():
            if ctype not in COLUMN_TYPES:
                raise InputError(
                    f"StructuredDataInput column_types[{column!r}] is {ctype!r}; use one of {list(COLUMN_TYPES)}."
                )
        if column_names is not None and column_types:
            unknown = set(column_types) - set(column_names)
            if unknown:
                raise InputError(
                    f"StructuredDataInput column_types names {sorted(unknown)} which are not in "
                    "column_names; fix the spelling or add them to column_names."
                )
        self.column_names = list(column_names) if column_names is not None else None
        self.column_types = dict(column_types or {})
        self.max_categories = max_categories
        self.vocabularies = {column: list(values) for column, values in (vocabularies or {}).items()}

    @property
    def is_string(self) -> bool:
        return self.dtype == "string"
