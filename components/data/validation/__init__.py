"""The validation gate: a Great Expectations suite built from the contract, plus the row checks GE can't do.

The only module that imports great_expectations. `validate` streams the data in batches, runs the suite
on each batch with GE's own API (an ephemeral context), checks images, numbers and text encodings
in Python, and writes everything into one directory:

    out_dir/validation_results.json   GE's results, one entry per batch
    out_dir/validation_report.json    the Braid report: what failed, how many rows, examples, ids (+ summary.md)
    out_dir/data_docs/index.html      GE Data Docs
    out_dir/quarantine.parquet        rows set aside (only with `on_bad_rows: quarantine`)

Row-level problems (a bad value in one row) fail the gate, or with `on_bad_rows: quarantine` are set
aside in quarantine.parquet and counted: n_rows == n_used + n_quarantined, never a silent drop.
Column-level problems (missing column, wrong dtype, all-null or single-class target, no rows) always fail.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
import warnings
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from io import BytesIO
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.dataset as pads
import pyarrow.parquet as pq
from PIL import Image, UnidentifiedImageError

from components.data.contract import Contract, Target, parse_labels
from components.errors import ContractError, DataError, DataValidationError, StorageError

# Cells that mean "no value" in a CSV. "nan"/"inf" are deliberately absent: in a numerical column they
# are bad values to report, not missing ones.
NA_VALUES = ["", "NA", "N/A", "n/a", "null", "NULL", "None"]
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


@dataclass(frozen=True)
class ValidationReport:
    """What `validate` found. `failures` made it fail; `quarantined` were set aside instead."""

    contract: str
    data_path: Path
    success: bool
    n_rows: int
    n_used: int
    n_quarantined: int
    failures: tuple[Failure, ...]
    quarantined: tuple[Failure, ...]
    warnings: tuple[str, ...]
    results_path: Path
    data_docs_dir: Path
    quarantine_path: Path | None
    duration_s: float

    def summary_markdown(self) -> str:
        """A short Markdown summary a user can act on."""
        verdict = "passed" if self.success else "FAILED"
        lines = [
            f"## Validation {verdict}: contract `{self.contract}`",
            "",
            f"- data: `{self.data_path}`",
            f"- rows: {self.n_rows} read, {self.n_used} usable, {self.n_quarantined} quarantined"
            if self.success else f"- rows: {self.n_rows} read",
        ]
        if self.failures:
            lines += ["", "### Failed checks", ""] + [f"- {f.describe()}" for f in self.failures]
        if self.quarantined:
            lines += ["", f"### Quarantined rows (see `{self.quarantine_path}`)", ""]
            lines += [f"- {f.describe()}" for f in self.quarantined]
        if self.warnings:
            lines += ["", "### Warnings", ""] + [f"- {w}" for w in self.warnings]
        if not self.success:
            lines += ["", _ADVICE]
        lines += ["", f"Results: `{self.results_path}`; Data Docs: `{self.data_docs_dir / 'index.html'}`"]
        return "\n".join(lines)

    def to_dict(self) -> dict:
        return json.loads(json.dumps(asdict(self), default=str))


_ADVICE = (
    "What to do: fix those rows or columns in the data, or relax the contract's `expect:` entries. "
    "Row-level problems can be set aside with `on_bad_rows: quarantine`; column-level ones always fail."
)


def validate(contract: Contract, out_dir: Path, *, batch_rows: int = 50_000) -> ValidationReport:
    """Check the contract's data with Great Expectations and Braid's row checks.

    Args:
        contract: a loaded contract (`load_contract`).
        out_dir: where results, Data Docs and the quarantine file go (created).
        batch_rows: rows read and validated at a time.

    Returns:
        The report (success is True).

    Raises:
        DataValidationError: a check failed; the message says which, where and with examples, and
            `.report` holds the full `ValidationReport`.
        DataError: the data file is missing or unreadable (the message names the row where known).
        ContractError: the hand-written `<contract>.suite.json` is malformed.

    Example:
        >>> report = validate(load_contract("data_contracts/posters.yaml"), Path("out"))
        >>> print(report.summary_markdown())
    """
    started = time.perf_counter()
    out_dir = Path(out_dir).resolve()  # GE's site builder wants an absolute directory
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StorageError(f"{out_dir}: cannot create the validation directory: {exc}") from None
    source = contract.source.path
    header = _read_header(contract)
    tally = _Tally(contract)
    gate = _Gate(contract, header, out_dir / "data_docs")

    n_rows = 0
    for frame in _batches(contract, batch_rows):
        n_rows += len(frame)
        frame = _check_rows(contract, frame, tally)
        gate.run(frame, tally)
    if n_rows == 0:
        gate.run(pd.DataFrame({c: pd.Series([], dtype=object) for c in header}), tally)
        what = "the file is empty" if not header else "the file has a header but no rows"
        tally.column_failure("table_has_rows", None, f"{what}: {source}")
    tally.finish(header, n_rows)

    quarantine_path = None
    quarantined: tuple[Failure, ...] = ()
    failures = list(tally.column_failures)
    bad_rows = {r["row"] for r in tally.records}
    if contract.on_bad_rows == "quarantine" and bad_rows:
        quarantine_path = _write_quarantine(out_dir / "quarantine.parquet", tally.records)
        quarantined = tally.row_failures()
        if n_rows and len(bad_rows) == n_rows:
            failures.append(Failure("rows_usable", None, n_rows, detail="every row failed a check"))
    else:
        failures += tally.row_failures()
        bad_rows = set()

    results_path = out_dir / "validation_results.json"
    _write_json(results_path, {"contract": contract.name, "batches": gate.results})
    gate.build_docs()
    report = ValidationReport(
        contract=contract.name,
        data_path=source,
        success=not failures,
        n_rows=n_rows,
        n_used=n_rows - len(bad_rows),
        n_quarantined=len(bad_rows),
        failures=tuple(failures),
        quarantined=quarantined,
        warnings=tuple(tally.warnings),
        results_path=results_path,
        data_docs_dir=out_dir / "data_docs",
        quarantine_path=quarantine_path,
        duration_s=round(time.perf_counter() - started, 3),
    )
    _write_json(out_dir / "validation_report.json", report.to_dict())
    (out_dir / "summary.md").write_text(report.summary_markdown() + "\n", encoding="utf-8")
    if not report.success:
        raise DataValidationError(report.summary_markdown(), report)
    return report


def data_hash(contract: Contract) -> str:
    """A content hash of the data file(s), the images they reference and the contract.

    Data bytes are streamed; images referenced by path count by relative path, size and mtime (reading
    every image would cost as much as validating them). The contract's own location does not count.

    Returns:
        16 hex characters.
    """
    digest = hashlib.sha256()
    digest.update(contract.model_dump_json(exclude={"contract_path", "description", "source"}).encode())
    digest.update(contract.source.resolved_format.encode())
    for path in _data_files(contract.source.path):
        digest.update(path.name.encode())
        with path.open("rb") as handle:
            while chunk := handle.read(1 << 20):
                digest.update(chunk)
    base = contract.source.image_base
    image_columns = [f.name for f in contract.features_of("image")]
    if image_columns:
        for frame in _batches(contract, 50_000, columns=image_columns):
            for column in frame.columns:
                for cell in frame[column].dropna():
                    if isinstance(cell, str):
                        digest.update(f"{cell}\0{_stat_key(base / cell)}\n".encode())
    return digest.hexdigest()[:16]


# --- reading ---------------------------------------------------------------------------------------


def _data_files(path: Path) -> list[Path]:
    if not path.exists():
        raise DataError(f"{path}: data file not found (check `source.path` in the contract)")
    if path.is_dir():
        return sorted(p for p in path.rglob("*.parquet") if p.is_file())
    return [path]


def _stat_key(path: Path) -> str:
    try:
        stat = path.stat()
    except OSError:
        return "missing"
    return f"{stat.st_size}:{stat.st_mtime_ns}"


def _read_header(contract: Contract) -> list[str]:
    path = contract.source.path
    _data_files(path)
    if contract.source.resolved_format == "csv":
        try:
            return [str(c) for c in pd.read_csv(path, nrows=0, encoding_errors="replace").columns]
        except pd.errors.EmptyDataError:
            return []
        except (OSError, pd.errors.ParserError) as exc:
            raise DataError(f"{path}: cannot read the CSV header: {exc}") from None
    try:
        return list(pads.dataset(path, format="parquet").schema.names)
    except (OSError, pa.ArrowInvalid) as exc:
        raise DataError(f"{path}: not a readable Parquet file or directory: {exc}") from None


def _batches(contract: Contract, batch_rows: int, columns: list[str] | None = None) -> Iterator[pd.DataFrame]:
    """The data as DataFrames of at most `batch_rows`, indexed by global row number (0-based)."""
    path = contract.source.path
    if contract.source.resolved_format == "csv":
        # Strings everywhere: numbers are parsed by the checks, so "12a" is reported, not guessed at.
        # Undecodable bytes become U+FFFD and are reported by row instead of aborting the read.
        try:
            reader = pd.read_csv(
                path, dtype=str, keep_default_na=False, na_values=NA_VALUES, chunksize=batch_rows,
                encoding="utf-8", encoding_errors="replace",
                # usecols makes pandas ignore surplus fields, so it is only used to pick columns to hash.
                **({"usecols": lambda c: c in columns} if columns is not None else {}),
            )
            yield from reader
        except pd.errors.EmptyDataError:
            return
        except pd.errors.ParserError as exc:
            raise DataError(f"{path}: {exc}. Fix that line (quote fields that contain commas).") from None
        return
    offset = 0
    names = pads.dataset(path, format="parquet").schema.names
    wanted = [c for c in names if columns is None or c in columns]
    try:
        for batch in pads.dataset(path, format="parquet").to_batches(columns=wanted, batch_size=batch_rows):
            frame = batch.to_pandas()
            frame.index = pd.RangeIndex(offset, offset + len(frame))
            offset += len(frame)
            if len(frame):
                yield frame
    except (OSError, pa.ArrowInvalid) as exc:
        raise DataError(f"{path}: cannot read the Parquet data near row {offset}: {exc}") from None


# --- Python row checks -----------------------------------------------------------------------------


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
        self.seen_ids: set = set()
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
                {"row": int(row), "id": str(row_id), "column": column, "check": check,
                 "value": None if _missing(value) else str(_plain(value))[:_VALUE_CHARS], "reason": reason}
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
                    self.promote("expect_column_values_to_not_be_null", target.name, "every value of this target is missing")
                elif len(values) == 1:
                    what = "label" if target.task == "multilabel" else "value"
                    self.column_failure(
                        "target_has_two_classes", target.name, f"a target with one {what} ({next(iter(values))!r}) cannot be learned"
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
        again = ids.notna() & ids.map(lambda v: _plain(v) in tally.seen_ids)
        if again.any():
            tally.row_issue("expect_column_values_to_be_unique", id_column, frame, frame.index[again], ids[again],
                            "id already used by an earlier row")
        tally.seen_ids.update(_plain(v) for v in ids.dropna())

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
                tally.row_issue("text_is_utf8", column, frame, frame.index[garbled], values[garbled],
                                "not UTF-8: re-save the file as UTF-8")

    for target in contract.targets:
        if target.name in frame.columns:
            _tally_target(target, frame, tally)

    for feature in contract.features_of("image"):
        if feature.name in frame.columns:
            _check_images(contract, feature, frame, tally)
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
        tally.row_issue("values_are_numbers", column, frame, frame.index[not_number], raw[not_number],
                        "not a number")
    if not_finite.any():
        tally.row_issue("values_are_finite", column, frame, frame.index[not_finite], raw[not_finite],
                        "NaN or infinite")
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
    base = contract.source.image_base
    root = base.resolve()
    cells = frame[feature.name].dropna()
    with warnings.catch_warnings():
        # Oversized images are reported as decompression bombs below; Pillow's warning adds nothing.
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        with ThreadPoolExecutor(max_workers=min(8, os.cpu_count() or 1)) as pool:
            verdicts = list(pool.map(lambda cell: _check_image(cell, base, root, feature.expect), cells))
    for (row, cell), verdict in zip(cells.items(), verdicts):
        if verdict is not None:
            check, reason = verdict
            tally.row_issue(check, feature.name, frame, [row], [cell], reason)


def _check_image(cell: Any, base: Path, root: Path, expect) -> tuple[str, str] | None:
    """None if the image is fine, else (check, reason)."""
    if isinstance(cell, (bytes, bytearray, memoryview)):
        if len(cell) == 0:
            return "image_decodes", "empty image bytes"
        source: Any = BytesIO(bytes(cell))
    else:
        relative = Path(str(cell))
        if relative.is_absolute():
            return "image_path_inside_root", f"absolute path; image paths must be relative to {base}"
        path = (base / relative).resolve()  # resolve() follows symlinks, so a link out of the root is caught
        if not path.is_relative_to(root):
            return "image_path_inside_root", f"path leads outside the image root {base}"
        if not path.is_file():
            return "image_exists", f"no such file under {base}"
        if path.stat().st_size == 0:
            return "image_decodes", "empty file (0 bytes)"
        source = path
    try:
        with Image.open(source) as image:
            width, height = image.size
            if width * height > (Image.MAX_IMAGE_PIXELS or float("inf")):
                return "image_decodes", f"{width}x{height} pixels: over Pillow's MAX_IMAGE_PIXELS (decompression bomb)"
            if expect.min_image_size and (width < expect.min_image_size[0] or height < expect.min_image_size[1]):
                return "image_size_between", f"{width}x{height} is smaller than {expect.min_image_size}"
            if expect.max_image_size and (width > expect.max_image_size[0] or height > expect.max_image_size[1]):
                return "image_size_between", f"{width}x{height} is larger than {expect.max_image_size}"
            if expect.image_must_decode:
                # JPEG draft mode decodes at 1/8 scale: every byte is still read, so truncation shows.
                image.draft(image.mode, (max(1, width // 8), max(1, height // 8)))
                image.load()
    except Image.DecompressionBombError as exc:
        return "image_decodes", f"decompression bomb: {exc}"
    except UnidentifiedImageError:
        return "image_decodes", "not an image file Pillow can read"
    except (OSError, SyntaxError, ValueError) as exc:
        return "image_decodes", f"cannot decode: {exc}"
    return None


# --- Great Expectations ----------------------------------------------------------------------------


class _Gate:
    """An ephemeral GE context with one suite; validates batches and builds Data Docs."""

    def __init__(self, contract: Contract, header: list[str], docs_dir: Path):
        import great_expectations as gx
        from great_expectations.data_context.types.base import ProgressBarsConfig

        self.contract = contract
        self.gx = gx
        self.results: list[dict] = []
        self.context = gx.get_context(mode="ephemeral")
        self.context.variables.progress_bars = ProgressBarsConfig(globally=False)
        self.context.add_data_docs_site(
            "braid",
            {
                "class_name": "SiteBuilder",
                "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(docs_dir)},
                "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
            },
        )
        asset = self.context.data_sources.add_pandas("braid").add_dataframe_asset(contract.name)
        batch = asset.add_batch_definition_whole_dataframe("batch")
        suite = self.context.suites.add(gx.ExpectationSuite(name=contract.name))
        for expectation in _expectations(gx, contract, header) + _hand_written(gx, contract):
            suite.add_expectation(expectation)
        self.validation = self.context.validation_definitions.add(
            gx.ValidationDefinition(name=contract.name, data=batch, suite=suite)
        )

    def run(self, frame: pd.DataFrame, tally: _Tally) -> None:
        from great_expectations.core.run_identifier import RunIdentifier

        run_id = RunIdentifier(run_name=f"batch-{len(self.results):05d}")
        result = self.validation.run(
            batch_parameters={"dataframe": frame}, result_format={"result_format": "COMPLETE"}, run_id=run_id
        )
        self.results.append(result.to_json_dict())
        for outcome in result.results:
            if not outcome.success:
                _record(outcome, frame, tally)

    def build_docs(self) -> None:
        try:
            self.context.build_data_docs(site_names=["braid"])
        except OSError as exc:
            raise StorageError(f"cannot write Data Docs: {exc}") from None


def _record(outcome, frame: pd.DataFrame, tally: _Tally) -> None:
    """Turn one failed GE expectation into row issues (values + ids) or a column failure."""
    config = outcome.expectation_config
    check, column = config.type, config.kwargs.get("column")
    info = outcome.exception_info or {}
    if info.get("raised_exception"):
        tally.column_failure(check, column, f"the expectation raised: {info.get('exception_message')}")
        return
    result = outcome.result or {}
    rows = result.get("unexpected_index_list")
    if rows and all(isinstance(r, (int, np.integer)) for r in rows):
        tally.row_issue(check, column, frame, rows, result.get("unexpected_list") or [None] * len(rows),
                        _expectation_reason(config))
        return
    detail = _expectation_reason(config)
    mismatched = (result.get("details") or {}).get("mismatched")
    if check == "expect_column_to_exist":
        detail = "the column is missing from the data"
    elif mismatched:
        detail = "; ".join(f"{k} columns: {', '.join(map(str, v))}" for k, v in mismatched.items() if v)
    elif "observed_value" in result:
        detail += f" (observed {_short(result['observed_value'])})"
    tally.column_failure(check, column, detail)


_REASONS = {
    "expect_column_values_to_not_be_null": "missing value",
    "expect_column_values_to_be_unique": "value repeated in another row",
    "expect_column_values_to_be_between": "outside the allowed range",
    "expect_column_values_to_be_in_set": "not an allowed value",
    "expect_column_value_lengths_to_be_between": "length outside the allowed range",
    "expect_column_values_to_be_dateutil_parseable": "not a date",
    "expect_column_values_to_match_strftime_format": "does not match the date format",
}


def _expectation_reason(config) -> str:
    kwargs = {k: v for k, v in config.kwargs.items() if k not in {"column", "batch_id", "result_format"}}
    arguments = ", ".join(f"{k}={_short(v, 60)}" for k, v in kwargs.items() if v is not None)
    reason = _REASONS.get(config.type, config.type)
    return f"{reason} ({arguments})" if arguments else reason


def _expectations(gx, contract: Contract, header: list[str]) -> list:
    """The suite a contract implies, for the columns the data has (missing ones only get `to_exist`)."""
    E = gx.expectations
    suite: list = []
    if not contract.allow_extra_columns:
        columns = contract.columns + ([contract.split.column] if contract.split.column else [])
        suite.append(E.ExpectTableColumnsToMatchSet(column_set=columns, exact_match=True))
    for column in contract.columns:
        suite.append(E.ExpectColumnToExist(column=column))
    present = set(header)
    if contract.id_column in present:
        suite.append(E.ExpectColumnValuesToNotBeNull(column=contract.id_column))
        suite.append(E.ExpectColumnValuesToBeUnique(column=contract.id_column))
    specs = [(f.name, f.modality, f.expect, True) for f in contract.features]
    specs += [(t.name, "target:" + t.task, t.expect, t.allows_missing) for t in contract.targets]
    for name, kind, expect, nullable in specs:
        if name not in present:
            continue
        if not (nullable and expect.nullable):
            suite.append(E.ExpectColumnValuesToNotBeNull(column=name))
        if expect.unique:
            suite.append(E.ExpectColumnValuesToBeUnique(column=name))
        if kind in {"numerical", "target:regression"} and (expect.min is not None or expect.max is not None):
            suite.append(E.ExpectColumnValuesToBeBetween(column=name, min_value=expect.min, max_value=expect.max))
        if expect.allowed is not None and kind in {"categorical", "target:classification"}:
            suite.append(E.ExpectColumnValuesToBeInSet(column=name, value_set=list(expect.allowed)))
        if (expect.min_length is not None or expect.max_length is not None) and kind in {"text", "categorical"}:
            suite.append(E.ExpectColumnValueLengthsToBeBetween(
                column=name, min_value=expect.min_length, max_value=expect.max_length))
        if kind == "datetime":
            feature = contract.feature(name)
            if feature.datetime_format:
                suite.append(E.ExpectColumnValuesToMatchStrftimeFormat(column=name, strftime_format=feature.datetime_format))
            elif contract.source.resolved_format == "csv":
                suite.append(E.ExpectColumnValuesToBeDateutilParseable(column=name))
    return suite


def _hand_written(gx, contract: Contract) -> list:
    """Expectations from `<contract stem>.suite.json` beside the contract (GE's suite JSON), if any."""
    from great_expectations.expectations.expectation_configuration import ExpectationConfiguration

    if contract.contract_path is None:
        return []
    path = contract.contract_path.with_name(contract.contract_path.stem + ".suite.json")
    if not path.is_file():
        return []
    try:
        entries = json.loads(path.read_text(encoding="utf-8"))["expectations"]
    except (json.JSONDecodeError, KeyError, TypeError, UnicodeDecodeError) as exc:
        raise ContractError(f"{path}: not a GE suite JSON with an 'expectations' list: {exc}") from None
    expectations = []
    for i, entry in enumerate(entries):
        try:
            config = ExpectationConfiguration(
                type=entry["type"], kwargs=entry.get("kwargs", {}), meta=entry.get("meta"))
            expectations.append(config.to_domain_obj())
        except Exception as exc:  # GE raises its own zoo of errors for unknown types / bad kwargs
            raise ContractError(f"{path}, expectations[{i}]: {type(exc).__name__}: {exc}") from None
    return expectations


# --- output ----------------------------------------------------------------------------------------


def _write_quarantine(path: Path, records: list[dict]) -> Path:
    schema = pa.schema([("row", pa.int64()), ("id", pa.string()), ("column", pa.string()),
                        ("check", pa.string()), ("value", pa.string()), ("reason", pa.string())])
    table = pa.Table.from_pylist(sorted(records, key=lambda r: (r["row"], r["column"])), schema=schema)
    try:
        pq.write_table(table, path)
    except OSError as exc:
        raise StorageError(f"{path}: cannot write the quarantine file: {exc}") from None
    return path


def _write_json(path: Path, payload: Any) -> None:
    try:
        path.write_text(json.dumps(payload, indent=1, default=str), encoding="utf-8")
    except OSError as exc:
        raise StorageError(f"{path}: cannot write: {exc}") from None


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and value != value)


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
