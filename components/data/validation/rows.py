"""Braid's row checks, the ones Great Expectations can't do: ids across batches, numbers, UTF-8 text,
multilabel cells, images (`components.data.images`), series, audio clips (decodable, rate, channels,
duration, not silent: `components.features.audio`). Findings are tallied per check and column, with
example values and row ids, so the report can say what to fix where.
"""

from __future__ import annotations

import os
import warnings
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from PIL import Image

from components.data.contract import Contract, Target, parse_labels
from components.data.images import check_image, normalized_root
from components.data.modalities.audio import read_clip
from components.features.audio import AudioProblem, check_clip
from components.features.timeseries import SeriesProblem, parse_series, series_json

_EXAMPLES = 5
_VALUE_CHARS = 200


@dataclass(frozen=True)
class Failure:
    """One failed check: a GE expectation type or a Braid row check (`image_decodes`, ...)."""

    expectation: str
    column: str | None
    n_bad_rows: int
    examples: tuple = ()
    example_ids: tuple = ()
    detail: str = ""

    def describe(self) -> str:
        where = f"column '{self.column}'" if self.column else "table"
        text = f"{where}: {self.expectation}"
        if self.n_bad_rows:
            text += f" failed for {self.n_bad_rows} row(s)"
        if self.detail:
            text += f" — {self.detail}"
        shown = [_short(v) for v in self.examples if not _missing(v)]
        if shown:
            text += f"; e.g. {', '.join(shown)}"
        if self.example_ids:
            text += f" (ids {', '.join(str(i) for i in self.example_ids)})"
        return text


@dataclass
class _Bad:
    rows: set = field(default_factory=set)
    examples: list = field(default_factory=list)
    ids: list = field(default_factory=list)
    detail: str = ""


class _Tally:
    """Everything found while streaming: row issues (with ids), column failures, per-column counts."""

    def __init__(self, contract: Contract):
        self.contract = contract
        self.bad: dict[tuple[str, str | None], _Bad] = {}
        self.records: list[dict] = []
        self.column_failures: list[Failure] = []
        self.warnings: list[str] = []
        self.seen_ids = _SeenIds()
        self.numbers: dict[str, list[int]] = {}  # column → [non-null cells, cells that are numbers]
        self.target_present: dict[str, int] = {t.name: 0 for t in contract.targets}
        self.target_values: dict[str, set] = {t.name: set() for t in contract.targets}

    def row_issue(self, check: str, column: str, frame: pd.DataFrame, rows, values, reason: str) -> None:
        bad = self.bad.setdefault((check, column), _Bad(detail=reason))
        ids = _ids(self.contract, frame, rows)
        for row, value, row_id in zip(rows, values, ids):
            if row in bad.rows:
                continue
            bad.rows.add(row)
            if len(bad.examples) < _EXAMPLES:
                bad.examples.append(_plain(value))
                bad.ids.append(row_id)
            self.records.append(
                {
                    "row": int(row),
                    "id": str(row_id),
                    "column": column,
                    "check": check,
                    "value": None if _missing(value) else str(_plain(value))[:_VALUE_CHARS],
                    "reason": reason,
                }
            )

    def column_failure(self, check: str, column: str | None, detail: str, n_rows: int = 0, bad: _Bad | None = None):
        if any(f.expectation == check and f.column == column for f in self.column_failures):
            return
        examples = tuple(bad.examples) if bad else ()
        ids = tuple(bad.ids) if bad else ()
        self.column_failures.append(Failure(check, column, n_rows, examples, ids, detail))

    def row_failures(self) -> tuple[Failure, ...]:
        return tuple(
            Failure(check, column, len(b.rows), tuple(b.examples), tuple(b.ids), b.detail)
            for (check, column), b in self.bad.items()
        )

    def promote(self, check: str, column: str, detail: str) -> None:
        """A row problem that turns out to affect the whole column fails the column instead."""
        bad = self.bad.pop((check, column), None)
        if bad is not None:
            self.records = [r for r in self.records if not (r["check"] == check and r["column"] == column)]
        self.column_failure(check, column, detail, len(bad.rows) if bad else 0, bad)

    def finish(self, header: list[str], n_rows: int) -> None:
        contract = self.contract
        for column, (present, numeric) in self.numbers.items():
            if present and not numeric:
                self.promote("values_are_numbers", column, "wrong dtype: no value in this column is a number")
        if n_rows:
            for target in contract.targets:
                if target.name not in header:
                    continue
                values = self.target_values[target.name]
                if self.target_present[target.name] == 0:
                    self.promote(
                        "expect_column_values_to_not_be_null", target.name, "every value of this target is missing"
                    )
                elif len(values) == 1:
                    what = "label" if target.task == "multilabel" else "value"
                    self.column_failure(
                        "target_has_two_classes",
                        target.name,
                        f"a target with one {what} ({next(iter(values))!r}) cannot be learned",
                    )
        extra = [c for c in header if c not in contract.columns and c != contract.split.column]
        if extra and contract.allow_extra_columns:
            self.warnings.append(f"columns not in the contract are ignored: {', '.join(extra)}")


def _ids(contract: Contract, frame: pd.DataFrame, rows) -> list:
    if contract.id_column in frame.columns:
        ids = frame[contract.id_column].reindex(list(rows))
        return [f"row {r}" if pd.isna(v) else _plain(v) for r, v in zip(rows, ids)]
    return [f"row {r}" for r in rows]


def _check_rows(contract: Contract, frame: pd.DataFrame, tally: _Tally) -> pd.DataFrame:
    """Braid's own row checks on one batch; returns the frame GE validates (numbers parsed)."""
    frame = frame.copy()
    id_column = contract.id_column
    if id_column in frame.columns:
        ids = frame[id_column]
        # GE's uniqueness expectation sees one batch; ids repeated across batches are caught here.
        present = ids.dropna()
        hashes = _SeenIds.hashes(present)
        again = pd.Series(False, index=frame.index)
        again[present.index] = tally.seen_ids.holds(hashes)
        if again.any():
            tally.row_issue(
                "expect_column_values_to_be_unique",
                id_column,
                frame,
                frame.index[again],
                ids[again],
                "id already used by an earlier row",
            )
        tally.seen_ids.add(hashes)

    numeric = [f.name for f in contract.features_of("numerical")]
    numeric += [t.name for t in contract.targets if t.task == "regression"]
    for column in numeric:
        if column in frame.columns:
            frame[column] = _parse_numbers(column, frame, tally)

    if contract.source.resolved_format == "csv":
        for column in frame.columns:
            if column in numeric:
                continue
            values = frame[column]
            garbled = values.notna() & values.astype(str).str.contains("\ufffd", regex=False)
            if garbled.any():
                tally.row_issue(
                    "text_is_utf8",
                    column,
                    frame,
                    frame.index[garbled],
                    values[garbled],
                    "not UTF-8: re-save the file as UTF-8",
                )

    for target in contract.targets:
        if target.name in frame.columns:
            _tally_target(target, frame, tally)

    for feature in contract.features_of("image"):
        if feature.name in frame.columns:
            _check_images(contract, feature, frame, tally)
    for feature in contract.features_of("timeseries"):
        if feature.name in frame.columns:
            _check_series(feature, frame, tally)
    for feature in contract.features_of("audio"):
        if feature.name in frame.columns:
            _check_audio(contract, feature, frame, tally)
    return frame


def _parse_numbers(column: str, frame: pd.DataFrame, tally: _Tally) -> pd.Series:
    raw = frame[column]
    if pd.api.types.is_bool_dtype(raw):
        raw = raw.astype(object)
    parsed = pd.to_numeric(raw, errors="coerce").astype("float64")
    present = raw.notna()
    finite = np.isfinite(parsed.to_numpy(dtype="float64", na_value=np.nan))
    not_number = present & parsed.isna()
    not_finite = present & parsed.notna() & ~finite
    counts = tally.numbers.setdefault(column, [0, 0])
    counts[0] += int(present.sum())
    counts[1] += int((present & parsed.notna()).sum())
    if not_number.any():
        tally.row_issue("values_are_numbers", column, frame, frame.index[not_number], raw[not_number], "not a number")
    if not_finite.any():
        tally.row_issue("values_are_finite", column, frame, frame.index[not_finite], raw[not_finite], "NaN or infinite")
    return parsed.where(finite)


def _tally_target(target: Target, frame: pd.DataFrame, tally: _Tally) -> None:
    values = frame[target.name].dropna()
    tally.target_present[target.name] += len(values)
    seen = tally.target_values[target.name]
    if target.task != "multilabel":
        if len(seen) < 2:
            seen.update(_plain(v) for v in values.unique()[:2])
        return
    bad_rows, bad_values = [], []
    for row, cell in values.items():
        try:
            labels = parse_labels(cell, target)
        except (ValueError, SyntaxError, TypeError):
            bad_rows.append(row)
            bad_values.append(cell)
            continue
        if len(seen) < 2:
            seen.update(labels or ())
    if bad_rows:
        how = f"list_format {target.list_format}" if target.list_format else "the contract"
        tally.row_issue("labels_parse", target.name, frame, bad_rows, bad_values, f"labels not written as {how} says")


def _check_images(contract: Contract, feature, frame: pd.DataFrame, tally: _Tally) -> None:
    root = normalized_root(contract.source.image_base)
    cells = frame[feature.name].dropna()
    with warnings.catch_warnings():
        # Oversized images are reported as decompression bombs below; Pillow's warning adds nothing.
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        with ThreadPoolExecutor(max_workers=min(8, os.cpu_count() or 1)) as pool:
            verdicts = list(pool.map(lambda cell: check_image(cell, root, feature.expect), cells))
    for (row, cell), verdict in zip(cells.items(), verdicts):
        if verdict is not None:
            check, reason = verdict
            tally.row_issue(check, feature.name, frame, [row], [cell], reason)


def _check_series(feature, frame: pd.DataFrame, tally: _Tally) -> None:
    for row, cell in frame[feature.name].items():
        try:
            parse_series(cell, feature.channels)
        except SeriesProblem as problem:
            tally.row_issue("series_parse", feature.name, frame, [row], [series_json(cell)], f"the series {problem}")


def _check_audio(contract: Contract, feature, frame: pd.DataFrame, tally: _Tally) -> None:
    root = normalized_root(contract.source.image_base)
    cells = frame[feature.name].dropna()
    with ThreadPoolExecutor(max_workers=min(8, os.cpu_count() or 1)) as pool:
        verdicts = list(pool.map(lambda cell: _audio_verdict(cell, root, feature), cells))
    for (row, cell), verdict in zip(cells.items(), verdicts):
        if verdict is not None:
            tally.row_issue(verdict.check, feature.name, frame, [row], [cell], verdict.reason)


def _audio_verdict(cell: Any, root: str | None, feature) -> AudioProblem | None:
    """None if the cell's clip is usable under the feature's options, else what is wrong with it."""
    try:
        clip = read_clip(cell, root)
        if clip is not None:
            check_clip(clip, feature.expect_sample_rate, feature.max_channels, feature.reject_longer_than)
    except AudioProblem as problem:
        if problem.check != "audio_silent" or not feature.allow_silence:
            return problem
    return None


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and value != value)


class _SeenIds:
    """The ids of the batches read so far, as 64-bit hashes of their plain values: 8 bytes an id, where a
    set of Python values held ~100 (validating flights x10, 3.4 M ids: the set made the peak 2.5x that
    of flights x1). Sorted runs merged as a binary counter, so a batch is looked up in log2(batches) runs.
    Two different ids share a hash with odds of about n^2 / 2^65 (1 in 3 million for 3.4 M ids)."""

    def __init__(self) -> None:
        self.runs: list[np.ndarray] = []

    @staticmethod
    def hashes(ids: pd.Series) -> np.ndarray:
        # repr: the id 1 and the id "1" stay apart, as they did in a set; 3.0 is 3 (`_plain`)
        return pd.util.hash_pandas_object(ids.map(lambda v: repr(_plain(v))), index=False).to_numpy()

    def holds(self, hashes: np.ndarray) -> np.ndarray:
        """Which of `hashes` an earlier batch added."""
        found = np.zeros(len(hashes), bool)
        for run in self.runs:
            at = np.minimum(np.searchsorted(run, hashes), len(run) - 1)
            found |= run[at] == hashes
        return found

    def add(self, hashes: np.ndarray) -> None:
        if len(hashes):
            self.runs.append(np.unique(hashes))
        while len(self.runs) > 1 and len(self.runs[-2]) <= len(self.runs[-1]):
            last = self.runs.pop()
            self.runs[-1] = np.union1d(self.runs[-1], last)


def _plain(value: Any) -> Any:
    """A JSON-friendly scalar for examples and ids."""
    if isinstance(value, (bytes, bytearray, memoryview)):
        return f"<{len(value)} bytes>"
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _short(value: Any, limit: int = 80) -> str:
    text = repr(_plain(value)) if not isinstance(value, str) else repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"
